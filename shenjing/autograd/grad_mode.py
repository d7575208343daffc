"""Switching graph recording on and off: ``no_grad`` and ``enable_grad``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class GradMode:
    """Whether ops record the graph. One flag for the process, read by every op."""

    enabled: bool = True


def is_grad_enabled() -> bool:
    """True while ops record the graph for ``backward()``."""
    return GradMode.enabled


class _SetGradMode:
    """Context manager and decorator that sets recording to ``mode`` while active."""

    mode: bool

    def __enter__(self) -> None:
        self._previous = GradMode.enabled
        GradMode.enabled = self.mode

    def __exit__(self, *exc_info: object) -> None:
        GradMode.enabled = self._previous

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_SetGradMode):
    """Record nothing: ops inside give tensors with no ``grad_fn``.

    Use as ``with sj.no_grad(): ...`` or as the decorator ``@sj.no_grad()``.
    """

    mode = False


class enable_grad(_SetGradMode):
    """Record the graph again inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_SetGradMode):
    """Set recording to ``mode``: as a call, a context manager or a decorator.

    As in PyTorch, the mode takes effect when the object is made, so the bare call
    ``sj.set_grad_enabled(False)`` switches recording off for what follows; leaving a
    ``with`` block restores the mode from before it. ``minGPT``'s trainer writes
    ``with torch.set_grad_enabled(is_train): ...``.
    """

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be a bool. Received: {mode!r}")
        self.mode = mode
        self._previous = GradMode.enabled
        GradMode.enabled = mode

    def __enter__(self) -> None:
        pass  # the mode was set when the object was made; __exit__ restores it

    def __call__(self, func: F) -> F:
        # Used as a decorator: undo the switch made at construction, as PyTorch does,
        # and set the mode only while the function runs.
        GradMode.enabled = self._previous
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class _InferenceMode:
    """Whether an ``inference_mode`` block is active (``is_inference_mode_enabled``)."""

    enabled: bool = False


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()``."""
    return _InferenceMode.enabled


class inference_mode:
    """Run without recording the graph, as ``torch.inference_mode``: a context manager,
    a decorator (``@sj.inference_mode()`` or bare ``@sj.inference_mode``).

    Here it records nothing, as ``no_grad``. One difference: PyTorch also marks the
    tensors made inside as inference tensors and raises if one is later saved for a
    backward pass; shenjing's are ordinary tensors without history, so such a program
    runs here where PyTorch refuses it. ``mode=False`` changes nothing, as in PyTorch.
    """

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode) and not isinstance(mode, bool):  # the bare decorator
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"inference_mode: mode must be a bool. Received: {mode!r}")
        self.mode = mode

    def __enter__(self) -> None:
        self._previous = (GradMode.enabled, _InferenceMode.enabled)
        if self.mode:
            GradMode.enabled = False
        _InferenceMode.enabled = self.mode

    def __exit__(self, *exc_info: object) -> None:
        GradMode.enabled, _InferenceMode.enabled = self._previous

    def __call__(self, func: F) -> F:
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(mode):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
