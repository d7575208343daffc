"""The PNG writers: each makes a real picture, and a missing matplotlib is explained."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from shenjing.viz import GradientFlow, plot_confusion, plot_curves, plot_gradient_flow

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")


def _size(path: Path) -> tuple[int, int]:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        return image.size


def test_curves(tmp_path: Path) -> None:
    history = {"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7],
               "accuracy": [0.5, 0.7, 0.8], "val_accuracy": [0.45, 0.6, 0.7]}
    width, height = _size(plot_curves(history, tmp_path / "curves.png"))
    assert width > height > 100  # two panels side by side
    one_panel = _size(plot_curves({"loss": [1.0, 0.5]}, tmp_path / "loss.png"))
    assert one_panel[0] < width
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_confusion(tmp_path: Path) -> None:
    matrix = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    width, height = _size(plot_confusion(matrix, tmp_path / "confusion.png", ["a", "b", "c"]))
    assert width > 100 and height > 100


def test_gradient_flow(tmp_path: Path) -> None:
    flows = {}
    for name, scale in (("sigmoid", 1e-4), ("relu", 1e-2)):
        flow = GradientFlow()
        flow.steps = [1, 2, 3]
        flow.norms = {f"{k}.weight": [scale * 2.0**k] * 3 for k in range(0, 8, 2)}
        flows[name] = flow
    width, height = _size(plot_gradient_flow(flows, tmp_path / "gradient_flow.png"))
    assert width > 2 * height > 200
    _size(plot_gradient_flow(flows["relu"], tmp_path / "one.png"))
    with pytest.raises(ValueError, match="nothing recorded"):
        plot_gradient_flow(GradientFlow(), tmp_path / "empty.png")


def test_missing_matplotlib_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match="pip install"):
        plot_curves({"loss": [1.0]}, tmp_path / "curves.png")
