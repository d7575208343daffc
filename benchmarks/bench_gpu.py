"""Training speed on a GPU: shenjing on CuPy against PyTorch CUDA, eager and CUDA graphs.

Three networks, each step being forward, cross-entropy, zero_grad, backward and an Adam
step, on one fixed batch already on the device:

- MLP 784-256-128-10 (ReLU), batch 512;
- LeNet-5 (modern form), batch 256, also against shenjing's own one-thread CPU step;
- an LSTM classifier (28 rows of 28 pixels, hidden 128, last state → Linear 10), batch 256.

shenjing runs each eagerly, through ``sj.compile``, and through
``sj.compile(mode="reduce-overhead")`` (the whole step as one CUDA graph). PyTorch runs
eagerly and as its experts write a CUDA-graph training step: static input tensors,
three warm-up steps on a side stream, one ``torch.cuda.graph`` capture of forward, loss,
backward and ``Adam(capturable=True).step()``, then per step a copy of the batch into the
static inputs and ``replay()``. Both sides copy the batch in per step.

Run: ``python -m benchmarks.bench_gpu [--out FILE.md]`` on a machine with CuPy and
PyTorch CUDA; the markdown table (for docs/benchmarks.md's GPU section) goes to FILE.md,
rewritten after each network. ``--dry-run`` runs the whole script without a GPU (the
strict stand-in, PyTorch on the CPU) to catch its mistakes before GPU time is spent.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from benchmarks.networks import MLP, weights

MLP_BATCH, CNN_BATCH, RNN_BATCH = 512, 256, 256
NETWORKS = (("mlp", "MLP 784-256-128-10", MLP_BATCH), ("lenet5", "LeNet-5", CNN_BATCH),
            ("lstm", "LSTM classifier", RNN_BATCH))


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


def shenjing_step(kind: str, batch: int, device: str, compiled: bool = False,
                  mode: str | None = None) -> Callable:
    """One shenjing training step on a fixed batch: eager, or ``sj.compile`` (with
    ``mode``)."""
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

    step = sj.compile(train_step, mode=mode) if compiled else train_step

    def run():
        return step(x, y)

    run.compiled = step  # for the CUDA-graph state: captures, replays, fallback reason
    return run


def _torch_model(torch, kind: str):
    nn = torch.nn
    torch.manual_seed(0)
    if kind == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10))
    if kind == "lenet5":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
            nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

    class LSTMClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(28, 128, batch_first=True)
            self.head = nn.Linear(128, 10)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    return LSTMClassifier()


def torch_step(torch, kind: str, batch: int, device: str = "cuda") -> Callable:
    """PyTorch eager (CUDA unless ``device`` says otherwise): the same step on the same
    fixed batch."""
    model = _torch_model(torch, kind).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x_np, y_np = _data(kind, batch)
    x, y = torch.from_numpy(x_np).to(device), torch.from_numpy(y_np).to(device)

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def torch_graph_step(torch, kind: str, batch: int) -> Callable:
    """PyTorch with the whole step captured in one ``torch.cuda.CUDAGraph``."""
    model = _torch_model(torch, kind).cuda()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=True)
    x_np, y_np = _data(kind, batch)
    x, y = torch.from_numpy(x_np).cuda(), torch.from_numpy(y_np).cuda()
    static_x, static_y = torch.empty_like(x), torch.empty_like(y)
    static_x.copy_(x)
    static_y.copy_(y)

    def body():
        loss = torch.nn.functional.cross_entropy(model(static_x), static_y)
        loss.backward()
        opt.step()
        return loss

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up: lazy initialisation off the capture
        for _ in range(3):
            opt.zero_grad(set_to_none=True)
            body()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)  # backward allocates .grad from the graph's pool
    with torch.cuda.graph(graph):
        body()

    def step() -> None:
        static_x.copy_(x)
        static_y.copy_(y)
        graph.replay()

    return step


def rate(step: Callable, sync: Callable[[], None], min_time: float = 1.0) -> float:
    """Steps per second, timed after a warm-up, with the device drained at both ends."""
    for _ in range(5):
        step()
    sync()
    calls = 10
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            step()
        sync()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return calls / elapsed
        calls *= 2


def table(results: dict[str, dict[str, float]]) -> str:
    """The markdown table of ``results`` (per network: steps/s by column)."""
    lines = [
        "| network, training steps/s | sj eager | sj.compile | sj.compile + CUDA graph | "
        "PyTorch eager | PyTorch CUDA graph | sj eager / PT eager (>= 0.8x) | "
        "sj graph / PT eager (>= 1.5x) | sj graph / PT graph (>= 1.0x) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in results.items():
        lines.append(
            f"| {label} | {r['eager']:.1f} | {r['compile']:.1f} | {r['graph']:.1f} | "
            f"{r['torch']:.1f} | {r['torch_graph']:.1f} | {r['eager'] / r['torch']:.2f}x | "
            f"{r['graph'] / r['torch']:.2f}x | {r['graph'] / r['torch_graph']:.2f}x |")
    for label, r in results.items():
        if "cpu" in r:
            best = max(r["eager"], r["compile"], r["graph"])
            lines.append(f"\n{label} on the GPU (best of the three) against shenjing's own "
                         f"one-thread CPU step: {best:.1f} / {r['cpu']:.1f} steps/s = "
                         f"{best / r['cpu']:.1f}x (target >= 20x).")
    return "\n".join(lines) + "\n"


def _dry_run_setup(torch) -> tuple[str, str, str, Callable[[], None]]:
    """For ``--dry-run`` (no GPU): shenjing on the strict CuPy stand-in, its fused kernels
    compiled on the host and its CUDA-graph stand-in; PyTorch eager on the CPU."""
    from shenjing.graph import cuda_graph
    from shenjing.testing import host_kernels, strict

    strict.install()
    if host_kernels.compiler() is not None:
        host_kernels.install()
    cuda_graph.register_backend("strict_numpy", cuda_graph.HostReplay(lambda: 0))
    return "dry run (strict stand-in, PyTorch on the CPU)", "strict", "cpu", lambda: None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write the markdown table here")
    parser.add_argument("--min-time", type=float, default=1.0,
                        help="seconds each measurement runs at least")
    parser.add_argument("--dry-run", action="store_true",
                        help="no GPU: every step once through on the strict stand-in at "
                             "batch 8 (PyTorch eager on the CPU; its CUDA graph skipped), "
                             "to check the script, not to time it")
    args = parser.parse_args()
    import torch

    import shenjing as sj

    if args.dry_run:
        name, device, torch_device, sync = _dry_run_setup(torch)
        versions = f"PyTorch {torch.__version__}"
    else:
        import cupy

        def sync() -> None:
            cupy.cuda.Device().synchronize()
            torch.cuda.synchronize()

        name = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
        device, torch_device = "cuda", "cuda"
        versions = f"CuPy {cupy.__version__}, PyTorch {torch.__version__}"
    print(f"shenjing {sj.__version__}, {versions}, {name}", flush=True)
    results: dict[str, dict[str, float]] = {}
    for kind, label, batch in NETWORKS:
        batch = 8 if args.dry_run else batch
        r: dict[str, float] = {}
        r["eager"] = rate(shenjing_step(kind, batch, device), sync, args.min_time)
        r["compile"] = rate(shenjing_step(kind, batch, device, compiled=True), sync,
                            args.min_time)
        graph_step = shenjing_step(kind, batch, device, compiled=True, mode="reduce-overhead")
        r["graph"] = rate(graph_step, sync, args.min_time)
        for state in graph_step.compiled.captures:
            print(f"{label}: sj CUDA graph captured {state.captures}x, replayed "
                  f"{state.replays}x, fallback: {state.reason}", flush=True)
            if args.dry_run and state.reason is not None:
                raise SystemExit(f"bench_gpu --dry-run: {label}'s step was not captured")
        r["torch"] = rate(torch_step(torch, kind, batch, torch_device), sync, args.min_time)
        r["torch_graph"] = (float("nan") if args.dry_run else
                            rate(torch_graph_step(torch, kind, batch), sync, args.min_time))
        if kind == "lenet5":  # one-thread CPU: OPENBLAS_NUM_THREADS=1 (gpu_check.sh)
            r["cpu"] = rate(shenjing_step(kind, batch, "cpu"), lambda: None, 2 * args.min_time)
        results[f"{label}, batch {batch}"] = r
        print(f"{label}: " + ", ".join(f"{k} {v:.1f}" for k, v in r.items()), flush=True)
        _write(args.out, f"{name}, {versions}\n\n" + table(results))  # kept on a timeout
    print(f"{name}, {versions}\n\n" + table(results))


def _write(path: str | None, text: str) -> None:
    if path:
        with open(path, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
