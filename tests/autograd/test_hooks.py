"""Post-accumulate-grad hooks and end-of-backward callbacks in the engine."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
from shenjing.autograd import engine


def test_hook_sees_the_complete_gradient_before_the_walk_ends() -> None:
    w = sj.tensor(np.ones(3), requires_grad=True)
    v = sj.tensor(np.ones(3), requires_grad=True)
    seen: list[tuple[str, list[float] | None]] = []
    # w is used twice (fan-out) and is needed by the last ops, so it completes first.
    w.register_post_accumulate_grad_hook(lambda t: seen.append(("w", t.grad.numpy().tolist())))
    v.register_post_accumulate_grad_hook(
        lambda t: seen.append(("v", None if w.grad is None else w.grad.numpy().tolist()))
    )
    loss = ((v * 3.0).exp() * w + w * 2.0).sum()
    loss.backward()
    e3 = float(np.exp(3.0))
    assert seen[0][0] == "w"
    np.testing.assert_allclose(seen[0][1], [e3 + 2.0] * 3, rtol=1e-6)
    assert seen[1][0] == "v"


def test_hook_runs_once_per_pass_and_handle_removes_it() -> None:
    w = sj.tensor(np.ones(2), requires_grad=True)
    calls: list[int] = []
    handle = w.register_post_accumulate_grad_hook(lambda t: calls.append(1))
    (w * w).sum().backward()
    (w * 2.0).sum().backward()
    assert calls == [1, 1]
    np.testing.assert_allclose(w.grad.numpy(), [4.0, 4.0])
    handle.remove()
    handle.remove()
    (w * 2.0).sum().backward()
    assert calls == [1, 1]
    assert not engine._post_accumulate_hooks


def test_hook_gradient_is_not_shared_with_the_rest_of_the_walk() -> None:
    w = sj.tensor(np.ones(2), requires_grad=True)
    x = sj.tensor(np.ones(2), requires_grad=True)

    def scribble(t: sj.Tensor) -> None:
        t.grad.array[...] = 100.0  # what DDP does when it writes back the average

    w.register_post_accumulate_grad_hook(scribble)
    ((w + x * 1.0) * 1.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


def test_hook_on_a_root_leaf_and_on_an_unused_leaf() -> None:
    w = sj.tensor(np.ones(2), requires_grad=True)
    unused = sj.tensor(np.ones(2), requires_grad=True)
    calls: list[str] = []
    w.register_post_accumulate_grad_hook(lambda t: calls.append("w"))
    unused.register_post_accumulate_grad_hook(lambda t: calls.append("unused"))
    w.backward(np.ones(2))
    assert calls == ["w"]


def test_hook_registration_needs_a_leaf_that_requires_grad() -> None:
    w = sj.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match="only a leaf tensor"):
        (w * 2.0).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="only a leaf tensor"):
        sj.tensor(np.ones(2)).register_post_accumulate_grad_hook(lambda t: None)


def test_queued_callbacks_run_after_every_grad_is_filled() -> None:
    w = sj.tensor(np.ones(2), requires_grad=True)
    v = sj.tensor(np.ones(2), requires_grad=True)
    grads_at_end: list[bool] = []

    def queue(t: sj.Tensor) -> None:
        engine.queue_callback(lambda: grads_at_end.append(v.grad is not None))

    w.register_post_accumulate_grad_hook(queue)
    (w * v).sum().backward()
    assert grads_at_end == [True]


def test_queue_callback_outside_backward_raises() -> None:
    with pytest.raises(RuntimeError, match="no backward pass is running"):
        engine.queue_callback(lambda: None)


def test_hooks_die_with_their_leaf() -> None:
    w = sj.tensor(np.ones(2), requires_grad=True)
    w.register_post_accumulate_grad_hook(lambda t: None)
    assert engine._post_accumulate_hooks
    del w
    assert not engine._post_accumulate_hooks


def test_each_pass_has_its_own_token() -> None:
    w = sj.tensor(np.ones(2), requires_grad=True)
    tokens: list[object] = []
    w.register_post_accumulate_grad_hook(lambda t: tokens.append(engine.current_pass()))
    (w * 2.0).sum().backward()
    (w * 2.0).sum().backward()
    assert engine.current_pass() is None
    assert tokens[0] is not None and tokens[1] is not None and tokens[0] is not tokens[1]
