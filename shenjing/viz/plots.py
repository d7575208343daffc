"""Pictures of training: loss and accuracy curves, the confusion matrix, gradient flow.

Each function writes one PNG (atomically: a reader never sees half a file) and returns
its path. Figures are drawn with matplotlib's Agg canvas directly, never through pyplot,
so they work without a display and leave the user's pyplot state and backend alone.
matplotlib is an optional extra (``pip install 'shenjing[train]'``), imported on first use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shenjing.data._atomic import atomic_open

__all__ = ["plot_confusion", "plot_curves", "plot_gradient_flow"]


def _figure(width: float, height: float) -> Any:
    """A matplotlib Figure on an Agg canvas; a clear error when matplotlib is missing."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError(
            "shenjing.viz plots need matplotlib, which is not installed: "
            "pip install 'shenjing[train]' (or pip install matplotlib)"
        ) from err
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    with atomic_open(path) as handle:
        figure.savefig(handle, format="png", dpi=100)
    return path


def plot_curves(history: Mapping[str, Sequence[float]], path: str | os.PathLike[str]) -> Path:
    """Loss (left) and accuracy (right), training and validation, per epoch.

    Args:
        history: per-epoch logs, as ``fit`` returns in ``History.history``: "loss" and,
            when present, "val_loss", "accuracy", "val_accuracy".
        path: the PNG to write.
    """
    if not history.get("loss"):
        raise ValueError("plot_curves: the history has no 'loss' values to plot")
    panels = [("loss", "loss")]
    if history.get("accuracy") or history.get("val_accuracy"):
        panels.append(("accuracy", "accuracy"))
    figure = _figure(5.0 * len(panels), 3.8)
    for position, (key, label) in enumerate(panels, start=1):
        axes = figure.add_subplot(1, len(panels), position)
        for prefix, style, name in (("", "o-", "training"), ("val_", "s--", "validation")):
            values = history.get(prefix + key)
            if values:
                epochs = np.arange(1, len(values) + 1)
                axes.plot(epochs, values, style, label=name, markersize=4)
        axes.set_xlabel("epoch")
        axes.set_ylabel(label)
        axes.set_title(label)
        axes.grid(alpha=0.3)
        axes.legend()
        axes.xaxis.get_major_locator().set_params(integer=True)
    return _save(figure, path)


def plot_confusion(
    matrix: Any,
    path: str | os.PathLike[str],
    class_names: Sequence[str] | None = None,
    title: str = "confusion matrix",
) -> Path:
    """The confusion matrix as a picture: rows are true classes, columns predictions; the
    colour is the share of the row (the recall on the diagonal), the number the count."""
    matrix = np.asarray(matrix)
    count = len(matrix)
    names = list(class_names) if class_names is not None and len(class_names) == count else [
        str(k) for k in range(count)]
    rows = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, rows, out=np.zeros(matrix.shape), where=rows > 0)
    side = max(4.0, 0.55 * count + 2.5)
    figure = _figure(side + 1.0, side)
    axes = figure.add_subplot()
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, label="share of the true class")
    if count <= 30:
        for i, j in np.ndindex(matrix.shape):
            axes.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=8,
                      color="white" if shares[i, j] > 0.5 else "black")
    axes.set_xticks(range(count), names, rotation=45, ha="right")
    axes.set_yticks(range(count), names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    return _save(figure, path)


def plot_gradient_flow(flows: Any, path: str | os.PathLike[str]) -> Path:
    """Gradient norms per layer, from one ``GradientFlow`` or several by name
    (``{"sigmoid": flow, "relu": flow}``).

    Left: each layer's mean gradient norm against its depth (log scale): a line that
    falls steeply towards layer 1 is a vanishing gradient. Right: the first and the last
    layer's norm over training.
    """
    runs = flows if isinstance(flows, Mapping) else {"": flows}
    if not runs or not any(flow.norms for flow in runs.values()):
        raise ValueError("plot_gradient_flow: nothing recorded yet (train with the callback)")
    figure = _figure(11.0, 4.0)
    by_layer = figure.add_subplot(1, 2, 1)
    over_time = figure.add_subplot(1, 2, 2)
    colours = [f"C{k}" for k in range(10)]
    for (name, flow), colour in zip(runs.items(), colours * len(runs), strict=False):
        means = flow.mean_norms()
        layers = np.arange(1, len(means) + 1)
        by_layer.semilogy(layers, list(means.values()), "o-", color=colour, label=name or None)
        names = list(flow.norms)
        first, last = names[0], names[-1]
        prefix = f"{name}: " if name else ""
        over_time.semilogy(flow.steps, flow.norms[first], "-", color=colour,
                           label=f"{prefix}layer 1 ({first})")
        over_time.semilogy(flow.steps, flow.norms[last], "--", color=colour, alpha=0.7,
                           label=f"{prefix}layer {len(names)} ({last})")
    by_layer.set_xlabel("layer (1 = nearest the input)")
    by_layer.set_ylabel("mean gradient norm ‖∂C/∂W‖")
    by_layer.set_title("gradient norm by layer")
    by_layer.xaxis.get_major_locator().set_params(integer=True)
    over_time.set_xlabel("training batch")
    over_time.set_ylabel("gradient norm ‖∂C/∂W‖")
    over_time.set_title("first and last layer during training")
    for axes in (by_layer, over_time):
        axes.grid(alpha=0.3, which="both")
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=8)
    return _save(figure, path)
