"""Sessions: the tutorial's examples, fetch structures, feeds, variables and close()."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import shenjing as sj
from shenjing.graph import gradients


def test_tutorial_two_graphs_each_with_its_own_variable(capsys):
    """TensorFlow's tutorial: a variable "v" in g1 starting at 0 and one in g2 starting
    at 1; each session prints its own graph's value."""
    g1 = sj.Graph()
    with g1.as_default():
        v = sj.Variable(0.0, name="v")
    g2 = sj.Graph()
    with g2.as_default():
        v = sj.Variable(1.0, name="v")
    with sj.Session(graph=g1) as sess:
        print(sess.run(g1.get_tensor_by_name("v:0")))
    with sj.Session(graph=g2) as sess:
        print(sess.run(g2.get_tensor_by_name("v:0")))
    assert capsys.readouterr().out.split() == [str(np.float32(0.0)), str(np.float32(1.0))]
    assert v.graph is g2 and g1.variables[0] is not v


def test_tutorial_graph_building_with_constants_and_placeholders():
    g = sj.Graph()
    with g.as_default():
        a = sj.constant(5.0, name="a")
        b = sj.constant(3.0, name="b")
        product, total = a * b, a + b
        x = sj.placeholder((), name="x")
        y = sj.placeholder((None,), name="y")
        out = (product + total) * x + y.sum()
    values = {x: 2.0, y: [1.0, 2.0, 3.5]}
    with sj.Session(g) as sess:
        got_product, got_total, got_out = sess.run([product, total, out], values)
    assert (got_product, got_total) == (5.0 * 3.0, 5.0 + 3.0)
    assert got_out == pytest.approx((5.0 * 3.0 + 5.0 + 3.0) * 2.0 + (1.0 + 2.0 + 3.5))


def test_tutorial_concat_of_two_constant_matrices():
    t1 = [[1, 2, 3], [4, 5, 6]]
    t2 = [[7, 8, 9], [10, 11, 12]]
    g = sj.Graph()
    with g.as_default():
        c1, c2 = sj.constant(t1), sj.constant(t2)
        rows, columns = sj.concat([c1, c2], axis=0), sj.concat([c1, c2], axis=1)
    assert rows.shape == (4, 3) and columns.shape == (2, 6)
    with sj.Session(g) as sess:
        got_rows, got_columns = sess.run((rows, columns))
    np.testing.assert_array_equal(got_rows, np.concatenate([t1, t2], axis=0))
    np.testing.assert_array_equal(got_columns, np.concatenate([t1, t2], axis=1))
    assert got_rows.dtype == np.int64  # integers stay integers, as in sj.tensor


def test_fetch_structures_keep_their_shape():
    Pair = namedtuple("Pair", "first second")
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((2,), name="x")
        double, square = x * 2, x * x
        noop = (x + 1).op
    value = np.array([1.0, 3.0], np.float32)
    with sj.Session(g) as sess:
        run = lambda fetches: sess.run(fetches, {x: value})  # noqa: E731
        np.testing.assert_array_equal(run(double), value * 2)
        assert run(noop) is None
        as_list = run([double, square])
        as_tuple = run((double, [square, noop]))
        as_dict = run({"d": double, "nested": {"s": square}})
        as_named = run(Pair(double, square))
        by_name = run("mul:0")
    assert isinstance(as_list, list) and isinstance(as_tuple, tuple)
    np.testing.assert_array_equal(as_list[1], value * value)
    assert as_tuple[1][1] is None and isinstance(as_tuple[1], list)
    assert set(as_dict) == {"d", "nested"}
    np.testing.assert_array_equal(as_dict["nested"]["s"], value * value)
    assert isinstance(as_named, Pair)
    np.testing.assert_array_equal(as_named.first, value * 2)
    np.testing.assert_array_equal(by_name, value * 2)


def test_feeds_are_converted_when_nothing_is_lost():
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((None, 2))
        labels = sj.placeholder((None,), dtype="int64")
        out = x * 2
        shifted = labels + 1
    with sj.Session(g) as sess:
        got = sess.run(out, {x: np.ones((3, 2), np.float64)})  # float64 -> float32
        got_ints = sess.run(shifted, {labels: np.array([1, 2], np.int32)})
        from_list = sess.run(out, {x: [[1, 2]]})  # Python ints -> float32
    assert got.dtype == np.float32 and got_ints.dtype == np.int64
    np.testing.assert_array_equal(from_list, [[2.0, 4.0]])


def test_a_placeholder_left_unfed_is_an_error_naming_it():
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((None, 3), name="x")
        y = sj.placeholder((None, 3), name="y")
        out = x + y
    with sj.Session(g) as sess, pytest.raises(ValueError, match=r"placeholder 'y:0'.*feed_dict"):
        sess.run(out, {x: np.ones((2, 3))})


