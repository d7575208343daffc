"""``sj.compile(mode="reduce-overhead")``: the CUDA-graph plumbing, on the strict stand-in.

The stand-in's graph backend (``HostReplay``) runs the step once at "capture" with every
device buffer restored after, failing on a host read, and runs it again per "launch". So
these tests check what does not need a GPU: the batch goes through static input buffers,
results come from static output buffers, parameters and optimizer state are updated in
place at fixed addresses, the captured optimizer update (scalars read from the device)
gives the uncaptured compiled step's numbers, and the step captures again or falls back
where it must.
"""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
import shenjing.nn.functional as F
from shenjing import kernels
from shenjing.graph import cuda_graph
from shenjing.testing import strict

STEPS, BATCH = 6, 16


@pytest.fixture(autouse=True)
def _stand_in():
    strict.install()
    cuda_graph.register_backend("strict_numpy",
                                cuda_graph.HostReplay(lambda: strict.host_syncs))
    with kernels.use(False):
        yield
    cuda_graph.register_backend("strict_numpy", None)
    strict.uninstall()


def make_model(dropout: bool = False) -> nn.Module:
    """130*128 weights: above the flat-layout size, so both update paths are exercised."""
    sj.manual_seed(0)
    layers = [nn.Linear(130, 128), nn.ReLU()] + ([nn.Dropout(0.5)] if dropout else [])
    return nn.Sequential(*layers, nn.Linear(128, 3)).to("strict")


def batches(batch: int = BATCH) -> list[tuple]:
    rng = np.random.default_rng(1)
    return [(sj.tensor(rng.standard_normal((batch, 130)).astype(np.float32), device="strict"),
             sj.tensor(rng.integers(0, 3, batch), device="strict")) for _ in range(STEPS)]


def training(make_optimizer, mode, dropout: bool = False):
    model = make_model(dropout)
    opt = make_optimizer(model.parameters())

    def train_step(x, y):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return model, opt, sj.compile(train_step, mode=mode)


OPTIMIZERS = {
    "adam": lambda p: sj.optim.Adam(p, lr=0.01),
    "adamw": lambda p: sj.optim.AdamW(p, lr=0.01, weight_decay=0.1),
    "adam-l2-maximize": lambda p: sj.optim.Adam(p, lr=0.01, weight_decay=0.01, maximize=True),
    "sgd": lambda p: sj.optim.SGD(p, lr=0.1),
    "sgd-nesterov": lambda p: sj.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True,
                                           weight_decay=1e-3),
    "sgd-dampening": lambda p: sj.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.1),
}


