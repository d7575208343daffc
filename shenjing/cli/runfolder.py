"""A run folder's guards: one ``shenjing train`` at a time, and no silent overwrite.

A training run holds ``<out>/.lock`` (its pid inside) while it runs. A second run into the
same folder refuses; a lock whose process no longer exists (a killed run) is stale and
taken over. A fresh run into a folder that already holds a checkpoint refuses unless
``--overwrite`` is given, so a finished run is never replaced by accident.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from shenjing.cli.common import BEST_NAME, CHECKPOINT_NAME, UsageError, read_checkpoint
from shenjing.data._atomic import process_alive

LOCK_NAME = ".lock"


def _owner(lock: Path) -> int | None:
    """The pid written in the lock file, or None when it holds none."""
    try:
        text = lock.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def claimed(out: Path) -> Iterator[None]:
    """Hold ``out``'s lock for the ``with`` block; UsageError if a live run holds it."""
    out.mkdir(parents=True, exist_ok=True)
    lock = out / LOCK_NAME
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    for _ in range(2):  # the second try follows the removal of a stale lock
        try:
            fd = os.open(lock, flags, 0o666)
            break
        except FileExistsError:
            owner = _owner(lock)
            if owner is not None and process_alive(owner):
                raise UsageError(f"{out} is in use by another 'shenjing train' (pid {owner}); "
                                 "wait for it to finish or choose another --out (if no such "
                                 f"run is going on, delete {lock})") from None
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()  # stale: its run was killed
    else:
        raise UsageError(f"{out}: could not take the lock {lock}; another run keeps taking it")
    with os.fdopen(fd, "w") as file:
        file.write(f"{os.getpid()}\n")
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()


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
