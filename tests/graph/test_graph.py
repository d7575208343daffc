"""Building graphs: names, shape and dtype inference, layers, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
import shenjing.nn.functional as F
from shenjing.graph import SymbolicTensor, active_graph


def test_names_are_unique_within_a_graph_and_restart_in_another():
    g = sj.Graph()
    with g.as_default():
        a = sj.placeholder((2,), name="a")
        first, second, third = a + 1, a + 2, a * 3
        named = sj.constant(1.0, name="a")  # "a" is taken
        with g.name_scope("layer"):
            scoped = a + a
    assert [first.name, second.name, third.name] == ["add:0", "add_1:0", "mul:0"]
    assert named.name == "a_1:0"
    assert scoped.name == "layer/add:0"
    assert g.get_tensor_by_name("add_1:0") is second
    assert g.get_operation_by_name("mul") is third.op
    other = sj.Graph()
    with other.as_default():
        b = sj.placeholder((2,))
        assert (b + 1).name == "add:0"


def test_a_tensor_knows_its_op_graph_and_inputs():
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((None, 3), name="x")
        w = sj.Variable(np.ones((3, 2)), name="w")
        y = sj.matmul(x, w)
    assert isinstance(y, SymbolicTensor)
    assert y.op.type == "MatMul" and y.graph is g and y.op.graph is g
    assert y.inputs == (x, w) and y.op.inputs == (x, w)
    assert y.dtype == np.float32 and w.dtype == np.float32  # floats default to float32
    assert [op.name for op in g.get_operations()] == ["x", "w", "matmul"]
    assert g.variables == [w]


@pytest.mark.parametrize(
    ("a_shape", "b_shape", "expected"),
    [
        ((None, 3), (3,), (None, 3)),
        ((None, 1, 3), (4, 1), (None, 4, 3)),
        ((2, None), (None,), (2, None)),
        ((None, 3), (1, 1), (None, 3)),
        ((5, 3), (3,), (5, 3)),
    ],
    ids=["row", "new-axis", "two-unknown", "ones", "known"],
)
def test_broadcasting_shapes(a_shape, b_shape, expected):
    g = sj.Graph()
    with g.as_default():
        a, b = sj.placeholder(a_shape), sj.placeholder(b_shape)
        out = a * b
    assert out.shape == expected and out.shape.as_list() == list(expected)
    # The static shape agrees with what the run gives for concrete sizes.
    for n in (1, 4):
        a_val = np.ones([n if d is None else d for d in a_shape], np.float32)
        b_val = np.ones([n if d is None else d for d in b_shape], np.float32)
        with sj.Session(g) as sess:
            got = sess.run(out, {a: a_val, b: b_val})
        assert got.shape == (a_val * b_val).shape
        assert all(d == m for d, m in zip(out.shape.as_list(), got.shape, strict=True) if d is not None)


def test_shapes_through_ops_with_unknown_sizes():
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((None, 3, 4), name="x")
        shapes = {
            "sum0": x.sum(axis=0).shape,
            "sum2": x.sum(axis=2).shape,
            "mean": x.mean().shape,
            "flatten": x.flatten(start_dim=1).shape,
            "flatten_all": x.flatten().shape,
            "transpose": x.permute(2, 0, 1).shape,
            "swap": x.transpose(0, 2).shape,
            "max_dim": x.max(1).values.shape,
            "slice": x[:, 1].shape,
            "matmul": (x @ sj.ones(4, 5)).shape,
            "concat0": sj.concat([x, x], axis=0).shape,
            "concat1": sj.concat([x, x], axis=1).shape,
            "unsqueeze": x.unsqueeze(1).shape,
            "softmax": F.softmax(x, axis=-1).shape,
        }
    assert shapes == {
        "sum0": (3, 4), "sum2": (None, 3), "mean": (), "flatten": (None, 12),
        "flatten_all": (None,), "transpose": (4, None, 3), "swap": (4, 3, None),
        "max_dim": (None, 4), "slice": (None, 4),
        "matmul": (None, 3, 5), "concat0": (None, 3, 4), "concat1": (None, 6, 4),
        "unsqueeze": (None, 1, 3, 4), "softmax": (None, 3, 4),
    }


def test_an_unknown_size_is_none_itself():
    """As in TensorFlow 2: the static shape holds Python's None, which does no arithmetic."""
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((None, 2, 3))
        y = (x * 2).flatten(start_dim=1)
    assert x.shape[0] is None and y.shape[0] is None
    assert x.shape[1:] == (2, 3) and type(x.shape[1]) is int
    assert x.shape.as_list() == [None, 2, 3] and x.size(0) is None
    assert repr(y) == "<tensor 'reshape:0' shape=(None, 6) dtype=float32>"
    with pytest.raises(TypeError):
        x.shape[0] * 2


def test_sizes_computed_from_unknown_dimensions_follow_the_fed_batch():
    """mean divides by N and flatten reshapes with it: both are redone per run."""
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((None, 2, 3))
        mean = x.mean()
        flat = x.flatten(start_dim=1)
        merged = x.unsqueeze(1).squeeze(1).reshape(-1, 3)
    rng = np.random.default_rng(0)
    with sj.Session(g) as sess:
        for n in (1, 5, 8):
            value = rng.standard_normal((n, 2, 3)).astype(np.float32)
            got_mean, got_flat, got_merged = sess.run([mean, flat, merged], {x: value})
            np.testing.assert_allclose(got_mean, value.mean(), rtol=1e-6)
            np.testing.assert_array_equal(got_flat, value.reshape(n, 6))
            np.testing.assert_array_equal(got_merged, value.reshape(n * 2, 3))


