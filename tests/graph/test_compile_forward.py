"""``sj.compile(module)``: the inference forward replayed with preallocated buffers gives
eager evaluation's numbers, for every zoo model and layer type."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
from shenjing.graph.compile_forward import CompiledForward
from tests.onnx.cases import CASES, Case


def _eager(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with sj.no_grad():
        return model(sj.from_numpy(x)).numpy()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_compiled_forward_equals_eager_evaluation(case: Case) -> None:
    sj.manual_seed(0)
    model = case.build().eval()
    fast = sj.compile(model)
    assert isinstance(fast, CompiledForward)
    for batch in (1, 3, 1):
        x = case.inputs(batch, seed=batch)
        got = fast(sj.from_numpy(x))
        assert got.grad_fn is None and not got.requires_grad
        np.testing.assert_allclose(got.numpy(), _eager(model, x), rtol=1e-5, atol=1e-6)
    assert fast.trace_count == 2  # one per batch size


def test_padding_strides_and_overlapping_pools() -> None:
    sj.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=2), nn.ReLU(),
                          nn.MaxPool2d(3, stride=2, padding=1), nn.Conv2d(4, 2, (2, 3)),
                          nn.AvgPool2d(2, stride=1, padding=1)).eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 13, 11)).astype(np.float32)
    np.testing.assert_allclose(sj.compile(model)(x).numpy(), _eager(model, x), rtol=1e-5,
                               atol=1e-6)


def test_results_survive_the_next_call_and_weights_are_read_each_call() -> None:
    sj.manual_seed(1)
    model = sj.models.lenet5().eval()
    fast = sj.compile(model)
    a, b = (np.random.default_rng(k).standard_normal((1, 1, 28, 28)).astype(np.float32)
            for k in range(2))
    first = fast(a)
    kept = first.numpy().copy()
    fast(b)
    np.testing.assert_array_equal(first.numpy(), kept)
    model[0].weight.array[...] *= 2.0  # in place, as an optimizer updates
    model.load_state_dict({**model.state_dict(), "9.bias": np.ones(84, np.float32)})
    np.testing.assert_allclose(fast(a).numpy(), _eager(model, a), rtol=1e-5, atol=1e-6)


def test_training_mode_is_refused() -> None:
    model = nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match=r"compiles the inference forward: call \.eval\(\)"):
        sj.compile(model)(sj.zeros(1, 2))
    with pytest.raises(TypeError, match="inputs must be tensors or arrays"):
        sj.compile(model.eval())([[1.0, 2.0]])


def test_the_traced_graph_is_not_kept_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    # A live graph would switch on graph building's hook for every eager op.
    import gc
    import weakref

    from shenjing.graph import compile_forward

    made: list[weakref.ref] = []

    class RememberedGraph(compile_forward.Graph):
        def __init__(self) -> None:
            super().__init__()
            made.append(weakref.ref(self))

    monkeypatch.setattr(compile_forward, "Graph", RememberedGraph)
    fast = sj.compile(nn.Sequential(nn.Linear(3, 2), nn.ReLU()).eval())
    fast(sj.zeros(1, 3))
    gc.collect()
    assert len(made) == 1 and made[0]() is None
