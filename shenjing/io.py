"""Saving and loading state dicts in the safetensors format, atomically.

A flat state dict (``{"0.weight": array, ...}``) is written as plain safetensors tensors
under the same names, so PyTorch's ``safetensors.torch.load_file`` reads it directly.
Nested dicts (a checkpoint holding ``{"model": ..., "optimizer": ...}``) join their keys
with ``/``; numbers, strings and lists (an optimizer's hyperparameters, a step count)
travel as JSON in the file's metadata.
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

from shenjing import backend
from shenjing.data._atomic import atomic_open

SEPARATOR = "/"
_METADATA_KEY = "shenjing"
_FORMAT = "shenjing-state-v1"


def _safetensors_numpy() -> Any:
    try:
        import safetensors.numpy
    except ImportError as err:  # an optional extra
        raise ImportError(
            "Saving needs the safetensors package: pip install 'shenjing[full]'"
        ) from err
    return safetensors.numpy


def _flatten(obj: Mapping[str, Any], prefix: str, arrays: dict[str, np.ndarray]) -> Any:
    """Move every array into ``arrays`` (keys joined by '/'); return the structure, with
    the arrays' names in their places, as JSON-ready values."""
    rest: dict[str, Any] = {}
    for key, value in obj.items():
        key = str(key)
        if SEPARATOR in key:
            raise ValueError(f"save: keys may not contain {SEPARATOR!r}. Received: {key!r}")
        name = f"{prefix}{key}"
        if hasattr(value, "array") and backend.is_array(value.array):
            value = value.array
        if backend.is_array(value):
            array = value if isinstance(value, np.ndarray) else value.get()
            # Not np.ascontiguousarray: it turns a 0-d array (a step count) into 1-d.
            arrays[name] = array if array.flags.c_contiguous else array.copy(order="C")
            rest[key] = {"__array__": name}  # keeps the key's place: safetensors sorts
        elif isinstance(value, Mapping):
            nested = {"__dict__": _flatten(value, name + SEPARATOR, arrays)}
            if value and all(isinstance(k, int) for k in value):
                nested["__int_keys__"] = True  # an optimizer's per-parameter state
            rest[key] = nested
        elif isinstance(value, np.generic):
            rest[key] = value.item()
        elif isinstance(value, tuple):
            rest[key] = {"__tuple__": list(value)}
        else:
            rest[key] = value
    return rest