def test_max_over_a_dim_and_argmax_follow_the_fed_values():
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((None, 4))
        values, indices = x.max(1)
        first = x.argmax()
    rng = np.random.default_rng(1)
    with sj.Session(g) as sess:
        for n in (2, 6):
            value = rng.standard_normal((n, 4)).astype(np.float32)
            got_values, got_indices, got_first = sess.run([values, indices, first], {x: value})
            np.testing.assert_array_equal(got_values, value.max(axis=1))
            np.testing.assert_array_equal(got_indices, value.argmax(axis=1))
            assert got_first == value.argmax()


def test_dtypes_are_inferred_as_eager_mode_gives_them():
    g = sj.Graph()
    with g.as_default():
        i = sj.placeholder((3,), dtype="int64")
        f64 = sj.placeholder((3,), dtype="float64")
        f32 = sj.placeholder((3,))
        results = {
            "int+float": (i + 1.5).dtype,
            "f64*f32": (f64 * f32).dtype,
            "compare": (f32 > 0).dtype,
            "argmax": f32.argmax().dtype,
            "cast": f32.astype("float64").dtype,
        }
    eager_i, eager_f64, eager_f32 = sj.tensor([1, 2, 3]), sj.ones(3, dtype="float64"), sj.ones(3)
    assert results == {
        "int+float": (eager_i + 1.5).dtype,
        "f64*f32": (eager_f64 * eager_f32).dtype,
        "compare": (eager_f32 > 0).dtype,
        "argmax": eager_f32.argmax().dtype,
        "cast": np.dtype("float64"),
    }


def test_comparisons_and_argmax_build_ops_and_run():
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((None, 3))
        positive = x > 0
        also = 0 < x  # noqa: SIM300 - the reflected form is what is tested
        best = x.argmax(axis=1)
    value = np.array([[1.0, -2.0, 3.0], [-1.0, 5.0, 0.0]], np.float32)
    with sj.Session(g) as sess:
        got_positive, got_also, got_best = sess.run([positive, also, best], {x: value})
    np.testing.assert_array_equal(got_positive, value > 0)
    np.testing.assert_array_equal(got_also, value > 0)
    np.testing.assert_array_equal(got_best, value.argmax(axis=1))


def test_layers_build_into_a_graph_and_capture_their_parameters():
    sj.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2)).eval()
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((None, 4), name="x")
        out = model(x)
    assert out.shape == (None, 2)
    captured = [g.captured(p) for p in model.parameters()]
    assert all(v is not None and v.source is p for v, p in zip(captured, model.parameters(), strict=True))
    assert g.variables == captured
    value = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    with sj.Session(g) as sess:
        np.testing.assert_array_equal(sess.run(out, {x: value}), model(sj.tensor(value)).numpy())


def test_building_changes_no_state():
    """Inference runs each op on example arrays: the random stream and running
    statistics must come out untouched."""
    bn = nn.BatchNorm1d(3)
    sj.manual_seed(1)
    expected_next = sj.rand(4).numpy()
    sj.manual_seed(1)
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((None, 3))
        F.dropout(bn(x), 0.5)
    np.testing.assert_array_equal(sj.rand(4).numpy(), expected_next)
    np.testing.assert_array_equal(bn.running_mean.numpy(), np.zeros(3, np.float32))
    np.testing.assert_array_equal(bn.running_var.numpy(), np.ones(3, np.float32))


def test_default_graph_and_active_graph():
    g = sj.Graph()
    assert active_graph() is None
    with g.as_default():
        assert sj.get_default_graph() is g and active_graph() is g
        inner = sj.Graph()
        with inner.as_default():
            assert sj.get_default_graph() is inner
        assert sj.get_default_graph() is g
    assert active_graph() is None
    assert sj.get_default_graph() is sj.get_default_graph()  # one global default


# --------------------------------------------------------------------- errors


def test_mixing_tensors_of_two_graphs_is_an_error_naming_both():
    g1, g2 = sj.Graph(), sj.Graph()
    with g1.as_default():
        a = sj.placeholder((2,), name="a")
    with g2.as_default():
        b = sj.placeholder((2,), name="b")
    with pytest.raises(ValueError, match=r"'a:0' and 'b:0' belong to different graphs"):
        a + b
    with g2.as_default(), pytest.raises(ValueError, match=r"'a:0' belongs to a different graph"):
        a * 2


def test_a_symbolic_tensor_has_no_value():
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((None, 2), name="x")
    for read in (x.numpy, x.item, x.tolist, lambda: bool(x), lambda: np.asarray(x)):
        with pytest.raises(RuntimeError, match=r"'x:0'.*Session.run"):
            read()
    with pytest.raises(RuntimeError, match="minimize"):
        x.sum().backward()
    with pytest.raises(TypeError, match="len"):
        len(x)


def test_an_eager_tensor_with_a_recorded_history_cannot_enter_a_graph():
    w = sj.ones(2, requires_grad=True)
    doubled = w * 2  # computed eagerly, before the graph existed
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((2,))
        with pytest.raises(ValueError, match="made by Mul"):
            x + doubled


def test_an_op_failing_on_the_examples_names_itself_and_its_inputs():
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((None, 3), name="x")
        with pytest.raises(ValueError, match=r"matmul.*'matmul'.*x:0"):
            x @ sj.ones(4, 2)


def test_invalid_names_are_rejected():
    g = sj.Graph()
    with g.as_default():
        with pytest.raises(ValueError, match="op name"):
            sj.placeholder((1,), name="a:b")
        with pytest.raises(ValueError, match="scope"), g.name_scope("a/b"):
            pass
