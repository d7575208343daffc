"""Generating one Numba kernel pair (forward, backward) per chain of elementwise ops.

A chain is what the fusion pass found: an optional bias (added along the columns, as
``Linear`` adds it, or along the rows, as a convolution does in its channel-major
layout) followed by ops of ``fusion_table.FORMULAS``. Both kernels work on 2-D C-ordered
arrays; for a chain ``v0 = z (+ b); v1 = f1(v0); ...; vK = fK(vK-1)``:

- ``forward(z, b, s..., params...)`` replaces z by vK, in place (one array: with two
  that may overlap, LLVM keeps the loop scalar), and keeps in ``s`` the intermediate
  values that some backward formula reads;
- ``backward(g, y, s..., gz, gb, params...)`` writes the gradient with respect to v0
  into ``gz`` and, with a bias along the columns, its column sums into ``gb`` in the
  same pass (summed in float64).

The source is built from the formulas' text, written to a file named by its hash (see
``shenjing.kernels.load_source``) and compiled by Numba with its disk cache, with the
tier's options (``shenjing.kernels.kernel``), so a chain compiles once per machine.
``tanh`` is ``ops/_numba_math.py``'s, which vectorises in float32.
Numeric literals become the dtype's own constants, so a float32 chain computes in
float32 as the NumPy ops do.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from shenjing.graph.fusion_table import CONSTANTS, FORMULAS
from shenjing.kernels import load_source


class ChainSpec(NamedTuple):
    """What a kernel pair is specialised to."""

    ops: tuple[str, ...]  # op types, in order
    bias: str | None  # "col", "row" or None
    dtype: str  # "float32" or "float64"

    def params(self) -> list[str]:
        """The kernels' scalar parameter names, one per (op, parameter)."""
        return [f"p{k}_{name}" for k, op in enumerate(self.ops) for name in FORMULAS[op].params]

    def saved(self) -> list[int]:
        """Indices m of the values v_m that backward reads, other than the output vK."""
        needed = set()
        for k, op in enumerate(self.ops, start=1):
            formula = FORMULAS[op]
            if formula.reads("x"):
                needed.add(k - 1)
            if formula.reads("y"):
                needed.add(k)
        needed.discard(len(self.ops))
        return sorted(needed)


_LITERAL = re.compile(r"(?<![\w.])(\d+\.\d+)")


def _scalar(expr: str, k: int, spec: ChainSpec, names: dict[str, str]) -> str:
    """The op k's formula with its variables renamed and its literals typed."""
    expr = _LITERAL.sub(rf"{spec.dtype}(\1)", expr)
    for name in FORMULAS[spec.ops[k]].params:
        expr = re.sub(rf"\b{name}\b", f"p{k}_{name}", expr)
    for name, value in names.items():
        expr = re.sub(rf"\b{name}\b", value, expr)
    return expr


def source(spec: ChainSpec) -> str:
    """The Python source of the chain's two kernels."""
    count = len(spec.ops)
    saved = spec.saved()
    params = spec.params()
    s_args = "".join(f", s{m}" for m in saved)
    p_args = "".join(f", {p}" for p in params)
    b_arg = ", b" if spec.bias else ""
    bias_term = {"col": " + b[j]", "row": " + b[i]", None: ""}[spec.bias]
    lines = [
        "import numpy as np",
        "from math import erf, exp, expm1",
        "from shenjing.kernels import kernel",
        "from shenjing.ops._numba_math import tanh",
        "from numpy import float32, float64, maximum, minimum",
        *(f"{name} = {spec.dtype}({value!r})" for name, value in CONSTANTS.items()),
        "",
        "@kernel",
        f"def forward(z{b_arg}{s_args}{p_args}):",
        "    rows, cols = z.shape",
        "    for i in range(rows):",
        "        for j in range(cols):",
        f"            v0 = z[i, j]{bias_term}",
    ]
    for k in range(count):
        expr = _scalar(FORMULAS[spec.ops[k]].forward, k, spec, {"x": f"v{k}"})
        lines.append(f"            v{k + 1} = {expr}")
    lines += [f"            s{m}[i, j] = v{m}" for m in saved]
    lines += [f"            z[i, j] = v{count}", ""]

    # Column sums (a linear layer's bias) go along with the loop, one float64 sum per
    # column; a row sum would be one serial float64 chain per row, which LLVM may not
    # reorder into SIMD lanes, so a convolution's bias gradient is NumPy's sum after.
    gb_arg = ", gb" if spec.bias == "col" else ""
    lines += ["@kernel", f"def backward(g_out, y{s_args}, gz{gb_arg}{p_args}):",
              "    rows, cols = gz.shape"]
    if spec.bias == "col":
        lines.append("    acc = np.zeros(cols, np.float64)")
    lines += ["    for i in range(rows):", "        for j in range(cols):",
              "            g = g_out[i, j]"]

    def value(m: int) -> str:
        return "y[i, j]" if m == count else f"s{m}[i, j]"

    for k in reversed(range(count)):
        expr = _scalar(FORMULAS[spec.ops[k]].backward, k, spec,
                       {"x": value(k), "y": value(k + 1)})
        lines.append(f"            g = {expr}")
    lines.append("            gz[i, j] = g")
    if spec.bias == "col":
        lines += ["            acc[j] += g", "    for j in range(cols):",
                  "        gb[j] = acc[j]"]
    return "\n".join(lines) + "\n"


_LOADED: dict[ChainSpec, tuple[Any, Any]] = {}


def kernels(spec: ChainSpec) -> tuple[Any, Any]:
    """The (forward, backward) kernels of a chain: generated once per process, compiled
    once per machine (``shenjing.kernels.load_source`` puts the source in a file, so
    Numba's disk cache keeps the machine code)."""
    pair = _LOADED.get(spec)
    if pair is None:
        module = load_source("chain", source(spec))
        pair = _LOADED[spec] = (module.forward, module.backward)
    return pair
