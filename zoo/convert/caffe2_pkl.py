"""A restricted reader of PySlowFast's Caffe2 ``.pkl`` checkpoints (no Caffe2, no arbitrary unpickling).

Detectron-era Caffe2 checkpoints are Python pickles of a dict whose ``"blobs"`` entry maps blob
names (``res2_0_branch2a_w``, ``res_conv1_bn_s``, ...) to NumPy arrays; most were written by
Python 2, so their byte strings are read as latin-1.  A pickle can name any importable callable and
call it; this reader lets a pickle build only what such a file needs:

* NumPy arrays and dtypes (``numpy.core.multiarray._reconstruct``, ``numpy.ndarray``,
  ``numpy.dtype``, ``numpy.core.multiarray.scalar``, protocol 5's ``numpy.core.numeric._frombuffer``,
  and their ``numpy._core`` spellings),
* ``_codecs.encode`` (how Python 3 pickles carry ``bytes`` in protocol 2),
* plain containers and scalars (dicts, lists, tuples, strings, numbers), which need no import.

Anything else (``os.system``, ``builtins.eval``, a class of any other module) is refused with
:class:`Caffe2PickleError` before it is called.
"""
from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np

__all__ = ["Caffe2PickleError", "load_caffe2_pkl", "ALLOWED_GLOBALS"]

#: (module, name) pairs a Caffe2 checkpoint pickle may name; nothing else is ever imported.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    (module, name)
    for prefix in ("numpy.core", "numpy._core")
    for module, name in ((f"{prefix}.multiarray", "_reconstruct"), (f"{prefix}.multiarray", "scalar"),
                         (f"{prefix}.numeric", "_frombuffer"))
) | {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

_MAX_BYTES = 8 * 2**30  # no Caffe2 video checkpoint comes near this; a bigger file is not one


class Caffe2PickleError(ValueError):
    """A ``.pkl`` that is not a Caffe2 checkpoint of NumPy arrays, or that names a forbidden callable."""


def _multiarray():
    """NumPy's ``multiarray`` module (``numpy._core`` since NumPy 2, ``numpy.core`` before)."""
    try:
        import numpy._core.multiarray as multiarray
    except ImportError:  # NumPy 1.x
        import numpy.core.multiarray as multiarray
    return multiarray


def _numeric():
    """NumPy's ``numeric`` module, whose ``_frombuffer`` protocol-5 pickles of arrays name."""
    try:
        import numpy._core.numeric as numeric
    except ImportError:  # NumPy 1.x
        import numpy.core.numeric as numeric
    return numeric


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """An unpickler whose ``find_class`` resolves only :data:`ALLOWED_GLOBALS`."""

    def __init__(self, file, source: str) -> None:
        super().__init__(file, encoding="latin1")
        self.source = source

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED_GLOBALS:
            raise Caffe2PickleError(
                f"{self.source}: refused: the pickle wants to build {module}.{name}, and a Caffe2 checkpoint "
                "holds only NumPy arrays; it is not a weights file (or it is a hostile one)"
            )
        if module == "_codecs":
            import _codecs

            return _codecs.encode
        if module.endswith("multiarray"):
            return getattr(_multiarray(), name)
        if module.endswith("numeric"):
            return getattr(_numeric(), name)
        return getattr(np, name)

    def persistent_load(self, pid):
        raise Caffe2PickleError(f"{self.source}: refused: the pickle asks for a persistent object, which "
                                "a Caffe2 checkpoint never holds")


def load_caffe2_pkl(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The ``{blob name: array}`` of a Caffe2 checkpoint ``path``, read with the restricted unpickler.

    The file's top level is a dict with a ``"blobs"`` dict (a bare ``{name: array}`` dict is taken as
    the blobs themselves).  Non-array blobs (iteration counters, learning rates) are left out.

    Raises:
        Caffe2PickleError: the pickle names anything but NumPy arrays/dtypes, is damaged, or holds no arrays.
    """
    path = Path(path)
    if path.stat().st_size > _MAX_BYTES:
        raise Caffe2PickleError(f"{path}: {path.stat().st_size} bytes is larger than any Caffe2 checkpoint; refused")
    data = path.read_bytes()
    try:
        obj = _ArraysOnlyUnpickler(io.BytesIO(data), str(path)).load()
    except Caffe2PickleError:
        raise
    except Exception as err:
        raise Caffe2PickleError(f"{path}: not a readable Caffe2 .pkl checkpoint ({type(err).__name__}: {err})") from None
    blobs = obj.get("blobs", obj) if isinstance(obj, dict) else None
    if not isinstance(blobs, dict):
        raise Caffe2PickleError(f"{path}: expected a dict with a 'blobs' dict of NumPy arrays, got {type(obj).__name__}")
    arrays = {str(k): v for k, v in blobs.items() if isinstance(v, np.ndarray)}
    if not arrays:
        raise Caffe2PickleError(f"{path}: its 'blobs' hold no NumPy arrays; not a Caffe2 weights file")
    return arrays
