"""Batch normalisation whose statistics cover the whole batch, summed over every rank."""

from __future__ import annotations

from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.distributed import comm
from shenjing.nn.layers.sync_batchnorm import register_collective
from shenjing.ops.normalization import (
    affine_grads,
    apply_arguments,
    channel_layout,
    gradient_sums,
    scale_and_shift,
    update_running_stats,
)
from shenjing.tensor import Tensor

__all__ = ["sync_batch_norm"]


def _sum_over_ranks(*arrays: Any) -> list[Any]:
    """Elementwise sums over all ranks of several arrays, in one all-reduce."""
    xp = get_array_module(arrays[0])
    flat = xp.concatenate([a.ravel() for a in arrays])
    comm.all_reduce(flat, op="sum")
    out, start = [], 0
    for a in arrays:
        out.append(flat[start : start + a.size].reshape(a.shape))
        start += a.size
    return out


class SyncBatchNorm(Function):
    """Training-mode batch normalisation over the union of every rank's batch.

    With M the number of values per channel over all ranks and Σ* a sum over all ranks'
    values (Σ a sum over this rank's only):

        μ = (1/M) Σ* x,  σ² = (1/M) Σ* (x − μ)²,  x̂ = (x − μ)/√(σ² + ε),  y = γ·x̂ + β;

        gβ = Σ gy,  gγ = Σ gy·x̂   (this rank's share; DDP averages them),
        gx = (γ / (M·√(σ² + ε))) · (M·gy − Σ* gy − x̂ · Σ* gy·x̂).

    Forward takes two all-reduces (Σ* x with the counts, then Σ* (x − μ)², which is
    exact where E[x²] − μ² would cancel); backward one. Running statistics, when given,
    are updated in place from μ and the unbiased σ²·M/(M − 1), identically on every rank.
    """

    def forward(
        self,
        x: Any,
        *affine: Any,
        has_weight: bool,
        has_bias: bool,
        running_mean: Any,
        running_var: Any,
        momentum: float,
        eps: float,
    ) -> Any:
        xp = get_array_module(x)
        self.has_weight, self.has_bias = has_weight, has_bias
        self.axes, self.param_shape = channel_layout(x)
        local_count = xp.full(1, x.size // x.shape[1], dtype=x.dtype)
        total, count = _sum_over_ranks(x.sum(axis=self.axes), local_count)
        self.count = float(count[0])
        mean = (total / self.count).reshape(self.param_shape)
        x_hat = x - mean
        (squares,) = _sum_over_ranks((x_hat * x_hat).sum(axis=self.axes))
        var = squares / self.count
        self.inv_std = (1.0 / xp.sqrt(var + eps)).reshape(self.param_shape)
        x_hat *= self.inv_std
        if running_mean is not None:
            update_running_stats(running_mean, running_var, mean, var, self.count, momentum)
        self.x_hat = x_hat
        self.weight, y = scale_and_shift(x_hat, affine, has_weight, has_bias, self.param_shape)
        return y

    def backward(self, gy: Any) -> tuple[Any, ...]:
        x_hat = self.x_hat
        sum_gy, sum_gy_x_hat = gradient_sums(gy, x_hat, self.axes)
        # Every rank must join this all-reduce, whether or not it needs gx.
        all_gy, all_gy_x_hat = _sum_over_ranks(sum_gy, sum_gy_x_hat)
        gx = None
        if self.needs_input_grad[0]:
            scale = self.inv_std if self.weight is None else self.inv_std * self.weight
            gx = (scale / self.count) * (self.count * gy - all_gy - x_hat * all_gy_x_hat)
        return affine_grads(self, gx, sum_gy, sum_gy_x_hat)


def sync_batch_norm(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None,
    bias: Tensor | None,
    momentum: float,
    eps: float,
) -> Tensor:
    """Training-mode batch norm with statistics over all ranks (see ``SyncBatchNorm``)."""
    affine, keywords = apply_arguments(weight, bias, running_mean, running_var)
    return SyncBatchNorm.apply(x, *affine, **keywords, momentum=momentum, eps=eps)


register_collective(comm.world_size, sync_batch_norm)  # nn.SyncBatchNorm's collective
