"""A float32 ``exp`` that LLVM vectorises, for the CPU kernels (``sj.compile``'s
generated steps).

Numba's ``math.exp`` calls the C library once per element, since no SIMD math library is
available to it: a sigmoid over a 64x64 block measured about 10 ns an element, a quarter
of a whole small training step. ``exp32`` below is branch-free arithmetic, so a loop of
it becomes AVX code:

    exp(x) = 2ⁿ · exp(r),  n = round(x / ln 2),  r = x − n·ln 2   (|r| <= ln 2 / 2)

with ln 2 split in two parts so that r is exact, exp(r) a degree-7 polynomial
(Cephes' ``expf`` coefficients, a standard minimax fit), and 2ⁿ made from its bits as
two factors 2^⌊n/2⌋·2^(n − ⌊n/2⌋), so that results in the subnormal range and overflow
to inf come out as C's ``expf`` gives them. x is clamped to [−104, 89] first (outside,
exp rounds to 0 or inf in float32); NaN stays NaN.

Accuracy, measured against float64 exp over 2·10⁶ float32 points of [−104, 89]: within
1 unit in the last place (0.99; NumPy's own float32 exp: 2.4), subnormal results within
1 of their last place; tested in ``tests/graph/test_stepgen.py``. Speed, on 4096 float32
elements: 13 µs, against 56 µs for ``math.exp`` and 23 µs for NumPy's SIMD ``np.exp``.
float64 code calls ``math.exp``.

This module imports Numba when it is imported: only generated kernels import it.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.core.extending import intrinsic

from shenjing.kernels import by_type, kernel

_LOG2E = np.float32(1.44269504088896341)
_LN2_HI = np.float32(0.693359375)  # ln 2 = _LN2_HI + _LN2_LO; _LN2_HI has 9 bits
_LN2_LO = np.float32(-2.12194440e-4)
_LOW, _HIGH = np.float32(-104.0), np.float32(89.0)
_ZERO, _HALF, _ONE = np.float32(0.0), np.float32(0.5), np.float32(1.0)
_C = [np.float32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                              4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1)]
_C0, _C1, _C2, _C3, _C4, _C5 = _C


@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose IEEE bits are the low 32 bits of the integer ``bits``."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = args[0]
        if value.type.width != 32:
            value = builder.trunc(value, ir.IntType(32))
        return builder.bitcast(value, ir.FloatType())

    return types.float32(bits), codegen


# Inlined by Numba, not left to LLVM, which stops inlining it in a large function (a
# generated step): a loop that calls it does not vectorise (a sigmoid ran 6x slower).
# Branch-free, with its argument not named like the caller's (``exp``'s ``x``): Numba's
# inliner gets variable scopes wrong otherwise (numba issue 7802).
@kernel(inline="always")
def exp32(v: float) -> float:
    """exp(v) for float32 v (see the module's docstring)."""
    # max(LOW, NaN) is LOW: the integer conversion below never sees a NaN.
    c = min(_HIGH, max(_LOW, v))
    n = np.floor(c * _LOG2E + _HALF)
    r = c - n * _LN2_HI - n * _LN2_LO
    z = r * r
    p = (((((_C0 * r + _C1) * r + _C2) * r + _C3) * r + _C4) * r + _C5) * z + r + _ONE
    k = np.int32(n)
    half = k >> 1
    y = p * _float32_from_bits((half + 127) << 23) * _float32_from_bits((k - half + 127) << 23)
    # NaN in, NaN out: max(NaN, LOW) is NaN, and otherwise the term is ±0 (y >= 0).
    return y + min(max(v, _LOW), _HIGH) * _ZERO


def _choose_exp(x):
    """``exp32`` for float32 arguments, the C library's ``exp`` for the others."""
    if getattr(x, "bitwidth", 64) == 32:
        fast = exp32.dispatcher
        return lambda x: fast(x)
    return lambda x: math.exp(x)


@by_type(_choose_exp)
def exp(x: float) -> float:
    """exp(x) in x's precision: ``exp32`` (float32) or ``math.exp`` (float64)."""
    return math.exp(x)
