"""Scalar math that the CPU kernels share, written so that LLVM vectorises it.

Numba's ``math.tanh`` calls the C library once per element (no SIMD library is
available to it), which ran ten times slower than NumPy's vectorised ``np.tanh``: a
kernel that called it would lose more in its gates than it saved in fusing them. So
float32 kernels use ``tanh32`` below: a rational function of x², evaluated with
multiply-adds and one division on x clamped to [−9, 9] (beyond which tanh rounds to ±1 in
float32). It is branch-free, so a loop of it becomes AVX code.

Accuracy, measured over 2·10⁶ float32 points of [−10, 10] against float64 tanh: within
5.4 units in the last place (NumPy's own float32 tanh: 1.4), and |tanh32(x)| ≤ 1. The
coefficients are a least-squares fit of the relative error (Lawson-weighted towards
minimax) made for this module; float64 kernels call ``math.tanh`` instead, since a
float64 gradcheck needs full double precision.
"""

from __future__ import annotations

import math

import numpy as np

from shenjing.kernels import by_type, kernel

_CLAMP = np.float32(9.0)
_ONE = np.float32(1.0)
# tanh(x) ≈ x · P(x²) / Q(x²) on [−9, 9].
_P0 = np.float32(9.9999999485199287e-01)
_P1 = np.float32(1.3085958888638879e-01)
_P2 = np.float32(3.1061289306193161e-03)
_P3 = np.float32(1.1176929146773558e-05)
_P4 = np.float32(-2.0316357810822576e-08)
_P5 = np.float32(5.3214505112812403e-11)
_P6 = np.float32(-8.5993201222443092e-14)
_Q1 = np.float32(4.6419286610419391e-01)
_Q2 = np.float32(2.4503841803924942e-02)
_Q3 = np.float32(2.5493029181028286e-04)


# Inlined by Numba, not left to LLVM, which stops inlining it in a large function (a
# generated step): a loop that calls it does not vectorise. Branch-free, with its
# argument not named like the caller's (``tanh``'s ``x``): Numba's inliner gets variable
# scopes wrong otherwise (numba issue 7802).
@kernel(inline="always")
def tanh32(v: float) -> float:
    """tanh(v) for float32 v (see the module's docstring); NaN stays NaN: min(max(NaN, a),
    b) is NaN, as Python's is."""
    c = min(max(v, -_CLAMP), _CLAMP)
    u = c * c
    p = ((((((_P6 * u + _P5) * u + _P4) * u + _P3) * u + _P2) * u + _P1) * u + _P0)
    q = ((_Q3 * u + _Q2) * u + _Q1) * u + _ONE
    return min(max(c * p / q, -_ONE), _ONE)


def _choose_tanh(x):
    """``tanh32`` for float32 arguments, the C library's ``tanh`` for the others."""
    if getattr(x, "bitwidth", 64) == 32:
        fast = tanh32.dispatcher
        return lambda x: fast(x)
    return lambda x: math.tanh(x)


@by_type(_choose_tanh)
def tanh(x: float) -> float:
    """tanh(x) in x's precision: ``tanh32`` (float32) or ``math.tanh`` (float64, for
    which a gradcheck needs full double precision)."""
    return math.tanh(x)
