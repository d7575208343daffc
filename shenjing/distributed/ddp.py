"""``DistributedDataParallel``: one model replica per rank, gradients averaged in backward."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from shenjing.autograd import engine
from shenjing.creation import from_numpy
from shenjing.distributed import comm
from shenjing.nn.module import Module
from shenjing.nn.parameter import Parameter

__all__ = ["DistributedDataParallel"]


class _Bucket:
    """Consecutive parameters whose gradients travel together in one flat buffer."""

    def __init__(self, params: list[Parameter]) -> None:
        self.params = params
        sizes = [p.array.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        self.flat = np.zeros(self.offsets[-1], dtype=params[0].array.dtype)
        self.index = {id(p): k for k, p in enumerate(params)}
        self.filled = [False] * len(params)
        self.ready = 0
        self.request: Any = None

    def slot(self, k: int) -> np.ndarray:
        return self.flat[self.offsets[k] : self.offsets[k + 1]]


class DistributedDataParallel(Module):
    """Data-parallel training: every rank holds a replica of ``module`` and its own shard
    of each batch; gradients are averaged over ranks during ``backward()``.

    On wrapping, rank 0's parameters and buffers are broadcast, so all replicas start
    equal. Gradients go into flat buckets of about ``bucket_cap_mb`` megabytes, in reverse
    parameter order (roughly the order backward produces them). A bucket's nonblocking
    all-reduce starts as soon as the last of its gradients is ready, so communication
    overlaps the rest of backward; the pass waits for all of them at its end and leaves
    ḡ = (1/N) Σᵣ gᵣ in every ``.grad``. With each rank's loss the mean over its b samples,
    that is the gradient of the mean loss over all N·b samples, so N ranks take the same
    steps as one process with batch N·b.

    A parameter that got no gradient on some rank (unused in its forward) counts as zero
    there, and its bucket is still reduced, so ranks never wait on each other forever.

    Args:
        module: the model to replicate.
        broadcast_buffers: re-broadcast rank 0's buffers (BatchNorm running statistics)
            before each forward, as PyTorch does.
        bucket_cap_mb: bucket size in megabytes (MiB). PyTorch's default is 25, sized for
            models of millions of parameters; shenjing's zoo models are 0.1–1 MB, so the
            default here is 0.1. That puts LeNet-5's fully connected gradients (ready
            early) in buckets apart from the convolutions' (ready last, after the costly
            convolution backward), so their all-reduce overlaps it.

    ``state_dict`` keys carry the ``module.`` prefix, as in PyTorch; load a plain model
    from ``ddp.module.state_dict()``.

    Example:
        >>> import shenjing.nn as nn
        >>> model = DistributedDataParallel(nn.Linear(3, 2))   # a world of one here
        >>> sorted(model.state_dict())
        ['module.bias', 'module.weight']
    """

    def __init__(
        self, module: Module, *, broadcast_buffers: bool = True, bucket_cap_mb: float = 0.1
    ) -> None:
        # Keyword-only: PyTorch's second and later positions are device and process-group
        # arguments that have no meaning here.
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(
                f"DistributedDataParallel wraps a Module. Received: {type(module).__name__}"
            )
        if not bucket_cap_mb > 0:
            raise ValueError(
                f"DistributedDataParallel: bucket_cap_mb must be positive. Received: "
                f"{bucket_cap_mb}"
            )
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.bucket_cap_mb = bucket_cap_mb
        self.require_backward_grad_sync = True
        # Seconds spent in the final wait of the last backward: the all-reduce time that
        # did not overlap it (benchmarks read this).
        self.last_wait_s = 0.0
        self._world = comm.world_size()
        self._queued_in: object | None = None  # the backward pass _finish is queued in
        for p in module.parameters():
            comm.broadcast(p, src=0)
        self._broadcast_buffers()
        self._buckets = self._make_buckets(bucket_cap_mb)
        self._bucket_of = {id(p): b for b in self._buckets for p in b.params}
        self._handles = []
        if self._world > 1:  # alone, there is nothing to average
            self._handles = [
                p.register_post_accumulate_grad_hook(self._on_grad_ready)
                for b in self._buckets
                for p in b.params
            ]

    def _make_buckets(self, cap_mb: float) -> list[_Bucket]:
        cap = cap_mb * 1024 * 1024
        params = [p for p in self.module.parameters() if p.requires_grad]
        buckets: list[_Bucket] = []
        current: list[Parameter] = []
        size = 0
        for p in reversed(params):  # backward produces the last layers' gradients first
            if current and (size + p.array.nbytes > cap or p.array.dtype != current[0].array.dtype):
                buckets.append(_Bucket(current))
                current, size = [], 0
            current.append(p)
            size += p.array.nbytes
        if current:
            buckets.append(_Bucket(current))
        return buckets

    def _broadcast_buffers(self) -> None:
        for b in self.module.buffers():
            comm.broadcast(b, src=0)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self.broadcast_buffers and self._world > 1:
            self._broadcast_buffers()
        return self.module(*args, **kwargs)

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Skip the all-reduce in backward passes inside the block (gradients accumulate
        locally); the first synchronised backward after it averages the sum."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ------------------------------------------------------------- during backward
    def _on_grad_ready(self, p: Parameter) -> None:
        if not self.require_backward_grad_sync:
            return
        if self._queued_in is not engine.current_pass():  # the first gradient of this pass
            self._queued_in = engine.current_pass()
            engine.queue_callback(self._finish)
            self._reset_buckets()  # drop what a pass that raised half-way left behind
        bucket = self._bucket_of[id(p)]
        k = bucket.index[id(p)]
        bucket.slot(k)[...] = p.grad.array.ravel()
        bucket.filled[k] = True
        bucket.ready += 1
        if bucket.ready == len(bucket.params):
            self._launch(bucket)
        # MPI moves nonblocking collectives along only inside MPI calls: poke the ones
        # in flight so that they progress while backward goes on.
        for other in self._buckets:
            if other.request is not None:
                other.request.Test()

    def _launch(self, bucket: _Bucket) -> None:
        MPI, world = comm.mpi()
        bucket.request = world.Iallreduce(MPI.IN_PLACE, bucket.flat, op=MPI.SUM)

    def _finish(self) -> None:
        """Reduce what backward left out, wait for every bucket, write the averages."""
        for bucket in self._buckets:
            if bucket.request is not None:
                continue
            for k, p in enumerate(bucket.params):  # unused here: its gradient so far, or 0
                if not bucket.filled[k]:
                    bucket.slot(k)[...] = 0.0 if p.grad is None else p.grad.array.ravel()
            self._launch(bucket)
        start = time.perf_counter()
        MPI, _ = comm.mpi()
        MPI.Request.Waitall([b.request for b in self._buckets])
        self.last_wait_s = time.perf_counter() - start
        scale = 1.0 / self._world
        for bucket in self._buckets:
            bucket.flat *= scale
            for k, p in enumerate(bucket.params):
                average = bucket.slot(k).reshape(p.array.shape)
                if p.grad is None:
                    p.grad = from_numpy(average.copy())
                else:
                    p.grad.array[...] = average
        self._reset_buckets()

    def _reset_buckets(self) -> None:
        for bucket in self._buckets:
            if bucket.request is not None:  # complete it: MPI needs every request finished
                bucket.request.Wait()
            bucket.request = None
            bucket.ready = 0
            bucket.filled = [False] * len(bucket.params)

    def remove_hooks(self) -> None:
        """Stop averaging gradients (e.g. when ``fit`` ends); the wrapper forwards still."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def extra_repr(self) -> str:
        return f"world_size={self._world}, buckets={len(self._buckets)}"
