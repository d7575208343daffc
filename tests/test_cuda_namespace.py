"""``shenjing.cuda`` seeding and cache calls that programs make even on a CPU."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj


def test_cuda_seeding_leaves_the_cpu_stream_alone_as_in_pytorch() -> None:
    sj.manual_seed(3)
    a = sj.randn(5).numpy()
    sj.manual_seed(3)
    sj.cuda.manual_seed(123)
    sj.cuda.manual_seed_all(7)
    b = sj.randn(5).numpy()
    np.testing.assert_array_equal(a, b)


def test_cuda_seeding_checks_the_seed_and_empty_cache_runs() -> None:
    with pytest.raises(ValueError, match="cuda.manual_seed"):
        sj.cuda.manual_seed_all(-1)
    assert sj.cuda.empty_cache() is None
