"""Any nesting of dicts, lists and tuples as safetensors tensors plus a JSON skeleton.

``encode`` moves every array into a flat ``{name: array}`` dict (names joined by ``/``,
so a flat state dict keeps its own keys and PyTorch reads it directly) and returns the
structure as JSON, each array replaced by a marker holding its name:

- ``{"__tensor__": name}`` for a Tensor (with its device and ``requires_grad`` when not
  the defaults), ``{"__array__": name}`` for an ndarray;
- ``{"__dict__": {...}}`` for a dict (``"__int_keys__": true`` when its keys are ints,
  as an optimizer's per-parameter state), ``{"__list__": [...]}``, ``{"__tuple__": [...]}``;
- numbers, strings, booleans and None as themselves.

Nothing here ever builds an object from a name found in the file: decoding only makes
dicts, lists, tuples, arrays and tensors, so loading never executes code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from shenjing import backend
from shenjing.tensor import Tensor

SEPARATOR = "/"
# NumPy kinds safetensors stores: bool, signed and unsigned ints, floats (not complex).
_STORABLE_KINDS = "biuf"


def encode(value: Any, name: str, arrays: dict[str, np.ndarray]) -> Any:
    """``value`` as JSON, its arrays moved into ``arrays`` under ``name``-based names."""
    if isinstance(value, Tensor):
        marker: dict[str, Any] = {"__tensor__": _store(value.array, name, arrays)}
        if value.device.type != "cpu":
            marker["device"] = str(value.device)
        if value.requires_grad:
            marker["requires_grad"] = True
        return marker
    if backend.is_array(value):
        return {"__array__": _store(value, name, arrays)}
    if isinstance(value, Mapping):
        return _encode_dict(value, name, arrays)
    if isinstance(value, (list, tuple)):
        kind = "__tuple__" if isinstance(value, tuple) else "__list__"
        return {kind: [encode(v, _join(name, str(i)), arrays) for i, v in enumerate(value)]}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if callable(getattr(value, "state_dict", None)):
        raise TypeError(
            f"save: cannot save a {type(value).__name__} object itself (that would need "
            f"pickle, which can run code on load). Save its state instead: "
            f"sj.save(obj.state_dict(), f), and load it with obj.load_state_dict(sj.load(f))."
        )
    where = f" at {name!r}" if name else ""
    raise TypeError(
        f"save: cannot store a {type(value).__name__}{where}: values must be tensors, arrays, "
        f"numbers, strings, None, or dicts, lists and tuples of them"
    )


def _encode_dict(value: Mapping[Any, Any], name: str, arrays: dict[str, np.ndarray]) -> Any:
    if not all(isinstance(k, str) for k in value) and not all(
            isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in value):
        kinds = sorted({type(k).__name__ for k in value})
        raise TypeError(f"save: dict keys must be all strings or all ints. Received keys of "
                        f"types {kinds}{f' at {name!r}' if name else ''}")
    out: dict[str, Any] = {}
    for key, item in value.items():
        key = str(key)
        if SEPARATOR in key:
            raise ValueError(f"save: keys may not contain {SEPARATOR!r}. Received: {key!r}")
        out[key] = encode(item, _join(name, key), arrays)
    nested: dict[str, Any] = {"__dict__": out}
    if value and not isinstance(next(iter(value)), str):
        nested["__int_keys__"] = True
    return nested


def _join(prefix: str, key: str) -> str:
    return f"{prefix}{SEPARATOR}{key}" if prefix else key


def _store(array: Any, name: str, arrays: dict[str, np.ndarray]) -> str:
    """Put a host, C-contiguous, little-endian copy or view of ``array`` under ``name``."""
    host = array if isinstance(array, np.ndarray) else backend.to_device(
        array, backend.Device("cpu"))
    # bfloat16 (ml_dtypes) is a void kind to NumPy; safetensors stores it as BF16.
    if host.dtype.kind not in _STORABLE_KINDS and host.dtype.name != "bfloat16":
        raise TypeError(f"save: {name!r} has dtype {host.dtype}, which safetensors cannot "
                        "store (bool, int, uint and float only)")
    if host.dtype.byteorder == ">":
        host = host.astype(host.dtype.newbyteorder("<"))
    # Not np.ascontiguousarray: it turns a 0-d array (a step count) into 1-d.
    arrays[name or "tensor"] = host if host.flags.c_contiguous else host.copy(order="C")
    return name or "tensor"


def decode(value: Any, arrays: Mapping[str, np.ndarray],
           place: Callable[[Tensor, str], Tensor]) -> Any:
    """The object ``encode`` described; ``place(tensor, stored_device)`` puts each tensor
    where ``map_location`` says."""
    if isinstance(value, list):  # a JSON list (files from before lists were tagged)
        return [decode(v, arrays, place) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        return arrays[value["__array__"]]
    if "__tensor__" in value:
        tensor = Tensor._make(arrays[value["__tensor__"]], None)
        tensor = place(tensor, value.get("device", "cpu"))
        if value.get("requires_grad"):
            tensor.requires_grad_(True)
        return tensor
    if "__dict__" in value:
        nested = {k: decode(v, arrays, place) for k, v in value["__dict__"].items()}
        return {int(k): v for k, v in nested.items()} if value.get("__int_keys__") else nested
    if "__tuple__" in value:
        return tuple(decode(v, arrays, place) for v in value["__tuple__"])
    if "__list__" in value:
        return [decode(v, arrays, place) for v in value["__list__"]]
    raise ValueError(f"unknown marker {sorted(value)[:3]}")
