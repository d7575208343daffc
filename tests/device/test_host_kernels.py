"""The fused GPU kernels' own source, compiled for the host and run on the strict stand-in.

``shenjing.testing.host_kernels`` builds each CuPy ElementwiseKernel's text as a C++
loop over the flat index, so the GPU paths that call them (the LSTM's and GRU's steps
with all input projections as one GEMM, the optimizers' one-kernel updates, the
captured step's updates) run here against the NumPy code. What CuPy adds on a GPU
(compiling with NVRTC, the device's math library) is left to ``scripts/gpu_check.sh``.
"""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
from shenjing import _cuda
from shenjing.testing import host_kernels, strict

pytestmark = pytest.mark.skipif(host_kernels.compiler() is None, reason="no C++ compiler")


@pytest.fixture
def host_compiled():
    """The strict stand-in with its fused kernels compiled on the host; the names of the
    kernels built meanwhile."""
    built: list[str] = []

    def factory(*args, **kwargs):
        kernel = host_kernels.HostKernel(*args, **kwargs)
        built.append(kernel.name)
        return kernel

    previous = _cuda._HOST.get("strict_numpy")  # SHENJING_TEST_HOST_KERNELS=1's
    _cuda.host_kernels("strict_numpy", factory)
    yield built
    _cuda.host_kernels("strict_numpy", previous)


def test_a_host_kernel_runs_as_an_elementwise_kernel(host_compiled):
    kernel = _cuda.elementwise_kernel(
        strict.strict_numpy, "shenjing_test_axpy", "T x, T a, raw T r, int32 n",
        "T y, T z", "y = a * x + r[n - 1 - i % n]; z = x * x;")
    x = sj.tensor([[1.0, 2.0, 3.0]], device="strict").array
    r = sj.tensor([10.0, 20.0, 30.0], device="strict").array
    out = sj.zeros(2, 3, device="strict").array.T.T  # a view, written through
    z = sj.zeros(2, 3, device="strict").array
    kernel(x, np.float32(2.0), r, np.int32(3), out, z)  # x broadcast over 2 rows
    np.testing.assert_array_equal(out.get(), [[32.0, 24.0, 16.0]] * 2)
    np.testing.assert_array_equal(z.get(), [[1.0, 4.0, 9.0]] * 2)
    with pytest.raises(TypeError, match="declared"):
        kernel(x, np.float32(2.0), r.astype("float64"), np.int32(3), out, z)
    assert host_compiled == ["shenjing_test_axpy"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("layout", ["batch_first", "two_layers_bidirectional", "no_bias"])
def test_recurrent_steps_on_the_gpu_path_match_numpy(host_compiled, kind, layout, dtype):
    """Forward, every weight gradient, the input's and the initial states' gradients."""
    sj.manual_seed(1)
    options = {"batch_first": {"batch_first": True},
               "two_layers_bidirectional": {"num_layers": 2, "bidirectional": True},
               "no_bias": {"bias": False}}[layout]
    layer = getattr(nn, kind)(5, 6, **options).to(dtype=dtype)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 7, 5) if layout == "batch_first" else (7, 3, 5))
    directions = 2 if layout == "two_layers_bidirectional" else 1
    layers = options.get("num_layers", 1) * directions
    h0 = rng.standard_normal((layers, 3, 6))
    g = rng.standard_normal((3, 7, 6 * directions) if layout == "batch_first"
                            else (7, 3, 6 * directions))

    def run(device: str):
        xs = sj.tensor(x, dtype=dtype).to(device).requires_grad_()
        hs = sj.tensor(h0, dtype=dtype).to(device).requires_grad_()
        state = (hs, sj.tensor(h0 * 0.5, dtype=dtype).to(device)) if kind == "LSTM" else hs
        y, _ = layer(xs, state)
        (y * sj.tensor(g, dtype=dtype).to(device)).sum().backward()
        grads = [xs.grad, hs.grad, *(p.grad for p in layer.parameters())]
        out = [t.cpu().numpy().copy() for t in (y, *grads)]
        layer.zero_grad()
        return out

    expected = run("cpu")
    layer.to("strict")
    got = run("strict")
    layer.to("cpu")
    tolerance = {"rtol": 2e-4, "atol": 2e-5} if dtype == "float32" else {"rtol": 1e-10,
                                                                         "atol": 1e-12}
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, **tolerance)
    prefix = "shenjing_" + kind.lower()
    assert {f"{prefix}_backward", f"{prefix}_forward" + ("_projected" if kind == "LSTM"
                                                         else "")} <= set(host_compiled)


@pytest.mark.parametrize("make", [
    lambda ps: sj.optim.Adam(ps, lr=0.01),
    lambda ps: sj.optim.AdamW(ps, lr=0.01, weight_decay=0.1),
    lambda ps: sj.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: sj.optim.SGD(ps, lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.01),
], ids=["adam", "adamw", "sgd_nesterov", "sgd_dampening"])
def test_optimizer_kernels_match_numpy(host_compiled, make):
    rng = np.random.default_rng(3)
    start = rng.standard_normal((4, 5)).astype(np.float32)
    grads = [rng.standard_normal((4, 5)).astype(np.float32) for _ in range(3)]

    def run(device: str):
        p = nn.Parameter(sj.tensor(start).to(device))
        opt = make([p])
        for g in grads:
            p.grad = sj.tensor(g).to(device)
            opt.step()
        return p.detach().cpu().numpy()

    np.testing.assert_allclose(run("strict"), run("cpu"), rtol=1e-5, atol=1e-6)
    assert host_compiled  # the update ran as its kernel


