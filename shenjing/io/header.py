"""The one validation layer in front of the safetensors package.

safetensors reads the tensors (memory-mapped from a path); before it does, every way a
file can be wrong (too short, a header that is not JSON or has wrong types, a dtype we
cannot hold, offsets out of range or overlapping) is turned into one ``ValueError`` that
names the file and the problem, so a corrupt or foreign file is reported, never
half-loaded.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

# safetensors dtype -> the dtype stored (little-endian). BF16 has no NumPy dtype: it is
# read as the top half of a float32 (see decode_bf16); complex tensors have no place in a
# model.
DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"), "I64": np.dtype("<i8"), "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"), "I8": np.dtype("i1"), "U64": np.dtype("<u8"),
    "U32": np.dtype("<u4"), "U16": np.dtype("<u2"), "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}


@dataclass(frozen=True)
class Entry:
    """One tensor as the header describes it (offsets relative to the data section)."""

    dtype: str
    shape: list[int]
    begin: int
    end: int


@dataclass(frozen=True)
class Header:
    """A checked header: the metadata strings, the entries, where the data starts."""

    metadata: dict[str, str]
    entries: dict[str, Entry]
    data_start: int


def header_size(where: str, head: bytes, file_size: int) -> int:
    """The header's length from the first 8 bytes, checked against the file's size."""
    if file_size < 8:
        raise ValueError(f"load: {where} is not a safetensors file (only {file_size} bytes)")
    (size,) = struct.unpack("<Q", head[:8])
    if size > file_size - 8:
        raise ValueError(
            f"load: {where} is truncated or not a safetensors file: its header claims "
            f"{size} bytes but the file has {file_size - 8} after the size field"
        )
    return size


def read_header(where: str, head: bytes, file_size: int) -> Header:
    """Check the header at the start of ``head`` (at least the 8-byte size and the
    header itself) for a file of ``file_size`` bytes; one ValueError on any fault."""
    size = header_size(where, head, file_size)
    try:
        header = json.loads(head[8 : 8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ValueError(f"load: {where} is corrupt: its header is not JSON ({err})") from None
    if not isinstance(header, dict):
        raise ValueError(f"load: {where} is corrupt: its header is a JSON "
                         f"{type(header).__name__}, not an object")
    metadata = header.pop("__metadata__", None) or {}
    if not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise ValueError(f"load: {where} is corrupt: __metadata__ is not a map of strings")
    entries = {name: _entry(where, name, entry) for name, entry in header.items()}
    data_size = file_size - 8 - size
    position = 0
    for name, entry in sorted(entries.items(), key=lambda item: (item[1].begin, item[1].end)):
        if entry.begin < position:
            raise ValueError(f"load: {where} is corrupt: tensor {name!r} overlaps another")
        if entry.end > data_size:
            raise ValueError(f"load: {where} is truncated or corrupt: tensor {name!r} ends at "
                             f"byte {entry.end} of the data, which holds {data_size}")
        position = entry.end
    if position != data_size:
        raise ValueError(
            f"load: {where} is truncated or corrupt: the tensors need {position} bytes of "
            f"data but the file holds {data_size}"
        )
    return Header(metadata, entries, 8 + size)


def _entry(where: str, name: str, entry: Any) -> Entry:
    """One tensor's entry, checked; ValueError otherwise."""
    at = f"load: {where} is corrupt: tensor {name!r}"
    if not isinstance(entry, dict):
        raise ValueError(f"{at} is described by a {type(entry).__name__}, not an object")
    missing = [k for k in ("dtype", "shape", "data_offsets") if k not in entry]
    if missing:
        raise ValueError(f"{at} has no {', '.join(missing)}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype in ("C64", "C128"):
        raise ValueError(f"load: {where}: tensor {name!r} is complex ({dtype}); shenjing "
                         "holds real tensors only")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ValueError(f"{at} has unknown dtype {dtype!r} (known: {', '.join(DTYPES)})")
    if not (isinstance(shape, list) and all(_is_count(n) for n in shape)):
        raise ValueError(f"{at} has shape {shape!r}, not a list of sizes")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))
            and offsets[0] <= offsets[1]):
        raise ValueError(f"{at} has data_offsets {offsets!r}, not [begin, end]")
    begin, end = offsets
    expected = math.prod(shape) * DTYPES[dtype].itemsize
    if end - begin != expected:
        raise ValueError(f"{at} of shape {shape} and dtype {dtype} needs {expected} bytes "
                         f"but its data_offsets {offsets} span {end - begin}")
    return Entry(dtype, shape, begin, end)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def decode_bf16(raw: bytes | memoryview, shape: list[int]) -> np.ndarray:
    """BF16 bytes as float32 (exact): bfloat16 is the high 16 bits of a float32."""
    halves = np.frombuffer(raw, dtype=DTYPES["BF16"])
    return (halves.astype(np.uint32) << 16).view(np.float32).reshape(shape)
