"""Which ``sj.compile`` trace is recording, if any.

While ``sj.compile`` runs a step function to trace it, ``loss.backward()`` and
``optimizer.step()`` must not compute anything: they are recorded as effects that every
replay of the compiled step applies; ``zero_grad()`` runs and is recorded too. This
module is the small meeting point that ``SymbolicTensor.backward``, ``Optimizer.step``
and the ``zero_grad`` methods consult; it imports nothing, so the optimizers and modules
can use it without importing the graph machinery.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol


class Recorder(Protocol):
    """What a trace records: the calls that become effects of the compiled step."""

    def record_backward(self, loss: Any, gradient: Any) -> None: ...

    def record_step(self, optimizer: Any) -> None: ...

    def record_zero_grad(self, owner: Any, set_to_none: bool) -> None: ...


_active: list[Recorder] = []


def current() -> Recorder | None:
    """The trace being recorded, or None outside ``sj.compile``'s tracing."""
    return _active[-1] if _active else None


@contextmanager
def recording(trace: Recorder) -> Iterator[None]:
    """Make ``trace`` the current trace inside the block."""
    _active.append(trace)
    try:
        yield
    finally:
        _active.pop()


def record_step(optimizer: Any, closure: Callable[[], Any] | None = None) -> bool:
    """Called by ``Optimizer.step``: inside a trace, record the step and return True (the
    optimizer must then do nothing now); outside one, return False."""
    trace = current()
    if trace is None:
        return False
    if closure is not None:
        raise RuntimeError(
            f"{type(optimizer).__name__}.step(closure) cannot be compiled: sj.compile "
            "replays a fixed graph, so call backward() in the step function instead"
        )
    trace.record_step(optimizer)
    return True


def record_zero_grad(owner: Any, set_to_none: bool) -> None:
    """Called by ``zero_grad()`` of an optimizer or a module: inside a trace, record it, so
    that every replay clears the gradients at the same point (it also runs now, as the
    trace needs the gradients it leaves)."""
    trace = current()
    if trace is not None:
        trace.record_zero_grad(owner, set_to_none)