def host(t) -> np.ndarray:
    return t.cpu().numpy()


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_captured_step_gives_the_compiled_steps_numbers(name):
    model, opt, plain = training(OPTIMIZERS[name], None)
    graph_model, graph_opt, captured = training(OPTIMIZERS[name], "reduce-overhead")
    data = batches()
    addresses = None
    syncs = 0
    for step, (x, y) in enumerate(data):
        expected = plain(x, y)
        before = strict.host_syncs
        got = captured(x, y)
        syncs += strict.host_syncs - before
        np.testing.assert_allclose(host(got), host(expected), rtol=1e-6)
        if step == 1:  # captured: from now on every update is in place
            addresses = [id(p.array) for p in graph_model.parameters()]
    (state,) = captured.captures
    assert state.reason is None
    assert (state.captures, state.replays) == (1, STEPS - 1)
    assert [id(p.array) for p in graph_model.parameters()] == addresses
    for p, q in zip(graph_model.parameters(), model.parameters(), strict=True):
        np.testing.assert_allclose(host(p), host(q), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(host(p.grad), host(q.grad), rtol=1e-5, atol=1e-7)
    if "adam" in name:
        steps = {s["step"] for s in graph_opt.state_dict()["state"].values()}
        assert steps == {STEPS}
    # The batch went through the static inputs; the result came from the static output.
    x, y = data[-1]
    np.testing.assert_array_equal(state.inputs[0].get(), host(x))
    np.testing.assert_array_equal(state.inputs[1].get(), host(y))
    np.testing.assert_array_equal(state.outputs[0].get(), host(got))
    assert syncs == 0  # the captured step never waits for the device


def test_a_changed_learning_rate_needs_no_new_capture():
    _, opt, plain = training(OPTIMIZERS["adam"], None)
    _, graph_opt, captured = training(OPTIMIZERS["adam"], "reduce-overhead")
    for step, (x, y) in enumerate(batches()):
        for o in (opt, graph_opt):
            o.param_groups[0]["lr"] = 0.01 / (step + 1) if step != 3 else 0.0
        np.testing.assert_allclose(host(captured(x, y)), host(plain(x, y)), rtol=1e-6)
    assert captured.captures[0].captures == 1


def test_a_new_shape_captures_its_own_graph():
    _, _, captured = training(OPTIMIZERS["sgd"], "reduce-overhead")
    for x, y in batches()[:3] + batches(5)[:3]:
        captured(x, y)
    assert captured.trace_count == 2
    assert [(s.captures, s.replays) for s in captured.captures] == [(1, 2), (1, 2)]


def test_replaced_parameter_arrays_are_captured_again():
    model, _, plain = training(OPTIMIZERS["sgd-nesterov"], None)
    graph_model, _, captured = training(OPTIMIZERS["sgd-nesterov"], "reduce-overhead")
    for step, (x, y) in enumerate(batches()):
        if step == 3:
            for m in (model, graph_model):
                weight = m[0].weight
                weight.array = weight.array * 0.5  # a new array: the graph's is stale
        np.testing.assert_allclose(host(captured(x, y)), host(plain(x, y)), rtol=1e-6)
    assert captured.captures[0].captures == 2
    np.testing.assert_allclose(host(graph_model[0].weight), host(model[0].weight), rtol=1e-5)


@pytest.mark.parametrize(("case", "reason"), [
    ("dropout", "Dropout"),
    ("rmsprop", "RMSprop"),
    ("amsgrad", "amsgrad"),
])
def test_steps_that_cannot_be_graphs_run_uncaptured(case, reason):
    make = {"rmsprop": lambda p: sj.optim.RMSprop(p, lr=0.01),
            "amsgrad": lambda p: sj.optim.Adam(p, lr=0.01, amsgrad=True)}.get(
        case, OPTIMIZERS["sgd"])
    sj.manual_seed(5)
    model, _, plain = training(make, None, dropout=case == "dropout")
    sj.manual_seed(5)
    graph_model, _, captured = training(make, "reduce-overhead", dropout=case == "dropout")
    for x, y in batches()[:4]:
        if case == "dropout":
            sj.manual_seed(7)
        expected = plain(x, y)
        if case == "dropout":
            sj.manual_seed(7)
        np.testing.assert_allclose(host(captured(x, y)), host(expected), rtol=1e-6)
    (state,) = captured.captures
    assert reason in state.reason
    assert (state.captures, state.replays) == (0, 0)
    for p, q in zip(graph_model.parameters(), model.parameters(), strict=True):
        np.testing.assert_allclose(host(p), host(q), rtol=1e-6)


def test_numpy_arrays_have_no_graphs_and_run_as_before():
    sj.manual_seed(0)
    model = nn.Linear(4, 2)
    opt = sj.optim.SGD(model.parameters(), lr=0.1)

    @sj.compile(mode="reduce-overhead")
    def train_step(x, y):
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    losses = [train_step(sj.ones(3, 4), sj.zeros(3, 2)).item() for _ in range(3)]
    assert losses[2] < losses[0]
    assert "numpy" in train_step.captures[0].reason


def test_a_host_read_under_capture_is_refused_and_leaves_the_buffers():
    backend = cuda_graph.HostReplay(lambda: strict.host_syncs)
    buffer = strict.strict_numpy.ones(3)

    def step() -> None:
        buffer[...] = buffer * 2
        float(buffer.sum())  # a sync: a CUDA graph cannot record it

    with pytest.raises(cuda_graph.NotCapturable, match="host"):
        backend.capture(step, [buffer])
    np.testing.assert_array_equal(buffer.get(), np.ones(3))


def test_mode_is_pytorchs():
    with pytest.raises(ValueError, match="mode"):
        sj.compile(lambda x: x, mode="max-autotune-no-cudagraphs")
    assert sj.compile(mode="default")(lambda x: x * 2)(sj.ones(2)).tolist() == [2.0, 2.0]


def test_gradients_that_accumulate_keep_accumulating_in_the_graph():
    """No zero_grad in the step: each call adds to .grad, in the static buffers too."""
    results = []
    for mode in (None, "reduce-overhead"):
        model = make_model()
        opt = sj.optim.SGD(model.parameters(), lr=0.01)
        model(batches()[0][0]).sum().backward()  # .grad is set before tracing: "add"

        def train_step(x, y, model=model, opt=opt):
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        step = sj.compile(train_step, mode=mode)
        losses = [host(step(x, y)) for x, y in batches()[:5]]
        results.append((losses, [host(p.grad) for p in model.parameters()], step))
    (plain_losses, plain_grads, _), (losses, grads, step) = results
    np.testing.assert_allclose(losses, plain_losses, rtol=1e-6)
    for a, b in zip(grads, plain_grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert (step.captures[0].reason, step.captures[0].replays) == (None, 4)


def test_a_function_without_an_optimizer_is_captured_too():
    model = make_model()
    forward = sj.compile(lambda x: F.softmax(model(x), dim=1), mode="reduce-overhead")
    for x, _ in batches()[:3]:
        np.testing.assert_allclose(host(forward(x)), host(F.softmax(model(x), dim=1)),
                                   rtol=1e-6)
    assert (forward.captures[0].reason, forward.captures[0].replays) == (None, 2)
