"""The check the PyTorch-parity tests share: our tensor equals PyTorch's in dtype, shape
and values."""

from __future__ import annotations

import numpy as np

import shenjing as sj


def assert_same(ours: sj.Tensor, theirs: object, equal_nan: bool = False) -> None:
    """``ours`` has ``theirs``'s (a torch.Tensor's) dtype and shape, and its values to
    rtol 1e-6; NaNs count as equal only with ``equal_nan``."""
    theirs_np = theirs.detach().numpy()
    assert ours.dtype == theirs_np.dtype, (ours.dtype, theirs_np.dtype)
    assert ours.shape == theirs_np.shape
    np.testing.assert_allclose(ours.numpy(), theirs_np, rtol=1e-6, equal_nan=equal_nan)
