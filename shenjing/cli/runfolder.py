"""A run folder's guards: one ``shenjing train`` at a time, and no silent overwrite.

A training run holds an operating-system lock on ``<out>/.lock`` while it runs
(``fcntl.flock``; ``msvcrt.locking`` on Windows) and writes its pid there for the message
a second run gets. The lock itself, not the file's existence, is what keeps others out:
it is taken in one system call, so there is no moment between creating the file and
owning it, and the system releases it when the process ends however it ends (a killed
run's leftover ``.lock`` is stale and simply taken over). A fresh run into a folder that
already holds a checkpoint refuses unless ``--overwrite`` is given, so a finished run is
never replaced by accident.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from shenjing.cli.common import BEST_NAME, CHECKPOINT_NAME, UsageError, read_checkpoint

LOCK_NAME = ".lock"

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock on the open file ``fd`` without waiting; whether we got it."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:  # BlockingIOError on POSIX, PermissionError on Windows
        return False
    return True


def _owner(lock: Path) -> int | None:
    """The pid written in the lock file, or None when it holds none."""
    try:
        text = lock.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (a run that just finished
    removes its lock file: a lock taken on the removed file guards nothing)."""
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


@contextlib.contextmanager
def claimed(out: Path) -> Iterator[None]:
    """Hold ``out``'s lock for the ``with`` block; UsageError if a live run holds it."""
    out.mkdir(parents=True, exist_ok=True)
    lock = out / LOCK_NAME
    for _ in range(10):  # another try only when the file was replaced under us
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        if not _try_lock(fd):
            os.close(fd)
            owner = _owner(lock)
            held_by = f" (pid {owner})" if owner is not None else ""
            raise UsageError(f"{out} is in use by another 'shenjing train'{held_by}; wait for "
                             "it to finish or choose another --out")
        if _same_file(fd, lock):
            break
        os.close(fd)
    else:
        raise UsageError(f"{out}: could not take the lock {lock}; another run keeps taking it")
    try:
        os.ftruncate(fd, 0)  # a stale lock's pid goes: ours replaces it
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        # Remove the file while still holding the lock, so no one locks it in between.
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
        os.close(fd)  # releases the lock


def check_fresh_start(out: Path, overwrite: bool) -> None:
    """Refuse a fresh run into a folder holding a checkpoint, unless ``overwrite``; with
    it, remove the old run's best checkpoint (the new run may not write one)."""
    path = out / CHECKPOINT_NAME
    if not path.exists():
        return
    if overwrite:
        with contextlib.suppress(FileNotFoundError):
            (out / BEST_NAME).unlink()
        return
    try:
        checkpoint = read_checkpoint(path)
        done, total = int(checkpoint["epoch"]), int(checkpoint["config"]["epochs"])
        what = ("a finished run" if done >= total
                else f"an unfinished run ({done} of {total} epochs)")
    except UsageError:
        what = "a checkpoint"
    raise UsageError(f"{out} already holds {what}; use --resume, --overwrite, or another --out")