def test_an_lstm_training_step_reads_nothing_back_to_the_host(host_compiled):
    sj.manual_seed(0)
    lstm = nn.LSTM(3, 4, batch_first=True).to("strict")
    head = nn.Linear(4, 2).to("strict")
    opt = sj.optim.Adam([*lstm.parameters(), *head.parameters()], lr=1e-2)
    x = sj.randn(5, 6, 3, device="strict")
    target = sj.tensor([0, 1, 1, 0, 1], device="strict")
    before = strict.host_syncs
    for _ in range(2):
        seq, _ = lstm(x)
        loss = sj.nn.functional.cross_entropy(head(seq[:, -1]), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert strict.host_syncs == before
    assert "shenjing_lstm_forward_projected" in host_compiled


@pytest.mark.parametrize("kind", ["lstm", "mlp", "lenet5"])
def test_captured_steps_with_the_kernels_match_the_cpu(host_compiled, kind):
    """``sj.compile(mode="reduce-overhead")`` on the stand-in (its graph stand-in), with
    the LSTM's step kernels, max pooling's and Adam's captured update as compiled kernel
    text, against the same steps on the CPU."""
    from benchmarks.bench_gpu import shenjing_step
    from shenjing.graph import cuda_graph

    cuda_graph.register_backend("strict_numpy",
                                cuda_graph.HostReplay(lambda: strict.host_syncs))
    try:
        sj.manual_seed(0)
        cpu = shenjing_step(kind, 8, "cpu")
        sj.manual_seed(0)
        captured = shenjing_step(kind, 8, "strict", compiled=True, mode="reduce-overhead")
        for _ in range(4):
            a, b = cpu(), captured()
            np.testing.assert_allclose(b.cpu().numpy(), a.numpy(), rtol=2e-5)
        (state,) = captured.compiled.captures
        assert state.reason is None and state.replays == 3
    finally:
        cuda_graph.register_backend("strict_numpy", None)
    assert "shenjing_graph_adam" in host_compiled  # the captured update's own kernel
    if kind == "lstm":
        assert "shenjing_lstm_forward_projected" in host_compiled
    if kind == "lenet5":
        assert "shenjing_max_pool_backward" in host_compiled


@pytest.mark.parametrize("name", ["adam", "adamw", "adam-l2-maximize", "sgd", "sgd-nesterov",
                                  "sgd-dampening"])
def test_captured_updates_as_kernels_give_the_compiled_steps_numbers(host_compiled, name):
    """tests/graph/test_cuda_graph.py's check of the captured optimizer updates, with
    their kernel text (``cuda_graph_updates``) compiled and run, not the NumPy mirror;
    the uncaptured steps use the optimizers' own kernels."""
    from shenjing import kernels
    from shenjing.graph import cuda_graph
    from tests.graph import test_cuda_graph as graph_tests

    cuda_graph.register_backend("strict_numpy",
                                cuda_graph.HostReplay(lambda: strict.host_syncs))
    try:
        with kernels.use(False):
            graph_tests.test_captured_step_gives_the_compiled_steps_numbers(name)
    finally:
        cuda_graph.register_backend("strict_numpy", None)
    expected = "shenjing_graph_adam" if "adam" in name else (
        "shenjing_graph_sgd" if name == "sgd" else "shenjing_graph_sgd_momentum")
    assert expected in host_compiled


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", [
    ("2d", 2, 2, 0, 1, False), ("2d", 3, 2, 1, 1, False), ("2d", 2, 1, 0, 2, False),
    ("2d", 3, 2, 1, 1, True), ("1d", 3, 2, 1, 1, False),
], ids=["tiled", "overlap_padded", "dilated", "ceil_mode", "1d"])
def test_max_pool_kernels_match_numpy(host_compiled, case, dtype):
    """One kernel each way on the GPU path, against the NumPy op; ties (rounded values)
    go to the window's first maximum, as in PyTorch."""
    import shenjing.nn.functional as F

    kind, k, s, p, d, ceil = case
    rng = np.random.default_rng(5)
    shape = (2, 3, 7, 8) if kind == "2d" else (2, 3, 9)
    x = np.round(rng.standard_normal(shape) * 2).astype(dtype)  # many ties
    pool = F.max_pool2d if kind == "2d" else F.max_pool1d

    def run(device: str):
        xs = sj.tensor(x, dtype=dtype).to(device).requires_grad_()
        y = pool(xs, k, s, p, dilation=d, ceil_mode=ceil)
        g = sj.tensor(np.arange(y.numel(), dtype=dtype).reshape(y.shape)).to(device)
        (y * g).sum().backward()
        return y.cpu().numpy(), xs.grad.cpu().numpy()

    for a, b in zip(run("strict"), run("cpu"), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert {"shenjing_max_pool_forward", "shenjing_max_pool_backward"} <= set(host_compiled)


def test_max_pool_kernel_propagates_nan_as_pytorch(host_compiled):
    import shenjing.nn.functional as F

    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    y = F.max_pool2d(sj.tensor(x).to("strict"), 2).cpu().numpy()
    np.testing.assert_array_equal(y, [[[[np.nan, 7.0], [13.0, 15.0]]]])


def test_float16_keeps_the_array_code(host_compiled):
    """The kernels take float32 and float64; float16 runs the ops' array code."""
    import shenjing.nn.functional as F

    x = sj.tensor(np.arange(16.0).reshape(1, 1, 4, 4), dtype="float16").to("strict")
    y = F.max_pool2d(x.requires_grad_(), 2)
    y.sum().backward()
    np.testing.assert_array_equal(y.cpu().numpy(), [[[[5, 7], [13, 15]]]])
    assert host_compiled == []
