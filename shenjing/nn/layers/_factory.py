"""PyTorch's factory keywords on layer constructors: ``device=`` and ``dtype=``."""

from __future__ import annotations

from typing import Any

from shenjing.nn.module import Module


def apply_factory_kwargs(module: Module, device: Any = None, dtype: Any = None) -> None:
    """Place a freshly built layer's parameters and buffers on ``device`` and cast the
    floating ones to ``dtype``, as ``nn.Linear(2, 3, device=..., dtype=...)`` does.

    The parameters are drawn in the default dtype and then cast (PyTorch draws them in
    ``dtype`` directly), so a float64 layer's initial values are float32-rounded; the
    distribution is the same. A non-floating ``dtype`` raises, as in PyTorch.
    """
    if device is None and dtype is None:
        return
    kwargs = {k: v for k, v in (("device", device), ("dtype", dtype)) if v is not None}
    module.to(**kwargs)
