"""``default_collate``: turn a list of samples into one batch, keeping their structure.

PyTorch's rules, with shenjing's dtypes: Tensors, arrays and numbers are stacked into a
Tensor (floats float32, integers int64, as ``sj.tensor`` makes them; Tensors keep their
dtype); dicts collate key by key, tuples and lists field by field (into a list, as
PyTorch does; a named tuple stays one); strings and bytes stay a list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from shenjing import backend
from shenjing.creation import from_numpy
from shenjing.tensor import Tensor, default_dtype

__all__ = ["default_collate", "default_convert"]


def _host_array(value: Any) -> Any:
    """A Tensor's array (on its device), or a number/array as an array of shenjing's dtype."""
    if isinstance(value, Tensor):
        return value.array
    array = np.asarray(value)
    return array.astype(default_dtype(array.dtype), copy=False)


def _is_numeric(value: Any) -> bool:
    if isinstance(value, (Tensor, np.ndarray, np.generic)):
        return not isinstance(value, (np.str_, np.bytes_)) and getattr(
            value, "dtype", np.dtype("O")).kind in "biufc"
    return isinstance(value, (bool, int, float)) or backend.is_array(value)


def default_collate(samples: Sequence[Any]) -> Any:
    """Stack ``samples`` into a batch with the structure of one sample.

    Raises:
        TypeError: a field of a type that cannot be batched (None, an object).
        ValueError: fields of different shapes, or samples of different lengths.

    Example:
        >>> import numpy as np
        >>> batch = default_collate([{"x": np.ones(2), "y": 0}, {"x": np.zeros(2), "y": 1}])
        >>> batch["x"].shape, batch["y"].tolist()
        ((2, 2), [0, 1])
    """
    if not samples:
        raise ValueError("default_collate: needs at least one sample. Received: an empty list")
    first = samples[0]
    if _is_numeric(first):
        arrays = [_host_array(s) for s in samples]
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ValueError(f"default_collate: every sample's field must have the same shape "
                             f"to be stacked. Received: shapes {sorted(shapes)}")
        xp = backend.get_array_module(arrays[0])
        return from_numpy(xp.stack(arrays))
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, Mapping):
        collated = {key: default_collate([s[key] for s in samples]) for key in first}
        try:
            return type(first)(collated)
        except TypeError:  # a mapping type that cannot be built from a dict
            return collated
    if isinstance(first, Sequence):
        lengths = {len(s) for s in samples}
        if len(lengths) > 1:
            raise ValueError("default_collate: each element in list of batch should be of "
                             f"equal size. Received: lengths {sorted(lengths)}")
        fields = [default_collate(list(field)) for field in zip(*samples, strict=True)]
        if isinstance(first, tuple) and hasattr(first, "_fields"):  # a named tuple
            return type(first)(*fields)
        return fields
    raise TypeError(f"default_collate: batches must contain tensors, arrays, numbers, dicts "
                    f"or lists. Received: {type(first).__name__}")


def default_convert(sample: Any) -> Any:
    """One sample with its arrays and numbers made Tensors (no batch dimension), for a
    ``DataLoader`` with ``batch_size=None``.

    Example:
        >>> default_convert((np.zeros(2), "a"))[0].shape
        (2,)
    """
    if isinstance(sample, Tensor):
        return sample
    if isinstance(sample, (np.ndarray, np.generic)) and sample.dtype.kind in "biufc":
        return from_numpy(_host_array(sample))
    if isinstance(sample, Mapping):
        return {key: default_convert(value) for key, value in sample.items()}
    if isinstance(sample, tuple) and hasattr(sample, "_fields"):
        return type(sample)(*(default_convert(v) for v in sample))
    if isinstance(sample, (tuple, list)):
        return [default_convert(v) for v in sample]
    return sample
