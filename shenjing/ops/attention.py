"""Scaled dot-product attention as one fused op: scores, mask, softmax, dropout and the
weighted sum of values in one forward, with the backward derived by hand."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from shenjing.autograd.function import Function
from shenjing.backend import generator, get_array_module
from shenjing.ops._util import unbroadcast
from shenjing.ops.repeat import repeat_interleave
from shenjing.tensor import Tensor, as_tensor

__all__ = ["scaled_dot_product_attention"]


def _swap(a: Any) -> Any:
    return a.swapaxes(-1, -2)


class ScaledDotProductAttention(Function):
    """S = s·Q·Kᵀ + B (B the additive mask: -inf where blocked), P = softmax(S) along the
    keys, P' = P·m/(1 - p) (dropout mask m), O = P'·V;
    gV = P'ᵀ·gO, gP = (gO·Vᵀ)·m/(1 - p), gS = P·(gP - Σ_keys gP·P),
    gQ = s·gS·K, gK = s·gSᵀ·Q, gB = gS (summed back to B's shape).

    The inputs are Q, K, V, then a float mask B when it is a tensor; a boolean or causal
    mask arrives as the constant ``bias``.
    """

    def forward(self, q: Any, k: Any, v: Any, *mask: Any, bias: Any | None, scale: float,
                dropout_p: float) -> Any:
        xp = get_array_module(q)
        self.q, self.k, self.v, self.scale = q, k, v, scale
        scores = q @ _swap(k)
        scores *= scale
        if bias is not None:
            scores = scores + bias
        self.mask_shape = mask[0].shape if mask else None
        if mask:
            scores = scores + mask[0]
        with np.errstate(invalid="ignore"):  # a row blocked everywhere gives NaN, as in PyTorch
            scores -= scores.max(axis=-1, keepdims=True)
            probs = xp.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
        self.probs = probs
        if dropout_p:
            keep = xp.asarray(generator().random(probs.shape, dtype=np.float32) >= dropout_p)
            self.drop = keep * (1.0 / (1.0 - dropout_p)) if dropout_p < 1 else keep * 0.0
            self.dropped = probs * self.drop
        else:
            self.drop, self.dropped = None, probs
        return self.dropped @ v

    def backward(self, gy: Any) -> tuple[Any, ...]:
        probs = self.probs
        gv = _swap(self.dropped) @ gy if self.needs_input_grad[2] else None
        gp = gy @ _swap(self.v)
        if self.drop is not None:
            gp *= self.drop
        gs = gp - (gp * probs).sum(axis=-1, keepdims=True)
        gs *= probs
        gq = gs @ self.k * self.scale if self.needs_input_grad[0] else None
        gk = _swap(gs) @ self.q * self.scale if self.needs_input_grad[1] else None
        grads = [gq, gk, gv]
        if self.mask_shape is not None:
            grads.append(unbroadcast(gs, self.mask_shape) if self.needs_input_grad[3] else None)
        return tuple(grads)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(Q·Kᵀ·scale + mask)·V over (..., L, E) queries, (..., S, E) keys and
    (..., S, Ev) values, as PyTorch's ``F.scaled_dot_product_attention``; with
    ``enable_gqa`` the key and value may have fewer heads (dim -3) than the query.

    ``attn_mask`` broadcasts to (..., L, S): boolean True marks the pairs that take part
    (False ones are blocked), a float mask is added to the scores (and gets a gradient
    when it requires one). ``is_causal`` blocks keys after each query (lower-triangular,
    no ``attn_mask`` then). ``scale`` defaults to 1/√E. ``dropout_p`` drops attention
    weights always, whatever the training mode, as in PyTorch: pass 0 in evaluation.

    Example:
        >>> import shenjing as sj
        >>> q = sj.randn(2, 4, 3, 8)
        >>> sj.scaled_dot_product_attention(q, q, q, is_causal=True).shape
        (2, 4, 3, 8)
    """
    op = "scaled_dot_product_attention"
    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    if enable_gqa and min(q.ndim, k.ndim, v.ndim) >= 3 and k.shape[-3] != q.shape[-3]:
        # Grouped-query attention: each group of Hq/Hkv query heads shares one key/value
        # head, i.e. the key and value heads repeated in place, as PyTorch does.
        heads, kv_heads = q.shape[-3], k.shape[-3]
        if kv_heads == 0 or heads % kv_heads or v.shape[-3] != kv_heads:
            raise ValueError(
                f"{op}: with enable_gqa, the query heads ({heads}) must be a multiple of the "
                f"key and value heads. Received: query {q.shape}, key {k.shape}, value "
                f"{v.shape}")
        k = repeat_interleave(k, heads // kv_heads, dim=-3)
        v = repeat_interleave(v, heads // kv_heads, dim=-3)
    if (min(q.ndim, k.ndim, v.ndim) < 2 or q.shape[:-2] != k.shape[:-2]
            or k.shape[:-1] != v.shape[:-1] or q.shape[-1] != k.shape[-1]):
        raise ValueError(
            f"{op}: expected query (..., L, E), key (..., S, E) and value (..., S, Ev) with "
            f"the same leading dimensions. Received: query {q.shape}, key {k.shape}, "
            f"value {v.shape}"
        )
    if not 0 <= dropout_p <= 1:
        raise ValueError(f"{op}: dropout_p must be in [0, 1]. Received: {dropout_p}")
    xp = get_array_module(q.array)
    length, source = q.shape[-2], k.shape[-2]
    bias, masks = None, []
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{op}: give attn_mask or is_causal, not both")
        attn_mask = Tensor._make(xp.tril(xp.ones((length, source), dtype=bool)), None)
    if attn_mask is not None:
        attn_mask = as_tensor(attn_mask)
        try:
            np.broadcast_shapes(attn_mask.shape, q.shape[:-1] + (source,))
        except ValueError:
            raise ValueError(
                f"{op}: attn_mask of shape {attn_mask.shape} does not broadcast to the scores' "
                f"shape {q.shape[:-1] + (source,)}"
            ) from None
        if attn_mask.dtype == bool:
            bias = xp.where(attn_mask.array, 0.0, -math.inf).astype(q.dtype)
        else:
            masks.append(attn_mask.astype(q.dtype) if attn_mask.dtype != q.dtype else attn_mask)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return ScaledDotProductAttention.apply(
        q, k, v, *masks, bias=bias, scale=scale, dropout_p=float(dropout_p)
    )
