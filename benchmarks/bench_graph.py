"""Compiled training steps (``sj.compile``) against eager shenjing and PyTorch.

- small network: 30-64-32-1 (sigmoid, ReLU, sigmoid output), binary cross-entropy,
  Adam, batch 64; a step is forward, zero_grad, backward and the optimizer step.
  Targets: compiled >= 1.5x eager shenjing and >= 3.5x PyTorch eager.
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

from benchmarks.common import Row, rates, torch_or_none

SMALL = (30, 64, 32, 1)
SMALL_BATCH = 64
MLP = (784, 256, 128, 10)
MLP_BATCH = 128


def _activations(sizes: tuple[int, ...]) -> list[str | None]:
    """The activation after each linear layer (None: none, the loss takes the logits)."""
    if sizes == SMALL:
        return ["sigmoid", "relu", "sigmoid"]  # BCE takes probabilities
    return ["relu"] * (len(sizes) - 2) + [None]


def _weights(sizes: tuple[int, ...]) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = 1 / np.sqrt(fan_in)
        layers.append((rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                       rng.uniform(-bound, bound, fan_out).astype(np.float32)))
    return layers


def _data(sizes: tuple[int, ...], batch: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    if sizes[-1] == 1:
        return x, rng.integers(0, 2, (batch, 1)).astype(np.float32)
    return x, rng.integers(0, sizes[-1], batch)


def _shenjing_step(sizes: tuple[int, ...], batch: int, compiled: bool):  # noqa: ANN202
    import shenjing as sj
    import shenjing.nn as nn
    import shenjing.nn.functional as F

    layers = []
    for (w, b), activation in zip(_weights(sizes), _activations(sizes), strict=True):
        linear = nn.Linear(w.shape[1], w.shape[0])
        linear.weight.data[...] = w
        linear.bias.data[...] = b
        layers.append(linear)
        if activation is not None:
            layers.append({"sigmoid": nn.Sigmoid, "relu": nn.ReLU}[activation]())
    model = nn.Sequential(*layers)
    opt = sj.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = F.binary_cross_entropy if sizes[-1] == 1 else F.cross_entropy
    x_np, y_np = _data(sizes, batch)
    x, y = sj.tensor(x_np), sj.tensor(y_np)

    def train_step(x, y):  # noqa: ANN001, ANN202
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    step = sj.compile(train_step) if compiled else train_step
    return lambda: step(x, y)


def _torch_step(torch, sizes: tuple[int, ...], batch: int):  # noqa: ANN001, ANN202
    nn = torch.nn
    layers = []
    for (w, b), activation in zip(_weights(sizes), _activations(sizes), strict=True):
        linear = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if activation is not None:
            layers.append({"sigmoid": nn.Sigmoid, "relu": nn.ReLU}[activation]())
    model = nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = (torch.nn.functional.binary_cross_entropy if sizes[-1] == 1
               else torch.nn.functional.cross_entropy)
    x_np, y_np = _data(sizes, batch)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)

    def step() -> None:
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def _floor_step(sizes: tuple[int, ...], batch: int):  # noqa: ANN202
    """The matrix products of a training step and an in-place Adam on the weights."""
    from benchmarks.bench_training import _NumpyAdam

    weights = [w for w, _ in _weights(sizes)]
    x, _ = _data(sizes, batch)
    rng = np.random.default_rng(2)
    inputs = [x] + [rng.standard_normal((batch, n)).astype(np.float32) for n in sizes[1:-1]]
    output_grads = [rng.standard_normal((batch, n)).astype(np.float32) for n in sizes[1:]]
    adam = _NumpyAdam(weights)

    def step() -> None:
        h = x
        for w in weights:
            h = h @ w.T
        grads = []
        for i, (w, a, g) in enumerate(zip(weights, inputs, output_grads, strict=True)):
            grads.append(g.T @ a)
            if i > 0:
                g @ w  # the input gradient (the first layer's input needs none)
        adam.step(grads)

    return step


def run() -> tuple[str, list[Row]]:
    """Measure both networks; returns the table title and rows."""
    torch = torch_or_none()
    rows = []
    compiled, eager, reference = rates(
        _shenjing_step(SMALL, SMALL_BATCH, compiled=True),
        _shenjing_step(SMALL, SMALL_BATCH, compiled=False),
        _torch_step(torch, SMALL, SMALL_BATCH) if torch else None)
    rows.append(Row("30-64-32-1 Adam step, batch 64, compiled (NumPy col: eager)", "steps/s",
                    compiled, eager, reference, target=">= 1.5x eager, >= 3.5x PyTorch"))
    compiled, floor, reference = rates(
        _shenjing_step(MLP, MLP_BATCH, compiled=True), _floor_step(MLP, MLP_BATCH),
        _torch_step(torch, MLP, MLP_BATCH) if torch else None)
    rows.append(Row("784-256-128-10 Adam step, batch 128, compiled (NumPy col: GEMMs + "
                    "in-place Adam alone)", "steps/s", compiled, floor, reference,
                    target=">= 1.7x PyTorch"))
    # The traced graphs hold reference cycles; collect them so that benchmarks run after
    # this one see eager ops without the graph-mode hook (see Function.apply).
    gc.collect()
    return "Graph mode (issue: graphs, sessions and sj.compile)", rows
