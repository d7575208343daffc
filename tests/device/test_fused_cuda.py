"""The generated CUDA kernels of sj.compile's fused chains, compiled and run by CuPy.

Runs on a GPU only (``SHENJING_TEST_DEVICES=cuda``, as ``scripts/gpu_check.sh`` does); the
emitted source's semantics are checked on the CPU by tests/graph/test_fusion_cuda.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
from shenjing.graph.fusion_codegen import ChainSpec
from tests.graph.test_fusion_cuda import ACTIVATIONS, CHAINS, TOLERANCE


@pytest.mark.parametrize("bias", [None, "col", "row"])
@pytest.mark.parametrize("ops", CHAINS[:7] + CHAINS[-2:], ids="+".join)
def test_cuda_chain_matches_the_ops(ops, bias, device):
    if not device.startswith("cuda"):
        pytest.skip("CuPy kernels run on a GPU only")
    import cupy

    from shenjing.graph.fusion_cuda import CudaChain

    dtype = "float32"
    rng = np.random.default_rng(4)
    z = rng.standard_normal((64, 33)).astype(dtype)
    b = rng.standard_normal(33 if bias == "col" else 64).astype(dtype)
    g = rng.standard_normal(z.shape).astype(dtype)
    values = tuple(np.float32(v) for op in ops for v in ACTIVATIONS[op][1])
    chain = CudaChain(cupy, ChainSpec(ops, bias, dtype))
    y, saved = chain.forward(cupy.asarray(z), cupy.asarray(b), values)
    gz, gb = chain.backward(cupy.asarray(g), y, saved, values)

    v0_np = z + (b[None, :] if bias == "col" else b[:, None] if bias == "row" else 0)
    v0 = sj.tensor(v0_np, requires_grad=True)
    v = v0
    for op in ops:
        fn, args = ACTIVATIONS[op]
        v = fn(v, *args)
    v.backward(sj.tensor(g))
    np.testing.assert_allclose(y.get(), v.detach().numpy(), **TOLERANCE[dtype])
    np.testing.assert_allclose(gz.get(), v0.grad.numpy(), **TOLERANCE[dtype])
    if bias is not None:
        expected = v0.grad.numpy().sum(axis=0 if bias == "col" else 1)
        np.testing.assert_allclose(gb.get(), expected, rtol=1e-4, atol=1e-5)
