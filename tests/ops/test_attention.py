"""Scaled dot-product attention beyond the op table: dropout (seeded, so its backward can
be checked) and the errors."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj


def _qkv(dtype: str = "float64") -> list[sj.Tensor]:
    rng = np.random.default_rng(0)
    return [sj.tensor(rng.normal(size=(2, 3, 4)), dtype=dtype, requires_grad=True)
            for _ in range(3)]


def test_dropout_backward_matches_central_differences_under_one_seed() -> None:
    def attention(q, k, v):
        sj.manual_seed(7)  # the same dropout mask on every evaluation
        return sj.scaled_dot_product_attention(q, k, v, dropout_p=0.4)

    assert sj.gradcheck(attention, _qkv())


def test_dropout_changes_the_output_and_p1_zeroes_it() -> None:
    q, k, v = _qkv("float32")
    plain = sj.scaled_dot_product_attention(q, k, v)
    dropped = sj.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert not np.allclose(plain.numpy(), dropped.numpy())
    zero = sj.scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    np.testing.assert_array_equal(zero.numpy(), np.zeros((2, 3, 4), dtype=np.float32))


def test_errors_name_the_op() -> None:
    q, k, v = _qkv("float32")
    with pytest.raises(ValueError, match="scaled_dot_product_attention: give attn_mask or "
                                         "is_causal, not both"):
        sj.scaled_dot_product_attention(q, k, v, attn_mask=sj.ones(3, 3), is_causal=True)
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 4\) does not broadcast"):
        sj.scaled_dot_product_attention(q, k, v, attn_mask=sj.ones(4, 4))
    with pytest.raises(ValueError, match=r"Received: query \(2, 3, 4\), key \(3, 4\)"):
        sj.scaled_dot_product_attention(q, sj.ones(3, 4), v)


def test_sdpa_gqa_needs_kv_heads_dividing_query_heads() -> None:
    q, k = sj.ones(1, 6, 3, 4), sj.ones(1, 4, 3, 4)
    with pytest.raises(ValueError, match="enable_gqa=True the key and value heads"):
        sj.scaled_dot_product_attention(q, k, k, enable_gqa=True)
    with pytest.raises(ValueError, match="same leading dimensions"):
        sj.scaled_dot_product_attention(q, sj.ones(1, 2, 3, 4), sj.ones(1, 2, 3, 4))
