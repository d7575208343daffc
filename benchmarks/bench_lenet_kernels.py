"""LeNet-5's convolution and pooling kernels, and a whole LeNet-5 training step.

- per layer: forward + backward of conv1 (1→6, 5x5, pad 2, on 1x28x28; no input
  gradient, as for a first layer), pool1 (2x2), conv2 (6→16, 5x5) and pool2, batch 64,
  in ms. shenjing's kernels run on the memory layout the previous layer hands them.
- step: LeNet-5 (conv → relu → pool, twice, then 400-120-84-10), softmax cross-entropy,
  plain SGD, batch 64, in steps/s. The NumPy column is the limit set by the step's
  matrix products alone (the same GEMMs, timed back to back).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmarks.common import Row, rate, rates, torch_or_none

BATCH = 64
LR = 0.01
CONV1 = {"w": (6, 1, 5, 5), "padding": 2, "x": (BATCH, 1, 28, 28)}
CONV2 = {"w": (16, 6, 5, 5), "padding": 0, "x": (BATCH, 6, 14, 14)}
DENSE = ((400, 120), (120, 84), (84, 10))


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _batch_inner(a: np.ndarray) -> np.ndarray:
    """An NCHW array as a view of (C, H, W, N) memory, as shenjing's ops produce."""
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


def _ms(step) -> float:
    return 1e3 / rate(step)


# ------------------------------------------------------------------ per layer


def _layers_shenjing() -> dict[str, float]:
    from shenjing.ops.conv import Convolution
    from shenjing.ops.pool import MaxPool

    rng = _rng()
    times = {}
    for name, conv, needs in (("conv1", CONV1, (False, True, True)),
                              ("conv2", CONV2, (True, True, True))):
        x = rng.standard_normal(conv["x"], dtype=np.float32)
        x = x if name == "conv1" else _batch_inner(x)
        w = rng.standard_normal(conv["w"], dtype=np.float32)
        b = np.zeros(conv["w"][0], dtype=np.float32)
        pad = conv["padding"]

        def step(x=x, w=w, b=b, pad=pad, needs=needs) -> None:
            op = Convolution()
            op.needs_input_grad = needs
            y = op.forward(x, w, b, stride=(1, 1), padding=((pad, pad), (pad, pad)),
                           dilation=(1, 1), groups=1)
            op.backward(y)

        times[name] = _ms(step)
    for name, shape in (("pool1", (BATCH, 6, 28, 28)), ("pool2", (BATCH, 16, 10, 10))):
        x = _batch_inner(np.maximum(rng.standard_normal(shape, dtype=np.float32), 0))

        def step(x=x) -> None:
            op = MaxPool()
            op.needs_input_grad = (True,)
            y = op.forward(x, kernel=(2, 2), stride=(2, 2), padding=((0, 0), (0, 0)))
            op.backward(y)

        times[name] = _ms(step)
    return times


def _layers_torch(torch) -> dict[str, float]:
    functional = torch.nn.functional
    rng = _rng()
    times = {}
    for name, conv in (("conv1", CONV1), ("conv2", CONV2)):
        x = torch.tensor(rng.standard_normal(conv["x"], dtype=np.float32),
                         requires_grad=name == "conv2")
        w = torch.tensor(rng.standard_normal(conv["w"], dtype=np.float32), requires_grad=True)
        b = torch.zeros(conv["w"][0], requires_grad=True)

        def step(x=x, w=w, b=b, pad=conv["padding"]) -> None:
            y = functional.conv2d(x, w, b, padding=pad)
            y.backward(y.detach())

        times[name] = _ms(step)
    for name, shape in (("pool1", (BATCH, 6, 28, 28)), ("pool2", (BATCH, 16, 10, 10))):
        x = torch.tensor(np.maximum(rng.standard_normal(shape, dtype=np.float32), 0),
                         requires_grad=True)

        def step(x=x) -> None:
            y = functional.max_pool2d(x, 2)
            y.backward(y.detach())

        times[name] = _ms(step)
    return times


# ------------------------------------------------------------------ whole step


