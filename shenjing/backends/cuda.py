"""CUDA math switches, as ``torch.backends.cuda``: ``matmul.allow_tf32`` and friends,
kept as settings (CuPy's matrix products run in float32 whatever they say)."""

from __future__ import annotations

from types import SimpleNamespace

from shenjing import cuda

__all__ = ["is_built", "matmul"]

matmul = SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                         allow_bf16_reduced_precision_reduction=True)


def is_built() -> bool:
    """True when CuPy, shenjing's GPU backend, can be used."""
    return cuda.is_available()
