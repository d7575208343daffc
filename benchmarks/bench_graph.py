"""Compiled training steps (``sj.compile``) against eager shenjing and PyTorch.

- small network: 30-64-32-1 (sigmoid, ReLU, sigmoid output), binary cross-entropy,
  Adam, batch 64; a step is forward, zero_grad, backward and the optimizer step.
  Targets: compiled >= 1.5x eager shenjing, >= 3.5x PyTorch eager, >= 0.8x JAX jit.
- MLP: 784-256-128-10 (ReLU), cross-entropy, Adam, batch 128. Target: compiled >= 1.7x
  PyTorch eager.

Each library starts from the same weights and data. The ``numpy`` column of the table
holds eager shenjing for the small network (the baseline a compiled step must beat), and
for the MLP the floor of its step in NumPy: the step's matrix products and an in-place
Adam on the weights, with nothing else (no activation, loss, bias or bookkeeping).
"""

from __future__ import annotations

import gc

import numpy as np

from benchmarks.common import Row, jax_or_none, rates, torch_or_none
from benchmarks.networks import (
    MLP,
    MLP_BATCH,
    SMALL,
    SMALL_BATCH,
    NumpyAdam,
    data,
    jax_step,
    shenjing_step,
    torch_step,
    weights,
)


def _floor_step(sizes: tuple[int, ...], batch: int):  # noqa: ANN202
    """The matrix products of a training step and an in-place Adam on the weights."""
    layer_weights = [w for w, _ in weights(sizes)]
    x, _ = data(sizes, batch)
    rng = np.random.default_rng(2)
    inputs = [x] + [rng.standard_normal((batch, n)).astype(np.float32) for n in sizes[1:-1]]
    output_grads = [rng.standard_normal((batch, n)).astype(np.float32) for n in sizes[1:]]
    adam = NumpyAdam(layer_weights)

    def step() -> None:
        h = x
        for w in layer_weights:
            h = h @ w.T
        grads = []
        for i, (w, a, g) in enumerate(zip(layer_weights, inputs, output_grads, strict=True)):
            grads.append(g.T @ a)
            if i > 0:
                g @ w  # the input gradient (the first layer's input needs none)
        adam.step(grads)

    return step


def run() -> tuple[str, list[Row]]:
    """Measure both networks; returns the table title and rows."""
    torch, jax = torch_or_none(), jax_or_none()
    rows = []
    compiled, eager, reference, anchor = rates(
        shenjing_step(SMALL, SMALL_BATCH, compiled=True),
        shenjing_step(SMALL, SMALL_BATCH, compiled=False),
        torch_step(torch, SMALL, SMALL_BATCH) if torch else None,
        jax_step(jax, SMALL, SMALL_BATCH) if jax else None)
    rows.append(Row("30-64-32-1 Adam step, batch 64, compiled (NumPy col: eager)", "steps/s",
                    compiled, eager, reference, jax=anchor,
                    target=">= 1.5x eager, >= 3.5x PyTorch, >= 0.8x JAX"))
    compiled, floor, reference, anchor = rates(
        shenjing_step(MLP, MLP_BATCH, compiled=True), _floor_step(MLP, MLP_BATCH),
        torch_step(torch, MLP, MLP_BATCH) if torch else None,
        jax_step(jax, MLP, MLP_BATCH) if jax else None)
    rows.append(Row("784-256-128-10 Adam step, batch 128, compiled (NumPy col: GEMMs + "
                    "in-place Adam alone)", "steps/s", compiled, floor, reference, jax=anchor,
                    target=">= 1.7x PyTorch"))
    # The traced graphs hold reference cycles; collect them so that benchmarks run after
    # this one see eager ops without the graph-mode hook (see Function.apply).
    gc.collect()
    return "Graph mode (issue: graphs, sessions and sj.compile)", rows
