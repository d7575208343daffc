"""Op-table rows for scaled dot-product attention: plain, scaled, causal, with boolean
and float masks, against a NumPy reference and PyTorch's."""

from __future__ import annotations

import numpy as np

import shenjing as sj
from tests.ops.opinfo import OpInfo


def _torch_sdpa(*args, **kwargs):
    import torch.nn.functional as tf

    return tf.scaled_dot_product_attention(*args, **kwargs)


def _sdpa(q, k, v, attn_mask=None, is_causal=False, scale=None, enable_gqa=False):
    if enable_gqa:  # query head h reads key/value head h // G
        group = q.shape[-3] // k.shape[-3]
        k, v = np.repeat(k, group, axis=-3), np.repeat(v, group, axis=-3)
    scores = q @ np.swapaxes(k, -1, -2) * (1 / np.sqrt(q.shape[-1]) if scale is None else scale)
    if is_causal:
        attn_mask = np.tril(np.ones((q.shape[-2], k.shape[-2]), dtype=bool))
    if attn_mask is not None:
        scores = scores + (np.where(attn_mask, 0.0, -np.inf) if attn_mask.dtype == bool
                           else attn_mask)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True) @ v


def _with_bool_mask(shapes, rng):
    q, k, v, m = shapes
    mask = rng.random(m) < 0.7
    mask[..., 0] = True  # every query keeps a key, so no row is blocked everywhere
    return [rng.uniform(-1, 1, size=s) for s in (q, k, v)] + [mask]


QKV = [((2, 3, 4), (2, 5, 4), (2, 5, 6)), ((2, 2, 3, 4), (2, 2, 3, 4), (2, 2, 3, 4)),
       ((3, 4), (3, 4), (3, 2))]

ROWS = [
    OpInfo("sdpa", sj.scaled_dot_product_attention, _sdpa, QKV, domain=(-1.5, 1.5),
           torch_ref=_torch_sdpa),
    OpInfo("sdpa_scale", sj.scaled_dot_product_attention, _sdpa, QKV[:2], domain=(-1.5, 1.5),
           kwargs={"scale": 0.3}, torch_ref=_torch_sdpa),
    OpInfo("sdpa_causal", sj.scaled_dot_product_attention, _sdpa,
           [((2, 4, 3), (2, 4, 3), (2, 4, 5)), ((2, 3, 4), (2, 5, 4), (2, 5, 2))],
           domain=(-1.5, 1.5), kwargs={"is_causal": True}, torch_ref=_torch_sdpa),
    OpInfo("sdpa_float_mask", sj.scaled_dot_product_attention, _sdpa,
           [((2, 3, 4), (2, 5, 4), (2, 5, 6), (3, 5)),
            ((2, 2, 3, 4), (2, 2, 3, 4), (2, 2, 3, 4), (2, 1, 3, 3))],
           domain=(-1.5, 1.5), torch_ref=_torch_sdpa),
    OpInfo("sdpa_bool_mask", sj.scaled_dot_product_attention, _sdpa,
           [((2, 3, 4), (2, 5, 4), (2, 5, 6), (2, 3, 5)),
            ((2, 2, 3, 4), (2, 2, 3, 4), (2, 2, 3, 4), (3, 3))],
           make_inputs=_with_bool_mask, torch_ref=_torch_sdpa),
    OpInfo("sdpa_gqa", sj.scaled_dot_product_attention, _sdpa,
           [((2, 6, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3)), ((4, 2, 3), (2, 2, 3), (2, 2, 5)),
            ((1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 2))],
           domain=(-1.5, 1.5), kwargs={"enable_gqa": True}, torch_ref=_torch_sdpa),
    OpInfo("sdpa_gqa_float_mask", sj.scaled_dot_product_attention, _sdpa,
           [((2, 4, 3, 4), (2, 2, 3, 4), (2, 2, 3, 3), (3, 3))],
           domain=(-1.5, 1.5), kwargs={"enable_gqa": True}, torch_ref=_torch_sdpa),
]
