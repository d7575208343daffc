"""The CUDA source emitted for sj.compile's fused chains (shenjing/graph/fusion_cuda.py).

No GPU here: the emitted expressions are also Python expressions, so these tests execute
the emitted kernel bodies themselves, statement by statement, with NumPy standing in for
CUDA's macros and math functions, over the flat index ``i`` as an ElementwiseKernel runs,
and compare with the ops' own NumPy forward and autograd backward. What they cannot show
is that CuPy compiles and runs the source: ``scripts/gpu_check.sh`` does that.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn.functional as F
from shenjing.graph.fusion_codegen import ChainSpec
from shenjing.graph.fusion_cuda import PREAMBLE, sources, to_cuda
from shenjing.graph.fusion_table import FORMULAS

ACTIVATIONS = {
    "ReLU": (F.relu, ()), "Sigmoid": (F.sigmoid, ()), "Tanh": (F.tanh, ()),
    "LeakyReLU": (lambda h, s: F.leaky_relu(h, s), (0.2,)),
    "ELU": (lambda h, a: F.elu(h, a), (0.7,)), "GELU": (F.gelu, ()),
}
TOLERANCE = {"float32": {"rtol": 2e-5, "atol": 2e-6}, "float64": {"rtol": 1e-12, "atol": 1e-13}}
CHAINS = [(op,) for op in FORMULAS] + [("LeakyReLU", "Tanh"), ("ELU", "Sigmoid", "ReLU"),
                                       ("GELU", "LeakyReLU")]


def test_every_formula_has_a_reference():
    assert set(ACTIVATIONS) == set(FORMULAS)


def test_a_formula_becomes_typed_parenthesised_cuda():
    assert to_cuda(FORMULAS["ReLU"].forward, {"x": "v0"}) == \
        "SJ_SELECT((v0 < T(0.0)), T(0.0), v0)"
    assert to_cuda("x * (1.0 - y)", {"x": "s0", "y": "y"}) == "(s0 * (T(1.0) - y))"
    assert to_cuda("erf(x * SQRT_HALF)", {"x": "v1"}) == \
        f"erf((v1 * T({math.sqrt(0.5)!r})))"
    with pytest.raises(ValueError, match="cannot translate"):
        to_cuda("x ** 2", {"x": "v0"})
    for name in ("SJ_SELECT", "SJ_BIAS"):
        assert f"#define {name}(" in PREAMBLE


def _namespace(dtype: np.dtype) -> dict[str, Any]:
    """What the emitted text means, in NumPy: CUDA's macros and overloaded functions."""
    kind = np.dtype(dtype).type
    erf = np.vectorize(math.erf, otypes=[dtype])
    return {"SJ_SELECT": np.where, "SJ_BIAS": lambda i, inner, n: (i // inner) % n, "T": kind, "exp": np.exp, "tanh": np.tanh,
            "erf": lambda a: erf(a).astype(dtype), "expm1": np.expm1, "fmin": np.minimum,
            "fmax": np.maximum}


def _execute(operation: str, names: dict[str, Any]) -> dict[str, Any]:
    """Run a kernel body, one element per index, as ElementwiseKernel would."""
    for line in operation.splitlines():
        statement = re.fullmatch(r"(?:T )?(\w+) = (.*);", line.strip())
        assert statement, f"not a simple assignment: {line!r}"
        target, expr = statement.groups()
        names[target] = np.asarray(eval(expr, {"__builtins__": {}}, names))  # the emitted text itself
    return names


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bias", [None, "col", "row"])
@pytest.mark.parametrize("ops", CHAINS, ids="+".join)
def test_emitted_kernels_compute_the_ops(ops, bias, dtype):
    rng = np.random.default_rng(3)
    rows, cols = 5, 7
    spec = ChainSpec(ops, bias, dtype)
    forward, backward = sources(spec)
    z = rng.standard_normal((rows, cols)).astype(dtype)
    b = rng.standard_normal(cols if bias == "col" else rows).astype(dtype)
    g = rng.standard_normal((rows, cols)).astype(dtype)
    values = [v for op in ops for v in ACTIVATIONS[op][1]]
    kind = np.dtype(dtype).type
    params = dict(zip(spec.params(), (kind(v) for v in values), strict=True))

    # The kernels' signatures are the ones CudaChain calls them with.
    p_in = "".join(f", T {p}" for p in spec.params())
    assert forward.in_params == "T z" + (", raw T b, int32 inner, int32 channels"
                                         if bias else "") + p_in
    saved = spec.saved()
    assert forward.out_params == "T y" + "".join(f", T s{m}" for m in saved)
    assert backward.in_params == "T g_out, T y" + "".join(f", T s{m}" for m in saved) + p_in
    assert backward.out_params == "T gz"

    # The emitted source, executed over the flat index.
    inner, channels = (1, cols) if bias == "col" else (cols, rows)  # rows: N=1, C, H·W
    flat = {"z": z.reshape(-1), "b": b, "inner": inner, "channels": channels,
            "i": np.arange(z.size), **params,
            **_namespace(np.dtype(dtype))}
    out = _execute(forward.operation, flat)
    y = out["y"].reshape(rows, cols)
    names = {"g_out": g.reshape(-1), "y": out["y"], **params, **_namespace(np.dtype(dtype)),
             **{f"s{m}": out[f"s{m}"] for m in saved}}
    gz = _execute(backward.operation, names)["gz"].reshape(rows, cols)

    # The ops themselves: bias, then each activation, and autograd's gradient.
    v0_np = z + (b[None, :] if bias == "col" else b[:, None] if bias == "row" else 0)
    v0 = sj.tensor(v0_np.astype(dtype), dtype=dtype, requires_grad=True)
    v = v0
    for op in ops:
        fn, args = ACTIVATIONS[op]
        v = fn(v, *args)
    v.backward(sj.tensor(g, dtype=dtype))
    np.testing.assert_allclose(y, v.detach().numpy(), **TOLERANCE[dtype])
    np.testing.assert_allclose(gz, v0.grad.numpy(), **TOLERANCE[dtype])
    assert y.dtype == np.dtype(dtype) and gz.dtype == np.dtype(dtype)


def test_kernel_names_differ_by_chain_and_are_stable():
    a = sources(ChainSpec(("ReLU",), "col", "float32"))
    b = sources(ChainSpec(("ReLU",), "row", "float32"))
    assert a[0].name != b[0].name and a[0].name != a[1].name
    assert sources(ChainSpec(("ReLU",), "col", "float32")) == a


@pytest.fixture
def _stand_in_chains():
    """Fused chains on the strict stand-in, its kernels executed from their text (and
    its CUDA-graph stand-in, for mode="reduce-overhead")."""
    from shenjing.graph import cuda_graph, fusion_cuda
    from shenjing.testing import strict

    strict.install()
    fusion_cuda.interpret_on("strict_numpy")
    cuda_graph.register_backend("strict_numpy",
                                cuda_graph.HostReplay(lambda: strict.host_syncs))
    yield
    cuda_graph.register_backend("strict_numpy", None)
    fusion_cuda.interpret_on("strict_numpy", False)
    strict.uninstall()


def _device_training(kernel_tier: bool, conv: bool, mode: str | None
                     ) -> tuple[list, list, list]:
    import shenjing.nn as nn
    from shenjing import kernels

    sj.manual_seed(0)
    if conv:
        model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Flatten(),
                              nn.Linear(4 * 4 * 4, 3), nn.Tanh())
        shape = (6, 2, 6, 6)
    else:
        model = nn.Sequential(nn.Linear(5, 8), nn.LeakyReLU(0.1), nn.Tanh(),
                              nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 3), nn.Sigmoid())
        shape = (6, 5)
    model = model.to("strict")
    opt = sj.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(2)

    def train_step(x, y):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    with kernels.use(kernel_tier):
        step = sj.compile(train_step, mode=mode)
        losses = [step(sj.tensor(rng.standard_normal(shape).astype(np.float32),
                                 device="strict"),
                       sj.tensor(rng.integers(0, 3, 6), device="strict")).item()
                  for _ in range(4)]
    (trace,) = step._traces.values()
    if mode is not None:
        assert (trace.cuda_graph.reason, trace.cuda_graph.replays) == (None, 3)
    return losses, [op.type for op in trace.plan.ops], [p.cpu().numpy()
                                                        for p in model.parameters()]


