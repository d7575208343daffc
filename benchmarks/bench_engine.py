"""The engine's costs: Python overhead per recorded op, and a plain-SGD MLP step.

- overhead: a chain of 100 small elementwise ops (alternating ``* 1.0001`` and ``+ 0.5``
  on a 4x4 tensor), forward and backward, in µs per op.
- MLP step: 784-256-128-10 ReLU network, batch 128, softmax cross-entropy, plain SGD
  written on the ops (no nn.Module, no optimizer class), in steps/s.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmarks.common import Row, rates, torch_or_none

CHAIN = 100
SIZES = (784, 256, 128, 10)
BATCH = 128
LR = 0.01


def _chain_shenjing() -> Callable[[], None]:
    import shenjing as sj

    x = sj.tensor(np.ones((4, 4)), requires_grad=True)
    seed = np.ones((4, 4), dtype=np.float32)

    def step() -> None:
        y = x
        for _ in range(CHAIN // 2):
            y = y * 1.0001
            y = y + 0.5
        y.backward(seed)

    return step


def _chain_numpy() -> Callable[[], None]:
    x = np.ones((4, 4), dtype=np.float32)

    def step() -> None:
        y = x
        for _ in range(CHAIN // 2):  # forward
            y = y * np.float32(1.0001)
            y = y + np.float32(0.5)
        g = np.ones((4, 4), dtype=np.float32)
        for _ in range(CHAIN // 2):  # backward: add passes g through, mul scales it
            g = g * np.float32(1.0001)

    return step


def _chain_torch(torch) -> Callable[[], None]:
    x = torch.ones((4, 4), requires_grad=True)
    seed = torch.ones((4, 4))

    def step() -> None:
        y = x
        for _ in range(CHAIN // 2):
            y = y * 1.0001
            y = y + 0.5
        y.backward(seed)

    return step


def _mlp_data() -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    layers = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:], strict=True):
        bound = 1 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        layers.append((w, b))
    return x, y, layers


def _mlp_shenjing() -> Callable[[], None]:
    import shenjing as sj
    import shenjing.nn.functional as F

    x_np, y_np, layers = _mlp_data()
    x, y = sj.tensor(x_np), sj.tensor(y_np)
    params = [(sj.tensor(w, requires_grad=True), sj.tensor(b, requires_grad=True))
              for w, b in layers]

    def step() -> None:
        h = x
        for i, (w, b) in enumerate(params):
            h = F.linear(h, w, b)
            if i < len(params) - 1:
                h = F.relu(h)
        loss = F.cross_entropy(h, y)
        for w, b in params:
            w.grad = b.grad = None
        loss.backward()
        for w, b in params:
            w.array -= LR * w.grad.array
            b.array -= LR * b.grad.array

    return step


def _mlp_numpy() -> Callable[[], None]:
    x, y, layers = _mlp_data()
    onehot = np.zeros((BATCH, SIZES[-1]), dtype=np.float32)
    onehot[np.arange(BATCH), y] = 1.0

    def step() -> None:
        activations = [x]
        h = x
        for i, (w, b) in enumerate(layers):
            h = h @ w.T
            h += b
            if i < len(layers) - 1:
                np.maximum(h, 0, out=h)
            activations.append(h)
        logits = activations[-1]
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) / BATCH
        for i in range(len(layers) - 1, -1, -1):
            w, b = layers[i]
            a = activations[i]
            gw = g.T @ a
            gb = g.sum(axis=0)
            if i > 0:
                g = g @ w
                g *= a > 0
            w -= LR * gw
            b -= LR * gb

    return step


def _mlp_torch(torch) -> Callable[[], None]:
    x_np, y_np, layers = _mlp_data()
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    params = [(torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True))
              for w, b in layers]
    functional = torch.nn.functional

    def step() -> None:
        h = x
        for i, (w, b) in enumerate(params):
            h = functional.linear(h, w, b)
            if i < len(params) - 1:
                h = functional.relu(h)
        loss = functional.cross_entropy(h, y)
        for w, b in params:
            w.grad = b.grad = None
        loss.backward()
        with torch.no_grad():
            for w, b in params:
                w -= LR * w.grad
                b -= LR * b.grad

    return step


def run() -> tuple[str, list[Row]]:
    """Measure both benchmarks; returns the table title and rows."""
    torch = torch_or_none()
    chains = rates(_chain_shenjing(), _chain_numpy(), _chain_torch(torch) if torch else None)
    us_per_op = [None if r is None else 1e6 / (r * CHAIN) for r in chains]
    overhead = Row("per-op overhead (fwd+bwd)", "µs/op", *us_per_op, higher_is_better=False,
                   target="<= 10 µs")
    mlp = Row("MLP 784-256-128-10 SGD step, batch 128", "steps/s",
              *rates(_mlp_shenjing(), _mlp_numpy(), _mlp_torch(torch) if torch else None),
              target=">= 1/1.3 of NumPy")
    return "Engine (issue: tensor engine)", [overhead, mlp]
