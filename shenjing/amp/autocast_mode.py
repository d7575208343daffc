"""``autocast``: run each op in the dtype PyTorch's autocast picks for it.

While autocast is on for a device type, every op on that device's tensors is looked up
in ``OP_TABLE`` (one table, consulted in ``Function.apply``):

- ``LOWER`` ops (matmul, linear, convolutions, prelu, attention, einsum) cast their
  float32 inputs to the low dtype (bfloat16 or float16) and return the low dtype;
- ``FLOAT32`` ops (the losses, prod) cast low-precision inputs to float32 and return
  float32;
- ``PROMOTE`` ops (cat, stack) cast every floating input to the widest floating dtype
  among them;
- every other op runs in the dtype of its inputs.

These are PyTorch's CPU lists ("Autocast Op Reference", CPU section; checked against
torch 2.13, whose CPU lists keep softmax, layer_norm, exp and sums in the input dtype).
The casts are recorded ops, so gradients flow back through them into the parameters in
their own dtype (float32 master weights). Float64 and non-floating inputs are never cast.

bfloat16 ops run in float32 on the bfloat16 values and round the result to bfloat16
(round-to-nearest-even), which is what CPUs without native bfloat16 arithmetic do; the
gradients take the same route back. Float16 runs natively on CuPy; on NumPy, whose
float16 matmul has no BLAS, the LOWER ops run in float32 and round to float16 too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from shenjing import _bfloat16
from shenjing.autograd import function
from shenjing.autograd.function import Function
from shenjing.backend import device_of
from shenjing.ops.activation import PReLU
from shenjing.ops.attention import ScaledDotProductAttention
from shenjing.ops.conv import Convolution
from shenjing.ops.conv_transpose import ConvolutionTranspose
from shenjing.ops.einsum import Einsum
from shenjing.ops.elementwise import Cast
from shenjing.ops.linalg import Linear, MatMul
from shenjing.ops.loss import (
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
)
from shenjing.ops.loss_class import NLLLoss, SoftmaxCrossEntropy, SoftTargetCrossEntropy
from shenjing.ops.product import Prod
from shenjing.ops.shape import Concat, Stack
from shenjing.tensor import Tensor

__all__ = ["autocast", "get_autocast_dtype", "is_autocast_enabled", "OP_TABLE"]

F = TypeVar("F", bound=Callable[..., Any])

LOWER, FLOAT32, PROMOTE = "lower", "float32", "promote"

OP_TABLE: dict[type[Function], str] = {
    # CPU ops that autocast to the low dtype.
    MatMul: LOWER,  # matmul, mm, bmm, mv, dot, addmm, baddbmm, ... all call it
    Linear: LOWER,
    Convolution: LOWER,  # conv1d, conv2d, conv3d
    ConvolutionTranspose: LOWER,
    PReLU: LOWER,
    ScaledDotProductAttention: LOWER,
    Einsum: LOWER,  # PyTorch's einsum runs as bmm, which autocasts
    # CPU ops that autocast to float32.
    MSELoss: FLOAT32,
    L1Loss: FLOAT32,
    HuberLoss: FLOAT32,  # huber_loss, smooth_l1_loss
    BinaryCrossEntropy: FLOAT32,
    BinaryCrossEntropyWithLogits: FLOAT32,
    KLDivLoss: FLOAT32,
    SoftmaxCrossEntropy: FLOAT32,  # cross_entropy
    SoftTargetCrossEntropy: FLOAT32,
    NLLLoss: FLOAT32,
    Prod: FLOAT32,
    # CPU ops that promote to the widest input type.
    Concat: PROMOTE,
    Stack: PROMOTE,
}

_DEFAULT_DTYPE = {"cpu": "bfloat16", "cuda": "float16"}
_LOW_NAMES = ("bfloat16", "float16")


class _State:
    """What autocast is doing now: ``dtypes[device_type]`` is the low dtype of each
    device type where it is on; ``cache`` keeps weights cast once per region. One state
    for the process, as ``GradMode``'s flag."""

    dtypes: dict[str, np.dtype] = {}
    depth = 0
    cache_enabled = True
    cache: dict[int, tuple[Tensor, Tensor]] = {}


def is_autocast_enabled(device_type: str = "cpu") -> bool:
    """Whether autocast is on for ``device_type`` (``"cpu"``, ``"cuda"``, ...)."""
    return device_type in _State.dtypes


def get_autocast_dtype(device_type: str = "cpu") -> np.dtype:
    """The low dtype autocast uses on ``device_type`` (its default when it is off)."""
    if device_type in _State.dtypes:
        return _State.dtypes[device_type]
    return _low_dtype(_DEFAULT_DTYPE.get(device_type, "float16"), device_type)


def _low_dtype(dtype: Any, device_type: str) -> np.dtype:
    name = dtype if isinstance(dtype, str) else getattr(dtype, "name", str(dtype))
    name = name.removeprefix("torch.").removeprefix("shenjing.")
    if name not in _LOW_NAMES:
        raise ValueError(
            f"autocast: dtype must be bfloat16 or float16. Received: {dtype!r} for "
            f"device_type={device_type!r}"
        )
    return _bfloat16.dtype() if name == "bfloat16" else np.dtype(np.float16)


