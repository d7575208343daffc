"""bfloat16: casts, rounding (bit-exact against PyTorch), ops, printing, saving."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import shenjing as sj
from shenjing import _bfloat16

pytest.importorskip("ml_dtypes")
torch = pytest.importorskip("torch")


def _bits(t: sj.Tensor) -> np.ndarray:
    return t.numpy().view(np.uint16)


def _edge_floats() -> np.ndarray:
    rng = np.random.default_rng(0)
    wide = rng.normal(size=2000).astype(np.float32) * np.float32(10.0) ** rng.integers(
        -30, 30, size=2000).astype(np.float32)
    # Exact ties between two bfloat16 values (low 16 bits 0x8000), both parities; values
    # next to the largest bfloat16 (round to inf); subnormals; signed zeros and inf.
    ties = (rng.integers(0, 2**15, size=200, dtype=np.uint32) << 16 | 0x8000).view(
        np.float32)
    special = np.array([0.0, -0.0, np.inf, -np.inf, 3.3895314e38, 3.40282e38, -3.4e38,
                        1e-40, -1e-45, 1.0000001, 1.00390625, 1.01171875], np.float32)
    return np.concatenate([wide, ties, special])


def test_float32_to_bfloat16_rounds_as_pytorch_bit_for_bit():
    values = _edge_floats()
    ours = sj.tensor(values).bfloat16()
    theirs = torch.from_numpy(values).bfloat16().view(torch.int16).numpy().view(np.uint16)
    assert ours.dtype == sj.bfloat16
    np.testing.assert_array_equal(_bits(ours), theirs)
    back = ours.float()
    np.testing.assert_array_equal(back.numpy(), torch.from_numpy(values).bfloat16().float())


def test_nan_stays_nan():
    ours = sj.tensor([np.nan, -np.nan], dtype=sj.bfloat16)
    assert np.isnan(ours.float().numpy()).all()


def test_casts_and_names():
    x = sj.tensor([1.0, 2.0001, 3.3])
    assert x.to(sj.bfloat16).dtype == sj.bfloat16
    assert x.to("bfloat16").dtype == sj.bfloat16
    assert x.type("shenjing.BFloat16Tensor").dtype == sj.bfloat16
    b = sj.tensor([1.0, 2.0001, 3.3], dtype=sj.bfloat16)
    assert b.type() == "shenjing.BFloat16Tensor"
    assert b.bfloat16() is b  # a cast to its own dtype returns the tensor, as PyTorch
    assert sj.dtypes.type_name(sj.bfloat16) == "shenjing.BFloat16Tensor"
    assert sj.zeros(2, dtype="bfloat16").dtype == sj.bfloat16


def test_printing_shows_values_as_pytorch_rounds_them():
    b = sj.tensor([1.0, 2.0001, 3.3]).bfloat16()
    text = repr(b)
    assert "dtype=bfloat16" in text
    # PyTorch prints tensor([1.0000, 2.0000, 3.2969], dtype=torch.bfloat16).
    assert "3.2969" in text and "2." in text


def test_gradient_flows_back_to_float32_leaf():
    x = sj.tensor([[1.0, -2.0, 3.3]], requires_grad=True)
    y = (x.bfloat16() * 3).relu().sum()
    assert y.dtype == sj.bfloat16
    y.backward()
    assert x.grad.dtype == np.float32
    xt = torch.tensor([[1.0, -2.0, 3.3]], requires_grad=True)
    (xt.bfloat16() * 3).relu().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("name", ["matmul", "linear", "conv2d", "add", "tanh", "softmax",
                                  "sum"])
def test_ops_on_bfloat16_match_pytorch(name):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(2, 3, 6, 6)).astype(np.float32)
    w = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    m = rng.normal(size=(6, 5)).astype(np.float32)
    F, TF = sj.nn.functional, torch.nn.functional
    cases = {
        "matmul": (lambda t, u: t @ u, a, m),
        "linear": (lambda t, u, lib: lib.linear(t, u), a[0, 0], m.T.copy()),
        "conv2d": (lambda t, u, lib: lib.conv2d(t, u, padding=1), a, w),
        "add": (lambda t, u: t + u, a[0], a[1]),
        "tanh": (lambda t: t.tanh(), a),
        "softmax": (lambda t, lib: lib.softmax(t, dim=-1), a),
        "sum": (lambda t: t.sum(), a),
    }
    fn, *arrays = cases[name]
    needs_lib = fn.__code__.co_varnames[-1] == "lib"
    ours_in = [sj.tensor(x).bfloat16() for x in arrays]
    theirs_in = [torch.from_numpy(x).bfloat16() for x in arrays]
    ours = fn(*ours_in, F) if needs_lib else fn(*ours_in)
    theirs = fn(*theirs_in, TF) if needs_lib else fn(*theirs_in)
    assert ours.dtype == sj.bfloat16 and theirs.dtype == torch.bfloat16
    # Both compute in float32 and round once; the summation order may differ, so
    # allow one bfloat16 step (2^-8 relative) either way.
    np.testing.assert_allclose(ours.float().numpy(), theirs.float().numpy(),
                               rtol=2**-7, atol=1e-2)


def test_mixed_bfloat16_and_float32_promote_to_float32():
    a = sj.tensor([1.5, 2.0]).bfloat16()
    b = sj.tensor([0.25, 1.0])
    assert (a + b).dtype == np.float32
    assert (a * 2.0).dtype == sj.bfloat16  # a Python scalar takes the tensor's dtype


def test_save_writes_bf16_that_pytorch_reads(tmp_path):
    pytest.importorskip("safetensors")
    from safetensors.torch import load_file

    b = sj.tensor([1.0, 2.5, 3.3]).bfloat16()
    path = tmp_path / "b.safetensors"
    sj.save({"b": b.numpy()}, path)
    theirs = load_file(str(path))["b"]
    assert theirs.dtype == torch.bfloat16
    np.testing.assert_array_equal(theirs.float().numpy(), b.float().numpy())
    # sj.load reads BF16 back as float32, exactly.
    np.testing.assert_array_equal(sj.load(path)["b"], b.float().numpy())


def test_import_shenjing_does_not_load_ml_dtypes():
    code = "import sys, shenjing; assert 'ml_dtypes' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_ml_dtypes_names_the_install(monkeypatch):
    monkeypatch.setattr(_bfloat16, "_dtype", None)
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # import ml_dtypes now fails
    with pytest.raises(ImportError, match="pip install ml_dtypes"):
        _ = sj.bfloat16
    with pytest.raises(ImportError, match="shenjing\\[bf16\\]"):
        sj.tensor([1.0]).to("bfloat16")
