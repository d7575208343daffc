"""Confusion matrix and per-class scores against scikit-learn and hand counts."""

from __future__ import annotations

import numpy as np
import pytest

from shenjing.diagnostics import (
    classification_report,
    confusion_matrix,
    format_confusion_matrix,
    per_class_scores,
)


def test_confusion_matrix_counts_by_hand() -> None:
    matrix = confusion_matrix([0, 1, 1, 2, 2, 2], [0, 2, 1, 2, 2, 0])
    assert matrix.tolist() == [[1, 0, 0], [0, 1, 1], [1, 0, 2]]
    assert confusion_matrix([0], [0], num_classes=3).shape == (3, 3)


def test_scores_match_scikit_learn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, size=300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 5, size=300))
    y_pred[y_pred == 4] = 3  # class 4 is never predicted: its precision is 0, not NaN
    matrix = confusion_matrix(y_true, y_pred, 5)
    np.testing.assert_array_equal(matrix, metrics.confusion_matrix(y_true, y_pred))
    scores = per_class_scores(matrix)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=range(5), zero_division=0)
    np.testing.assert_allclose(scores["precision"], precision)
    np.testing.assert_allclose(scores["recall"], recall)
    np.testing.assert_allclose(scores["f1"], f1)
    np.testing.assert_array_equal(scores["support"], support)


def test_text_tables_name_the_classes() -> None:
    matrix = confusion_matrix([0, 1, 1], [0, 1, 0])
    report = classification_report(matrix, ["cat", "dog"])
    assert report.splitlines()[1].split()[:2] == ["cat", "0.500"]
    assert "accuracy" in report and "0.667" in report
    table = format_confusion_matrix(matrix, ["cat", "dog"])
    assert table.splitlines()[2].split() == ["1", "dog", "1", "1"]


def test_mismatched_lengths_are_an_error() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        confusion_matrix([0, 1], [0])
