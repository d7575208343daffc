"""Module and tensor hooks, compared with PyTorch's on the same weights."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn

torch = pytest.importorskip("torch")


def _pair():
    """The same two-layer net in both libraries."""
    sj.manual_seed(0)
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in
                            ours.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    return ours, theirs, x


def _np(t) -> np.ndarray:
    return t.detach().numpy() if hasattr(t, "detach") else t.numpy()


def test_forward_hooks_see_and_replace_as_in_pytorch() -> None:
    ours, theirs, x = _pair()
    seen: dict[str, list] = {"ours": [], "theirs": []}
    for model, key in ((ours, "ours"), (theirs, "theirs")):
        model[0].register_forward_pre_hook(lambda m, args: (args[0] * 2,))
        model[1].register_forward_hook(lambda m, args, out, key=key: seen[key].append(_np(out)))
        model[2].register_forward_hook(lambda m, args, out: out + 1)
    y_ours = ours(sj.tensor(x))
    y_theirs = theirs(torch.from_numpy(x))
    np.testing.assert_allclose(_np(y_ours), _np(y_theirs), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(seen["ours"][0], seen["theirs"][0], rtol=1e-5, atol=1e-6)


def test_hook_handles_remove_and_prepend_orders() -> None:
    layer, calls = nn.Identity() if hasattr(nn, "Identity") else nn.ReLU(), []
    first = layer.register_forward_pre_hook(lambda m, a: calls.append("first"))
    layer.register_forward_pre_hook(lambda m, a: calls.append("front"), prepend=True)
    layer(sj.ones(1))
    assert calls == ["front", "first"]
    first.remove()
    calls.clear()
    layer(sj.ones(1))
    assert calls == ["front"]


def test_forward_hook_with_kwargs_and_always_call() -> None:
    class Fails(nn.Module):
        def forward(self, x, scale=1.0):
            raise ValueError("boom")

    module, calls = Fails(), []
    module.register_forward_hook(lambda m, a, k, out: calls.append((k, out)), with_kwargs=True,
                                 always_call=True)
    with pytest.raises(ValueError, match="boom"):
        module(sj.ones(1), scale=2.0)
    assert calls == [({"scale": 2.0}, None)]


def test_full_backward_hooks_match_pytorch() -> None:
    ours, theirs, x = _pair()
    got: dict[str, list] = {"ours": [], "theirs": []}
    for model, key in ((ours, "ours"), (theirs, "theirs")):
        model[1].register_full_backward_hook(
            lambda m, gi, go, key=key: got[key].append((_np(gi[0]), _np(go[0]))))
        model[2].register_full_backward_hook(lambda m, gi, go: (gi[0] * 3,))
        model[0].register_full_backward_pre_hook(lambda m, go: (go[0] * 0.5,))
    xs, xt = sj.tensor(x, requires_grad=True), torch.from_numpy(x).requires_grad_()
    ours(xs).sum().backward()
    theirs(xt).sum().backward()
    np.testing.assert_allclose(got["ours"][0][0], got["theirs"][0][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["ours"][0][1], got["theirs"][0][1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours[0].weight.grad.numpy(), theirs[0].weight.grad.numpy(),
                               rtol=1e-5, atol=1e-6)


def test_backward_hook_on_the_first_layer_gets_none_for_data_inputs() -> None:
    ours, theirs, x = _pair()
    got = []
    ours[0].register_full_backward_hook(lambda m, gi, go: got.append((gi, go[0].shape)))
    ours(sj.tensor(x)).sum().backward()
    assert got == [((None,), (5, 4))]


def test_tensor_hooks_and_retain_grad_match_pytorch() -> None:
    x = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    results = []
    for lib in (sj, torch):
        a = lib.tensor(x, requires_grad=True)
        b = a * a
        b.retain_grad()
        c = b.sum() * 2
        seen = []
        b.register_hook(lambda g, seen=seen: seen.append(_np(g).copy()))
        a.register_hook(lambda g: g + 1)
        handle = b.register_hook(lambda g: g * 10)
        c.backward()
        results.append((_np(a.grad), _np(b.grad), seen[0], b.retains_grad))
        handle.remove()
    for ours, theirs in zip(results[0], results[1], strict=True):
        np.testing.assert_allclose(ours, theirs)


def test_hooks_refuse_tensors_without_gradient() -> None:
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        sj.ones(2).register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        sj.ones(2).retain_grad()
