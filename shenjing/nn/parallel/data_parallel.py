"""``DataParallel``: PyTorch's single-process wrapper, on the one device shenjing uses.

PyTorch splits each batch over several GPUs of one process; shenjing runs a module on
one device, so the wrapper calls the module as it is. It keeps what programs rely on:
``.module``, and state-dict keys prefixed with ``module.``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shenjing import backend
from shenjing.nn.module import Module

__all__ = ["DataParallel", "data_parallel"]


def _check_devices(owner: str, device_ids: Sequence[Any] | None) -> None:
    if device_ids is not None and len(device_ids) > 1:
        raise NotImplementedError(
            f"{owner}: shenjing runs one device per process; for several devices use "
            f"shenjing.distributed.DistributedDataParallel. Received: device_ids={device_ids}"
        )


class DataParallel(Module):
    """Run ``module`` on one device, as ``torch.nn.DataParallel`` with one device.

    Example:
        >>> import shenjing.nn as nn
        >>> model = nn.DataParallel(nn.Linear(2, 3))
        >>> list(model.state_dict())
        ['module.weight', 'module.bias']
    """

    def __init__(
        self,
        module: Module,
        device_ids: Sequence[int | str | backend.Device] | None = None,
        output_device: int | str | backend.Device | None = None,
        dim: int = 0,
    ) -> None:
        super().__init__()
        _check_devices("DataParallel", device_ids)
        self.module = module
        self.device_ids = list(device_ids) if device_ids is not None else []
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)


def data_parallel(
    module: Module,
    inputs: Any,
    device_ids: Sequence[int | str | backend.Device] | None = None,
    output_device: int | str | backend.Device | None = None,
    dim: int = 0,
    module_kwargs: dict[str, Any] | None = None,
) -> Any:
    """``module(*inputs, **module_kwargs)`` on one device, as PyTorch's function with one
    device (``inputs`` is a tuple of positional arguments, or a single input)."""
    _check_devices("data_parallel", device_ids)
    if not isinstance(inputs, tuple):
        inputs = (inputs,)
    return module(*inputs, **(module_kwargs or {}))
