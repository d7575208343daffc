"""draw_graph: DOT for eager and graph-mode graphs, the backward graph, rendering."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
import shenjing.nn.functional as F
from shenjing.viz import draw_graph


def _labels(dot: str) -> list[str]:
    return re.findall(r'\[label="([^"]*)"', dot)


def test_eager_graph_shows_each_tensors_op_name_shape_and_dtype():
    x = sj.tensor(np.ones((2, 3)), requires_grad=True, name="x")
    w = sj.tensor(np.ones((3, 4)), requires_grad=True, name="w")
    y = F.relu(x @ w).sum()
    dot = draw_graph(y)
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    labels = _labels(dot)
    assert "Sum\\n() float32" in labels
    assert "MatMul\\n(2, 4) float32" in labels
    assert "leaf (requires grad)\\nx\\n(2, 3) float32" in labels
    assert "leaf (requires grad)\\nw\\n(3, 4) float32" in labels
    assert dot.count("->") == 4  # x, w -> matmul -> relu -> sum


def test_backward_graph_shows_gradient_shapes():
    x = sj.tensor(np.ones((2, 3)), requires_grad=True, name="x")
    y = (x * 2).sum()
    y.backward(retain_graph=True)
    dot = draw_graph(y, show_grad=True)
    assert "MulBackward" in dot and "SumBackward" in dot
    assert "grad: (2, 3)" in dot  # the leaf's .grad
    assert 'label="grad (2, 3)"' in dot
    y.backward()  # frees the graph
    with pytest.raises(ValueError, match="retain_graph=True"):
        draw_graph(y)


def test_deep_eager_graph_needs_no_recursion():
    x = sj.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    assert draw_graph(y).count("Mul\\n") == 3000


def test_symbolic_graph_shows_ops_names_shapes_and_dtypes():
    sj.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3))
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((None, 4), name="x")
        y = sj.placeholder((None,), dtype="int64", name="y")
        loss = F.cross_entropy(model(x), y)
    dot = draw_graph(g)
    labels = _labels(dot)
    assert "Placeholder\\nx\\n(None, 4) float32" in labels
    assert "Linear\\nlinear\\n(None, 3) float32" in labels
    assert "SoftmaxCrossEntropy\\nsoftmaxcrossentropy\\n() float32" in labels
    assert any(label.startswith("Variable\\n") for label in labels)
    assert "style=dotted" in dot  # the labels reach the loss as a parameter
    assert draw_graph(loss) == dot  # every op is upstream of the loss


def test_a_compiled_function_draws_its_trace():
    model = nn.Linear(3, 2)

    @sj.compile
    def forward(x):
        return model(x).relu()

    with pytest.raises(ValueError, match="not been called"):
        draw_graph(forward)
    forward(sj.ones(5, 3))
    assert "ReLU\\nrelu\\n(5, 2) float32" in _labels(draw_graph(forward))


def test_writes_a_file(tmp_path):
    x = sj.tensor([1.0], requires_grad=True)
    path = draw_graph(x * 3, path=tmp_path / "g.dot")
    assert path.read_text() == draw_graph(x * 3)


def test_png_without_dot_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="Graphviz's 'dot' program"):
        draw_graph(sj.tensor([1.0], requires_grad=True) * 2, format="png")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_png_and_svg_with_dot():
    y = sj.tensor([1.0], requires_grad=True) * 2
    assert draw_graph(y, format="png").startswith(b"\x89PNG")
    assert "<svg" in draw_graph(y, format="svg")


def test_bad_arguments():
    with pytest.raises(ValueError, match="format"):
        draw_graph(sj.ones(1), format="jpg")
    with pytest.raises(TypeError, match="expected a Tensor"):
        draw_graph([1, 2])


def test_rendering_pipes_the_dot_text_through_the_dot_program(tmp_path, monkeypatch):
    """A stand-in ``dot`` that echoes its format and input shows what is sent."""
    fake = tmp_path / "dot"
    fake.write_text('#!/bin/sh\necho "format $1"\ncat\n')
    fake.chmod(0o755)
    monkeypatch.setattr(shutil, "which", lambda name: str(fake))
    y = sj.tensor([1.0], requires_grad=True) * 2
    svg = draw_graph(y, format="svg")
    assert svg == "format -Tsvg\n" + draw_graph(y)
    assert draw_graph(y, format="png").startswith(b"format -Tpng\n")
    fake.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    with pytest.raises(RuntimeError, match="dot failed.*broken"):
        draw_graph(y, format="png")
