"""gradcheck: passes on correct gradients, reports the input and index of a wrong one."""

from __future__ import annotations

import pytest

import shenjing as sj


class WrongSquare(sj.Function):
    """y = x²; backward planted wrong at index 2: gx = 2 x gy, plus 1 at [2]."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, gy):
        gx = 2 * self.x * gy
        gx[2] += 1.0
        return gx


def test_gradcheck_accepts_a_correct_gradient() -> None:
    x = sj.randn(3, 4, dtype="float64", requires_grad=True)
    assert sj.gradcheck(lambda t: (t * t.exp()).sum(), [x])


def test_gradcheck_names_the_input_and_the_index_of_a_wrong_gradient() -> None:
    x = sj.tensor([0.5, -1.0, 2.0, 0.3], dtype="float64", requires_grad=True, name="w")
    with pytest.raises(sj.GradcheckError, match=r"input 0 \('w'\).*index \(2,\).*numeric=.*analytic="):
        sj.gradcheck(WrongSquare.apply, [x])


def test_gradcheck_works_in_float64_even_for_float32_inputs() -> None:
    x = sj.randn(5, requires_grad=True)
    assert x.dtype == "float32"
    assert sj.gradcheck(lambda t: (t * t * t).sum(), [x])
    assert x.dtype == "float32"


def test_gradcheck_checks_only_inputs_marked_requires_grad() -> None:
    x = sj.randn(2, dtype="float64", requires_grad=True)
    y = sj.tensor([0.5, -1.0, 2.0, 0.3], dtype="float64")
    assert sj.gradcheck(lambda a, b: a.sum() + WrongSquare.apply(b).sum(), [x, y])
