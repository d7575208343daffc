"""The array backend: which array module holds tensor data, the default dtype, and the
one random generator that every random op draws from.

Ops never import NumPy for math on tensor data; they ask ``get_array_module(x)`` for
the module that owns ``x`` (NumPy, or CuPy when it is installed and ``x`` lives on a GPU),
so the same op code runs on both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from shenjing import _bfloat16

try:  # CuPy is optional: only imported to recognise its arrays.
    import cupy as _cupy
except ImportError:  # pragma: no cover - depends on the machine
    _cupy = None

DEFAULT_FLOAT = np.dtype(np.float32)
"""Floating-point data becomes float32 unless a dtype is given."""


def _keep_freed_memory() -> None:
    """Ask glibc's malloc to keep freed arrays' memory for reuse, not hand it to the OS.

    Every op result is a fresh array. With glibc's default (adaptive) thresholds, the
    tens of MB a training step frees go back to the OS and the next step page-faults
    them in again: on LeNet-5 that kernel time doubled the step. Fixed thresholds (arrays
    up to 32 MiB from the heap, which keeps up to 256 MiB free) remove it. Linux with
    glibc only; ``SHENJING_MALLOC_TUNING=0`` turns it off.
    """
    import os
    import sys

    if sys.platform != "linux" or os.environ.get("SHENJING_MALLOC_TUNING") == "0":
        return
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 256 << 20)  # M_TRIM_THRESHOLD
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD (glibc's maximum on 64-bit)
    except (OSError, AttributeError):  # musl or another libc: leave it be
        return


_keep_freed_memory()

_generator = np.random.default_rng()
_seed: int | None = None  # the last manual_seed, which also seeds each device generator
_device_generators: dict[ModuleType, Any] = {}


@dataclass(frozen=True)
class DeviceType:
    """One kind of device: its array module and how arrays move to and from it.

    Attributes:
        name: the device type as users spell it (``"cpu"``, ``"cuda"``).
        xp: the array module (``numpy``, ``cupy``).
        array_type: the module's ndarray class.
        to_device: ``(host_array, index) -> array`` on device ``index``.
        to_host: ``array -> numpy.ndarray``.
        index_of: ``array -> int``, the device index the array lives on.
        count: ``() -> int``, how many devices of this type the machine has.
    """

    name: str
    xp: ModuleType
    array_type: type
    to_device: Callable[[np.ndarray, int], Any]
    to_host: Callable[[Any], np.ndarray]
    index_of: Callable[[Any], int]
    count: Callable[[], int]


_DEVICE_TYPES: dict[str, DeviceType] = {}
_ARRAY_TYPES: dict[type, DeviceType] = {}  # array class -> its device type


def register_device_type(device_type: DeviceType) -> None:
    """Make a device type known (CuPy's at import; tests add a strict stand-in)."""
    _DEVICE_TYPES[device_type.name] = device_type
    _ARRAY_TYPES[device_type.array_type] = device_type


def unregister_device_type(name: str) -> None:
    """Forget a device type added by ``register_device_type`` (the CPU stays)."""
    if name == "cpu":
        raise ValueError("The cpu device type cannot be removed")
    device_type = _DEVICE_TYPES.pop(name)
    _ARRAY_TYPES.pop(device_type.array_type, None)


def _device_type_of(x: Any) -> DeviceType:
    device_type = _ARRAY_TYPES.get(type(x))
    if device_type is not None:
        return device_type
    for array_type, device_type in _ARRAY_TYPES.items():  # subclasses (np.memmap)
        if isinstance(x, array_type):
            return device_type
    return _DEVICE_TYPES["cpu"]


def get_array_module(x: Any) -> ModuleType:
    """Return the array module (``numpy``, ``cupy``, ...) that owns ``x``."""
    if type(x) is np.ndarray:  # the common case, without a lookup
        return np
    return _device_type_of(x).xp


def on_host(x: Any) -> bool:
    """True for a NumPy array: data a check may read without a device-to-host copy.

    Data-dependent checks (label ranges, a loss's finiteness, which steps are live) run
    only where this holds; on a GPU each would read back and stall every batch.
    """
    return isinstance(x, np.ndarray)


def is_array(x: Any) -> bool:
    """True for an ndarray of any backend."""
    return isinstance(x, np.ndarray) or type(x) in _ARRAY_TYPES or any(
        isinstance(x, t) for t in _ARRAY_TYPES
    )


class Device:
    """Where a tensor's data lives: a device type (its array module) and an index.

    Built by ``shenjing.device("cpu" | "cuda" | "cuda:1")`` or ``device("cuda", 1)``, as
    ``torch.device``: ``str(d)``, ``d.type``, ``d.index`` (None for the current device
    of the type), and ``==`` between devices.
    """

    __slots__ = ("type", "index")

    def __init__(self, type: str | Device, index: int | None = None) -> None:
        if isinstance(type, Device):
            if index is not None:
                raise ValueError(f"device: an index was given twice. Received: {type}, {index}")
            type, index = type.type, type.index
        if not isinstance(type, str):
            raise TypeError(f"device expects a string such as 'cuda:0'. Received: {type!r}")
        name, _, suffix = type.partition(":")
        if suffix:
            if index is not None or not suffix.isdigit():
                raise ValueError(f"device: invalid device string {type!r}")
            index = int(suffix)
        if name not in ("cpu", "cuda") and name not in _DEVICE_TYPES:
            raise ValueError(
                f"device: expected one of {sorted({'cpu', 'cuda', *_DEVICE_TYPES})}. "
                f"Received: {type!r}"
            )
        if index is not None and (not isinstance(index, (int, np.integer)) or index < 0):
            raise ValueError(f"device: the index must be a non-negative int. Received: {index!r}")
        if name == "cpu" and index not in (None, 0):
            raise ValueError(f"device: the cpu has only index 0. Received: {index}")
        self.type = name
        self.index = None if index is None else int(index)

    @property
    def xp(self) -> ModuleType:
        """The array module of this device; raises when its backend is not installed."""
        return device_type(self).xp

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{index})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = Device(other)
        if not isinstance(other, Device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


def device_type(device: Device | str) -> DeviceType:
    """The registered type of ``device``; raises when its backend is not installed."""
    device = Device(device)
    device_type = _DEVICE_TYPES.get(device.type)
    if device_type is None:
        raise RuntimeError(
            f"device {device}: CuPy is not installed, or no GPU is visible "
            "(pip install 'shenjing[cuda]')"
        )
    return device_type


def device_of(x: Any) -> Device:
    """The device that holds array ``x`` (always with an index, as ``torch``'s)."""
    device_type = _device_type_of(x)
    if device_type.name == "cpu":
        return Device("cpu")
    return Device(device_type.name, device_type.index_of(x))


def to_device(x: Any, device: Device) -> Any:
    """``x`` on ``device``: the same array when it is there already, else a copy."""
    source = _device_type_of(x)
    target = device_type(device)
    if source is target and (device.index is None or source.index_of(x) == device.index):
        return x
    host = x if source.name == "cpu" else source.to_host(x)
    return target.to_device(host, 0 if device.index is None else device.index)


def device_count(name: str) -> int:
    """How many devices of type ``name`` the machine has (0 when its backend is absent)."""
    device_type = _DEVICE_TYPES.get(name)
    return 0 if device_type is None else device_type.count()


def _cpu_index(x: Any) -> int:
    return 0


register_device_type(DeviceType(
    "cpu", np, np.ndarray, lambda a, index: a, lambda a: a, _cpu_index, lambda: 1,
))


def _cuda_count() -> int:
    try:
        return _cupy.cuda.runtime.getDeviceCount()
    except _cupy.cuda.runtime.CUDARuntimeError:  # a driver without a GPU
        return 0


def _cuda_to_device(a: np.ndarray, index: int) -> Any:
    with _cupy.cuda.Device(index):
        return _cupy.asarray(a)


if _cupy is not None:
    register_device_type(DeviceType(
        "cuda", _cupy, _cupy.ndarray, _cuda_to_device, lambda a: a.get(),
        lambda a: a.device.id, _cuda_count,
    ))


def manual_seed(seed: int) -> None:
    """Seed every source of randomness in shenjing: initialisation, dropout, shuffling.

    Example:
        >>> import shenjing as sj
        >>> sj.manual_seed(0); a = sj.randn(2); sj.manual_seed(0); b = sj.randn(2)
        >>> bool((a.numpy() == b.numpy()).all())
        True
    """
    global _generator, _seed
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative integer. Received: {seed!r}")
    _generator = np.random.default_rng(int(seed))
    _seed = int(seed)
    _device_generators.clear()


def generator(xp: ModuleType = np) -> Any:
    """The generator behind every random op; replaced by ``manual_seed``.

    ``xp`` picks the array module whose generator draws, so a dropout mask on a GPU is
    drawn there (CuPy's ``random.default_rng``) instead of on the host and copied over.
    A device generator is seeded from the last ``manual_seed`` (one stream per module,
    not the CPU's: the masks differ from a CPU run's, but one seed gives one run).
    """
    if xp is np:
        return _generator
    device_generator = _device_generators.get(xp)
    if device_generator is None:
        seed = _seed if _seed is not None else int(_generator.integers(2**63))
        device_generator = _device_generators[xp] = xp.random.default_rng(seed)
    return device_generator


def seed_device_generator(xp: ModuleType, seed: int) -> None:
    """Seed the generator that draws on ``xp``'s device only (``torch.cuda.manual_seed``);
    the CPU stream is left as it is."""
    _device_generators[xp] = xp.random.default_rng(int(seed))


class Generator:
    """A random generator of its own, as ``torch.Generator``: for a reproducible
    ``DataLoader`` shuffle or ``random_split`` that leaves the global stream alone.

    Example:
        >>> import shenjing as sj
        >>> g = sj.Generator().manual_seed(42)
        >>> g.initial_seed()
        42
    """

    def __init__(self, device: Any = "cpu") -> None:
        if Device(device).type != "cpu":
            raise NotImplementedError(
                f"Generator: only CPU generators are supported. Received: device={device!r}"
            )
        self.rng = np.random.default_rng()
        self._seed: int | None = None

    def manual_seed(self, seed: int) -> Generator:
        """Seed the generator; returns it, so ``Generator().manual_seed(0)`` chains."""
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"Generator.manual_seed expects a non-negative integer. "
                             f"Received: {seed!r}")
        self.rng = np.random.default_rng(int(seed))
        self._seed = int(seed)
        return self

    def seed(self) -> int:
        """Seed from fresh entropy and return the seed chosen."""
        return self.manual_seed(int(np.random.SeedSequence().entropy % 2**63))._seed

    def initial_seed(self) -> int | None:
        """The seed last given (None before any)."""
        return self._seed

    def get_state(self) -> dict:
        """The generator's state as a plain dict."""
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        """Restore a state taken by ``get_state``."""
        self.rng.bit_generator.state = state


def host_generator(generator: Generator | None = None) -> np.random.Generator:
    """The NumPy generator to draw from: ``generator``'s own, or the global one."""
    return _generator if generator is None else generator.rng


def get_rng_state() -> dict:
    """The generator's state, as a plain dict, for exact resume of a training run."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state taken by ``get_rng_state``."""
    _generator.bit_generator.state = state


def as_dtype(dtype: Any) -> np.dtype:
    """Normalise ``"float64"``, ``np.float64`` or a dtype object to a NumPy dtype
    (``"bfloat16"`` loads ml_dtypes)."""
    if isinstance(dtype, str) and dtype in ("bfloat16", "torch.bfloat16", "shenjing.bfloat16"):
        return _bfloat16.dtype()
    try:
        return np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"Not a dtype: {dtype!r}") from err
