"""Module hooks, as in PyTorch: code that runs around a module's ``forward`` and its
backward pass, for inspecting activations and gradients without editing the model.

- forward pre-hooks: ``hook(module, args)`` before ``forward``; may return new args;
- forward hooks: ``hook(module, args, output)`` after it; may return a new output;
- full backward pre-hooks: ``hook(module, grad_output)``; may return new output grads;
- full backward hooks: ``hook(module, grad_input, grad_output)`` once the gradients
  with respect to the module's inputs are known; may return new input gradients.

A module without hooks pays one attribute check per call.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shenjing.autograd import Function, is_grad_enabled
from shenjing.tensor import Tensor

if TYPE_CHECKING:
    from shenjing.nn.module import Module

_handle_ids = itertools.count()


class RemovableHandle:
    """What a hook registration returns; ``remove()`` unregisters the hook."""

    def __init__(self, hooks: dict[int, Any], handle_id: int) -> None:
        self._hooks = hooks
        self.id = handle_id

    def remove(self) -> None:
        """Unregister the hook (a no-op when it is already gone)."""
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class _HookTable:
    """One module's hooks by kind, each a dict (handle id -> (hook, options)) in call order."""

    def __init__(self) -> None:
        self.forward_pre: dict[int, tuple[Callable, bool]] = {}
        self.forward: dict[int, tuple[Callable, bool, bool]] = {}
        self.backward_pre: dict[int, Callable] = {}
        self.backward: dict[int, Callable] = {}

    def add(self, kind: str, entry: Any, prepend: bool) -> RemovableHandle:
        hooks = getattr(self, kind)
        handle_id = next(_handle_ids)
        if prepend:
            rest = dict(hooks)
            hooks.clear()
            hooks[handle_id] = entry
            hooks.update(rest)
        else:
            hooks[handle_id] = entry
        return RemovableHandle(hooks, handle_id)


