"""The backward pass: ordering, accumulation, freeing the graph, grad modes."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import shenjing as sj


def test_fan_out_adds_the_gradients_of_every_use() -> None:
    x = sj.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x * x + 3.0 * x + x  # x used four times
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + 4)


def test_gradients_accumulate_across_backward_calls_until_reset() -> None:
    x = sj.tensor([1.0, 2.0], requires_grad=True)
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_leaves_never_share_a_gradient_array() -> None:
    a = sj.tensor([1.0, 2.0], requires_grad=True)
    b = sj.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.array *= 10.0  # as an in-place gradient clip would
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])
    assert a.grad.array.flags.writeable and b.grad.array.flags.writeable


def test_the_seed_gradient_is_not_stored_as_a_leaf_gradient() -> None:
    a = sj.tensor([1.0, 2.0], requires_grad=True)
    seed = np.ones(2, dtype=np.float32)
    (a + 1.0).backward(seed)
    a.grad.array += 1.0
    np.testing.assert_allclose(seed, [1.0, 1.0])


def test_a_second_backward_needs_retain_graph() -> None:
    x = sj.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-6)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_non_scalar_output_needs_an_explicit_gradient() -> None:
    x = sj.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar output.*shape=\(2,\)"):
        (x * 2.0).backward()
    (x * 2.0).backward(sj.tensor([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 20.0])


def test_backward_on_a_tensor_without_grad_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        sj.tensor([1.0]).sum().backward()


def test_no_grad_records_nothing_as_context_and_decorator() -> None:
    x = sj.tensor([1.0], requires_grad=True)
    with sj.no_grad():
        y = x * 2.0
    assert y.grad_fn is None and not y.requires_grad

    @sj.no_grad()
    def double(t: sj.Tensor) -> sj.Tensor:
        return t * 2.0

    assert double(x).grad_fn is None
    assert sj.is_grad_enabled()
    with sj.no_grad(), sj.enable_grad():
        assert (x * 2.0).grad_fn is not None


def test_ops_on_tensors_without_grad_record_nothing() -> None:
    y = sj.tensor([1.0]) * 2.0
    assert y.grad_fn is None


def test_a_chain_of_ten_thousand_ops_backpropagates_without_recursion() -> None:
    x = sj.tensor([0.5], requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001**10_000], rtol=1e-3)


def test_the_graph_is_freed_after_backward() -> None:
    x = sj.tensor(np.ones((4, 4)), requires_grad=True)
    hidden = (x * 2.0).exp()
    ref = weakref.ref(hidden)
    loss = hidden.sum()
    del hidden
    gc.collect()
    assert ref() is not None  # the graph keeps it alive until backward
    loss.backward()
    gc.collect()
    assert ref() is None


def test_the_engine_checks_gradient_shapes_of_a_custom_function() -> None:
    class Broken(sj.Function):
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return gy[:1]

    x = sj.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Broken.backward returned a gradient of shape \(1,\)"):
        Broken.apply(x).sum().backward()


def test_a_gradient_stopped_by_none_still_reaches_other_paths() -> None:
    class StopGradient(sj.Function):
        """y = x;  gx = None (a custom op blocking the gradient)."""

        def forward(self, x):
            return x.copy()

        def backward(self, gy):
            return None

    x = sj.tensor([1.0, 2.0], requires_grad=True)
    y = StopGradient.apply(x * 3.0) + x * 2.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])
