"""Namespaces PyTorch programs touch even on a CPU: accelerator, backends, nn.parallel,
utils.data; each checked against what torch answers on this (GPU-less) machine."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn


def test_accelerator_answers_like_torch_without_a_gpu() -> None:
    assert sj.accelerator.is_available() == sj.cuda.is_available()
    if not sj.cuda.is_available():
        assert sj.accelerator.current_accelerator() is None
        assert sj.accelerator.device_count() == 0
        assert sj.accelerator.current_device_index() == -1
        torch = pytest.importorskip("torch")
        if not torch.accelerator.is_available():
            assert torch.accelerator.current_accelerator() is None


def test_backend_switches_are_settings() -> None:
    cudnn = sj.backends.cudnn
    before = (cudnn.benchmark, cudnn.deterministic)
    try:
        cudnn.benchmark, cudnn.deterministic = True, True
        assert sj.backends.cudnn.benchmark and sj.backends.cudnn.deterministic
    finally:
        cudnn.benchmark, cudnn.deterministic = before
    assert sj.backends.mps.is_available() is False and cudnn.is_available() is False


def test_data_parallel_on_one_device_has_pytorchs_keys_and_outputs() -> None:
    torch = pytest.importorskip("torch")
    sj.manual_seed(0)
    inner = nn.Linear(3, 2)
    model = nn.DataParallel(inner)
    theirs = torch.nn.DataParallel(torch.nn.Linear(3, 2))
    assert list(model.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(np.array(v))
                            for k, v in model.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(model(sj.tensor(x)).numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-6)
    assert model.module is inner
    y = nn.parallel.data_parallel(inner, sj.tensor(x))
    np.testing.assert_array_equal(y.numpy(), inner(sj.tensor(x)).numpy())
    with pytest.raises(NotImplementedError, match="DistributedDataParallel"):
        nn.DataParallel(inner, device_ids=[0, 1])


def test_utils_data_is_the_data_package() -> None:
    from shenjing.utils.data import DataLoader, TensorDataset

    assert DataLoader is sj.data.DataLoader and TensorDataset is sj.data.TensorDataset


def test_generator_state_round_trips() -> None:
    g = sj.Generator().manual_seed(3)
    state = g.get_state()
    first = g.rng.random(3)
    g.set_state(state)
    np.testing.assert_array_equal(g.rng.random(3), first)
    with pytest.raises(ValueError, match="non-negative"):
        g.manual_seed(-1)
