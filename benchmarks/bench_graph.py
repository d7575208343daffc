"""Compiled training steps (``sj.compile``) against eager shenjing and PyTorch.

- small network: 30-64-32-1 (sigmoid, ReLU, sigmoid output), binary cross-entropy,
  Adam, batch 64; a step is forward, zero_grad, backward and the optimizer step.
  Targets: compiled >= 1.5x eager shenjing, >= 3.5x PyTorch eager, >= 0.8x JAX jit.
- MLP: 784-256-128-10 (ReLU), cross-entropy, Adam, batch 128. Target: compiled >= 1.7x
  PyTorch eager.

Each library starts from the same weights and data. The ``numpy`` column of the table
holds eager shenjing for the small network (the baseline a compiled step must beat), then
in a second row the floor of that step on NumPy: the same math as NumPy calls alone, with
preallocated outputs and one flat Adam; for the MLP the floor of its step in NumPy: the
step's matrix products and an in-place Adam on the weights, with nothing else (no
activation, loss, bias or bookkeeping).
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


def _floor_step(sizes: tuple[int, ...], batch: int):
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


def _small_floor_step():
    """The small network's Adam step as NumPy calls alone: every array preallocated and
    written with ``out=``, the parameters and gradients in one flat buffer each, so the
    Adam update is one call per formula; what a compiled step cannot go below on NumPy."""
    sizes, batch = SMALL, SMALL_BATCH
    x, y = data(sizes, batch)
    layers = weights(sizes)
    flat = np.concatenate([a.ravel() for layer in layers for a in layer])
    grads = np.empty_like(flat)
    views, grad_views, offset = [], [], 0
    for w, b in layers:
        for a in (w, b):
            views.append(flat[offset : offset + a.size].reshape(a.shape))
            grad_views.append(grads[offset : offset + a.size].reshape(a.shape))
            offset += a.size
    ws, bs, gws, gbs = views[0::2], views[1::2], grad_views[0::2], grad_views[1::2]
    acts = [x] + [np.empty((batch, n), np.float32) for n in sizes[1:]]
    deltas = [np.empty((batch, n), np.float32) for n in sizes[1:]]
    tmp = [np.empty((batch, n), np.float32) for n in sizes[1:]]
    adam = NumpyAdam([flat])
    log_p, log_q = np.empty_like(y), np.empty_like(y)

    def sigmoid_(a: np.ndarray) -> None:
        np.negative(a, out=a)
        np.exp(a, out=a)
        a += 1.0
        np.divide(1.0, a, out=a)

    def step() -> float:
        for i in range(3):
            a = acts[i + 1]
            np.matmul(acts[i], ws[i].T, out=a)
            a += bs[i]
            if i == 1:
                np.maximum(a, 0.0, out=a)
            else:
                sigmoid_(a)
        p = acts[3]
        # The BCE loss value, -mean(y log p + (1 - y) log(1 - p)), logs clamped at -100
        # as shenjing and PyTorch do: one batch, stepped many times, saturates p.
        with np.errstate(divide="ignore"):
            np.log(p, out=log_p)
            np.log1p(-p, out=log_q)
        np.maximum(log_p, -100.0, out=log_p)
        np.maximum(log_q, -100.0, out=log_q)
        loss = -float(np.mean(y * log_p + (1 - y) * log_q))
        np.subtract(p, y, out=deltas[2])  # dL/dz of a sigmoid output under BCE
        deltas[2] *= 1.0 / batch
        for i in (2, 1, 0):
            g = deltas[i]
            np.matmul(g.T, acts[i], out=gws[i])
            np.sum(g, axis=0, out=gbs[i])
            if i == 0:
                break
            a, below = acts[i], deltas[i - 1]
            np.matmul(g, ws[i], out=below)
            if i == 2:  # relu′
                np.greater(a, 0.0, out=tmp[i - 1])
            else:  # σ′ = a (1 - a)
                np.subtract(1.0, a, out=tmp[i - 1])
                tmp[i - 1] *= a
            below *= tmp[i - 1]
        adam.step([grads])
        return loss

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
    compiled, floor, anchor = rates(
        shenjing_step(SMALL, SMALL_BATCH, compiled=True), _small_floor_step(),
        jax_step(jax, SMALL, SMALL_BATCH) if jax else None)
    rows.append(Row("30-64-32-1 Adam step, batch 64, compiled (NumPy col: NumPy calls "
                    "alone, preallocated)", "steps/s", compiled, floor, jax=anchor,
                    target=">= 0.8x JAX"))
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
