"""Edge cases of the elementwise math, rounding, bitwise and logical ops: result dtypes
as PyTorch gives them, zeros, negatives, empty and 0-d tensors, and errors."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
from tests.torch_parity import assert_same

torch = pytest.importorskip("torch")

INTS = np.array([7, -7, 0, 3, -1])
NONZERO_INTS = np.array([2, 2, -3, 5, -2])


def _same(ours: sj.Tensor, theirs: object) -> None:
    # NaN results (0/0, outside a domain) must match PyTorch's NaNs too.
    assert_same(ours, theirs, equal_nan=True)


@pytest.mark.parametrize("name", ["floor_divide", "remainder", "fmod", "bitwise_and",
                                  "bitwise_or", "bitwise_xor", "bitwise_left_shift",
                                  "bitwise_right_shift", "div", "logical_and", "atan2",
                                  "copysign", "logaddexp"])
def test_integer_binary_ops_give_torchs_values_and_dtypes(name: str) -> None:
    a, b = INTS, NONZERO_INTS
    if "shift" in name:
        b = np.abs(b)
    if name in ("logaddexp", "atan2", "copysign"):
        _same(getattr(sj, name)(sj.tensor(a).float(), sj.tensor(b).float()),
              getattr(torch, name)(torch.tensor(a).float(), torch.tensor(b).float()))
        return
    _same(getattr(sj, name)(sj.tensor(a), sj.tensor(b)),
          getattr(torch, name)(torch.tensor(a), torch.tensor(b)))


@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_rounded_division_of_integers_keeps_int64_and_rounds_negatives(mode: str) -> None:
    _same(sj.div(sj.tensor(INTS), sj.tensor(NONZERO_INTS), rounding_mode=mode),
          torch.div(torch.tensor(INTS), torch.tensor(NONZERO_INTS), rounding_mode=mode))


def test_true_division_of_integers_is_float32() -> None:
    assert sj.div(sj.tensor([7]), sj.tensor([2])).dtype == np.float32
    assert (sj.tensor([7]) / sj.tensor([2])).tolist() == [3.5]


@pytest.mark.parametrize("op", [lambda a, b: a // b, lambda a, b: a % b,
                                lambda a, b: sj.fmod(a, b),
                                lambda a, b: sj.div(a, b, rounding_mode="trunc")])
def test_integer_division_by_zero_raises(op) -> None:
    with pytest.raises(ZeroDivisionError):
        op(sj.tensor([1, 2]), sj.tensor([1, 0]))


def test_float_division_by_zero_gives_torchs_infinities_without_warnings() -> None:
    a, b = np.array([1.0, -1.0, 0.0]), np.zeros(3)
    for name in ("floor_divide", "remainder", "fmod"):
        _same(getattr(sj, name)(sj.tensor(a), sj.tensor(b)),
              getattr(torch, name)(torch.tensor(a).float(), torch.tensor(b).float()))


def test_bad_rounding_mode_is_named() -> None:
    with pytest.raises(ValueError, match="rounding_mode"):
        sj.div(sj.tensor([1.0]), 2.0, rounding_mode="round")


def test_floor_divide_has_no_gradient_like_torch() -> None:
    x = sj.tensor([1.5, 2.5], requires_grad=True)
    assert not (x // 2.0).requires_grad


@pytest.mark.parametrize("name", ["floor", "ceil", "trunc", "round", "sign", "square"])
def test_rounding_an_integer_tensor_keeps_its_dtype(name: str) -> None:
    _same(getattr(sj, name)(sj.tensor(INTS)), getattr(torch, name)(torch.tensor(INTS)))


def test_round_halves_to_even_and_to_decimals() -> None:
    x = np.array([0.5, 1.5, 2.5, -0.5, 1.25, -2.675])
    _same(sj.round(sj.tensor(x)), torch.round(torch.tensor(x).float()))
    _same(sj.round(sj.tensor(x), decimals=1), torch.round(torch.tensor(x).float(), decimals=1))


def test_frac_keeps_the_sign_and_refuses_integers() -> None:
    _same(sj.frac(sj.tensor([-1.25, 2.5, 0.0])), torch.frac(torch.tensor([-1.25, 2.5, 0.0])))
    with pytest.raises(TypeError, match="frac"):
        sj.frac(sj.tensor([1]))


@pytest.mark.parametrize("name", ["sin", "exp2", "log2", "rsqrt", "erf", "reciprocal", "atanh"])
def test_float_functions_of_integers_give_float32(name: str) -> None:
    _same(getattr(sj, name)(sj.tensor([1, 2, 3])), getattr(torch, name)(torch.tensor([1, 2, 3])))


@pytest.mark.parametrize(("name", "values"), [
    ("asin", [2.0, -1.0, 1.0]), ("acos", [-2.0, 1.0]), ("acosh", [0.5, 1.0]),
    ("atanh", [-1.0, 1.0, 2.0]), ("log2", [0.0, -1.0]), ("log10", [0.0]),
    ("log1p", [-1.0, -2.0]), ("rsqrt", [0.0, -1.0]), ("reciprocal", [0.0, -0.0]),
    ("erfinv", [-1.0, 1.0, 1.5, 0.0]),
])
def test_outside_the_domain_gives_torchs_nan_and_inf_without_warnings(name, values) -> None:
    _same(getattr(sj, name)(sj.tensor(values)), getattr(torch, name)(torch.tensor(values)))


def test_erfinv_inverts_erf() -> None:
    x = sj.tensor(np.linspace(-0.999, 0.999, 41), dtype="float64")
    np.testing.assert_allclose(sj.erf(sj.erfinv(x)).numpy(), x.numpy(), atol=1e-12)


@pytest.mark.parametrize("name", ["sin", "exp2", "log1p", "floor", "sign", "erf", "square"])
def test_unary_ops_keep_empty_and_0d_shapes(name: str) -> None:
    assert getattr(sj, name)(sj.zeros(0, 3)).shape == (0, 3)
    assert getattr(sj, name)(sj.tensor(0.5)).shape == ()


def test_bitwise_ops_on_booleans_stay_boolean() -> None:
    a, b = sj.tensor([True, False, True]), sj.tensor([True, True, False])
    assert (a & b).tolist() == [True, False, False]
    assert (a | b).dtype == np.bool_
    assert (~a).tolist() == [False, True, False]
    assert (a ^ True).tolist() == [False, True, False]


def test_bitwise_ops_refuse_floats_and_name_the_op() -> None:
    with pytest.raises(TypeError, match="bitwise_and.*float32"):
        sj.tensor([1.0]) & 1
    # A bool tensor meets a Python int in int64, as in PyTorch (tensor([True]) << 1 is [2]).
    shifted = sj.tensor([True]) << 1
    assert shifted.dtype == np.int64 and shifted.tolist() == [2]


def test_reflected_operators() -> None:
    x = sj.tensor([1, 2, 3])
    assert (7 // x).tolist() == [7, 3, 2]
    assert (7 % x).tolist() == [0, 1, 1]
    assert (6 & x).tolist() == [0, 2, 2]
    assert (1 << x).tolist() == [2, 4, 8]
    assert (16 >> x).tolist() == [8, 4, 2]
    assert (5.5 % sj.tensor([2.0])).tolist() == [1.5]


def test_logical_ops_and_tests_give_booleans() -> None:
    a = sj.tensor([0.0, 2.0, float("nan"), float("inf")])
    assert sj.logical_and(a, 1).tolist() == [False, True, True, True]
    assert sj.logical_not(a).tolist() == [True, False, False, False]
    assert sj.logical_xor(a, sj.tensor([1, 1, 0, 0])).tolist() == [True, False, True, True]
    assert sj.isnan(a).tolist() == [False, False, True, False]
    assert sj.isinf(a).tolist() == [False, False, False, True]
    assert sj.isfinite(a).tolist() == [True, True, False, False]
    assert sj.isnan(sj.tensor([1, 2])).tolist() == [False, False]


def test_isclose_and_allclose_use_torchs_defaults() -> None:
    a, b = sj.tensor([1.0, float("nan")]), sj.tensor([1.0 + 1e-6, float("nan")])
    assert sj.isclose(a, b).tolist() == [True, False]
    assert sj.isclose(a, b, equal_nan=True).tolist() == [True, True]
    assert sj.allclose(a[:1], b[:1]) is True
    assert sj.allclose(sj.tensor([1.0]), sj.tensor([1.1])) is False
    with pytest.raises(ValueError, match="isclose"):
        sj.isclose(a, b, rtol=-1)


def test_clamp_with_tensor_bounds_and_crossed_bounds_as_torch() -> None:
    x = np.array([-2.0, 0.5, 3.0])
    lo, hi = np.array([0.0, 1.0, -1.0]), np.array([1.0, 0.0, 2.0])
    _same(sj.clamp(sj.tensor(x), sj.tensor(lo), sj.tensor(hi)),
          torch.clamp(torch.tensor(x).float(), torch.tensor(lo).float(),
                      torch.tensor(hi).float()))
    _same(sj.clamp(sj.tensor(x), max=sj.tensor(hi)),
          torch.clamp(torch.tensor(x).float(), max=torch.tensor(hi).float()))
    with pytest.raises(ValueError, match="clamp"):
        sj.clamp(sj.tensor(x))


def test_clamping_integers_by_floats_gives_float32_as_torch() -> None:
    _same(sj.clamp(sj.tensor([1, 5]), 0.5, 2.5), torch.clamp(torch.tensor([1, 5]), 0.5, 2.5))
    _same(sj.clamp(sj.tensor([1, 5]), max=2), torch.clamp(torch.tensor([1, 5]), max=2))


def test_lerp_refuses_integers() -> None:
    with pytest.raises(TypeError, match="lerp"):
        sj.lerp(sj.tensor([1]), sj.tensor([2]), 0.5)


def test_broadcasting_clash_names_the_op() -> None:
    with pytest.raises(ValueError, match="atan2"):
        sj.atan2(sj.zeros(2), sj.zeros(3))
    with pytest.raises(ValueError, match="remainder"):
        sj.zeros(2) % sj.ones(3)


def test_add_and_sub_take_alpha() -> None:
    a, b = sj.tensor([1.0, 2.0]), sj.tensor([10.0, 20.0])
    assert a.add(b, alpha=2).tolist() == [21.0, 42.0]
    assert sj.sub(a, b, alpha=0.5).tolist() == [-4.0, -8.0]
    assert a.mul(b).tolist() == [10.0, 40.0]
    assert a.neg().tolist() == [-1.0, -2.0]


def test_in_place_ops_write_into_the_tensor() -> None:
    x = sj.tensor([1.0, 2.0])
    view = x.array
    assert x.add_(sj.tensor([1.0, 1.0]), alpha=3) is x
    x.mul_(2).sub_(1).div_(2).clamp_(max=3.5)
    assert x.tolist() == [3.5, 3.5] and x.array is view
    assert x.zero_().tolist() == [0.0, 0.0]
    assert x.fill_(7).tolist() == [7.0, 7.0]
    i = sj.tensor([7, 8])
    assert i.div_(2, rounding_mode="floor").tolist() == [3, 4]


def test_in_place_ops_refuse_what_torch_refuses() -> None:
    w = sj.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        w.add_(1.0)
    recorded = sj.tensor([1.0]).mul_(w[:1])  # recorded, as in PyTorch (tests/autograd)
    assert recorded.grad_fn is not None
    with sj.no_grad():  # an optimizer's update
        w.sub_(0.5)
    assert w.tolist() == [0.5, 1.5] and w.requires_grad
    with pytest.raises(RuntimeError, match="shape"):
        sj.tensor([1.0]).add_(sj.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="result type float32 can't be cast to the desired "
                                           "output type int64"):
        sj.tensor([1, 2]).div_(2)
