"""Normalisation: batch normalisation as one fused op with a hand-derived backward."""

from __future__ import annotations

from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.tensor import Tensor

__all__ = ["batch_norm"]


# The arithmetic batch normalisation shares with SyncBatchNorm (distributed/), which
# differs only in where its statistics and gradient sums come from (all ranks).


def channel_layout(x: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The axes a per-channel statistic sums over (all but 1), and the shape
    (1, C, 1, ...) that broadcasts a (C,) array over x (N, C, *)."""
    axes = (0, *range(2, x.ndim))
    param_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    return axes, param_shape


def update_running_stats(running_mean: Any, running_var: Any, mean: Any, var: Any,
                         count: Any, momentum: float) -> None:
    """r ← (1 − momentum)·r + momentum·s in place, with the variance unbiased as
    σ²·M/(M − 1) for M = ``count`` values per channel."""
    running_mean *= 1.0 - momentum
    running_mean += momentum * mean.reshape(-1)
    running_var *= 1.0 - momentum
    running_var += (momentum * count / (count - 1)) * var.reshape(-1)


def scale_and_shift(x_hat: Any, affine: tuple[Any, ...], has_weight: bool, has_bias: bool,
                    param_shape: tuple[int, ...]) -> tuple[Any, Any]:
    """y = γ·x̂ + β (either optional); returns γ in ``param_shape`` (None without one,
    kept for backward) and y."""
    weight = affine[0].reshape(param_shape) if has_weight else None
    y = x_hat
    if has_weight:
        y = y * weight
    if has_bias:
        y = y + affine[-1].reshape(param_shape)
    return weight, y


def gradient_sums(gy: Any, x_hat: Any, axes: tuple[int, ...]) -> tuple[Any, Any]:
    """Σ gy and Σ gy·x̂ per channel (keepdims): gβ and gγ, and the two sums in gx."""
    return gy.sum(axis=axes, keepdims=True), (gy * x_hat).sum(axis=axes, keepdims=True)


def apply_arguments(weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
                    running_var: Tensor | None) -> tuple[list[Tensor], dict[str, Any]]:
    """The inputs and keywords ``apply`` takes: γ and β where given (flags say which),
    and the running statistics' arrays, which forward updates in place."""
    affine = [t for t in (weight, bias) if t is not None]
    keywords = {
        "has_weight": weight is not None,
        "has_bias": bias is not None,
        "running_mean": None if running_mean is None else running_mean.array,
        "running_var": None if running_var is None else running_var.array,
    }
    return affine, keywords


def affine_grads(fn: Function, gx: Any, sum_gy: Any, sum_gy_x_hat: Any) -> tuple[Any, ...]:
    """(gx, gγ, gβ) for the inputs ``fn`` had: gγ = Σ gy·x̂, gβ = Σ gy, as (C,) arrays,
    each skipped (None) when that input needs no gradient."""
    grads = [gx]
    if fn.has_weight:
        grads.append(sum_gy_x_hat.reshape(-1) if fn.needs_input_grad[1] else None)
    if fn.has_bias:
        grads.append(sum_gy.reshape(-1) if fn.needs_input_grad[-1] else None)
    return tuple(grads)


class BatchNorm(Function):
    """Batch normalisation over every axis of x (N, C, *) but the channel axis 1.

    With M = N·∏* values per channel, in training

        μ = (1/M) Σ x,  σ² = (1/M) Σ (x − μ)²  (biased),  x̂ = (x − μ) / √(σ² + ε),
        y = γ·x̂ + β;

        gβ = Σ gy,  gγ = Σ gy·x̂,
        gx = (γ / (M·√(σ² + ε))) · (M·gy − Σ gy − x̂ · Σ(gy·x̂)),

    the sums running over all axes but 1. In evaluation μ and σ² are the running
    estimates, constants, so gx = gy · γ / √(σ² + ε).

    The inputs are x, then γ if ``has_weight``, then β if ``has_bias``. When training and
    given running statistics, they are updated in place:
    r ← (1 − momentum)·r + momentum·s, with the unbiased variance σ²·M/(M − 1).
    """

    def forward(
        self,
        x: Any,
        *affine: Any,
        has_weight: bool,
        has_bias: bool,
        running_mean: Any,
        running_var: Any,
        training: bool,
        momentum: float,
        eps: float,
    ) -> Any:
        xp = get_array_module(x)
        self.has_weight, self.has_bias, self.training = has_weight, has_bias, training
        self.axes, self.param_shape = channel_layout(x)
        if training:
            mean = x.mean(axis=self.axes, keepdims=True)
            x_hat = x - mean
            var = (x_hat * x_hat).mean(axis=self.axes, keepdims=True)
            self.inv_std = 1.0 / xp.sqrt(var + eps)
            x_hat *= self.inv_std
            if running_mean is not None:
                count = x.size // x.shape[1]
                update_running_stats(running_mean, running_var, mean, var, count, momentum)
        else:
            self.inv_std = 1.0 / xp.sqrt(running_var.reshape(self.param_shape) + eps)
            x_hat = (x - running_mean.reshape(self.param_shape)) * self.inv_std
        self.x_hat = x_hat
        self.weight, y = scale_and_shift(x_hat, affine, has_weight, has_bias, self.param_shape)
        return y

    def backward(self, gy: Any) -> tuple[Any, ...]:
        x_hat = self.x_hat
        sum_gy, sum_gy_x_hat = gradient_sums(gy, x_hat, self.axes)
        gx = None
        if self.needs_input_grad[0]:
            scale = self.inv_std if self.weight is None else self.inv_std * self.weight
            if self.training:
                count = gy.size // gy.shape[1]
                gx = gy - sum_gy / count
                gx -= x_hat * (sum_gy_x_hat / count)
                gx *= scale
            else:
                gx = gy * scale
        return affine_grads(self, gx, sum_gy, sum_gy_x_hat)


def batch_norm(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation of x (N, C) or (N, C, *) per channel (axis 1).

    y = γ · (x − μ) / √(σ² + ε) + β, where μ and σ² are the batch mean and biased
    variance over every axis but 1 when ``training``, else the running estimates.
    When training with running statistics, they are updated in place with ``momentum``
    (the variance estimate unbiased), as PyTorch does.

    Args:
        x: input of shape (N, C, *).
        running_mean, running_var: (C,) running estimates; may be None when training.
        weight, bias: optional (C,) scale γ and shift β.
        training: use (and update) batch statistics rather than the running ones.
        momentum: weight of the new batch in the running estimates.
        eps: added to the variance for stability.

    Example:
        >>> import shenjing as sj
        >>> x = sj.tensor([[1.0, 10.0], [3.0, 30.0]])
        >>> sj.batch_norm(x, None, None, training=True).numpy().round(3).tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
    """
    if x.ndim < 2:
        raise ValueError(f"batch_norm expects input of shape (N, C, *). Received: shape={x.shape}")
    channels = x.shape[1]
    for label, t in (("running_mean", running_mean), ("running_var", running_var),
                     ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (channels,):
            raise ValueError(
                f"batch_norm: {label} must have shape ({channels},) for input of shape "
                f"{x.shape}. Received: {label}.shape={t.shape}"
            )
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    if not training and running_mean is None:
        raise ValueError("batch_norm: running_mean and running_var are needed when not training")
    if training and x.numel() // max(channels, 1) <= 1:
        raise ValueError(
            f"batch_norm: expected more than 1 value per channel when training. Received: "
            f"shape={x.shape}"
        )
    affine, keywords = apply_arguments(weight, bias, running_mean, running_var)
    return BatchNorm.apply(x, *affine, **keywords, training=training, momentum=momentum, eps=eps)
