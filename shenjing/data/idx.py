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
from typing import BinaryIO

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


_CHUNK = 1 << 20


def _open(path: Path) -> BinaryIO:
    """The file as a stream of its (decompressed, when it starts with the gzip magic) bytes."""
    with open(path, "rb") as file:
        compressed = file.read(2) == _GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a NumPy array.

    The array has the file's shape and element type in native byte order
    (``uint8``, ``int8``, ``int16``, ``int32``, ``float32`` or ``float64``).

    A compressed file is inflated as a stream, and reading stops as soon as more bytes
    arrive than the header declares: a small file that
    inflates to gigabytes (a "zip bomb") costs no more memory than the declared array.

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
    try:
        with _open(path) as stream:
            return _parse(path, stream)
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise ValueError(f"read_idx: {path} is a corrupt or truncated gzip file ({err})") from err


def _parse(path: Path, stream: BinaryIO) -> np.ndarray:
    magic = stream.read(4)
    if len(magic) < 4:
        raise ValueError(
            f"read_idx: {path} is too short for an IDX header: expected at least 4 bytes, "
            f"found {len(magic)}"
        )
    zero1, zero2, code, ndim = magic
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
    sizes = stream.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise ValueError(
            f"read_idx: {path} has a truncated header: expected {header_size} bytes for "
            f"{ndim} dimensions, found {4 + len(sizes)}"
        )
    shape = struct.unpack(f">{ndim}I", sizes)
    stored = _CODE_TO_DTYPE[code]
    expected = math.prod(shape) * stored.itemsize
    # Grown as bytes arrive, so a header that declares more than the file holds costs
    # only what the file holds.
    payload = bytearray()
    while len(payload) < expected:
        chunk = stream.read(min(_CHUNK, expected - len(payload)))
        if not chunk:
            break
        payload += chunk
    found = len(payload)
    extra = len(stream.read(_CHUNK)) if found == expected else 0
    if found != expected or extra:
        problem = "is truncated" if found < expected else "has trailing bytes"
        total = f"more than {found + extra}" if extra == _CHUNK else str(found + extra)
        raise ValueError(
            f"read_idx: {path} {problem}: expected {expected} payload bytes for shape "
            f"{shape} of {stored.newbyteorder('=')}, found {total}"
        )
    # The bytearray becomes the array's memory: swapping bytes in place avoids a copy.
    array = np.frombuffer(payload, dtype=stored)
    if not stored.isnative:
        array = array.byteswap(inplace=True).view(stored.newbyteorder("="))
    return array.reshape(shape)


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