@pytest.mark.usefixtures("_stand_in_chains")
@pytest.mark.parametrize("mode", [None, "reduce-overhead"])
@pytest.mark.parametrize("conv", [False, True], ids=["mlp", "conv"])
def test_compiled_device_steps_run_the_generated_chains(conv, mode):
    from shenjing import kernels

    if not kernels.available():
        pytest.skip("the plan fuses only with the kernel tier on (Numba)")
    fused_losses, types, fused_params = _device_training(True, conv, mode)
    losses, plain_types, params = _device_training(False, conv, None)
    assert "FusedChain" in types and "FusedChain" not in plain_types
    assert len(types) < len(plain_types)
    np.testing.assert_allclose(fused_losses, losses, rtol=1e-5)
    for a, b in zip(fused_params, params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def _declarations(params: str, out: bool) -> list[str]:
    """ElementwiseKernel parameters as the C++ it generates for them: inputs are
    constants, outputs references, ``raw`` arrays indexable pointers."""
    parts = []
    for param in params.split(", "):
        words = param.split()
        raw = words[0] == "raw"
        kind, name = words[-2:]
        parts.append(f"{kind}* {name}" if raw else f"{kind}& {name}" if out
                     else f"const {kind} {name}")
    return parts


def test_emitted_kernels_compile_as_cpp():
    """CUDA C++ is C++: every kernel body, the chains' and the captured updates', is
    compiled by the host's C++ compiler with CUDA's names given their <cmath> meaning, in
    float and double (a syntax or type error here would fail on the GPU)."""
    import shutil
    import subprocess

    from shenjing.graph import cuda_graph_updates as updates

    compiler = shutil.which("g++") or shutil.which("clang++")
    if compiler is None:
        pytest.skip("no C++ compiler")
    code = ["#include <cmath>",
            "using std::exp; using std::tanh; using std::erf; using std::expm1;",
            "using std::fmin; using std::fmax; using std::sqrt;",
            "typedef int int32; typedef double float64;", PREAMBLE]
    specs = [ChainSpec((op,), bias, dtype) for op in FORMULAS for bias in (None, "col")
             for dtype in ("float32", "float64")]
    specs.append(ChainSpec(("ELU", "Sigmoid", "ReLU", "GELU", "LeakyReLU", "Tanh"), "row",
                           "float32"))
    for spec in specs:
        kind = "float" if spec.dtype == "float32" else "double"
        for s in sources(spec):
            args = _declarations(s.in_params, False) + _declarations(s.out_params, True)
            code.append(f"namespace {s.name} {{ typedef {kind} T; "
                        f"void f({', '.join(args)}, long i) {{\n{s.operation}\n}} }}")
    for kind in ("float", "double"):
        code.append(
            f"namespace graph_{kind} {{ typedef {kind} T;\n"
            f"void adam(const T g0, T* s, T& p, T& m, T& v) {{ {updates._ADAM} }}\n"
            f"void sgd(const T g0, T* s, int32 nesterov, T& p, T& b) {{ {updates._SGD} }}"
            "\n}")
    done = subprocess.run([compiler, "-std=c++14", "-fsyntax-only", "-Werror", "-x", "c++",
                           "-"], input="\n".join(code), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[:3000]
