"""In-place methods and ``t[index] = v``: plain writes where no gradient is recorded,
PyTorch's errors (a leaf that requires grad; a saved value overwritten) exactly where
PyTorch raises them, and no error where PyTorch has none. The recorded gradients are
checked against PyTorch and central differences by the op table (rows_inplace.py)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import shenjing as sj

LEAF = "a leaf Variable that requires grad is being used in an in-place operation"
MODIFIED = "one of the variables needed for gradient computation has been modified by an inplace"


def _leaf(lib, requires_grad: bool = True):
    return lib.tensor([0.5, -1.0, 2.0], requires_grad=requires_grad)


# Programs that PyTorch runs or refuses; each runs on a library module (shenjing or torch).
def _exp_output_overwritten(lib):
    a = _leaf(lib)
    y = a.exp()
    y.add_(1)
    y.sum().backward()


def _sigmoid_output_overwritten_by_setitem(lib):
    a = _leaf(lib)
    y = a.sigmoid()
    y[0] = 0.0
    y.sum().backward()


def _saved_input_overwritten(lib):
    a = _leaf(lib)
    w = lib.tensor([1.0, 2.0, 3.0])
    y = a * w
    w.mul_(2)
    y.sum().backward()


def _parameter_overwritten_under_no_grad(lib):
    a = _leaf(lib)
    y = a * a
    with lib.no_grad():
        a.add_(1)
    y.sum().backward()


def _non_leaf_overwritten_under_no_grad(lib):
    a = _leaf(lib)
    y = a.exp()
    with lib.no_grad():
        y.mul_(2)
    y.sum().backward()


def _unsaved_input_overwritten(lib):
    a = _leaf(lib)
    w = lib.tensor([1.0, 2.0, 3.0])
    y = a + w  # add saves neither input
    w.mul_(2)
    y.sum().backward()
    return a.grad


def _data_write_is_not_tracked(lib):
    a = _leaf(lib)
    y = a * a
    a.data.add_(1)  # .data: no version check, as in PyTorch
    y.sum().backward()
    return a.grad


def _mul_by_constant_then_write(lib):
    a = _leaf(lib)
    y = a * 2
    z = y * 3  # saves y only for the constant's gradient, which is not needed
    y.add_(1)
    (z + y).sum().backward()
    return a.grad


def _chained_writes_and_setitem_from_another_graph(lib):
    a, b = _leaf(lib), _leaf(lib)
    y = a * 2
    y.mul_(b).sub_(b, alpha=0.5).div_(b.detach() + 3)
    y[1] = b[2] * 4
    y.sum().backward()
    return a.grad, b.grad


RAISES = [_exp_output_overwritten, _sigmoid_output_overwritten_by_setitem,
          _saved_input_overwritten, _parameter_overwritten_under_no_grad,
          _non_leaf_overwritten_under_no_grad]
RUNS = [_unsaved_input_overwritten, _data_write_is_not_tracked, _mul_by_constant_then_write,
        _chained_writes_and_setitem_from_another_graph]


@pytest.mark.parametrize("program", RAISES, ids=lambda f: f.__name__)
def test_backward_raises_pytorchs_error_where_pytorch_does(program: Callable) -> None:
    with pytest.raises(RuntimeError, match=MODIFIED):
        program(sj)
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match=MODIFIED):
        program(torch)


@pytest.mark.torch
@pytest.mark.parametrize("program", RUNS, ids=lambda f: f.__name__)
def test_programs_pytorch_runs_give_pytorchs_gradients(program: Callable) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = program(sj), program(torch)
    ours = ours if isinstance(ours, tuple) else (ours,)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    for g, expected in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(g.numpy(), expected.numpy(), rtol=1e-6)


def test_in_place_on_a_leaf_that_requires_grad_raises_pytorchs_error() -> None:
    w = sj.tensor([1.0, 2.0], requires_grad=True)
    for write in (lambda: w.add_(1), lambda: w.zero_(), lambda: w.normal_(),
                  lambda: w.copy_(sj.zeros(2)), lambda: w.__setitem__(0, 5.0)):
        with pytest.raises(RuntimeError, match=LEAF):
            write()
    assert w.tolist() == [1.0, 2.0]
    with sj.no_grad():  # the everyday update
        w.add_(sj.tensor([0.5, 0.5]), alpha=-2).mul_(2)
        w[1] = 7.0
    assert w.tolist() == [0.0, 7.0] and w.is_leaf and w.requires_grad


def test_data_idioms_update_the_parameter_in_place() -> None:
    w = sj.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (w * w).sum().backward()
    memory = w.array
    w.data.add_(w.grad, alpha=-0.1)  # p.data.add_(g, alpha=-lr)
    np.testing.assert_allclose(w.numpy(), [0.8, 1.6, 2.4], rtol=1e-6)
    w.data.copy_(sj.tensor([4.0, 5.0, 6.0]))
    assert w.tolist() == [4.0, 5.0, 6.0]
    sj.manual_seed(3)
    w.data.normal_(0.0, 0.02)
    assert w.array is memory and w.is_leaf and np.abs(w.numpy()).max() < 0.2
    w.grad.zero_()
    assert w.grad.tolist() == [0.0, 0.0, 0.0]


def test_random_fills_are_seeded_and_have_the_asked_distribution() -> None:
    def draw():
        sj.manual_seed(0)
        return sj.empty(20000).normal_(2.0, 3.0).numpy().copy(), \
            sj.empty(20000, dtype="float64").uniform_(-1.0, 4.0).numpy().copy()

    (n1, u1), (n2, u2) = draw(), draw()
    np.testing.assert_array_equal(n1, n2)
    np.testing.assert_array_equal(u1, u2)
    assert n1.dtype == np.float32 and u1.dtype == np.float64
    assert abs(n1.mean() - 2.0) < 0.1 and abs(n1.std() - 3.0) < 0.1
    assert u1.min() >= -1.0 and u1.max() < 4.0 and abs(u1.mean() - 1.5) < 0.05
    u = sj.empty(1000).uniform_(**{"from": 2.0, "to": 3.0})
    assert u.numpy().min() >= 2.0 and u.numpy().max() < 3.0


def test_write_into_a_view_while_recording_is_refused_not_silently_wrong() -> None:
    a = _leaf(sj)
    y = a * 2
    with pytest.raises(RuntimeError, match=r"mul_: this tensor is a view of another \(GetItem\)"):
        y[0:2].mul_(2)
    with sj.no_grad():  # a plain write through a view reaches the base, as in PyTorch
        y[0:2].mul_(2)
    np.testing.assert_allclose(y.detach().numpy(), [2.0, -4.0, 4.0])


def test_bad_writes_raise_pytorchs_errors_and_change_nothing() -> None:
    t = sj.zeros(3, dtype="int64")
    with pytest.raises(RuntimeError, match="add_: result type float32 can't be cast to the "
                                           "desired output type int64"):
        t.add_(0.5)
    x = sj.zeros(3)
    with pytest.raises(RuntimeError, match=r"add_: output with shape \(3,\) doesn't match the "
                                           r"broadcast shape \(2, 3\)"):
        x.add_(sj.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"copy_: the source of shape \(4,\) does not "
                                           r"broadcast to \(3,\)"):
        x.copy_(sj.ones(4))
    with pytest.raises(RuntimeError, match="fill_ only supports a 0-dimension value tensor"):
        x.fill_(sj.ones(3))
    assert t.tolist() == [0, 0, 0] and x.tolist() == [0.0, 0.0, 0.0]
    x.add_(sj.tensor([1, 2, 3]))  # an integer operand casts into a float tensor
    t.add_(sj.tensor([1, 2, 3]), alpha=2)
    assert x.tolist() == [1.0, 2.0, 3.0] and t.tolist() == [2, 4, 6]


def test_setitem_without_gradients_writes_like_numpy() -> None:
    x = sj.zeros(3, 4)
    x[0] = 1.0
    x[1, 1:3] = sj.tensor([2.0, 3.0])
    x[x > 2.5] = -1.0
    x[[2, 2], [0, 3]] = 9.0
    expected = np.zeros((3, 4), dtype=np.float32)
    expected[0] = 1.0
    expected[1, 1:3] = [2.0, 3.0]
    expected[expected > 2.5] = -1.0
    expected[[2, 2], [0, 3]] = 9.0
    np.testing.assert_array_equal(x.numpy(), expected)
