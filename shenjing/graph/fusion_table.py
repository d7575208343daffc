"""The scalar formulas that ``sj.compile``'s fused kernels are generated from.

One row per elementwise op: its forward as an expression of ``x`` (the input), its
backward as an expression of ``g`` (the gradient reaching the output), ``x`` and ``y``
(the output), and the names of the op's scalar parameters that appear in them. The
formulas are the op's own (see each ``Function``'s docstring in
``shenjing/ops/activation.py``), written for one element; ``exp``, ``tanh``, ``erf``,
``expm1`` and ``minimum`` are the math functions of that element's dtype. An op not in
this table is never fused: it runs its NumPy ``Function`` as before.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple


class Formula(NamedTuple):
    """One elementwise op, written for one element."""

    forward: str  # y as a function of x
    backward: str  # gx as a function of g, x, y
    params: tuple[str, ...] = ()  # scalar parameters named in the formulas
    # Whether a Numba loop of the forward beats NumPy: not with exp, expm1 or erf, which
    # Numba (without Intel's SVML) calls one element at a time, while NumPy's own loops
    # for them are SIMD (tanh is ops/_numba_math.py's, which vectorises); a chain with
    # one such op runs its forward as the NumPy ops and fuses only its backward.
    fast_forward: bool = True

    def reads(self, name: str) -> bool:
        """Whether the backward formula uses ``name`` ("x" or "y")."""
        return re.search(rf"\b{name}\b", self.backward) is not None


FORMULAS: dict[str, Formula] = {
    # A select, which vectorises (maximum does not); a NaN fails x < 0 and passes on, as
    # NumPy's maximum passes it. gx = g where x > 0: y > 0 is the same test.
    "ReLU": Formula("0.0 if x < 0.0 else x", "g if y > 0.0 else 0.0"),
    "Sigmoid": Formula("1.0 / (1.0 + exp(-x))", "g * (y * (1.0 - y))", fast_forward=False),
    "Tanh": Formula("tanh(x)", "g * (1.0 - y * y)"),  # the vectorising tanh32 in float32
    "LeakyReLU": Formula("x if x > 0.0 else x * negative_slope",
                         "g if x > 0.0 else g * negative_slope", ("negative_slope",)),
    "ELU": Formula("x if x > 0.0 else alpha * expm1(minimum(x, 0.0))",
                   "g if x > 0.0 else g * (y + alpha)", ("alpha",), fast_forward=False),
    "GELU": Formula("x * (0.5 * (1.0 + erf(x * SQRT_HALF)))",
                    "g * (0.5 * (1.0 + erf(x * SQRT_HALF)) "
                    "+ x * INV_SQRT_2PI * exp(-0.5 * x * x))", fast_forward=False),
}
"""Op type -> its scalar formulas."""

CONSTANTS = {"SQRT_HALF": math.sqrt(0.5), "INV_SQRT_2PI": 1.0 / math.sqrt(2.0 * math.pi)}
"""Named constants the formulas may use."""
