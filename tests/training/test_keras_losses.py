"""Keras's loss names keep Keras's meaning: probabilities in (from_logits=False), clipped at
1e-7, (y_true, y_pred) order; ``from_logits=True`` through the loss objects. Compared with
Keras's formulas written out in NumPy, float64 gradchecks, and training bars."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
import shenjing.nn.functional as F

EPS = 1e-7


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _keras_categorical(y: np.ndarray, p: np.ndarray, from_logits: bool) -> np.ndarray:
    """Keras's categorical_crossentropy (its NumPy backend's formula), per sample."""
    if from_logits:
        log_q = np.log(_softmax(p))
    else:
        log_q = np.log(np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS))
    return -(y * log_q).sum(-1)


def _keras_binary(y: np.ndarray, p: np.ndarray, from_logits: bool) -> np.ndarray:
    q = 1 / (1 + np.exp(-p)) if from_logits else np.clip(p, EPS, 1 - EPS)
    return -(y * np.log(q) + (1 - y) * np.log(1 - q)).mean(-1)


def _data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    logits = rng.normal(size=(6, 4)) * 3
    probs = _softmax(logits)
    probs[0] = [1.0, 0.0, 0.0, 0.0]  # exact zeros and ones: the clip is what keeps it finite
    labels = rng.integers(0, 4, 6)
    labels[0] = 1
    return logits, probs, labels


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_and_categorical_match_keras_formula(from_logits: bool) -> None:
    logits, probs, labels = _data(np.random.default_rng(0))
    y_pred = logits if from_logits else probs
    one_hot = np.eye(4)[labels]
    expected = _keras_categorical(one_hot, y_pred, from_logits)
    assert np.isfinite(expected).all()
    sparse = sj.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    cat = sj.losses.CategoricalCrossentropy(from_logits=from_logits)
    pred = sj.tensor(y_pred, dtype="float64")
    np.testing.assert_allclose(sparse(sj.tensor(labels), pred).item(), expected.mean(), rtol=1e-12)
    np.testing.assert_allclose(cat(sj.tensor(one_hot), pred).item(), expected.mean(), rtol=1e-12)
    # Keras's (N, 1) float labels, per-sample reduction, and the functional form.
    per_sample = sj.losses.SparseCategoricalCrossentropy(from_logits=from_logits,
                                                         reduction="none")
    np.testing.assert_allclose(per_sample(labels[:, None].astype(float), pred).numpy(),
                               expected, rtol=1e-12)
    np.testing.assert_allclose(
        sj.losses.categorical_crossentropy(one_hot, pred, from_logits=from_logits).numpy(),
        expected, rtol=1e-12)


def test_label_smoothing_and_sum_reduction_match_keras_formula() -> None:
    _, probs, labels = _data(np.random.default_rng(1))
    smoothed = np.eye(4)[labels] * 0.8 + 0.2 / 4
    loss = sj.losses.CategoricalCrossentropy(label_smoothing=0.2, reduction="sum")
    np.testing.assert_allclose(loss(np.eye(4)[labels], sj.tensor(probs, dtype="float64")).item(),
                               _keras_categorical(smoothed, probs, False).sum(), rtol=1e-12)


@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_matches_keras_formula(from_logits: bool) -> None:
    rng = np.random.default_rng(2)
    y_pred = rng.normal(size=(5, 3)) * 3 if from_logits else rng.uniform(size=(5, 3))
    if not from_logits:
        y_pred[0, 0], y_pred[1, 1] = 0.0, 1.0
    y_true = rng.integers(0, 2, (5, 3)).astype(float)
    loss = sj.losses.BinaryCrossentropy(from_logits=from_logits)
    np.testing.assert_allclose(loss(y_true, sj.tensor(y_pred, dtype="float64")).item(),
                               _keras_binary(y_true, y_pred, from_logits).mean(), rtol=1e-10)


@pytest.mark.torch
def test_from_logits_is_pytorchs_cross_entropy() -> None:
    torch = pytest.importorskip("torch")
    logits, _, labels = _data(np.random.default_rng(3))
    ours = sj.losses.SparseCategoricalCrossentropy(from_logits=True)(
        sj.tensor(labels), sj.tensor(logits, dtype="float64")).item()
    theirs = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(labels))
    np.testing.assert_allclose(ours, theirs.item(), rtol=1e-12)


@pytest.mark.parametrize("name", ["sparse", "categorical", "binary"])
def test_gradients_pass_float64_gradcheck(name: str) -> None:
    rng = np.random.default_rng(4)
    probs = _softmax(rng.normal(size=(5, 3)))  # away from the clip, where it is smooth
    labels = rng.integers(0, 3, 5)
    if name == "sparse":
        def fn(p): return sj.losses.sparse_categorical_crossentropy(labels, p).sum()  # noqa: E704
    elif name == "categorical":
        def fn(p): return sj.losses.categorical_crossentropy(np.eye(3)[labels], p).sum()  # noqa: E704
    else:
        def fn(p): return sj.losses.binary_crossentropy(np.eye(3)[labels], p).sum()  # noqa: E704
    assert sj.gradcheck(fn, [sj.tensor(probs, dtype="float64", requires_grad=True)]) is True


def test_bad_shapes_and_unsupported_arguments_raise() -> None:
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy: labels of shape "
                                         r"\(4,\).*Received: y_true.shape=\(3,\)"):
        sj.losses.sparse_categorical_crossentropy(np.zeros(3), sj.rand(4, 2))
    with pytest.raises(ValueError, match="categorical_crossentropy: one-hot targets"):
        sj.losses.categorical_crossentropy(np.zeros(4), sj.rand(4, 2))
    with pytest.raises(ValueError, match="ignore_class is not supported"):
        sj.losses.SparseCategoricalCrossentropy(ignore_class=0)
    with pytest.raises(ValueError, match="reduction must be one of"):
        sj.losses.BinaryCrossentropy(reduction="mean")


# ------------------------------------------------------------------ compile and fit


def _digits() -> tuple[np.ndarray, np.ndarray]:
    x, y = sj.data.load_digits()
    return x[:1000] / 16.0, y[:1000]


def test_softmax_head_with_keras_sparse_name_trains_and_reports_keras_loss() -> None:
    """Keras's usual head: softmax output, loss by Keras's name. The loss is applied to
    the probabilities once (not softmax twice), so it trains and evaluate's loss is the
    formula's."""
    x, y = _digits()
    sj.manual_seed(0)
    model = nn.Sequential(nn.Dense(32, activation="relu"), nn.Dense(10, activation="softmax"))
    model.compile(optimizer=sj.optim.Adam(lr=0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.25  # softmax applied twice stalls above 1.4
    result = model.evaluate(x, y)
    assert result["accuracy"] > 0.95
    with sj.no_grad():
        probs = model(sj.tensor(x)).numpy().astype(np.float64)
    expected = _keras_categorical(np.eye(10)[y], probs, False).mean()
    assert result["loss"] == pytest.approx(expected, rel=1e-4)
    np.testing.assert_allclose(model.predict_proba(x[:5]), probs[:5], rtol=1e-4, atol=1e-7)
    assert (model.predict(x[:50]) == probs[:50].argmax(1)).all()


def test_one_hot_targets_and_loss_objects_with_logits_train() -> None:
    x, y = _digits()
    one_hot = np.eye(10, dtype=np.float32)[y]
    for head, loss in [("softmax", "categorical_crossentropy"),
                       (None, sj.losses.CategoricalCrossentropy(from_logits=True)),
                       (None, sj.losses.SparseCategoricalCrossentropy(from_logits=True))]:
        sj.manual_seed(0)
        model = nn.Sequential(nn.Dense(32, activation="relu"), nn.Dense(10, activation=head))
        model.compile(optimizer=sj.optim.Adam(lr=0.01), loss=loss, metrics=["accuracy"])
        targets = y if isinstance(loss, sj.losses.SparseCategoricalCrossentropy) else one_hot
        model.fit(x, targets, epochs=6, batch_size=32, verbose=0)
        assert model.evaluate(x, targets)["accuracy"] > 0.93, loss
        assert (model.predict(x[:20]) == model(sj.tensor(x[:20])).numpy().argmax(1)).all()


def test_sigmoid_head_with_keras_binary_name() -> None:
    x, y = sj.data.load_breast_cancer()
    x = (x - x.mean(0)) / x.std(0)
    sj.manual_seed(0)
    model = nn.Sequential(nn.Dense(8, activation="relu"), nn.Dense(1, activation="sigmoid"))
    model.compile(optimizer=sj.optim.Adam(lr=0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    result = model.evaluate(x, y)
    assert result["accuracy"] > 0.95
    with sj.no_grad():
        p = model(sj.tensor(x)).numpy().astype(np.float64)
    assert result["loss"] == pytest.approx(_keras_binary(y[:, None], p, False).mean(), rel=1e-4)


def test_shenjing_cross_entropy_name_still_takes_logits() -> None:
    logits = sj.randn(4, 3)
    target = sj.tensor([0, 1, 2, 0])
    spec = sj.training.registry.resolve_loss("cross_entropy")
    assert spec.function(logits, target).item() == pytest.approx(
        F.cross_entropy(logits, target).item())