def _lenet_arrays() -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Input, labels and PyTorch-style initial parameters (weight, bias per layer)."""
    rng = _rng()
    params = []
    for shape in (CONV1["w"], CONV2["w"], *[(o, i) for i, o in DENSE]):
        bound = 1 / np.sqrt(np.prod(shape[1:]))
        params.append(rng.uniform(-bound, bound, shape).astype(np.float32))
        params.append(rng.uniform(-bound, bound, shape[0]).astype(np.float32))
    x = rng.standard_normal(CONV1["x"], dtype=np.float32)
    return x, rng.integers(0, 10, BATCH), params


def _step_shenjing() -> Callable[[], None]:
    import shenjing as sj
    import shenjing.nn.functional as F

    x_np, y_np, arrays = _lenet_arrays()
    x, y = sj.tensor(x_np), sj.tensor(y_np)
    params = [sj.tensor(a, requires_grad=True) for a in arrays]

    def step() -> None:
        w1, b1, w2, b2, w3, b3, w4, b4, w5, b5 = params
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=2)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2)), 2).reshape(BATCH, -1)
        h = F.relu(F.linear(h, w3, b3))
        h = F.relu(F.linear(h, w4, b4))
        loss = F.cross_entropy(F.linear(h, w5, b5), y)
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.array -= LR * p.grad.array

    return step


def _step_gemms_only() -> Callable[[], None]:
    """The step's matrix products alone, on operands of the shapes the step uses."""
    rng = _rng()
    products = []
    for (o, c, k, _), positions in ((CONV1["w"], 28 * 28 * BATCH), (CONV2["w"], 10 * 10 * BATCH)):
        w = rng.standard_normal((o, c * k * k), dtype=np.float32)
        cols = rng.standard_normal((c * k * k, positions), dtype=np.float32)
        gy = rng.standard_normal((o, positions), dtype=np.float32)
        products += [(w, cols), (gy, cols.T)]  # forward, weight gradient
        if c > 1:
            products.append((w.T, gy))  # input gradient, to columns
    for i, o in DENSE:
        a = rng.standard_normal((BATCH, i), dtype=np.float32)
        w = rng.standard_normal((o, i), dtype=np.float32)
        g = rng.standard_normal((BATCH, o), dtype=np.float32)
        products += [(a, w.T), (g.T, a), (g, w)]

    def step() -> None:
        for a, b in products:
            a @ b

    return step


def _step_torch(torch) -> Callable[[], None]:
    x_np, y_np, arrays = _lenet_arrays()
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    params = [torch.tensor(a, requires_grad=True) for a in arrays]
    functional = torch.nn.functional

    def step() -> None:
        w1, b1, w2, b2, w3, b3, w4, b4, w5, b5 = params
        h = functional.max_pool2d(functional.relu(functional.conv2d(x, w1, b1, padding=2)), 2)
        h = functional.max_pool2d(functional.relu(functional.conv2d(h, w2, b2)), 2)
        h = functional.relu(functional.linear(h.reshape(BATCH, -1), w3, b3))
        h = functional.relu(functional.linear(h, w4, b4))
        loss = functional.cross_entropy(functional.linear(h, w5, b5), y)
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad

    return step


def run() -> tuple[str, list[Row]]:
    """Measure every layer and the whole step; returns the table title and rows."""
    torch = torch_or_none()
    ours = _layers_shenjing()
    theirs = _layers_torch(torch) if torch else {}
    rows = [
        Row(f"{name} forward + backward", "ms", ours[name], torch=theirs.get(name),
            higher_is_better=False)
        for name in ("conv1", "pool1", "conv2", "pool2")
    ]
    rows.append(Row(
        "LeNet-5 SGD step, batch 64 (NumPy: its GEMMs alone)", "steps/s",
        *rates(_step_shenjing(), _step_gemms_only(), _step_torch(torch) if torch else None),
        target=">= PyTorch (1 thread)",
    ))
    return "LeNet-5 kernels (issue: convolutional and recurrent networks)", rows