class autocast:
    """Context manager and decorator: ops inside run in the dtypes of ``OP_TABLE``.

    Args:
        device_type: ``"cpu"``, ``"cuda"`` (or another registered device type); only
            ops on that device's tensors are autocast.
        dtype: the low dtype, ``sj.bfloat16`` or ``sj.float16`` (default: bfloat16 on
            the CPU, float16 elsewhere, as PyTorch). Another dtype raises ValueError
            (PyTorch warns and turns autocast off).
        enabled: ``False`` turns autocast off inside (a nested region in float32).
        cache_enabled: keep each float32 leaf weight's low-precision copy for the rest of
            the outermost region (default True). As in PyTorch, update weights outside
            the region: a cached copy does not see an in-place change.
    """

    def __init__(
        self,
        device_type: str,
        dtype: Any = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        if not isinstance(device_type, str):
            raise TypeError(
                f"autocast: device_type must be a string such as 'cpu' or 'cuda'. "
                f"Received: {device_type!r}"
            )
        self.device_type = device_type
        self.enabled = bool(enabled)
        self.fast_dtype = (
            _low_dtype(dtype, device_type) if dtype is not None
            else get_autocast_dtype(device_type) if enabled else None
        )
        self.cache_enabled = True if cache_enabled is None else bool(cache_enabled)

    def __enter__(self) -> autocast:
        self._previous = (dict(_State.dtypes), _State.cache_enabled)
        if self.enabled:
            _State.dtypes[self.device_type] = self.fast_dtype
        else:
            _State.dtypes.pop(self.device_type, None)
        _State.cache_enabled = self.cache_enabled
        _State.depth += 1
        install()
        return self

    def __exit__(self, *exc_info: object) -> None:
        _State.dtypes, _State.cache_enabled = self._previous
        _State.depth -= 1
        if _State.depth == 0:
            _State.cache.clear()  # as PyTorch: the cache lives for the outermost region

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with autocast(self.device_type, self.fast_dtype, self.enabled,
                          self.cache_enabled):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


# --------------------------------------------------------------------- the dispatch
def install() -> None:
    """Route every op through ``dispatch`` (once autocast or bfloat16 is first used)."""
    function.dtype_hook = dispatch


_bfloat16.on_load(install)


def dispatch(cls: type[Function], inputs: tuple, params: dict) -> Tensor | None:
    """The output of ``cls`` on ``inputs`` when autocast or bfloat16 changes how it runs,
    else None (the op then runs as usual)."""
    if not inputs:
        return None
    if _State.dtypes:
        arr = inputs[0].array
        device_type = "cpu" if type(arr) is np.ndarray else device_of(arr).type
        low = _State.dtypes.get(device_type)
        if low is not None:
            rule = OP_TABLE.get(cls)
            if rule is LOWER:
                return _run_lower(cls, inputs, params, low)
            if rule is FLOAT32:
                inputs = tuple(_cast(t, np.float32) if _is_low(t.array.dtype) else t
                               for t in inputs)
                return cls.apply_plain(inputs, params)
            if rule is PROMOTE:
                inputs = _promote(inputs)
    if any(_bfloat16.is_bfloat16(t.array.dtype) for t in inputs):
        return _via_float32(cls, inputs, params)
    if _State.dtypes:
        return cls.apply_plain(inputs, params)  # the PROMOTE casts, or nothing to change
    return None


def _is_low(dtype: np.dtype) -> bool:
    return dtype == np.float16 or _bfloat16.is_bfloat16(dtype)


def _eligible(dtype: np.dtype) -> bool:
    """Inputs autocast may cast: floating, not float64 (PyTorch's rule)."""
    return dtype == np.float32 or _is_low(dtype)


def _cast(t: Tensor, dtype: Any) -> Tensor:
    """``t`` in ``dtype`` through a recorded cast, so the gradient flows back in t's dtype."""
    if t.array.dtype == dtype:
        return t
    return Cast.apply_plain((t,), {"dtype": dtype})


def _cached_cast(t: Tensor, dtype: np.dtype) -> Tensor:
    """``_cast``, reusing a float32 leaf weight's copy within the autocast region."""
    if not (_State.cache_enabled and t.requires_grad and t.grad_fn is None
            and t.array.dtype == np.float32):
        return _cast(t, dtype)
    hit = _State.cache.get(id(t))
    # A copy whose graph node a backward() already freed no longer reaches the weight.
    if hit is not None and hit[0] is t and hit[1].array.dtype == dtype and (
        hit[1].grad_fn is None or "inputs" in hit[1].grad_fn.__dict__
    ):
        return hit[1]
    out = _cast(t, dtype)
    _State.cache[id(t)] = (t, out)
    return out


def _run_lower(cls: type[Function], inputs: tuple, params: dict, low: np.dtype) -> Tensor:
    cast = tuple(_cached_cast(t, low) if _eligible(t.array.dtype) else t for t in inputs)
    if low == np.float16 and type(inputs[0].array) is not np.ndarray:
        return cls.apply_plain(cast, params)  # CuPy computes float16 natively
    return _via_float32(cls, cast, params)


def _promote(inputs: tuple) -> tuple:
    floats = [t.array.dtype for t in inputs if _eligible(t.array.dtype)]
    if len(set(floats)) < 2:
        return inputs
    wide = np.dtype(np.float32)
    return tuple(_cast(t, wide) if _eligible(t.array.dtype) else t for t in inputs)


def _via_float32(cls: type[Function], inputs: tuple, params: dict) -> Any:
    """Run ``cls`` in float32 on low-precision inputs and round its float32 outputs back
    to the low dtype (when every floating input had it; else PyTorch promotes to float32)."""
    lows = {t.array.dtype for t in inputs if _is_low(t.array.dtype)}
    others = any(t.array.dtype.kind == "f" and not _is_low(t.array.dtype) for t in inputs)
    target = lows.pop() if len(lows) == 1 and not others else np.dtype(np.float32)
    up = tuple(_cast(t, np.float32) if _is_low(t.array.dtype) else t for t in inputs)
    out = cls.apply_plain(up, params)
    if target == np.float32:
        return out
    if isinstance(out, tuple):
        return tuple(_cast(o, target) if o.array.dtype == np.float32 else o for o in out)
    return _cast(out, target) if out.array.dtype == np.float32 else out
