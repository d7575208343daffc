"""Training speed on a GPU: shenjing on CuPy against PyTorch CUDA eager.

Three networks, each step being forward, cross-entropy, zero_grad, backward and an Adam
step, on one fixed batch already on the device:

- MLP 784-256-128-10 (ReLU), batch 512, eager and through ``sj.compile``;
- LeNet-5 (modern form), batch 256, also against shenjing's own one-thread CPU speed;
- an LSTM classifier (28 rows of 28 pixels, hidden 128, last state → Linear 10), batch 256.

Run: ``python -m benchmarks.bench_gpu`` on a machine with CuPy and PyTorch CUDA.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from benchmarks.networks import MLP, weights

MLP_BATCH, CNN_BATCH, RNN_BATCH = 512, 256, 256


def _data(kind: str, batch: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    shape = {"mlp": (batch, 784), "lenet5": (batch, 1, 28, 28), "lstm": (batch, 28, 28)}[kind]
    return rng.random(shape, dtype=np.float32), rng.integers(0, 10, batch)


def _shenjing_model(kind: str):
    import shenjing as sj
    import shenjing.nn as nn
    from shenjing.models import lenet5, rnn_classifier

    sj.manual_seed(0)
    if kind == "lenet5":
        return lenet5()
    if kind == "lstm":
        return rnn_classifier("lstm", hidden_size=128)
    layers = []
    for i, (w, b) in enumerate(weights(MLP)):
        linear = nn.Linear(w.shape[1], w.shape[0])
        linear.weight.array[...] = w
        linear.bias.array[...] = b
        layers += [linear] + ([nn.ReLU()] if i < len(MLP) - 2 else [])
    return nn.Sequential(*layers)


def shenjing_step(kind: str, batch: int, device: str, compiled: bool = False) -> Callable:
    import shenjing as sj
    import shenjing.nn.functional as F

    model = _shenjing_model(kind).to(device)
    opt = sj.optim.Adam(model.parameters(), lr=1e-3)
    x_np, y_np = _data(kind, batch)
    x, y = sj.tensor(x_np, device=device), sj.tensor(y_np, device=device)

    def train_step(x, y):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    step = sj.compile(train_step) if compiled else train_step
    return lambda: step(x, y)


def torch_step(torch, kind: str, batch: int) -> Callable:
    nn = torch.nn
    torch.manual_seed(0)
    if kind == "mlp":
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                              nn.Linear(128, 10))
    elif kind == "lenet5":
        model = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
            nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    else:
        class LSTMClassifier(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.lstm = nn.LSTM(28, 128, batch_first=True)
                self.head = nn.Linear(128, 10)

            def forward(self, x):
                out, _ = self.lstm(x)
                return self.head(out[:, -1])

        model = LSTMClassifier()
    model = model.cuda()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x_np, y_np = _data(kind, batch)
    x, y = torch.from_numpy(x_np).cuda(), torch.from_numpy(y_np).cuda()

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def rate(step: Callable, sync: Callable[[], None], min_time: float = 1.0) -> float:
    """Steps per second, timed after a warm-up, with the device drained at both ends."""
    for _ in range(5):
        step()
    sync()
    calls, elapsed = 10, 0.0
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            step()
        sync()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return calls / elapsed
        calls *= 2


def main() -> None:
    import cupy
    import torch

    import shenjing as sj

    def sync() -> None:
        cupy.cuda.Device().synchronize()
        torch.cuda.synchronize()

    print(f"shenjing {sj.__version__}, CuPy {cupy.__version__}, torch {torch.__version__}, "
          f"{cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()}")
    print(f"{'network':<24}{'shenjing GPU':>14}{'torch GPU':>12}{'ratio':>8}"
          f"{'shenjing CPU 1 thread':>24}{'GPU/CPU':>9}   (training steps/s)", flush=True)

    def row(name: str, ours: float, theirs: float, cpu: float | None = None) -> None:
        tail = f"{cpu:>24.1f}{ours / cpu:>8.1f}x" if cpu else ""
        print(f"{name:<24}{ours:>14.1f}{theirs:>12.1f}{ours / theirs:>7.2f}x{tail}", flush=True)

    for kind, batch in (("mlp", MLP_BATCH), ("lenet5", CNN_BATCH), ("lstm", RNN_BATCH)):
        ours = rate(shenjing_step(kind, batch, "cuda"), sync)
        theirs = rate(torch_step(torch, kind, batch), sync)
        # One-thread CPU speed: run with OPENBLAS_NUM_THREADS=1 (scripts/gpu_check.sh).
        cpu = (rate(shenjing_step(kind, batch, "cpu"), lambda: None, min_time=3.0)
               if kind == "lenet5" else None)
        row(f"{kind} b{batch} eager", ours, theirs, cpu)
        if kind == "mlp":
            compiled = rate(shenjing_step(kind, batch, "cuda", compiled=True), sync)
            row(f"{kind} b{batch} sj.compile", compiled, theirs)


if __name__ == "__main__":
    main()
