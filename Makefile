# zoo: `make demo` runs the main job, `make test` runs the test suite.
# Both create their own virtual environment and install through constraints.txt.

PYTHON3 ?= python3
VENV ?= .venv
REF_VENV ?= .venv-ref
MM_VENV ?= .venv-mmaction
PY := $(VENV)/bin/python
REF_PY := $(REF_VENV)/bin/python
MM_PY := $(MM_VENV)/bin/python
PTV_VENV ?= .venv-ptv
PTV_PY := $(PTV_VENV)/bin/python
# PySlowFast has no release: its model builders run from this commit of its repository (where GitHub is
# reachable; without it the PySlowFast parity cases skip and say why, the pytorchvideo ones still run).
PYSLOWFAST_REPO ?= https://github.com/facebookresearch/SlowFast.git
PYSLOWFAST_COMMIT ?= 287ec0076846560f44a9327e931a5a2360240533
PYSLOWFAST_SRC ?= .ref/SlowFast
PYTEST_ARGS ?=
JOBS ?= 2

.PHONY: all venv ref-venv mmaction-venv ptv-venv pyslowfast-src test test-heavy test-fast demo docs tables benchmark clean

all: test

venv: $(VENV)/.installed

$(VENV)/.installed: constraints.txt setup.py
	$(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel -c constraints.txt
	$(PY) -m pip install -q -c constraints.txt -e ".[test,docs,export,flow,decord,zeroshot]"
	touch $@

ref-venv: $(REF_VENV)/.installed

# GluonCV (MXNet) reference environment used by the parity tests; zoo itself never imports it.
$(REF_VENV)/.installed: requirements-ref.txt
	$(PYTHON3) -m venv $(REF_VENV)
	$(REF_PY) -m pip install -q -r requirements-ref.txt
	touch $@

mmaction-venv: $(MM_VENV)/.installed

# mmaction2 reference environment used by tests/test_parity_mmaction2.py; zoo itself never imports it.
$(MM_VENV)/.installed: requirements-mmaction.txt
	$(PYTHON3) -m venv $(MM_VENV)
	$(MM_PY) -m pip install -q -r requirements-mmaction.txt
	$(MM_PY) tests/mmaction_ref/pure_python_extras.py $(MM_VENV)/extras
	touch $@

ptv-venv: $(PTV_VENV)/.installed

# pytorchvideo 0.1.5 reference environment used by the FAIR parity tests.
$(PTV_VENV)/.installed: requirements-pytorchvideo.txt
	$(PYTHON3) -m venv $(PTV_VENV)
	$(PTV_PY) -m pip install -q -r requirements-pytorchvideo.txt
	touch $@

# PySlowFast's code at a pinned commit; a machine without GitHub access goes on without it.
pyslowfast-src:
	@test -f $(PYSLOWFAST_SRC)/.checked-out || ( rm -rf $(PYSLOWFAST_SRC) && git init -q $(PYSLOWFAST_SRC) \
		&& git -C $(PYSLOWFAST_SRC) fetch -q --depth 1 $(PYSLOWFAST_REPO) $(PYSLOWFAST_COMMIT) \
		&& git -C $(PYSLOWFAST_SRC) checkout -q FETCH_HEAD && touch $(PYSLOWFAST_SRC)/.checked-out ) \
		|| ( rm -rf $(PYSLOWFAST_SRC); echo "warning: $(PYSLOWFAST_REPO) is not reachable; the PySlowFast parity cases will skip" )

# The default run leaves out the `heavy` doc commands (full-size training runs of many minutes each);
# `make test-heavy` runs those.
test: venv ref-venv mmaction-venv ptv-venv pyslowfast-src
	ZOO_GLUONCV_PYTHON=$(CURDIR)/$(REF_PY) ZOO_MMACTION_PYTHON=$(CURDIR)/$(MM_PY) ZOO_REQUIRE_REFERENCE=1 \
		ZOO_PYTORCHVIDEO_PYTHON=$(CURDIR)/$(PTV_PY) ZOO_PYSLOWFAST_SRC=$(CURDIR)/$(PYSLOWFAST_SRC) \
		$(PY) -m pytest -n $(JOBS) -q -m "not heavy" $(PYTEST_ARGS) tests

test-heavy: venv
	$(PY) -m pytest -n $(JOBS) -q -m heavy $(PYTEST_ARGS) tests

test-fast: venv
	$(PY) -m pytest -n $(JOBS) -q -m "not slow and not parity" $(PYTEST_ARGS) tests

demo: venv
	$(PY) scripts/demo.py

docs: venv
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

tables: venv
	$(PY) scripts/make_tables.py

benchmark: venv
	$(PY) scripts/benchmark.py

clean:
	rm -rf $(VENV) $(REF_VENV) $(MM_VENV) $(PTV_VENV) $(PYSLOWFAST_SRC) build dist *.egg-info docs/_build .cache
