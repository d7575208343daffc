"""Moving a tensor between devices, as an op, so gradients flow back across the move."""

from __future__ import annotations

from typing import Any

from shenjing import backend
from shenjing.autograd.function import Function
from shenjing.backend import Device, device_of, to_device
from shenjing.tensor import Tensor

__all__: list[str] = []  # reached through Tensor.to / .cuda() / .cpu()


class ToDevice(Function):
    """y = x copied to ``device``;  gx = gy copied back to x's device."""

    def forward(self, x: Any, device: Device) -> Any:
        self.source = device_of(x)
        return to_device(x, device)

    def backward(self, gy: Any) -> Any:
        return to_device(gy, self.source)


def move(x: Tensor, device: Device) -> Tensor:
    """``x`` on ``device``: ``x`` itself when it is there already, else a recorded copy."""
    if device_of(x.array) == device or (
        device.index is None and device_of(x.array).type == device.type
    ):
        return x
    return ToDevice.apply(x, device=device)


def parse_to(where: str, args: tuple, kwargs: dict) -> tuple[Device | None, Any]:
    """Read PyTorch's ``to`` overloads: ``(device)``, ``(dtype)``, ``(device, dtype)``,
    ``(tensor)`` and the keywords ``device=``, ``dtype=``, ``non_blocking=``, ``copy=``.

    Returns:
        (device or None, NumPy dtype or None).
    """
    kwargs = dict(kwargs)
    kwargs.pop("non_blocking", None)  # transfers here are synchronous either way
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    if kwargs:
        raise TypeError(f"{where}: unexpected keyword arguments {sorted(kwargs)}")
    if len(args) > 2:
        raise TypeError(f"{where}: expected at most (device, dtype). Received: {args!r}")
    if len(args) == 1 and isinstance(args[0], Tensor):
        return device_of(args[0].array), args[0].dtype
    for arg in args:
        is_device = isinstance(arg, Device) or (isinstance(arg, str) and not _is_dtype(arg))
        if is_device and device is None:
            device = arg
        elif not is_device and dtype is None and not isinstance(arg, Tensor):
            dtype = arg
        else:
            raise TypeError(f"{where}: expected a device, a dtype or a tensor. Received: {args!r}")
    device = None if device is None else Device(device)
    dtype = None if dtype is None else backend.as_dtype(dtype)
    return device, dtype


def _is_dtype(name: str) -> bool:
    """Whether a string names a dtype ("float64") rather than a device ("cuda:0")."""
    try:
        backend.as_dtype(name)
    except TypeError:
        return False
    return True
