"""``sj.save`` / ``sj.load``: PyTorch's calls, in the safetensors format, never pickle.

Any nesting of dicts, lists and tuples of tensors, arrays, numbers and strings is saved
as safetensors tensors plus a JSON skeleton in the file's metadata (see ``tree``). A
flat state dict (``{"0.weight": array, ...}``) is written as plain tensors under its own
keys, so PyTorch's ``safetensors.torch.load_file`` reads it directly, and any
safetensors file loads here as a dict of arrays.

Files are read through the safetensors package (memory-mapped from a path), after one
validation layer (``header``) that reports a truncated, corrupt or foreign file as a
``ValueError`` naming it, before anything is returned. Writes to a path are atomic.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from typing import IO, Any

import numpy as np
import safetensors.numpy
from safetensors import safe_open

from shenjing import backend
from shenjing.data._atomic import atomic_open
from shenjing.io import header as _header
from shenjing.io import tree as _tree
from shenjing.tensor import Tensor

__all__ = ["load", "save"]

SEPARATOR = _tree.SEPARATOR
_METADATA_KEY = "shenjing"
_FORMAT = "shenjing-save-v2"
_FORMAT_V1 = "shenjing-state-v1"  # dicts only, every array returned as an ndarray

PathOrFile = str | os.PathLike[str] | IO[bytes]


def save(obj: Any, f: PathOrFile) -> None:
    """Write ``obj`` to ``f`` (a path, atomically, or a binary file object).

    ``obj`` is any nesting of dicts (string or int keys), lists and tuples of tensors,
    arrays, numbers, strings and None; ``sj.load`` gives it back with the same types
    (tuples as tuples, tensors as tensors, arrays as arrays). A module or an optimizer
    is refused: save its ``state_dict()``. On a path, the file is written under a
    temporary name and renamed when complete, so a crash never leaves half a file.

    Example:
        >>> import shenjing as sj, shenjing.nn as nn, tempfile, os
        >>> model = nn.Linear(3, 2)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> sj.save(model.state_dict(), path)
        >>> sorted(sj.load(path))
        ['bias', 'weight']
        >>> sj.save({"step": 3, "shape": (2, 3), "x": sj.ones(2)}, path)
        >>> sj.load(path)["shape"]
        (2, 3)
    """
    arrays: dict[str, np.ndarray] = {}
    # Top-level keys name the tensors as they are: a state dict stays PyTorch-readable.
    tree = _tree.encode(obj, "", arrays)
    try:
        metadata = {_METADATA_KEY: json.dumps({"format": _FORMAT, "tree": tree})}
    except (TypeError, ValueError) as err:
        raise TypeError(f"save: a value cannot be stored: {err}") from None
    payload = safetensors.numpy.save(arrays, metadata=metadata)
    if hasattr(f, "write"):
        f.write(payload)  # type: ignore[union-attr]
        return
    with atomic_open(f) as file:  # type: ignore[arg-type]
        file.write(payload)


def load(
    f: PathOrFile,
    map_location: Any = None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = True,
    mmap: bool | None = None,
    **pickle_load_args: Any,
) -> Any:
    """Read what ``save`` wrote (or any safetensors file: a dict of arrays) from ``f``,
    a path or a binary file object, with ``torch.load``'s keywords.

    Args:
        map_location: where tensors go: None (where they were saved), a device or its
            name (``"cpu"``, ``"cuda:0"``), or a dict from saved to wanted device names.
        weights_only: accepted for PyTorch's programs; loading is always weights-only
            (no pickle: a file can hold data, never code), whatever it says.
        mmap: accepted; a path is always memory-mapped.

    The whole file is checked before anything is returned: a truncated, corrupt or
    foreign file raises ``ValueError`` naming the file and the problem. BF16 tensors are
    upcast to float32 (exactly); complex tensors are refused.
    """
    del weights_only, mmap  # always weights-only; a path is always memory-mapped
    if pickle_module is not None or pickle_load_args:
        raise TypeError("load: shenjing files hold no pickle; pickle_module and pickle "
                        "arguments are not accepted")
    if callable(map_location) and not isinstance(map_location, (str, backend.Device)):
        raise TypeError("load: map_location as a function is not supported; pass a device, "
                        "a device name, or a dict of device names")
    for device in map_location.values() if isinstance(map_location, Mapping) else [
            map_location]:
        if device is not None:
            backend.Device(str(device))  # a bad device name is the caller's error, said now
    if hasattr(f, "read"):
        where, header, arrays = _read_file_object(f)  # type: ignore[arg-type]
    else:
        where, header, arrays = _read_path(os.fspath(f))  # type: ignore[arg-type]
    if _METADATA_KEY not in header.metadata:
        return arrays  # a foreign safetensors file: its tensors as they are
    try:
        info = json.loads(header.metadata[_METADATA_KEY])
        if info.get("format") == _FORMAT:
            return _tree.decode(info["tree"], arrays, _placer(map_location))
        if info.get("format") == _FORMAT_V1:
            return _tree.decode({"__dict__": info["rest"]}, arrays, _placer(map_location))
        raise ValueError(f"it was written in an unknown format {info.get('format')!r}")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:
        raise ValueError(f"load: {where} has a corrupt shenjing structure: {err!r}") from None


def _read_path(path: str) -> tuple[str, _header.Header, dict[str, np.ndarray]]:
    """Check the header of the file at ``path``, then read its tensors memory-mapped."""
    file_size = os.path.getsize(path)
    with open(path, "rb") as file:
        head = file.read(8)
        size = _header.header_size(path, head, file_size)
        head += file.read(size)
        header = _header.read_header(path, head, file_size)
        bf16 = {name: e for name, e in header.entries.items() if e.dtype == "BF16"}
        arrays: dict[str, np.ndarray] = {}
        for name, entry in bf16.items():  # NumPy has no bfloat16: safetensors cannot
            file.seek(header.data_start + entry.begin)
            arrays[name] = _header.decode_bf16(file.read(entry.end - entry.begin), entry.shape)
    try:
        with safe_open(path, framework="numpy") as reader:
            for name in header.entries:
                if name not in bf16:
                    arrays[name] = reader.get_tensor(name)
    except Exception as err:  # safetensors found what the checks above let through
        raise ValueError(f"load: {path} could not be read: {err}") from None
    return path, header, {name: arrays[name] for name in header.entries}


def _read_file_object(file: IO[bytes]) -> tuple[str, _header.Header, dict[str, np.ndarray]]:
    """Check and read a whole file object's bytes (from its current position)."""
    where = str(getattr(file, "name", "the file object"))
    if isinstance(file, io.TextIOBase):
        raise TypeError(f"load: {where} was opened in text mode; open it with 'rb'")
    blob = file.read()
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise TypeError(f"load: {where} was opened in text mode; open it with 'rb'")
    blob = bytes(blob)
    header = _header.read_header(where, blob, len(blob))
    if any(e.dtype == "BF16" for e in header.entries.values()):
        arrays = {}
        for name, entry in header.entries.items():
            raw = blob[header.data_start + entry.begin : header.data_start + entry.end]
            if entry.dtype == "BF16":
                arrays[name] = _header.decode_bf16(raw, entry.shape)
            else:
                stored = _header.DTYPES[entry.dtype]
                arrays[name] = np.frombuffer(raw, stored).astype(
                    stored.newbyteorder("=")).reshape(entry.shape)
        return where, header, arrays
    try:
        arrays = safetensors.numpy.load(blob)
    except Exception as err:  # safetensors found what the checks above let through
        raise ValueError(f"load: {where} could not be read: {err}") from None
    return where, header, {name: arrays[name] for name in header.entries}


def _placer(map_location: Any) -> Any:
    """``place(tensor, saved_device)`` for ``map_location`` (see ``load``)."""

    def place(tensor: Tensor, saved: str) -> Tensor:
        if map_location is None:
            target: Any = saved
        elif isinstance(map_location, Mapping):
            target = map_location.get(saved, saved)
        else:
            target = map_location
        device = backend.Device(str(target) if not isinstance(target, backend.Device)
                                else target)
        return tensor if device.type == "cpu" else tensor.to(device)

    return place
