"""Training throughput with layers, optimizers and ``fit``.

- ``fit`` against a hand-written loop over the same batches (784-256-128-10 ReLU MLP,
  Adam, batch 128): the cost of the Keras-style loop, in samples/s;
- the 784-256-128-10 MLP with Adam, batch 128, in steps/s;
- the source material's breast-cancer network 30-64-32-1 (sigmoid, ReLU, sigmoid output,
  binary cross-entropy) with Adam, batch 64, in steps/s.

Each beside a straight-NumPy implementation (hand-written backward, in-place Adam) and
PyTorch and JAX (``jax.jit`` of the whole step) when installed.
"""

from __future__ import annotations

from collections.abc import Callable

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
    shenjing_model,
    shenjing_step,
    torch_step,
    weights,
)


def _numpy_step(sizes: tuple[int, ...], batch: int) -> Callable[[], None]:
    x, y = data(sizes, batch)
    layers = weights(sizes)
    layer_weights, biases = [w for w, _ in layers], [b for _, b in layers]
    adam = NumpyAdam(layer_weights + biases)
    small = sizes == SMALL
    if not small:
        onehot = np.zeros((batch, sizes[-1]), dtype=np.float32)
        onehot[np.arange(batch), y] = 1.0

    def sigmoid(z: np.ndarray) -> np.ndarray:
        return 0.5 * (1.0 + np.tanh(0.5 * z))

    def step() -> None:
        acts = [x]
        h = x
        for i, (w, b) in enumerate(zip(layer_weights, biases, strict=True)):
            h = h @ w.T
            h += b
            last = i == len(layer_weights) - 1
            if small and (i == 0 or last):
                h = sigmoid(h)
            elif not last:
                np.maximum(h, 0, out=h)
            acts.append(h)
        out = acts[-1]
        if small:  # BCE on a sigmoid output: dL/dz = (p - y) / N
            g = (out - y) / batch
        else:
            p = np.exp(out - out.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            g = (p - onehot) / batch
        gw, gb = [None] * len(layer_weights), [None] * len(layer_weights)
        for i in range(len(layer_weights) - 1, -1, -1):
            a = acts[i]
            gw[i] = g.T @ a
            gb[i] = g.sum(axis=0)
            if i > 0:
                g = g @ layer_weights[i]
                if small and i == 1:
                    g *= a * (1 - a)
                else:
                    g *= a > 0
        adam.step(gw + gb)

    return step


def _fit_vs_loop(batch: int = 128, n_batches: int = 40) -> tuple[float, float]:
    import shenjing as sj
    import shenjing.nn.functional as F

    x_np, y_np = data(MLP, batch * n_batches)

    def loop() -> None:
        model = shenjing_model(MLP)
        opt = sj.optim.Adam(model.parameters(), lr=1e-3)
        loader = sj.data.DataLoader(sj.data.TensorDataset(x_np, y_np), batch_size=batch,
                                    shuffle=True)
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

    def fit() -> None:
        model = shenjing_model(MLP)
        model.compile(optimizer=sj.optim.Adam(model.parameters(), lr=1e-3),
                      loss="cross_entropy", metrics=["accuracy"])
        model.fit(x_np, y_np, epochs=1, batch_size=batch, verbose=0)

    fit_rate, loop_rate = rates(fit, loop, min_time=4.0, repeats=9)
    return len(x_np) * fit_rate, len(x_np) * loop_rate


def run() -> tuple[str, list[Row]]:
    """Measure the three benchmarks; returns the table title and rows."""
    torch, jax = torch_or_none(), jax_or_none()
    fit, loop = _fit_vs_loop()
    rows = [Row("fit vs hand-written loop (MLP, Adam, batch 128)", "samples/s", fit,
                target="fit >= 0.91x loop: " + f"{fit / loop:.2f}x")]
    for name, sizes, batch, target in (
        ("MLP 784-256-128-10 Adam step, batch 128", MLP, MLP_BATCH, ">= 1.4x PyTorch"),
        ("30-64-32-1 Adam step, batch 64", SMALL, SMALL_BATCH, ">= 3x PyTorch"),
    ):
        ours, numpy_, theirs, anchor = rates(
            shenjing_step(sizes, batch), _numpy_step(sizes, batch),
            torch_step(torch, sizes, batch) if torch else None,
            jax_step(jax, sizes, batch) if jax else None)
        rows.append(Row(name, "steps/s", ours, numpy_, theirs, target=target, jax=anchor))
    return "Training (issue: layers, optimizers, data, fit)", rows
