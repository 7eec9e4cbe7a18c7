"""A pure-NumPy reader (and writer) of MXNet ``.params`` files.

``mx.nd.save`` and Gluon's ``Block.save_parameters`` write an *NDArray list* file:

    uint64 0x112 (list magic) | uint64 reserved | uint64 count | count x NDArray | uint64 count | count x name

Each NDArray starts with its own magic, which fixes its layout:

- V2 ``0xF993FAC9`` (MXNet >= 1.0) and V3 ``0xF993FACA`` (NumPy-shape semantics):
  ``int32 storage type`` | ``int32 ndim`` + ``ndim x int64`` dims | ``int32 dev_type, int32 dev_id`` |
  ``int32 dtype flag`` | raw little-endian data.
- V1 ``0xF993FAC8``: as V2 without the storage type.
- legacy (anything else): the magic *is* ``ndim``, followed by ``ndim x uint32`` dims, then context,
  dtype flag and data as above.

An array with no shape (``ndim == 0`` in V1/V2/legacy, ``ndim == -1`` in V3) has no context, dtype
or data.  Names are ``uint64 length`` + UTF-8 bytes; ``Module``-era checkpoints prefix them with
``arg:`` / ``aux:``, which :func:`load_params` strips.  MXNet itself is never imported.
"""
from __future__ import annotations

import math
import os
import struct
from typing import Mapping

import numpy as np

__all__ = ["MXNetParamsError", "load_params", "save_params"]

LIST_MAGIC = 0x112
V1_MAGIC = 0xF993FAC8
V2_MAGIC = 0xF993FAC9
V3_MAGIC = 0xF993FACA

# mshadow type flags -> NumPy dtypes (little-endian); 12 is bfloat16, widened to float32 on read.
_DTYPES: dict[int, np.dtype] = {0: np.dtype("<f4"), 1: np.dtype("<f8"), 2: np.dtype("<f2"), 3: np.dtype("u1"),
                                4: np.dtype("<i4"), 5: np.dtype("i1"), 6: np.dtype("<i8"), 7: np.dtype("?"),
                                8: np.dtype("<i2"), 9: np.dtype("<u2"), 10: np.dtype("<u4"), 11: np.dtype("<u8")}
_BFLOAT16 = 12
_FLAGS = {dt: flag for flag, dt in _DTYPES.items()}
_STORAGE_NAMES = {1: "row_sparse", 2: "csr"}
_MAX_ARRAY_BYTES = 1 << 48  # 256 TiB: beyond any real array, below where int64 sizes overflow


class MXNetParamsError(ValueError):
    """A file that is not a readable (dense) MXNet NDArray-list ``.params`` file."""


