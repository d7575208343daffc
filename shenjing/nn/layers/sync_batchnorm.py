"""``SyncBatchNorm``: batch normalisation with statistics over every rank's batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shenjing.nn.layers.batchnorm import _BatchNorm
from shenjing.nn.module import Module
from shenjing.tensor import Tensor

__all__ = ["SyncBatchNorm", "register_collective"]

# (world_size, sync_batch_norm) from shenjing.distributed, which sits above nn (its DDP
# wraps modules) and registers them when it loads. Until then this process is alone and
# the layer is BatchNorm, as PyTorch's is before init_process_group.
_collective: tuple[Callable[[], int], Callable[..., Tensor]] | None = None


def register_collective(
    world_size: Callable[[], int], sync_batch_norm: Callable[..., Tensor]
) -> None:
    """Give ``SyncBatchNorm`` the number of ranks and the op that normalises over all of
    them; ``shenjing.distributed`` calls this when it loads."""
    global _collective
    _collective = (world_size, sync_batch_norm)


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation of (N, C, *) input whose training statistics (mean, variance,
    and the sums in backward) are all-reduced over the ranks of a distributed job, so N
    ranks with batch b normalise exactly as one process with batch N·b.

    Outside training, in a world of one, or before ``shenjing.distributed`` is imported
    (``fit`` and ``DistributedDataParallel`` import it), it is ``BatchNorm``. Make one from
    an existing model with ``SyncBatchNorm.convert_sync_batchnorm(model)``; the math is in
    ``shenjing.distributed.sync_batchnorm.SyncBatchNorm``.
    """

    _accepted_ndims = (2, 3, 4, 5)
    _input_layout = "(N, C, *)"

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or _collective is None:
            return super().forward(x)
        world_size, sync_batch_norm = _collective
        if world_size() == 1:
            return super().forward(x)
        self._check_input(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.array += 1
            if self.momentum is None:
                factor = 1.0 / int(self.num_batches_tracked.array)
        return sync_batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, factor, self.eps
        )

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """``module`` with every BatchNorm layer replaced by a SyncBatchNorm sharing its
        parameters and buffers (the root itself when it is one); returns the result."""
        if process_group is not None:
            raise ValueError(
                "convert_sync_batchnorm: only the world process group exists. Received: "
                f"process_group={process_group!r}"
            )
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            converted = cls(
                module.num_features,
                eps=module.eps,
                momentum=module.momentum,
                affine=module.affine,
                track_running_stats=module.track_running_stats,
                bias=module.bias is not None,
            )
            for name in ("weight", "bias"):
                if getattr(module, name) is not None:
                    converted._parameters[name] = getattr(module, name)
                    object.__setattr__(converted, name, getattr(module, name))
            for name, buffer in module._buffers.items():
                converted._buffers[name] = buffer
                object.__setattr__(converted, name, buffer)
            converted.train(module.training)
            return converted
        for name, child in list(module._modules.items()):
            if child is not None:
                new = cls.convert_sync_batchnorm(child)
                if new is not child:  # in place: keeps the children's order
                    module._modules[name] = new
                    object.__setattr__(module, name, new)
        return module
