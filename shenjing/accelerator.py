"""``shenjing.accelerator``: the device-independent view of an accelerator, as
``torch.accelerator``: programs ask it which device to train on.

The one accelerator shenjing drives is a CUDA GPU through CuPy.

Example:
    >>> import shenjing as sj
    >>> device = sj.accelerator.current_accelerator() if sj.accelerator.is_available() else "cpu"
"""

from __future__ import annotations

from shenjing import backend, cuda

__all__ = [
    "current_accelerator",
    "current_device_index",
    "device_count",
    "is_available",
    "set_device_index",
    "synchronize",
]


def is_available() -> bool:
    """True when an accelerator (a CUDA GPU through CuPy) can be used."""
    return cuda.is_available()


def device_count() -> int:
    """How many accelerator devices there are (0 without one)."""
    return cuda.device_count()


def current_accelerator(check_available: bool = False) -> backend.Device | None:
    """The accelerator's device type as a device (``device(type='cuda')``), or None when
    there is none; with ``check_available=True``, None also when it cannot be used now."""
    if not is_available():
        return None
    return backend.Device("cuda")


def current_device_index() -> int:
    """The index of the current accelerator device (-1 without one)."""
    if not is_available():
        return -1
    return int(backend.device_type("cuda").xp.cuda.Device().id)


def set_device_index(device: int | backend.Device | str) -> None:
    """Make ``device`` the current accelerator device."""
    index = device if isinstance(device, int) else backend.Device(device).index or 0
    if not 0 <= index < device_count():
        raise RuntimeError(f"set_device_index: no accelerator device {index}; "
                           f"{device_count()} available")
    backend.device_type("cuda").xp.cuda.Device(index).use()


def synchronize(device: int | backend.Device | str | None = None) -> None:
    """Wait for the work queued on the accelerator (a no-op without one)."""
    cuda.synchronize()