class _Reader:
    """Bounds-checked little-endian reads from an in-memory file."""

    def __init__(self, buf: bytearray, path: str) -> None:
        self.buf = buf
        self.pos = 0
        self.path = path

    def take(self, n: int, what: str) -> memoryview:
        end = self.pos + n
        if n < 0 or end > len(self.buf):
            raise MXNetParamsError(
                f"{self.path}: truncated MXNet .params file: {what} needs {n} bytes at offset {self.pos}, "
                f"so the file should have at least {end} bytes, but only {len(self.buf)} are present "
                f"({len(self.buf) - self.pos} left); the download or copy was probably cut short"
            )
        view = memoryview(self.buf)[self.pos:end]
        self.pos = end
        return view

    def unpack(self, fmt: str, what: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def load_params(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read an MXNet ``.params`` / ``mx.nd.save`` file into ``{name: array}``.

    Args:
        path: the file.

    Returns:
        Arrays by name, in file order, with ``arg:`` / ``aux:`` prefixes removed.  Arrays are
        writable NumPy arrays of the stored dtype (bfloat16 is widened to float32).  A file saved
        from a list (no names) gets the keys ``"0"``, ``"1"``, ...

    Raises:
        MXNetParamsError: not an MXNet NDArray-list file, truncated, sparse storage, an unknown
            dtype, or names that do not match the arrays.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        buf = bytearray(f.read())
    r = _Reader(buf, path)
    if len(buf) < 16 or struct.unpack_from("<Q", buf, 0)[0] != LIST_MAGIC:
        head = bytes(buf[:8]).hex() or "empty"
        raise MXNetParamsError(
            f"{path}: not an MXNet .params file (expected the NDArray-list magic 0x112 in the first 8 bytes, "
            f"found {head}); a PyTorch checkpoint should be passed as .pth, a safetensors file as .safetensors"
        )
    r.take(16, "the file header")
    (count,) = r.unpack("Q", "the array count")
    arrays = [_read_array(r, i) for i in range(count)]
    (num_names,) = r.unpack("Q", "the name count")
    names = []
    for i in range(num_names):
        (length,) = r.unpack("Q", f"the length of name #{i}")
        raw = bytes(r.take(length, f"name #{i}"))
        try:
            names.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise MXNetParamsError(f"{path}: name #{i} is not UTF-8 ({raw[:40]!r})") from None
    if num_names == 0:
        names = [str(i) for i in range(count)]
    elif num_names != count:
        raise MXNetParamsError(f"{path}: {count} arrays but {num_names} names; the file is damaged")
    out: dict[str, np.ndarray] = {}
    for name, arr in zip(names, arrays):
        key = name.split(":", 1)[1] if name.startswith(("arg:", "aux:")) else name
        if key in out:
            raise MXNetParamsError(f"{path}: the name {key!r} occurs twice")
        if arr is not None:
            out[key] = arr
    return out


def _read_array(r: _Reader, index: int) -> np.ndarray | None:
    what = f"array #{index}"
    (magic,) = r.unpack("I", f"the magic of {what}")
    if magic in (V2_MAGIC, V3_MAGIC):
        (stype,) = r.unpack("i", f"the storage type of {what}")
        if stype != 0:
            kind = _STORAGE_NAMES.get(stype, f"storage type {stype}")
            raise MXNetParamsError(f"{r.path}: {what} uses sparse storage ({kind}), which is not supported; "
                                   "save it dense in MXNet first (arr.tostype('default'))")
        shape = _read_shape(r, what, dims="q")
        if shape is None or (magic == V2_MAGIC and len(shape) == 0):
            return None
    elif magic == V1_MAGIC:
        shape = _read_shape(r, what, dims="q")
        if not shape:
            return None
    else:  # legacy: the first word is ndim, dims are uint32
        if magic > 32:
            raise MXNetParamsError(
                f"{r.path}: not an MXNet .params file ({what} starts with 0x{magic:08x}, which is no NDArray magic)")
        shape = tuple(r.unpack(f"{magic}I", f"the shape of {what}")) if magic else ()
        if not shape:
            return None
    r.unpack("ii", f"the context of {what}")
    (flag,) = r.unpack("i", f"the dtype of {what}")
    if flag == _BFLOAT16:
        count = _element_count(r, what, shape, 2)
        raw = np.frombuffer(r.take(2 * count, f"the data of {what} {shape} bfloat16"), dtype="<u2")
        return (raw.astype(np.uint32) << 16).view(np.float32).reshape(shape)
    if flag not in _DTYPES:
        raise MXNetParamsError(f"{r.path}: {what} has unknown dtype flag {flag}")
    dtype = _DTYPES[flag]
    count = _element_count(r, what, shape, dtype.itemsize)
    data = r.take(count * dtype.itemsize, f"the data of {what} {shape} {dtype.name}")
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def _element_count(r: _Reader, what: str, shape: tuple[int, ...], itemsize: int) -> int:
    """Elements of ``shape`` as an exact integer (no int64 overflow); a size no weights file can have
    (:data:`_MAX_ARRAY_BYTES`) is a damaged shape field, refused here rather than as a truncated file."""
    count = math.prod(shape)
    if count * itemsize > _MAX_ARRAY_BYTES:
        raise MXNetParamsError(f"{r.path}: {what} declares shape {shape} ({count} elements of {itemsize} bytes), far more "
                               f"than the {len(r.buf)}-byte file holds; the file is damaged or not an MXNet .params file")
    return count


def _read_shape(r: _Reader, what: str, dims: str) -> tuple[int, ...] | None:
    """``int32 ndim`` + dims; ``None`` for an unknown shape (``ndim == -1``)."""
    (ndim,) = r.unpack("i", f"the ndim of {what}")
    if ndim == -1:
        return None
    if ndim < -1 or ndim > 32:
        raise MXNetParamsError(f"{r.path}: {what} has an impossible ndim {ndim}; not an MXNet .params file or damaged")
    shape = tuple(r.unpack(f"{ndim}{dims}", f"the shape of {what}")) if ndim else ()
    if any(d < 0 for d in shape):
        raise MXNetParamsError(f"{r.path}: {what} has a negative dimension in {shape}")
    return shape


def save_params(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], version: int = 2) -> None:
    """Write ``arrays`` as an MXNet NDArray-list file (what ``mx.nd.save(path, dict)`` writes).

    Args:
        path: output file.
        arrays: name -> array (any dtype MXNet has; converted to little-endian, C order).
        version: NDArray record layout: ``2`` (MXNet >= 1.0, the default), ``1`` or ``0`` (legacy,
            uint32 dims), for testing readers of old files.
    """
    out = bytearray(struct.pack("<QQQ", LIST_MAGIC, 0, len(arrays)))
    for name, value in arrays.items():
        arr = np.asarray(value)
        dtype = arr.dtype.newbyteorder("<") if arr.dtype.itemsize > 1 else arr.dtype
        if dtype not in _FLAGS:
            raise MXNetParamsError(f"{name}: dtype {arr.dtype} has no MXNet type flag")
        if arr.ndim == 0:
            raise MXNetParamsError(f"{name}: MXNet NDArray files cannot hold 0-d arrays; reshape to (1,)")
        if version == 2:
            out += struct.pack("<Iii", V2_MAGIC, 0, arr.ndim) + struct.pack(f"<{arr.ndim}q", *arr.shape)
        elif version == 1:
            out += struct.pack("<Ii", V1_MAGIC, arr.ndim) + struct.pack(f"<{arr.ndim}q", *arr.shape)
        elif version == 0:
            out += struct.pack(f"<I{arr.ndim}I", arr.ndim, *arr.shape)
        else:
            raise ValueError(f"version must be 0, 1 or 2, not {version!r}")
        out += struct.pack("<iii", 1, 0, _FLAGS[dtype])  # cpu(0), dtype flag
        out += np.ascontiguousarray(arr, dtype=dtype).tobytes()
    out += struct.pack("<Q", len(arrays))
    for name in arrays:
        raw = name.encode("utf-8")
        out += struct.pack("<Q", len(raw)) + raw
    tmp = f"{os.fspath(path)}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(out)
    os.replace(tmp, path)
