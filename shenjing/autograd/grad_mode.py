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
