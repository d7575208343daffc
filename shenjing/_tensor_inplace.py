"""In-place tensor methods with PyTorch's meaning: ``add_``, ``sub_``, ``mul_``, ``div_``,
``clamp_``, ``copy_``, ``zero_``, ``fill_``, ``normal_``, ``uniform_``, ``masked_fill_``
and ``t[index] = v``.

Each writes the new values into the tensor's own memory and returns the tensor:

- under ``no_grad()``, or when neither the tensor nor the operand needs a gradient
  (``p.data.add_(g, alpha=-lr)``), it is a plain write;
- on a leaf that requires a gradient, with gradients on, it raises PyTorch's error;
- otherwise the write is recorded: the out-of-place op runs on a copy of the old values,
  its result is written into the memory, and the op's node becomes the tensor's
  ``grad_fn``. Nodes recorded before the write still see the old history, and backward
  raises PyTorch's error if one of them saved an array that the write overwrote (see
  ``shenjing.autograd.versions``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from shenjing import backend, ops
from shenjing.autograd import versions
from shenjing.autograd.grad_mode import GradMode, no_grad
from shenjing.ops import indexing
from shenjing.ops.inplace import Overwrite, SetItem
from shenjing.tensor import Tensor, as_tensor

LEAF_ERROR = "a leaf Variable that requires grad is being used in an in-place operation."


def _needs_grad(value: Any) -> bool:
    return isinstance(value, Tensor) and value.requires_grad


def _check_result(t: Tensor, op: str, values: Any) -> None:
    """PyTorch's rules for what may be written into ``t``: its own shape (the operand
    broadcasts to it, not beyond), and a dtype that casts to t's within its kind."""
    if values.shape != t.array.shape:
        raise RuntimeError(f"{op}: output with shape {t.shape} doesn't match the broadcast "
                           f"shape {tuple(values.shape)}")
    if values.dtype != t.array.dtype and not np.can_cast(values.dtype, t.array.dtype,
                                                         "same_kind"):
        raise RuntimeError(f"{op}: result type {values.dtype} can't be cast to the desired "
                           f"output type {t.array.dtype}")


def _check_not_a_view(t: Tensor, op: str) -> None:
    """A recorded write into a view (``y[0:2]``, ``y.reshape(...)``) would change the
    base's values without its history knowing: refuse it rather than differ silently."""
    fn = t.grad_fn
    if fn is None or t.array.base is None:
        return
    xp = backend.get_array_module(t.array)
    for source in fn.__dict__.get("inputs", ()):
        if xp.may_share_memory(t.array, source.array):
            raise RuntimeError(
                f"{op}: this tensor is a view of another ({type(fn).__name__}); an in-place "
                "write to it while recording gradients is not supported (the other "
                "tensor's history would not see it). Write into a clone() of it, or under "
                "no_grad()."
            )


def _write(t: Tensor, op: str, compute: Callable[[Tensor], Tensor], *operands: Any) -> Tensor:
    """Write ``compute(old values)`` into ``t``, recording it when a gradient needs it."""
    if GradMode.enabled and (t.requires_grad or any(_needs_grad(o) for o in operands)):
        if t.requires_grad and t.grad_fn is None:
            raise RuntimeError(LEAF_ERROR)
        _check_not_a_view(t, op)
        old = Tensor._make(t.array.copy(), t.grad_fn)  # the op may save what it reads
        old.requires_grad = t.requires_grad
        stamp = versions.mark_write(t)
        result = compute(old)
        _check_result(t, op, result.array)
        if result.dtype != t.dtype:
            result = ops.astype(result, t.dtype)
        t.array[...] = result.array
        versions.rebase(t, result, stamp)
        return t
    with no_grad():
        values = compute(t).array
    _check_result(t, op, values)
    t.array[...] = values
    versions.mark_write(t)
    return t


def _operand(value: Any, t: Tensor) -> Any:
    """A number stays a number (the op lifts it in t's dtype); anything else a Tensor on
    t's device."""
    if isinstance(value, (int, float, bool)):
        return value
    value = as_tensor(value)
    return value if value.device == t.device else value.to(t.device)


# ------------------------------------------------------------------ arithmetic


def add_(self: Tensor, other: Any, *, alpha: float = 1) -> Tensor:
    """self += alpha · other, in place."""
    other = _operand(other, self)
    return _write(self, "add_", lambda x: ops.add(x, other, alpha=alpha), other)


def sub_(self: Tensor, other: Any, *, alpha: float = 1) -> Tensor:
    """self -= alpha · other, in place."""
    other = _operand(other, self)
    return _write(self, "sub_", lambda x: ops.sub(x, other, alpha=alpha), other)


def mul_(self: Tensor, other: Any) -> Tensor:
    """self *= other, in place."""
    other = _operand(other, self)
    return _write(self, "mul_", lambda x: ops.mul(x, other), other)


