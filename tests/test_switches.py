"""Top-level names PyTorch programs call before any model: dtype defaults, matmul
precision, determinism, ``is_tensor`` and ``numel``, checked against PyTorch."""

from __future__ import annotations

import pytest

import shenjing as sj

torch = pytest.importorskip("torch")  # these tests compare with PyTorch


def test_default_dtype_is_float32_and_only_float32_is_accepted() -> None:
    assert sj.get_default_dtype() == sj.float32
    assert str(torch.get_default_dtype()).removeprefix("torch.") == sj.get_default_dtype().name
    sj.set_default_dtype(sj.float32)
    assert sj.tensor(1.5).dtype == sj.float32
    with pytest.raises(ValueError, match="set_default_dtype.*float32"):
        sj.set_default_dtype(sj.float64)


def test_matmul_precision_reads_back_and_checks_its_value() -> None:
    assert sj.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
    try:
        sj.set_float32_matmul_precision("high")
        assert sj.get_float32_matmul_precision() == "high"
    finally:
        sj.set_float32_matmul_precision("highest")
    with pytest.raises(ValueError, match="set_float32_matmul_precision"):
        sj.set_float32_matmul_precision("fast")


def test_deterministic_algorithms_switch_reads_back() -> None:
    assert sj.are_deterministic_algorithms_enabled() is False
    try:
        sj.use_deterministic_algorithms(True, warn_only=True)
        assert sj.are_deterministic_algorithms_enabled() is True
    finally:
        sj.use_deterministic_algorithms(False)
    with pytest.raises(TypeError, match="use_deterministic_algorithms"):
        sj.use_deterministic_algorithms("yes")  # type: ignore[arg-type]


def test_is_tensor_and_numel_as_in_pytorch() -> None:
    p = sj.nn.Parameter(sj.ones(2, 3))
    for obj in (sj.ones(2), p, [1.0], 3.0):
        ref = torch.is_tensor(torch.ones(2) if sj.is_tensor(obj) else obj)
        assert sj.is_tensor(obj) == ref
    assert sj.numel(sj.ones(2, 3, 4)) == torch.numel(torch.ones(2, 3, 4)) == 24
    with pytest.raises(TypeError, match="numel"):
        sj.numel([1, 2])  # type: ignore[arg-type]
