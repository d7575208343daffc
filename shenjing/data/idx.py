"""Reading and writing IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number, one big-endian ``uint32`` size per dimension,
then the elements in C order, big-endian::

    magic:    0x00 0x00 <dtype code> <ndim>
    sizes:    ndim x uint32 (big-endian)
    payload:  prod(sizes) elements of the dtype (big-endian)

Files may be gzip-compressed; ``read_idx`` recognises gzip by its magic bytes, not by
the file name.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from shenjing.data._atomic import write_bytes_atomically

__all__ = ["read_idx", "write_idx"]

# IDX dtype code -> element type as stored (big-endian).
_CODE_TO_DTYPE: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_NATIVE_TO_CODE: dict[np.dtype, int] = {
    dtype.newbyteorder("="): code for code, dtype in _CODE_TO_DTYPE.items()
}
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_DIM = 2**32 - 1  # sizes are stored as uint32


def _load_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it starts with the gzip magic."""
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        raise ValueError(f"read_idx: {path} is a corrupt or truncated gzip file ({err})") from err


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a NumPy array.

    The array has the file's shape and element type in native byte order
    (``uint8``, ``int8``, ``int16``, ``int32``, ``float32`` or ``float64``).

    Raises:
        ValueError: the file is not IDX, or its header and payload disagree (a
            truncated download, for instance); the message names the file and gives
            the expected and found byte counts.

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.idx.gz"
        >>> write_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
        >>> read_idx(path).tolist()
        [[0, 1, 2], [3, 4, 5]]
    """
    path = Path(path)
    data = _load_bytes(path)
    if len(data) < 4:
        raise ValueError(
            f"read_idx: {path} is too short for an IDX header: expected at least 4 bytes, "
            f"found {len(data)}"
        )
    zero1, zero2, code, ndim = data[:4]
    if zero1 != 0 or zero2 != 0:
        raise ValueError(
            f"read_idx: {path} is not an IDX file: its magic number starts with "
            f"0x{zero1:02X} 0x{zero2:02X}, expected 0x00 0x00"
        )
    if code not in _CODE_TO_DTYPE:
        known = ", ".join(f"0x{c:02X}" for c in _CODE_TO_DTYPE)
        raise ValueError(
            f"read_idx: {path} has unknown IDX dtype code 0x{code:02X} (known: {known})"
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(
            f"read_idx: {path} has a truncated header: expected {header_size} bytes for "
            f"{ndim} dimensions, found {len(data)}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    stored = _CODE_TO_DTYPE[code]
    expected = math.prod(shape) * stored.itemsize
    found = len(data) - header_size
    if found != expected:
        problem = "is truncated" if found < expected else "has trailing bytes"
        raise ValueError(
            f"read_idx: {path} {problem}: expected {expected} payload bytes for shape "
            f"{shape} of {stored.newbyteorder('=')}, found {found}"
        )
    array = np.frombuffer(data, dtype=stored, count=math.prod(shape), offset=header_size)
    # astype copies: the result is writable, native-endian, and owns its memory.
    return array.astype(stored.newbyteorder("=")).reshape(shape)


def write_idx(path: str | os.PathLike[str], array: np.ndarray, compress: bool = True) -> None:
    """Write ``array`` as an IDX file, gzip-compressed unless ``compress=False``.

    The element type must be one IDX can hold: ``uint8``, ``int8``, ``int16``,
    ``int32``, ``float32`` or ``float64``. The file is written atomically (a temporary
    file in the same folder, then a rename), so an error never leaves half a file.
    Compressed output is reproducible: the gzip header carries no time stamp.

    Raises:
        ValueError: the dtype has no IDX code, or the array has more than 255
            dimensions or a dimension too large for ``uint32``.
    """
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _NATIVE_TO_CODE:
        names = ", ".join(str(d) for d in _NATIVE_TO_CODE)
        raise ValueError(
            f"write_idx: IDX cannot store dtype {array.dtype}; cast to one of: {names}"
        )
    if array.ndim > 255 or any(n > _MAX_DIM for n in array.shape):
        raise ValueError(
            f"write_idx: IDX holds at most 255 dimensions of at most {_MAX_DIM} elements. "
            f"Received: shape={array.shape}"
        )
    code = _NATIVE_TO_CODE[native]
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, code, array.ndim, *array.shape)
    payload = np.ascontiguousarray(array, dtype=_CODE_TO_DTYPE[code]).tobytes()
    data = header + payload
    if compress:
        data = gzip.compress(data, compresslevel=9, mtime=0)
    write_bytes_atomically(path, data)
