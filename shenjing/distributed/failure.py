"""Ending the whole MPI job when one rank fails, so that no rank is left waiting forever.

A rank that stops while the others wait in a collective leaves them spinning: MPICH's
ranks busy-poll, and the failed rank's ``MPI_Finalize`` (run at interpreter exit) waits
for ranks that will never arrive. So, in a world of more than one rank, a failure calls
``MPI_Abort``, which ends every rank of the job within a second:

- an uncaught exception: ``sys.excepthook`` prints it with the rank and aborts;
- ``sys.exit(n)`` with a failure status (n not 0 or None): ``sys.exit`` records the
  status, and an exit handler aborts with it once Python has unwound the stack;
- a command (``shenjing ...``) or ``fit`` that ends with a failure calls ``abort``.

Python gives an exit handler no way to read the status of a bare ``raise SystemExit(n)``
outside ``fit``; such an exit is not caught here (``sys.exit(n)`` is). For the same reason
a ``sys.exit(n)`` whose ``SystemExit`` the program catches and survives still counts as
this rank's failure when it ends (unless a later ``sys.exit(0)`` replaces it). Status 130 (an
interrupt, Ctrl-C) does not abort: mpiexec passes Ctrl-C to every rank, and rank 0 must be
left to save its checkpoint before the job ends.
"""

from __future__ import annotations

import atexit
import os
import sys
import time
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any, NoReturn

__all__ = ["abort", "exit_status", "install"]

INTERRUPTED = 130
"""The exit status of an interrupted command; it never aborts the job."""

FORWARD_SECONDS = 0.3
"""How long a failing rank waits, its output flushed, before aborting: ``MPI_Abort``
kills every process of the job, mpiexec's forwarding proxies too, and output still on its
way through their pipes would be lost with them (seen under load: the rank's last line
missing)."""

_comm: Any = None
_exit_status: int | None = None
_original_exit: Callable[..., Any] | None = None


def install(comm: Any) -> None:
    """Abort every rank of ``comm``'s job when this rank fails (see the module's doc)."""
    global _comm, _original_exit
    if _comm is not None:
        return
    _comm = comm
    sys.excepthook = _abort_on_uncaught
    _original_exit = sys.exit
    sys.exit = _recording_exit
    # Registered after mpi4py.MPI was imported, so it runs before MPI's own finalisation.
    atexit.register(_abort_on_failed_exit)


def exit_status(code: Any) -> int:
    """The process status Python gives ``SystemExit(code)``: 0 for None, 1 for a message."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF  # what the operating system keeps of it
    return 1


def _prefix() -> str:
    return f"[rank {_comm.Get_rank()}/{_comm.Get_size()}]"


def abort(status: int = 1, message: str | None = None) -> NoReturn:
    """Write ``message`` (prefixed with this rank) to stderr and end every rank of the job
    with ``status``. Outside a world of several ranks, exit this process with ``status``."""
    if message:
        prefix = "" if _comm is None else _prefix() + " "
        sys.stderr.write(prefix + message.rstrip("\n") + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    if _comm is None:
        raise SystemExit(status)
    time.sleep(FORWARD_SECONDS)
    _comm.Abort(status or 1)
    # MPICH's Abort can return in this process (it tells mpiexec, which ends the others):
    # leave at once, skipping the MPI_Finalize that would wait for them.
    os._exit(status or 1)


def abort_on_system_exit(error: SystemExit, where: str) -> None:
    """Abort the job if ``error`` (escaping ``where``) is a failure status, in a world of
    several ranks; otherwise return (the caller re-raises)."""
    status = exit_status(error.code)
    if _comm is not None and status not in (0, INTERRUPTED):
        abort(status, f"{where} ended with SystemExit({error.code!r}); ending the job")


def _recording_exit(status: Any = None) -> NoReturn:
    """``sys.exit`` that remembers a failure status for the exit handler."""
    global _exit_status
    _exit_status = exit_status(status)
    assert _original_exit is not None
    _original_exit(status)
    raise SystemExit(status)  # not reached


def _abort_on_failed_exit() -> None:
    """At interpreter exit after ``sys.exit(n)`` with a failure: abort instead of waiting
    in ``MPI_Finalize`` for ranks that may be blocked in a collective."""
    if _exit_status not in (None, 0, INTERRUPTED):
        abort(_exit_status, f"exited with status {_exit_status}; ending the job")


def _abort_on_uncaught(
    kind: type[BaseException], error: BaseException, tb: TracebackType | None
) -> None:
    """Print the error with this rank's number, then end the whole job."""
    text = "".join(traceback.format_exception(kind, error, tb))
    sys.stderr.write(f"{_prefix()} {text}")
    sys.stderr.flush()
    time.sleep(FORWARD_SECONDS)
    _comm.Abort(1)
    os._exit(1)