def save(obj: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a state dict (or a dict of state dicts) to ``path``, atomically.

    The file is written to a temporary name in the same folder and renamed over ``path``
    only when complete, so a crash never leaves a half-written file; temporary files that
    a killed writer left behind are removed by the next save to the same path.

    Example:
        >>> import shenjing as sj, shenjing.nn as nn, tempfile, os
        >>> model = nn.Linear(3, 2)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> sj.save(model.state_dict(), path)
        >>> sorted(sj.load(path))
        ['bias', 'weight']
    """
    if not isinstance(obj, Mapping):
        raise TypeError(f"save expects a dict (a state dict). Received: {type(obj).__name__}")
    arrays: dict[str, np.ndarray] = {}
    rest = _flatten(obj, "", arrays)
    try:
        metadata = {_METADATA_KEY: json.dumps({"format": _FORMAT, "rest": rest})}
    except TypeError as err:
        raise TypeError(f"save: a value is neither an array nor JSON-serialisable: {err}") from None
    payload = _safetensors_numpy().save(arrays, metadata=metadata)
    with atomic_open(path) as file:
        file.write(payload)


# safetensors dtype -> the dtype stored (little-endian). BF16 has no NumPy dtype: it is
# read as the top half of a float32 (see _decode); complex tensors have no place in a model.
_DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"), "I64": np.dtype("<i8"), "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"), "I8": np.dtype("i1"), "U64": np.dtype("<u8"),
    "U32": np.dtype("<u4"), "U16": np.dtype("<u2"), "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}


_Entry = tuple[str, list[int], int, int]  # dtype name, shape, begin and end of the data


def _header_entry(path: str, name: str, entry: Any) -> _Entry:
    """One tensor's (dtype name, shape, begin, end), checked; ValueError otherwise."""
    where = f"load: {path} is corrupt: tensor {name!r}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where} is described by a {type(entry).__name__}, not an object")
    missing = [k for k in ("dtype", "shape", "data_offsets") if k not in entry]
    if missing:
        raise ValueError(f"{where} has no {', '.join(missing)}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype in ("C64", "C128"):
        raise ValueError(f"load: {path}: tensor {name!r} is complex ({dtype}); shenjing "
                         "holds real tensors only")
    if not isinstance(dtype, str) or dtype not in _DTYPES:
        raise ValueError(f"{where} has unknown dtype {dtype!r} (known: {', '.join(_DTYPES)})")
    if not (isinstance(shape, list) and all(_is_count(n) for n in shape)):
        raise ValueError(f"{where} has shape {shape!r}, not a list of sizes")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))
            and offsets[0] <= offsets[1]):
        raise ValueError(f"{where} has data_offsets {offsets!r}, not [begin, end]")
    begin, end = offsets
    expected = math.prod(shape) * _DTYPES[dtype].itemsize
    if end - begin != expected:
        raise ValueError(f"{where} of shape {shape} and dtype {dtype} needs {expected} bytes "
                         f"but its data_offsets {offsets} span {end - begin}")
    return dtype, shape, begin, end


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _read_header(path: str, blob: bytes) -> tuple[dict[str, str], dict[str, _Entry]]:
    """The metadata and the checked tensor entries of a safetensors blob.

    Every way a header can be wrong (not JSON, wrong types, missing keys, offsets out of
    range or overlapping) gives one ValueError naming the file and the problem.
    """
    if len(blob) < 8:
        raise ValueError(f"load: {path} is not a safetensors file (only {len(blob)} bytes)")
    (header_size,) = struct.unpack("<Q", blob[:8])
    if header_size > len(blob) - 8:
        raise ValueError(
            f"load: {path} is truncated or not a safetensors file: its header claims "
            f"{header_size} bytes but the file has {len(blob) - 8} after the size field"
        )
    try:
        header = json.loads(blob[8 : 8 + header_size])
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ValueError(f"load: {path} is corrupt: its header is not JSON ({err})") from None
    if not isinstance(header, dict):
        raise ValueError(f"load: {path} is corrupt: its header is a JSON "
                         f"{type(header).__name__}, not an object")
    metadata = header.pop("__metadata__", None) or {}
    if not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise ValueError(f"load: {path} is corrupt: __metadata__ is not a map of strings")
    entries = {name: _header_entry(path, name, entry) for name, entry in header.items()}
    data_size = len(blob) - 8 - header_size
    spans = sorted((begin, end, name) for name, (_, _, begin, end) in entries.items())
    position = 0
    for begin, end, name in spans:
        if begin < position:
            raise ValueError(f"load: {path} is corrupt: tensor {name!r} overlaps another")
        if end > data_size:
            raise ValueError(f"load: {path} is truncated or corrupt: tensor {name!r} ends at "
                             f"byte {end} of the data, which holds {data_size}")
        position = end
    if position != data_size:
        raise ValueError(
            f"load: {path} is truncated or corrupt: the tensors need {position} bytes of data "
            f"but the file holds {data_size}"
        )
    return metadata, entries


def _decode(blob: bytes, start: int, entry: _Entry) -> np.ndarray:
    """One tensor as a native-endian array that owns its memory (BF16 becomes float32)."""
    dtype, shape, begin, end = entry
    stored = _DTYPES[dtype]
    flat = np.frombuffer(blob, dtype=stored, count=(end - begin) // stored.itemsize,
                         offset=start + begin)
    if dtype == "BF16":  # bfloat16 is the high 16 bits of a float32
        return (flat.astype(np.uint32) << 16).view(np.float32).reshape(shape)
    return flat.astype(stored.newbyteorder("=")).reshape(shape)


def _unflatten(rest: Any, arrays: dict[str, Any]) -> Any:
    out: dict[str, Any] = {}
    for key, value in rest.items():
        if isinstance(value, dict) and "__array__" in value:
            out[key] = arrays[value["__array__"]]
        elif isinstance(value, dict) and "__dict__" in value:
            nested = _unflatten(value["__dict__"], arrays)
            if value.get("__int_keys__"):
                nested = {int(k): v for k, v in nested.items()}
            out[key] = nested
        elif isinstance(value, dict) and "__tuple__" in value:
            out[key] = tuple(value["__tuple__"])
        else:
            out[key] = value
    return out


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a file written by ``save`` (or any safetensors file) into a dict of arrays.

    The whole file is checked before anything is returned: a truncated, corrupt or
    foreign file raises ``ValueError`` naming the file and the problem. BF16 tensors are
    upcast to float32 (exactly); complex tensors are refused.
    """
    path = os.fspath(path)
    with open(path, "rb") as file:
        blob = file.read()
    metadata, entries = _read_header(path, blob)
    start = 8 + struct.unpack("<Q", blob[:8])[0]
    arrays = {name: _decode(blob, start, entry) for name, entry in entries.items()}
    if _METADATA_KEY not in metadata:
        return arrays  # a foreign safetensors file: its tensors as they are
    try:
        info = json.loads(metadata[_METADATA_KEY])
        if info.get("format") != _FORMAT:
            raise ValueError(f"it was written in an unknown format {info.get('format')!r}")
        return _unflatten(info["rest"], arrays)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:
        raise ValueError(f"load: {path} has a corrupt shenjing structure: {err!r}") from None
