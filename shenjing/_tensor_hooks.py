"""Gradient hooks on tensors, as in PyTorch: a mixin of ``Tensor``.

``register_hook`` sees (and may replace) the gradient with respect to a tensor,
``retain_grad`` keeps a non-leaf's gradient in its ``.grad``, and
``register_post_accumulate_grad_hook`` runs once a leaf's ``.grad`` is complete. The
engine (``autograd/engine.py``) runs them during the backward pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from shenjing.autograd import engine

if TYPE_CHECKING:
    from shenjing.tensor import Tensor


class TensorHooks:
    """The hook methods of ``Tensor``."""

    __slots__ = ()

    def register_hook(self: Tensor, hook: Callable[[Tensor], Tensor | None]
                      ) -> engine.RemovableHandle:
        """Call ``hook(grad)`` each time the gradient with respect to this tensor is
        computed; a tensor the hook returns is used instead. Returns a handle whose
        ``remove()`` unregisters it.

        Example:
            >>> import shenjing as sj
            >>> x = sj.tensor([1.0, 2.0], requires_grad=True)
            >>> y = x * 3
            >>> handle = y.register_hook(lambda g: g * 2)
            >>> y.sum().backward()
            >>> x.grad.tolist()
            [6.0, 6.0]
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        return engine.register_grad_hook(self, hook)

    def retain_grad(self: Tensor) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` during backward passes (a
        leaf keeps its gradient anyway)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        engine.retain_grad(self)

    @property
    def retains_grad(self: Tensor) -> bool:
        """True for a non-leaf tensor whose ``.grad`` the backward pass fills."""
        if self.grad_fn is None:
            return False
        if self.grad is not None:  # only a retaining non-leaf is given a .grad
            return True
        ref = self.grad_fn.__dict__.get("grad_hooks", {}).get("retain")
        return ref is not None and ref() is self

    def register_post_accumulate_grad_hook(
        self: Tensor, hook: Callable[[Tensor], None]
    ) -> engine.RemovableHandle:
        """Call ``hook(self)`` whenever a backward pass has finished adding into ``.grad``.

        As in PyTorch: only leaves that require a gradient take such a hook; it runs during
        the pass, as soon as this leaf's gradient is complete. Returns a handle whose
        ``remove()`` unregisters the hook.
        """
        if self.grad_fn is not None or not self.requires_grad:
            raise RuntimeError(
                "register_post_accumulate_grad_hook: only a leaf tensor that requires a "
                f"gradient takes this hook. Received: requires_grad={self.requires_grad}, "
                f"grad_fn={self.grad_fn!r}"
            )
        return engine.register_post_accumulate_grad_hook(self, hook)

    def __int__(self: Tensor) -> int:
        return int(self.item())

    def __float__(self: Tensor) -> float:
        return float(self.item())

    def __index__(self: Tensor) -> int:
        """A 0-d integer tensor works as an index (``range(n)``, ``x[i]``), as in PyTorch.

        Only 0-d: NumPy would read a one-element 1-d tensor used as an index as a
        scalar, dropping a dimension that fancy indexing keeps."""
        if self.array.dtype.kind not in "iub" or self.array.ndim != 0:
            raise TypeError(f"only 0-d integer tensors can be converted to an index. "
                            f"Received: shape={self.shape}, dtype={self.array.dtype}")
        return int(self.item())

    def __format__(self: Tensor, format_spec: str) -> str:
        """A 0-d tensor formats as its Python number (``f"{loss:.4f}"``), as in PyTorch;
        any other tensor only with an empty spec (``f"{x}"``, its repr)."""
        if self.array.ndim == 0:
            return self.item().__format__(format_spec)
        return object.__format__(self, format_spec)