def div_(self: Tensor, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """self /= other, in place (``rounding_mode`` as ``div``'s)."""
    other = _operand(other, self)
    return _write(self, "div_", lambda x: ops.div(x, other, rounding_mode=rounding_mode),
                  other)


def clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """self limited to [min, max], in place."""
    lo = None if min is None else _operand(min, self)
    hi = None if max is None else _operand(max, self)
    return _write(self, "clamp_", lambda x: ops.clamp(x, lo, hi), lo, hi)


def clamp_min_(self: Tensor, min: Any) -> Tensor:
    """self limited to at least ``min``, in place."""
    return clamp_(self, min, None)


def clamp_max_(self: Tensor, max: Any) -> Tensor:
    """self limited to at most ``max``, in place."""
    return clamp_(self, None, max)


def masked_fill_(self: Tensor, mask: Any, value: Any) -> Tensor:
    """``value`` written wherever ``mask`` is true, in place."""
    value = _operand(value, self)
    return _write(self, "masked_fill_", lambda x: ops.masked_fill(x, mask, value), value)


# ------------------------------------------------------------------ overwriting


def _overwrite(self: Tensor, op: str, values: Any) -> Tensor:
    value = values if isinstance(values, Tensor) else Tensor._make(values, None)
    return _write(self, op, lambda x: Overwrite.apply(x, value), value)


def copy_(self: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    """self's values replaced by ``src``'s (broadcast to self's shape, cast to its dtype);
    the gradient flows to ``src``. ``non_blocking`` is accepted, as in PyTorch."""
    src = _operand(src, self)
    if not isinstance(src, Tensor):
        src = as_tensor(src, self)
    try:
        np.broadcast_shapes(src.shape, self.shape)
    except ValueError:
        raise RuntimeError(f"copy_: the source of shape {src.shape} does not broadcast to "
                           f"{self.shape}") from None
    if np.broadcast_shapes(src.shape, self.shape) != self.shape:
        raise RuntimeError(f"copy_: the source of shape {src.shape} does not broadcast to "
                           f"{self.shape}")
    return _overwrite(self, "copy_", src)


def fill_(self: Tensor, value: Any) -> Tensor:
    """Every element set to ``value`` (a number or a 0-d tensor), in place."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"fill_ only supports a 0-dimension value tensor. Received: "
                               f"shape={value.shape}")
        return _overwrite(self, "fill_", _operand(value, self))
    xp = backend.get_array_module(self.array)
    return _overwrite(self, "fill_", xp.asarray(value, dtype=self.array.dtype))


def zero_(self: Tensor) -> Tensor:
    """Every element set to zero, in place."""
    return fill_(self, 0)


def _random(self: Tensor, op: str, draw: Callable[[Any], Any], generator: Any) -> Tensor:
    if generator is not None:
        raise ValueError(f"{op}: generator= is not supported; seed with sj.manual_seed")
    if self.array.dtype.kind not in "fc":
        raise TypeError(f"{op} needs a floating-point tensor. Received: dtype={self.dtype}")
    xp = backend.get_array_module(self.array)
    values = draw(backend.generator(xp)).astype(self.array.dtype)
    return _overwrite(self, op, values)


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *,
            generator: Any = None) -> Tensor:
    """Filled with samples of N(mean, std²) from the seeded generator, in place."""
    if std < 0:
        raise RuntimeError(f"normal_ expects std >= 0.0, but found std {std}")
    return _random(self, "normal_",
                   lambda g: g.standard_normal(self.shape) * std + mean, generator)


def uniform_(self: Tensor, *bounds: float, generator: Any = None, **named: float) -> Tensor:
    """Filled with samples of U(from, to) (PyTorch's argument names, default U(0, 1))
    from the seeded generator, in place."""
    unknown = set(named) - {"from", "to"}
    if len(bounds) > 2 or unknown:
        raise TypeError(f"uniform_(from=0, to=1): unexpected arguments. Received: "
                        f"{bounds}, {sorted(unknown)}")
    low = named.get("from", bounds[0] if bounds else 0.0)
    high = named.get("to", bounds[1] if len(bounds) == 2 else 1.0)
    if low > high:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={low} > to={high}")
    return _random(self, "uniform_",
                   lambda g: g.random(self.shape) * (high - low) + low, generator)


# ------------------------------------------------------------------ t[index] = v


def setitem(self: Tensor, index: Any, value: Any) -> None:
    """``t[index] = value``: written in place; recorded for autograd like the methods
    above (the gradient reaches ``value`` and the part of ``t`` not overwritten)."""
    xp = backend.get_array_module(self.array)
    parts = index if isinstance(index, tuple) else (index,)
    converted = tuple(indexing._index_part(part, xp)[0] for part in parts)
    if any(indexing._is_int(p) for p in converted) and any(
            backend.is_array(p) and p.dtype.kind in "iu" for p in converted):
        # NumPy and PyTorch order such selections differently; refuse, do not differ.
        raise IndexError("setitem: an int beside an integer-array index is not supported; "
                         "index with a slice (i:i+1) instead of the int")
    index = converted if isinstance(index, tuple) else converted[0]
    if isinstance(value, Tensor) and value.device != self.device:
        value = value.to(self.device)
    if GradMode.enabled and (self.requires_grad or _needs_grad(value)):
        v = value if isinstance(value, Tensor) else as_tensor(value, self)
        _write(self, "setitem", lambda x: SetItem.apply(x, v, index=index), v)
        return
    self.array[index] = value.array if isinstance(value, Tensor) else value
    versions.mark_write(self)


METHODS = {
    "add_": add_, "sub_": sub_, "mul_": mul_, "div_": div_, "clamp_": clamp_,
    "clip_": clamp_, "clamp_min_": clamp_min_, "clamp_max_": clamp_max_,
    "masked_fill_": masked_fill_, "copy_": copy_, "fill_": fill_, "zero_": zero_,
    "normal_": normal_, "uniform_": uniform_, "__setitem__": setitem,
}
for _name, _method in METHODS.items():
    setattr(Tensor, _name, _method)
