"""``nn.utils.rnn.pad_sequence`` against PyTorch: values and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
from shenjing.nn.utils.rnn import pad_sequence

torch = pytest.importorskip("torch")  # these tests compare with PyTorch


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_matches_pytorch_values_and_gradients(batch_first: bool,
                                                          padding_side: str) -> None:
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((n, 2, 3)).astype(np.float32) for n in (3, 1, 4)]
    ours = [sj.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = pad_sequence(ours, batch_first, -2.0, padding_side)
    ref = torch.nn.utils.rnn.pad_sequence(theirs, batch_first, -2.0, padding_side)
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    weights = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    (out * sj.tensor(weights)).sum().backward()
    (ref * torch.tensor(weights)).sum().backward()
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_pad_sequence_keeps_integer_dtype_and_is_importable_as_in_pytorch() -> None:
    import shenjing.nn.utils.rnn as rnn

    out = rnn.pad_sequence([sj.tensor([1, 2, 3]), sj.tensor([4])])
    assert out.dtype == sj.int64 and out.tolist() == [[1, 4], [2, 0], [3, 0]]
    assert sj.nn.utils.rnn.pad_sequence is pad_sequence


def test_pad_sequence_refuses_mismatched_or_empty_input() -> None:
    with pytest.raises(ValueError, match="sequence 1 with shape"):
        pad_sequence([sj.ones(2, 3), sj.ones(2, 4)])
    with pytest.raises(RuntimeError, match="empty list"):
        pad_sequence([])
    with pytest.raises(ValueError, match="padding_side"):
        pad_sequence([sj.ones(2)], padding_side="top")
