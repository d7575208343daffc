"""Gradient flow: each layer's gradient norm over training, to see vanishing gradients.

In a deep sigmoid network δ shrinks on its way back to the first layer (BP2 multiplies it
by σ'(z) ≤ 1/4 and by W at every layer), so the first layers learn far more slowly than the
last ones; with ReLU (σ' = 1 where active) much less so. ``GradientFlow`` records the
norms during ``fit``, ``gradient_flow_experiment`` runs the comparison, and
``shenjing.viz.plot_gradient_flow`` draws it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

import shenjing.nn as nn
from shenjing.training.callbacks import Callback

__all__ = [
    "ACTIVATIONS",
    "GradientFlow",
    "first_layer_ratio",
    "gradient_flow_experiment",
    "gradient_norms",
]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU, "gelu": nn.GELU, "softplus": nn.Softplus,
}
"""Activations ``gradient_flow_experiment`` can compare."""


def gradient_norms(model: Any, weights_only: bool = True) -> dict[str, float]:
    """The Euclidean norm of each parameter's current gradient (weights only by default),
    in the model's order; parameters without a gradient are left out."""
    norms = {}
    for name, param in model.named_parameters():
        if param.grad is None or (weights_only and not name.endswith("weight")):
            continue
        norms[name] = float(np.linalg.norm(param.grad.numpy()))
    return norms


class GradientFlow(Callback):
    """Records each layer's gradient norm every ``every`` training batches during ``fit``.

    In a deep sigmoid network the early layers' gradients are orders of magnitude smaller
    than the late layers' (each layer multiplies δ by σ'(z) ≤ 1/4 and by W): they learn
    far more slowly. ``plot_gradient_flow`` draws what this records.

    Args:
        every: record after every ``every``-th batch.
        weights_only: record weights (the layers), not biases.

    Attributes:
        steps: the batch counts (from 1) at which norms were recorded.
        norms: parameter name → list of norms, one per recorded step.

    Example:
        >>> flow = GradientFlow()
        >>> model.fit(x, y, callbacks=[flow])  # doctest: +SKIP
        >>> plot_gradient_flow(flow, "gradient_flow.png")  # doctest: +SKIP
    """

    def __init__(self, every: int = 1, weights_only: bool = True) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(
                f"GradientFlow: every must be a positive integer. Received: {every!r}")
        self.every = every
        self.weights_only = weights_only
        self.steps: list[int] = []
        self.norms: dict[str, list[float]] = {}
        self._count = 0

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        self._count += 1
        if self._count % self.every == 0:
            self.record(self.model, self._count)

    def record(self, model: Any, step: int) -> None:
        """Record the model's current gradient norms as ``step`` (for loops without fit)."""
        self.steps.append(step)
        for name, norm in gradient_norms(model, self.weights_only).items():
            self.norms.setdefault(name, []).append(norm)

    def mean_norms(self) -> dict[str, float]:
        """Each layer's gradient norm averaged over the recorded steps."""
        return {name: float(np.mean(values)) for name, values in self.norms.items()}


def gradient_flow_experiment(
    activations: Sequence[str] = ("sigmoid", "relu"),
    depth: int = 6,
    width: int = 30,
    samples: int = 1000,
    epochs: int = 1,
    batch_size: int = 20,
    lr: float = 0.1,
    seed: int = 0,
) -> Mapping[str, GradientFlow]:
    """Train one deep narrow network per activation on the bundled Fashion-MNIST subset
    (SGD, cross-entropy; the same seed, so the same initial weights' distribution and data
    order) and record its gradient flow: the source material's vanishing-gradient
    experiment.

    Returns:
        activation name → its ``GradientFlow``; draw them with ``plot_gradient_flow``.
    """
    from shenjing.backend import manual_seed
    from shenjing.data import load_fashion_mnist_small
    from shenjing.optim import SGD

    (x_train, y_train), _ = load_fashion_mnist_small(flatten=True)
    x_train, y_train = x_train[:samples], y_train[:samples]
    flows = {}
    for activation in activations:
        act = _activation_module(activation)
        manual_seed(seed)
        layers: list[nn.Module] = []
        width_in = x_train.shape[1]
        for _ in range(depth - 1):
            layers += [nn.Linear(width_in, width), act()]
            width_in = width
        layers.append(nn.Linear(width_in, 10))
        model = nn.Sequential(*layers)
        model.compile(optimizer=SGD(model.parameters(), lr=lr), loss="cross_entropy")
        flow = GradientFlow()
        model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, callbacks=[flow],
                  verbose=0)
        flows[activation] = flow
    return flows


def _activation_module(name: str) -> Callable[[], nn.Module]:
    if name not in ACTIVATIONS:
        raise ValueError(f"gradient_flow_experiment: unknown activation {name!r}. Known: "
                         f"{', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def first_layer_ratio(flows: Mapping[str, GradientFlow], a: str, b: str) -> float:
    """How much smaller the first layer's mean gradient norm is in run ``a`` than in ``b``."""
    first_a = next(iter(flows[a].mean_norms().values()))
    first_b = next(iter(flows[b].mean_norms().values()))
    return first_a / first_b if first_b else math.inf
