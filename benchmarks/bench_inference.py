"""Batch-1 LeNet-5 inference latency: shenjing eager (eval, no_grad), shenjing compiled
(``sj.compile(model)``), PyTorch (eval, no_grad) and ONNX Runtime (the model exported by
``sj.onnx.export``), one thread each, the same weights.

Each call is timed alone, in rounds that visit the four in turn (the order reversing
from round to round), so a slow spell on a shared machine hits all alike; p50 and p99 are
over every call. Targets: compiled within 2.5x of ONNX Runtime (p50 and p99); eager at
least 1.5x faster than PyTorch (p50).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable

import numpy as np

from benchmarks.common import Row, torch_or_none

ROUNDS = 3000
WARMUP = 200


def _contenders() -> dict[str, Callable[[], object] | None]:
    import shenjing as sj
    from shenjing.models import lenet5

    sj.manual_seed(0)
    model = lenet5().eval()
    x = sj.randn(1, 1, 28, 28)

    def eager() -> object:
        with sj.no_grad():
            return model(x)

    compiled = sj.compile(model)
    contenders: dict[str, Callable[[], object] | None] = {
        "shenjing eager": eager, "shenjing compiled": lambda: compiled(x),
        "PyTorch": _torch(model, x.numpy()), "ONNX Runtime": _onnxruntime(model, x.numpy()),
    }
    return contenders


def _torch(model: object, x: np.ndarray) -> Callable[[], object] | None:
    torch = torch_or_none()
    if torch is None:
        return None
    twin = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, 10)).eval()
    twin.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in
                          model.state_dict().items()})
    tx = torch.from_numpy(x)

    def run() -> object:
        with torch.no_grad():
            return twin(tx)

    return run


def _onnxruntime(model: object, x: np.ndarray) -> Callable[[], object] | None:
    try:
        import onnxruntime
    except ImportError:
        return None
    import shenjing as sj

    path = os.path.join(tempfile.mkdtemp(), "lenet5.onnx")
    sj.onnx.export(model, x, path)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return lambda: session.run(None, {"input": x})


def latencies(rounds: int = ROUNDS) -> dict[str, tuple[float, float]]:
    """p50 and p99 in microseconds of each contender that is installed."""
    contenders = {k: f for k, f in _contenders().items() if f is not None}
    for f in contenders.values():
        for _ in range(WARMUP):
            f()
    times: dict[str, list[float]] = {k: [] for k in contenders}
    order = list(contenders)
    clock = time.perf_counter
    for _ in range(rounds):
        for name in order:
            f = contenders[name]
            start = clock()
            f()
            times[name].append(clock() - start)
        order.reverse()
    return {k: (float(np.percentile(v, 50)) * 1e6, float(np.percentile(v, 99)) * 1e6)
            for k, v in times.items()}


def run() -> tuple[str, list[Row]]:
    """Print every contender's p50/p99, and return the rows against PyTorch."""
    measured = latencies()
    print("\n### LeNet-5 inference, batch 1, one thread (us)\n")
    print("| | p50 | p99 |")
    print("|---|---:|---:|")
    for name, (p50, p99) in measured.items():
        print(f"| {name} | {p50:,.1f} | {p99:,.1f} |")
    ort = measured.get("ONNX Runtime")
    torch = measured.get("PyTorch")
    rows = []
    for name, target in (("shenjing eager", "eager >= 1.5x PyTorch (p50)"),
                         ("shenjing compiled", "<= 2.5x ONNX Runtime (p50, p99)")):
        p50, p99 = measured[name]
        if ort is not None and name == "shenjing compiled":
            target += f"; now {p50 / ort[0]:.2f}x / {p99 / ort[1]:.2f}x ORT"
        rows.append(Row(f"{name} p50", "us", p50, torch=None if torch is None else torch[0],
                        higher_is_better=False, target=target))
        rows.append(Row(f"{name} p99", "us", p99, torch=None if torch is None else torch[1],
                        higher_is_better=False))
    return "LeNet-5 batch-1 inference latency", rows


if __name__ == "__main__":
    from benchmarks.common import pin_one_thread, print_table

    pin_one_thread()
    print_table(*run())
