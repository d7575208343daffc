"""Bilinear ``interpolate`` on uint8 images gives PyTorch's integers exactly (its
fixed-point weights and rounding), over random images, sizes, scales and both corner
conventions."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn.functional as F

SIZES = [(7, 9, 13, 5), (32, 32, 64, 64), (30, 40, 17, 23), (10, 10, 10, 25), (5, 8, 1, 3)]


@pytest.mark.torch
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("channels", [1, 3, 8])
def test_uint8_bilinear_matches_pytorch_exactly(channels: int, align_corners: bool) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(channels)
    for height, width, out_h, out_w in SIZES:
        x = rng.integers(0, 256, (2, channels, height, width), dtype=np.uint8)
        ours = F.interpolate(sj.tensor(x, dtype="uint8"), size=(out_h, out_w),
                             mode="bilinear", align_corners=align_corners)
        theirs = torch.nn.functional.interpolate(torch.tensor(x), size=(out_h, out_w),
                                                 mode="bilinear", align_corners=align_corners)
        assert ours.dtype == np.uint8
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for factor in (0.5, 1.7, 2.0, 3.3):
        x = rng.integers(0, 256, (1, channels, 11, 14), dtype=np.uint8)
        ours = F.interpolate(sj.tensor(x, dtype="uint8"), scale_factor=factor,
                             mode="bilinear", align_corners=align_corners)
        theirs = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=factor,
                                                 mode="bilinear", align_corners=align_corners)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_linear_modes_on_other_integer_dtypes_raise() -> None:
    with pytest.raises(TypeError, match=r"interpolate: mode 'bilinear' needs floating-point "
                                        r"input.*dtype=int32"):
        F.interpolate(sj.zeros(1, 1, 4, 4, dtype="int32"), size=(8, 8), mode="bilinear")
    with pytest.raises(TypeError, match=r"mode 'linear'.*dtype=uint8"):
        F.interpolate(sj.zeros(1, 1, 4, dtype="uint8"), size=8, mode="linear")