class ModuleHooks:
    """The hook-registering methods of ``Module``."""

    _hooks: _HookTable | None = None

    def _hook_table(self) -> _HookTable:
        if self._hooks is None:
            object.__setattr__(self, "_hooks", _HookTable())
        return self._hooks

    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args)`` (``hook(module, args, kwargs)`` with
        ``with_kwargs``) before each ``forward``; a non-None result replaces the
        arguments (a tuple, or a single value; with kwargs an ``(args, kwargs)`` pair)."""
        return self._hook_table().add("forward_pre", (hook, with_kwargs), prepend)

    def register_forward_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """Call ``hook(module, args, output)`` (``hook(module, args, kwargs, output)``
        with ``with_kwargs``) after each ``forward``; a non-None result replaces the
        output. ``always_call`` runs it even when ``forward`` raised.

        Example:
            >>> import shenjing as sj, shenjing.nn as nn
            >>> layer, seen = nn.Linear(3, 2), []
            >>> handle = layer.register_forward_hook(lambda m, args, out: seen.append(out.shape))
            >>> _ = layer(sj.zeros(4, 3)); seen
            [(4, 2)]
        """
        return self._hook_table().add("forward", (hook, with_kwargs, always_call), prepend)

    def register_full_backward_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients with respect to the
        module's outputs are known; a non-None result (a tuple) replaces them."""
        return self._hook_table().add("backward_pre", hook, prepend)

    def register_full_backward_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` once the gradients with respect
        to the module's positional inputs are known (None for inputs that need none); a
        non-None result (a tuple) replaces ``grad_input``.

        A module with several inputs that need a gradient passes each one's gradient on
        as soon as it is known, so there its hook may observe but not replace them.
        """
        return self._hook_table().add("backward", hook, prepend)


def call_with_hooks(module: Module, hooks: _HookTable, args: tuple, kwargs: dict) -> Any:
    """``module.forward(*args, **kwargs)`` with the module's hooks around it."""
    for hook, with_kwargs in list(hooks.forward_pre.values()):
        if with_kwargs:
            result = hook(module, args, kwargs)
            if result is not None:
                args, kwargs = result
        else:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
    backward = None
    if (hooks.backward or hooks.backward_pre) and is_grad_enabled():
        backward = _BackwardHooks(module, hooks)
        args = backward.tap_inputs(args)
    try:
        output = module.forward(*args, **kwargs)
    except Exception:
        for hook, with_kwargs, always_call in list(hooks.forward.values()):
            if always_call:
                hook(module, args, kwargs, None) if with_kwargs else hook(module, args, None)
        raise
    for hook, with_kwargs, _ in list(hooks.forward.values()):
        result = hook(module, args, kwargs, output) if with_kwargs else hook(module, args, output)
        if result is not None:
            output = result
    if backward is not None:
        backward.watch_outputs(output)
    return output


class _Tap(Function):
    """y = x;  gx = gy, after the module's backward hooks have seen (and maybe
    replaced) it: marks where a module's input enters it."""

    def forward(self, x: Any, hooks: _BackwardHooks, index: int) -> Any:
        self.hooks, self.index = hooks, index
        return x.view()

    def backward(self, gy: Any) -> Any:
        return self.hooks.input_gradient(self.index, gy)


class _BackwardHooks:
    """One forward call's state for its backward hooks: which inputs were tapped, the
    output gradients as they arrive, and the input gradients until all are known."""

    def __init__(self, module: Module, hooks: _HookTable) -> None:
        self.module = module
        self.hooks = hooks
        self.n_inputs = 0
        self.tapped: list[int] = []
        self.grad_inputs: list[Any] = []
        self.grad_outputs: list[Any] = []
        self.outputs_waiting = 0

    def tap_inputs(self, args: tuple) -> tuple:
        self.n_inputs = len(args)
        self.grad_inputs = [None] * len(args)
        tapped = list(args)
        for k, arg in enumerate(args):
            if isinstance(arg, Tensor) and arg.requires_grad:
                tapped[k] = _Tap.apply(arg, hooks=self, index=k)
                self.tapped.append(k)
        return tuple(tapped)

    def watch_outputs(self, output: Any) -> None:
        outputs = output if isinstance(output, (tuple, list)) else (output,)
        self.grad_outputs = [None] * len(outputs)
        for j, out in enumerate(outputs):
            if isinstance(out, Tensor) and out.requires_grad:
                self.outputs_waiting += 1
                out.register_hook(lambda g, j=j: self.output_gradient(j, g))

    def output_gradient(self, j: int, g: Tensor) -> Tensor | None:
        self.grad_outputs[j] = g
        self.outputs_waiting -= 1
        replaced = None
        if self.outputs_waiting == 0:
            grad_output = tuple(self.grad_outputs)
            for hook in list(self.hooks.backward_pre.values()):
                result = hook(self.module, grad_output)
                if result is not None:
                    grad_output = tuple(result)
            replaced = grad_output[j]
            self.grad_outputs = list(grad_output)
            if not self.tapped:  # no input needs a gradient: the hooks run now
                self._run_backward_hooks()
        return replaced

    def input_gradient(self, k: int, gy: Any) -> Any:
        self.grad_inputs[k] = Tensor._make(gy, None)
        self.tapped.remove(k)
        if self.tapped:  # others still to come: this one goes on as it is
            return gy
        grad_input = self._run_backward_hooks()
        replaced = grad_input[k]
        return gy if replaced is None else getattr(replaced, "array", replaced)

    def _run_backward_hooks(self) -> tuple:
        grad_input = tuple(self.grad_inputs)
        several = sum(g is not None for g in grad_input) > 1
        for hook in list(self.hooks.backward.values()):
            result = hook(self.module, grad_input, tuple(self.grad_outputs))
            if result is not None:
                if several:
                    raise NotImplementedError(
                        f"{type(self.module).__name__}: a full backward hook may replace the "
                        "input gradients only of a module with one input that needs a "
                        "gradient; this call had several"
                    )
                grad_input = tuple(result)
        return grad_input
