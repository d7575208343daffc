"""The error function erf, which NumPy lacks, for exact GELU.

NumPy has no erf. Exact GELU uses scipy.special.erf on NumPy arrays when SciPy is
installed (one C loop). Otherwise (no SciPy, or CuPy arrays) it uses the Chebyshev
series below, accurate to about 1e-14: erf(x) = x·P(x²) for |x| <= 2 and
erf(x) = 1 - exp(-x²)·Q(x) for 2 < |x| <= 6, where Q = erfcx = exp(x²)·erfc(x) is
smooth. Beyond 6, erf(x) rounds to ±1 in float64. The coefficients are interpolated
once, at import, from the standard library's math.erf/erfc, so there are no magic
tables to trust.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from shenjing.backend import get_array_module

_ERF_SPLIT, _ERF_SATURATE = 2.0, 6.0


def _interpolate(f: Callable[[float], float], lo: float, hi: float, degree: int) -> np.ndarray:
    """Chebyshev coefficients of f on [lo, hi], through the points of degree+1 nodes."""

    def on_unit_interval(u: np.ndarray) -> np.ndarray:
        return np.array([f(lo + (v + 1.0) * (hi - lo) / 2.0) for v in u])

    return np.polynomial.chebyshev.chebinterpolate(on_unit_interval, degree)


def _erf_over_x_of_square(s: float) -> float:
    x = math.sqrt(s)
    return math.erf(x) / x if x > 0.0 else 2.0 / math.sqrt(math.pi)


_ERF_SMALL = _interpolate(_erf_over_x_of_square, 0.0, _ERF_SPLIT**2, 18)
_ERFCX_LARGE = _interpolate(
    lambda x: math.erfc(x) * math.exp(x * x), _ERF_SPLIT, _ERF_SATURATE, 21
)


@functools.cache
def _erf_terms(dtype: np.dtype) -> tuple[list[float], list[float]]:
    """Both series cut to the terms that matter at this precision, as Python floats
    (which keep float32 arrays float32)."""

    def cut(coefficients: np.ndarray) -> list[float]:
        keep = np.flatnonzero(np.abs(coefficients) > np.finfo(dtype).eps / 4)
        return [float(c) for c in coefficients[: keep[-1] + 1]]

    return cut(_ERF_SMALL), cut(_ERFCX_LARGE)


def _clenshaw(terms: list[float], u: Any) -> Any:
    """Σ terms[k]·T_k(u) for u in [-1, 1], by Clenshaw's recurrence."""
    two_u = 2 * u
    b1, b2 = terms[-1], 0.0
    for c in reversed(terms[1:-1]):
        b = two_u * b1
        b -= b2
        b += c
        b1, b2 = b, b1
    out = u * b1
    out -= b2
    out += terms[0]
    return out


def erf_chebyshev(x: Any) -> Any:
    """erf(x) from the Chebyshev series above (any array module, float32 or float64)."""
    xp = get_array_module(x)
    small_terms, large_terms = _erf_terms(x.dtype)
    a = xp.abs(x)
    small = xp.minimum(a, _ERF_SPLIT)
    erf_small = small * _clenshaw(small_terms, small * small * (2 / _ERF_SPLIT**2) - 1)
    large = xp.clip(a, _ERF_SPLIT, _ERF_SATURATE)
    u = (large - _ERF_SPLIT) * (2 / (_ERF_SATURATE - _ERF_SPLIT)) - 1
    erf_large = 1 - xp.exp(-large * large) * _clenshaw(large_terms, u)
    return xp.copysign(xp.where(a <= _ERF_SPLIT, erf_small, erf_large), x)


@functools.cache
def _scipy_erf() -> Callable[[Any], Any] | None:
    try:
        from scipy.special import erf
    except ImportError:
        return None
    return erf


def erf(x: Any) -> Any:
    """The error function 2/√π ∫₀ˣ exp(-t²) dt, elementwise, in x's dtype."""
    from_scipy = _scipy_erf()
    if from_scipy is not None and isinstance(x, np.ndarray):
        return from_scipy(x)
    return erf_chebyshev(x)
