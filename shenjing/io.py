"""Saving and loading state dicts in the safetensors format, atomically.

A flat state dict (``{"0.weight": array, ...}``) is written as plain safetensors tensors
under the same names, so PyTorch's ``safetensors.torch.load_file`` reads it directly.
Nested dicts (a checkpoint holding ``{"model": ..., "optimizer": ...}``) join their keys
with ``/``; numbers, strings and lists (an optimizer's hyperparameters, a step count)
travel as JSON in the file's metadata.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from shenjing import backend

SEPARATOR = "/"
_METADATA_KEY = "shenjing"
_FORMAT = "shenjing-state-v1"


def _safetensors_numpy() -> Any:
    try:
        import safetensors.numpy
    except ImportError as err:  # an optional extra
        raise ImportError(
            "Saving and loading need the safetensors package: pip install 'shenjing[full]'"
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
        if hasattr(value, "data") and backend.is_array(value.data):
            value = value.data
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
    only when complete, so a crash never leaves a half-written file and no temporary file
    is left behind.

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
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=folder)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _read_header(path: str, blob: bytes) -> dict[str, Any]:
    """The JSON header of a safetensors blob, with checks that give a clear error."""
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
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"load: {path} is corrupt: its header is not JSON ({err})") from None
    if not isinstance(header, dict):
        raise ValueError(f"load: {path} is corrupt: its header is not a JSON object")
    end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"),
              default=0)
    if 8 + header_size + end != len(blob):
        raise ValueError(
            f"load: {path} is truncated or corrupt: the tensors need {end} bytes of data "
            f"but the file holds {len(blob) - 8 - header_size}"
        )
    return header


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
    foreign file raises ``ValueError`` naming the file and the problem.
    """
    path = os.fspath(path)
    with open(path, "rb") as file:
        blob = file.read()
    header = _read_header(path, blob)
    try:
        arrays = _safetensors_numpy().load(blob)
    except Exception as err:  # safetensors raises its own error type
        raise ValueError(f"load: {path} is not a valid safetensors file: {err}") from None
    metadata = header.get("__metadata__") or {}
    if _METADATA_KEY not in metadata:
        return dict(arrays)  # a foreign safetensors file: its tensors as they are
    info = json.loads(metadata[_METADATA_KEY])
    if info.get("format") != _FORMAT:
        raise ValueError(f"load: {path} was written in an unknown format {info.get('format')!r}")
    return _unflatten(info["rest"], arrays)
