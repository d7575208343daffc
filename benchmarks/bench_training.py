"""Training throughput with layers, optimizers and ``fit``.

- ``fit`` against a hand-written loop over the same batches (784-256-128-10 ReLU MLP,
  Adam, batch 128): the cost of the Keras-style loop, in samples/s;
- the 784-256-128-10 MLP with Adam, batch 128, in steps/s;
- the source material's breast-cancer network 30-64-32-1 (sigmoid, ReLU, sigmoid output,
  binary cross-entropy) with Adam, batch 64, in steps/s.

Each beside a straight-NumPy implementation (hand-written backward, in-place Adam) and
PyTorch when installed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmarks.common import Row, rates, torch_or_none

MLP = (784, 256, 128, 10)
SMALL = (30, 64, 32, 1)


def _data(sizes: tuple[int, ...], batch: int, n_batches: int = 1) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    x = rng.random((batch * n_batches, sizes[0]), dtype=np.float32)
    if sizes[-1] == 1:
        y = rng.integers(0, 2, (batch * n_batches, 1)).astype(np.float32)
    else:
        y = rng.integers(0, sizes[-1], batch * n_batches)
    return x, y


def _shenjing_model(sizes: tuple[int, ...]):  # noqa: ANN202
    import shenjing as sj
    import shenjing.nn as nn

    sj.manual_seed(0)
    if sizes == SMALL:
        return nn.Sequential(nn.Linear(30, 64), nn.Sigmoid(), nn.Linear(64, 32), nn.ReLU(),
                             nn.Linear(32, 1), nn.Sigmoid())
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def _shenjing_step(sizes: tuple[int, ...], batch: int) -> Callable[[], None]:
    import shenjing as sj
    import shenjing.nn.functional as F

    x_np, y_np = _data(sizes, batch)
    model = _shenjing_model(sizes)
    opt = sj.optim.Adam(model.parameters(), lr=1e-3)
    x, y = sj.tensor(x_np), sj.tensor(y_np)
    loss_fn = F.binary_cross_entropy if sizes == SMALL else F.cross_entropy

    def step() -> None:
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def _torch_step(torch, sizes: tuple[int, ...], batch: int) -> Callable[[], None]:  # noqa: ANN001
    x_np, y_np = _data(sizes, batch)
    nn = torch.nn
    torch.manual_seed(0)
    if sizes == SMALL:
        model = nn.Sequential(nn.Linear(30, 64), nn.Sigmoid(), nn.Linear(64, 32), nn.ReLU(),
                              nn.Linear(32, 1), nn.Sigmoid())
        loss_fn = nn.functional.binary_cross_entropy
    else:
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                              nn.Linear(128, 10))
        loss_fn = nn.functional.cross_entropy
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)

    def step() -> None:
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


class _NumpyAdam:
    """In-place Adam over a list of arrays, as a tuned hand-written loop would do it."""

    def __init__(self, params: list[np.ndarray], lr: float = 1e-3) -> None:
        self.params, self.lr, self.t = params, lr, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.tmp = [np.empty_like(p) for p in params]

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        step_size = self.lr / (1 - b1**self.t)
        root_correction = np.sqrt(1 - b2**self.t)
        for p, g, m, v, tmp in zip(self.params, grads, self.m, self.v, self.tmp, strict=True):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp /= root_correction
            tmp += eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp


def _numpy_step(sizes: tuple[int, ...], batch: int) -> Callable[[], None]:
    x, y = _data(sizes, batch)
    rng = np.random.default_rng(0)
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = 1 / np.sqrt(fan_in)
        weights.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        biases.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    adam = _NumpyAdam(weights + biases)
    small = sizes == SMALL
    if not small:
        onehot = np.zeros((batch, sizes[-1]), dtype=np.float32)
        onehot[np.arange(batch), y] = 1.0

    def sigmoid(z: np.ndarray) -> np.ndarray:
        return 0.5 * (1.0 + np.tanh(0.5 * z))

    def step() -> None:
        acts = [x]
        h = x
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            h = h @ w.T
            h += b
            last = i == len(weights) - 1
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
        gw, gb = [None] * len(weights), [None] * len(weights)
        for i in range(len(weights) - 1, -1, -1):
            a = acts[i]
            gw[i] = g.T @ a
            gb[i] = g.sum(axis=0)
            if i > 0:
                g = g @ weights[i]
                if small and i == 1:
                    g *= a * (1 - a)
                else:
                    g *= a > 0
        adam.step(gw + gb)

    return step


def _fit_vs_loop(batch: int = 128, n_batches: int = 40) -> tuple[float, float]:
    import shenjing as sj
    import shenjing.nn.functional as F

    x_np, y_np = _data(MLP, batch, n_batches)

    def loop() -> None:
        model = _shenjing_model(MLP)
        opt = sj.optim.Adam(model.parameters(), lr=1e-3)
        loader = sj.data.DataLoader(sj.data.TensorDataset(x_np, y_np), batch_size=batch,
                                    shuffle=True)
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

    def fit() -> None:
        model = _shenjing_model(MLP)
        model.compile(optimizer=sj.optim.Adam(model.parameters(), lr=1e-3),
                      loss="cross_entropy", metrics=["accuracy"])
        model.fit(x_np, y_np, epochs=1, batch_size=batch, verbose=0)

    fit_rate, loop_rate = rates(fit, loop, min_time=4.0, repeats=9)
    return len(x_np) * fit_rate, len(x_np) * loop_rate


def run() -> tuple[str, list[Row]]:
    """Measure the three benchmarks; returns the table title and rows."""
    torch = torch_or_none()
    fit, loop = _fit_vs_loop()
    rows = [Row("fit vs hand-written loop (MLP, Adam, batch 128)", "samples/s", fit,
                target="fit >= 0.91x loop: " + f"{fit / loop:.2f}x")]
    for name, sizes, batch, target in (
        ("MLP 784-256-128-10 Adam step, batch 128", MLP, 128, ">= 1.4x PyTorch"),
        ("30-64-32-1 Adam step, batch 64", SMALL, 64, ">= 3x PyTorch"),
    ):
        ours, numpy_, theirs = rates(_shenjing_step(sizes, batch), _numpy_step(sizes, batch),
                                     _torch_step(torch, sizes, batch) if torch else None)
        rows.append(Row(name, "steps/s", ours, numpy_, theirs, target=target))
    return "Training (issue: layers, optimizers, data, fit)", rows
