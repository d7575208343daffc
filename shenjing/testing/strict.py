"""A strict stand-in for CuPy, to find host round trips without a GPU.

``StrictArray`` wraps a NumPy array and behaves like ``cupy.ndarray`` where it matters
for porting: it refuses implicit conversion to NumPy (``np.asarray(x)``, ``x.__array__``
and NumPy ufuncs or functions applied to it raise ``TypeError``, as CuPy's
"Implicit conversion to a NumPy array is not allowed"), and it refuses NumPy arrays as
operands (CuPy raises "Unsupported type"). ``strict_numpy`` is its array module: a proxy
of NumPy whose functions unwrap their arguments and wrap their results, so code written
with ``xp = get_array_module(x)`` runs on it unchanged, and code that calls ``np.`` on
tensor data fails loudly.

Like CuPy, ``float(x)``, ``int(x)``, ``bool(x)``, ``x.item()``, ``x.tolist()`` and
``x.get()`` work (on a GPU they copy to the host and wait for the device), but each one
is counted in ``host_syncs``, so a test can assert that a training step makes none.

Register it with ``install()`` (device type ``"strict"``: ``sj.device("strict")``,
``tensor.to("strict")``) and remove it with ``uninstall()``.
"""

from __future__ import annotations

import operator
from types import ModuleType
from typing import Any

import numpy as np

from shenjing import backend

host_syncs = 0
"""How many times device data was read on the host (float(), .item(), .get(), ...)."""


def _sync() -> None:
    global host_syncs
    host_syncs += 1


def _unwrap(obj: Any) -> Any:
    if type(obj) is StrictArray:
        return obj._a
    if isinstance(obj, np.ndarray):
        raise TypeError(
            f"Unsupported type {type(obj)}: a NumPy array mixed with device arrays "
            "(move it with xp.asarray first)"
        )
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(item) for item in obj)
    return obj


def _unwrap_index(index: Any) -> Any:
    """Indices may hold host arrays (CuPy copies them over)."""
    if type(index) is StrictArray:
        return index._a
    if isinstance(index, tuple):
        return tuple(_unwrap_index(i) for i in index)
    return index


def _wrap(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return StrictArray(obj)
    if isinstance(obj, np.generic):  # CuPy gives 0-d arrays where NumPy gives scalars
        return StrictArray(np.asarray(obj))
    if isinstance(obj, tuple):
        return tuple(_wrap(item) for item in obj)
    if isinstance(obj, list):
        return [_wrap(item) for item in obj]
    if isinstance(obj, np.random.Generator):  # xp.random.default_rng(): draws on device
        return _Function(obj)
    return obj


def _call(fn: Any, args: tuple, kwargs: dict) -> Any:
    return _wrap(fn(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))


class _Function:
    """A NumPy function (or ufunc) seen through the strict module."""

    __slots__ = ("_fn",)

    def __init__(self, fn: Any) -> None:
        self._fn = fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _call(self._fn, args, kwargs)

    def __getattr__(self, name: str) -> Any:  # ufunc methods: np.add.at, np.maximum.reduce
        return _proxy(getattr(self._fn, name))


def _proxy(attr: Any) -> Any:
    if isinstance(attr, ModuleType):
        return _Module(attr)
    if isinstance(attr, type) or not callable(attr):  # dtypes, constants, classes
        return attr
    return _Function(attr)


# Functions that take host data on purpose: they are how data reaches the device.
_TRANSFERS = {"asarray", "array", "ascontiguousarray"}


class _Module(ModuleType):
    """NumPy (or one of its submodules) with every function unwrapping and wrapping."""

    def __init__(self, module: ModuleType) -> None:
        super().__init__(f"strict_{module.__name__}")
        self._module = module

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._module, name)
        if name in _TRANSFERS and self._module is np:
            return _Transfer(attr)
        return _proxy(attr)


class _Transfer(_Function):
    """``asarray`` / ``array``: host data is welcome here (an upload, as cupy.asarray)."""

    __slots__ = ()

    def __call__(self, a: Any, *args: Any, **kwargs: Any) -> Any:
        return _wrap(self._fn(_unwrap_host(a), *args, **kwargs))


def _unwrap_host(obj: Any) -> Any:
    """Like ``_unwrap`` but letting host arrays through (an upload, as cupy.asarray)."""
    if isinstance(obj, np.ndarray):
        return obj
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap_host(item) for item in obj)
    return _unwrap(obj)


strict_numpy = _Module(np)
"""The strict array module: ``get_array_module`` of a ``StrictArray``."""


def _binary(op: Any, reflected: bool = False) -> Any:
    def method(self: StrictArray, other: Any) -> Any:
        other = _unwrap(other)
        return _wrap(op(other, self._a) if reflected else op(self._a, other))

    return method


def _inplace(op: Any) -> Any:
    def method(self: StrictArray, other: Any) -> Any:
        op(self._a, _unwrap(other))
        return self

    return method


