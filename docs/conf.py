"""Sphinx configuration of zoo's documentation (`make docs`; CI builds it with -W)."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.abspath("_ext"))

project = "zoo"
author = "the zoo developers"
copyright = "2026, the zoo developers"
from zoo import __version__ as release  # noqa: E402

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode", "sphinx.ext.autosummary", "zoo_docs", "zoo_cards", "zoo_chart"]
autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_google_docstring = True
autosummary_generate = False
exclude_patterns = ["_build", "README.md"]
html_theme = "furo"
html_title = f"zoo {release}"
html_static_path = ["_static"]
html_css_files = ["tables.css"]
html_js_files = ["zoo_copy.js"]
suppress_warnings = ["autodoc.import_object"]
nitpicky = False