def test_a_fed_value_of_the_wrong_shape_or_dtype_is_an_error_naming_the_tensor():
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((None, 3), name="x")
        labels = sj.placeholder((None,), dtype="int64", name="labels")
        out = x.sum() + labels.sum()
    with sj.Session(g) as sess:
        with pytest.raises(ValueError, match=r"'x:0' has shape \(2, 4\).*\(None, 3\)"):
            sess.run(out, {x: np.ones((2, 4)), labels: [1]})
        with pytest.raises(ValueError, match=r"'x:0' has shape \(3,\)"):
            sess.run(out, {x: np.ones(3), labels: [1]})
        with pytest.raises(TypeError, match=r"'labels:0' has dtype float64.*int64"):
            sess.run(out, {x: np.ones((2, 3)), labels: np.array([0.5])})


def test_fetching_or_feeding_another_graphs_tensor_is_an_error():
    g1, g2 = sj.Graph(), sj.Graph()
    with g1.as_default():
        a = sj.placeholder((), name="a")
    with g2.as_default():
        b = sj.constant(1.0, name="b")
    with sj.Session(g2) as sess:
        with pytest.raises(ValueError, match=r"fetch 'a:0' belongs to a different graph"):
            sess.run(a, {a: 1.0})
        with pytest.raises(ValueError, match=r"fed tensor 'a:0' belongs to a different graph"):
            sess.run(b, {a: 1.0})


def test_a_closed_session_cannot_run():
    g = sj.Graph()
    with g.as_default():
        v = sj.Variable(2.0)
    sess = sj.Session(g)
    assert float(sess.run(v)) == 2.0
    sess.close()
    assert sess.closed
    with pytest.raises(RuntimeError, match="closed"):
        sess.run(v)
    with sj.Session(g) as other:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        other.run(v)


def test_variables_start_fresh_in_every_session():
    g = sj.Graph()
    with g.as_default():
        w = sj.Variable([1.0, -1.0], name="w")
        loss = (w * w).sum()
        train = sj.optim.SGD([w], lr=0.25).minimize(loss)
    first, second = sj.Session(g), sj.Session(g)
    first.run(train)
    stepped = first.run(w)
    np.testing.assert_array_equal(stepped, np.array([1.0, -1.0]) * (1 - 2 * 0.25))
    np.testing.assert_array_equal(second.run(w), [1.0, -1.0])  # untouched by the first
    np.testing.assert_array_equal(w.initial_value, [1.0, -1.0])
    first.close()
    second.close()


def test_fetched_values_are_not_changed_by_later_runs():
    g = sj.Graph()
    with g.as_default():
        w = sj.Variable([1.0, 2.0])
        view = w.reshape(2, 1)
        train = sj.optim.SGD([w], lr=0.5).minimize(w.sum())
    with sj.Session(g) as sess:
        before, before_view, _ = sess.run([w, view, train])
        after = sess.run(w)
    np.testing.assert_array_equal(before, [1.0, 2.0])  # fetched before the update
    np.testing.assert_array_equal(before_view, [[1.0], [2.0]])
    np.testing.assert_array_equal(after, [0.5, 1.5])


def test_gradients_match_the_closed_form():
    g = sj.Graph()
    with g.as_default():
        x = sj.placeholder((None, 3), name="x")
        w = sj.Variable(np.array([0.5, -1.0, 2.0]), name="w")
        unused = sj.Variable(1.0)
        loss = ((x * w).sum(axis=1) ** 2).mean()
        grad_w, grad_x, grad_unused = gradients(loss, [w, x, unused])
    assert grad_unused is None
    assert grad_w.shape == (3,) and grad_x.shape == (None, 3)
    value = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    w_value = np.array([0.5, -1.0, 2.0], np.float32)
    with sj.Session(g) as sess:
        got_w, got_x = sess.run([grad_w, grad_x], {x: value})
    s = value @ w_value  # loss = mean(s²): d/dw = 2/N Σ s·x, d/dx = 2/N s·w
    np.testing.assert_allclose(got_w, 2 / 4 * (s[:, None] * value).sum(axis=0), rtol=1e-5)
    np.testing.assert_allclose(got_x, 2 / 4 * s[:, None] * w_value, rtol=1e-5)


def test_a_minimize_op_needs_a_scalar_loss_that_depends_on_its_variables():
    g = sj.Graph()
    with g.as_default():
        w = sj.Variable([1.0, 2.0], name="w")
        other = sj.Variable(3.0, name="other")
        opt = sj.optim.SGD([w], lr=0.1)
        with pytest.raises(ValueError, match="must be a scalar"):
            opt.minimize(w * 2)
        with pytest.raises(ValueError, match="does not depend"):
            opt.minimize(other * 2)
        with pytest.raises(ValueError, match="'other:0' is not a variable among"):
            opt.minimize(w.sum(), var_list=[other])


def test_no_gradient_flows_through_detach_or_ops_built_under_no_grad():
    g = sj.Graph()
    with g.as_default():
        w = sj.Variable([1.0, 2.0], name="w")
        frozen = w.detach() * w  # d/dw = w (the detached factor is a constant)
        with sj.no_grad():
            scale = w * 3  # built under no_grad: a constant for the gradient
        (through_detach,) = gradients(frozen.sum(), [w])
        (through_no_grad,) = gradients((scale * w).sum(), [w])
    with sj.Session(g) as sess:
        got_detach, got_no_grad = sess.run([through_detach, through_no_grad])
    np.testing.assert_array_equal(got_detach, [1.0, 2.0])
    np.testing.assert_array_equal(got_no_grad, [3.0, 6.0])