class _Flags:
    """What ``cupy.ndarray.flags`` offers (no ``writeable``: device arrays always are)."""

    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, flags: Any) -> None:
        self.c_contiguous, self.f_contiguous = flags.c_contiguous, flags.f_contiguous
        self.owndata = flags.owndata


class _Device:
    """The device of a ``StrictArray``: id 0, unhashable as CuPy's."""

    id = 0
    __hash__ = None  # type: ignore[assignment]


class StrictArray:
    """An ndarray on the pretend device: NumPy underneath, CuPy's refusals on top."""

    __slots__ = ("_a",)
    __array_ufunc__ = None  # np.exp(x): NumPy raises TypeError instead of converting
    __array_priority__ = 2000

    def __init__(self, array: np.ndarray) -> None:
        self._a = array

    @property
    def flags(self) -> _Flags:
        """CuPy's flags: contiguity and ownership, no ``writeable``."""
        return _Flags(self._a.flags)

    @property
    def device(self) -> _Device:
        """Unhashable, like ``cupy.ndarray.device`` (a ``cupy.cuda.Device``)."""
        return _Device()

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
            "construct a NumPy array explicitly."
        )

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raise TypeError(
            f"numpy.{func.__name__} on a device array: use xp = get_array_module(x)"
        )

    # Explicit reads to the host: allowed, counted.
    def get(self) -> np.ndarray:
        _sync()
        return self._a.copy()

    def item(self) -> Any:
        _sync()
        return self._a.item()

    def tolist(self) -> Any:
        _sync()
        return self._a.tolist()

    def __float__(self) -> float:
        _sync()
        return float(self._a)

    def __int__(self) -> int:
        _sync()
        return int(self._a)

    def __bool__(self) -> bool:
        _sync()
        return bool(self._a)

    def __index__(self) -> int:
        _sync()
        return operator.index(self._a)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Any:
        return (_wrap(row) for row in self._a)

    def __repr__(self) -> str:
        return f"strict_array({self._a!r})"

    __hash__ = None  # type: ignore[assignment]

    def __getitem__(self, index: Any) -> Any:
        return _wrap(self._a[_unwrap_index(index)])

    def __setitem__(self, index: Any, value: Any) -> None:
        self._a[_unwrap_index(index)] = _unwrap(value)

    def __getattr__(self, name: str) -> Any:  # shape, dtype, T, reshape, sum, astype, ...
        attr = getattr(self._a, name)
        return _Function(attr) if callable(attr) else _wrap(attr)

    def __neg__(self) -> Any:
        return _wrap(-self._a)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return _wrap(abs(self._a))

    def __invert__(self) -> Any:
        return _wrap(~self._a)

    __add__, __radd__ = _binary(operator.add), _binary(operator.add, True)
    __sub__, __rsub__ = _binary(operator.sub), _binary(operator.sub, True)
    __mul__, __rmul__ = _binary(operator.mul), _binary(operator.mul, True)
    __truediv__, __rtruediv__ = _binary(operator.truediv), _binary(operator.truediv, True)
    __floordiv__ = _binary(operator.floordiv)
    __mod__ = _binary(operator.mod)
    __pow__, __rpow__ = _binary(operator.pow), _binary(operator.pow, True)
    __matmul__, __rmatmul__ = _binary(operator.matmul), _binary(operator.matmul, True)
    __and__, __or__, __xor__ = (_binary(operator.and_), _binary(operator.or_),
                                _binary(operator.xor))
    __lt__, __le__ = _binary(operator.lt), _binary(operator.le)
    __gt__, __ge__ = _binary(operator.gt), _binary(operator.ge)
    __eq__, __ne__ = _binary(operator.eq), _binary(operator.ne)  # type: ignore[assignment]
    __iadd__, __isub__ = _inplace(operator.iadd), _inplace(operator.isub)
    __imul__, __itruediv__ = _inplace(operator.imul), _inplace(operator.itruediv)
    __ipow__ = _inplace(operator.ipow)
    __iand__, __ior__ = _inplace(operator.iand), _inplace(operator.ior)


def _to_device(array: np.ndarray, index: int) -> StrictArray:
    return StrictArray(np.array(array))  # a copy, as an upload makes


_installs = 0  # install() calls not yet undone: nested fixtures share one registration


def install() -> None:
    """Register the ``"strict"`` device type with the backend. Calls nest: a test's own
    install/uninstall pair inside a session-wide one leaves the type registered."""
    global _installs
    if _installs == 0:
        backend.register_device_type(backend.DeviceType(
            "strict", strict_numpy, StrictArray, _to_device, lambda a: a.get(), lambda a: 0,
            lambda: 1,
        ))
    _installs += 1


def uninstall() -> None:
    """Undo one ``install()``; the ``"strict"`` device type goes with the last."""
    global _installs
    if _installs == 0:
        return
    _installs -= 1
    if _installs == 0:
        backend.unregister_device_type("strict")
