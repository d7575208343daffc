"""Worker processes for ``DataLoader(num_workers=N)``, as PyTorch runs them.

Each worker gets its own copy of the dataset (forked where the platform allows), seeds
shenjing's generator with ``base_seed + worker_id``, runs ``worker_init_fn`` and then
serves tasks from its own queue: a list of indices to fetch and collate (map-style
datasets), or one turn of its copy of the iterator (iterable datasets). Batches come back
through one shared queue; the loader hands them out in the order it asked for them.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from shenjing import backend

__all__ = ["WorkerInfo", "get_worker_info"]

# How long a wait for a batch lasts before the workers are checked for life.
_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker process knows of itself (``get_worker_info()`` inside a worker)."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """Inside a ``DataLoader`` worker, its ``WorkerInfo``; in the main process, None.

    Example:
        >>> get_worker_info() is None
        True
    """
    return _worker_info


class _IterationEnd:
    """What a worker sends when its copy of an iterable dataset is exhausted."""


def _worker_loop(
    info: WorkerInfo,
    fetch: Callable[[Any], Any],
    init_fn: Callable[[int], None] | None,
    tasks: Any,
    results: Any,
) -> None:
    global _worker_info
    _worker_info = info
    backend.manual_seed(info.seed % 2**63)
    try:
        if init_fn is not None:
            init_fn(info.id)
    except Exception:
        results.put((None, None, f"worker_init_fn in DataLoader worker {info.id}:\n"
                                 + traceback.format_exc()))
        return
    while True:
        task = tasks.get()
        if task is None:
            return
        number, indices = task
        try:
            batch = fetch(indices)
        except StopIteration:
            batch = _IterationEnd()
        except Exception:
            results.put((number, None, f"Caught an exception in DataLoader worker "
                                       f"{info.id}:\n" + traceback.format_exc()))
            continue
        results.put((number, batch, None))


class WorkerPool:
    """``num_workers`` processes fetching batches; ``run`` yields them in task order.

    ``fetch(task)`` runs in a worker: a list of indices for a map-style dataset, or None
    to take the next batch from the worker's own iterator, which raises StopIteration
    once it is exhausted.
    """

    def __init__(
        self,
        dataset: Any,
        fetch: Callable[[Any], Any],
        num_workers: int,
        base_seed: int,
        worker_init_fn: Callable[[int], None] | None,
        context: Any,
        timeout: float,
    ) -> None:
        ctx = _context(context)
        self.num_workers = num_workers
        self.timeout = timeout
        self.results = ctx.Queue()
        self.tasks = [ctx.Queue() for _ in range(num_workers)]
        self.processes = []
        for worker_id in range(num_workers):
            info = WorkerInfo(worker_id, num_workers, base_seed + worker_id, dataset)
            process = ctx.Process(
                target=_worker_loop,
                args=(info, fetch, worker_init_fn, self.tasks[worker_id], self.results),
                daemon=True,
            )
            process.start()
            self.processes.append(process)

    def run(self, tasks: Iterator[Any], prefetch: int, iterable: bool) -> Iterator[Any]:
        """Send ``tasks`` round-robin, at most ``prefetch`` per worker in flight, and
        yield each batch in order. For an iterable dataset every worker is asked in turn
        until all of them say their iterator is exhausted."""
        live = list(range(self.num_workers))
        sent = received = 0
        pending: dict[int, Any] = {}
        owner: dict[int, int] = {}
        turn = 0

        def send() -> bool:
            nonlocal sent, turn
            if not live:
                return False
            task = next(tasks, _IterationEnd) if not iterable else None
            if task is _IterationEnd:
                return False
            worker = live[turn % len(live)]
            turn += 1
            owner[sent] = worker
            self.tasks[worker].put((sent, task))
            sent += 1
            return True

        for _ in range(prefetch * self.num_workers):
            if not send():
                break
        while received < sent:
            while received not in pending:
                number, batch, error = self._next_result()
                if error is not None:
                    raise RuntimeError(error)
                pending[number] = batch
            batch = pending.pop(received)
            worker = owner.pop(received)
            received += 1
            if isinstance(batch, _IterationEnd):
                if worker in live:
                    live.remove(worker)
                # Batches already asked of that worker end the same way; skip them.
                continue
            send()
            yield batch

    def _next_result(self) -> tuple[int, Any, str | None]:
        waited = 0.0
        while True:
            try:
                return self.results.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                waited += _POLL_SECONDS
            dead = [p for p in self.processes if not p.is_alive()]
            if dead:
                raise RuntimeError(
                    f"DataLoader worker (pid {dead[0].pid}) exited unexpectedly with exit "
                    f"code {dead[0].exitcode}"
                )
            if self.timeout and waited >= self.timeout:
                raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds")

    def close(self) -> None:
        """Ask every worker to stop, then make sure it has."""
        for tasks in self.tasks:
            tasks.put(None)
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
        for q in [self.results, *self.tasks]:
            q.cancel_join_thread()
            q.close()
        self.processes = []


def _context(context: Any) -> Any:
    """The multiprocessing context: as given, else fork where there is one (the dataset
    is shared, not pickled), else the platform's default."""
    if context is not None:
        return multiprocessing.get_context(context) if isinstance(context, str) else context
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()
