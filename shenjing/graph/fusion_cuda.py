"""The fused elementwise chains of ``sj.compile`` as CuPy ``ElementwiseKernel`` source.

The same ``ChainSpec`` that ``fusion_codegen`` turns into a Numba kernel pair (a bias
along columns or rows, then ops of ``fusion_table.FORMULAS``) becomes a CUDA kernel pair
here, from the same formulas. Each formula (a Python expression) is translated to CUDA
C++ by walking its syntax tree:

- ``a if c else b`` becomes ``SJ_SELECT(c, a, b)``, a macro for ``((c) ? (a) : (b))``;
- literals and named constants become ``T(...)``, the kernel's element type, so a
  float32 chain computes in float32 as the NumPy ops do;
- ``exp``, ``tanh``, ``erf``, ``expm1`` are CUDA's overloads for float and double,
  ``minimum`` is ``fmin``; a bias is read as ``b[SJ_COL(i, cols)]`` or
  ``b[SJ_ROW(i, cols)]`` (macros for ``i % cols`` and ``i / cols``).

Every emitted expression is therefore also a Python expression, which is how the CPU
tests check the emitted text itself: they execute it with NumPy standing in for the
macros and the math functions and compare with the ops' own NumPy code
(``tests/graph/test_fusion_cuda.py``). The kernels, with the shape of the Numba pair:

- forward: in ``z`` (the producer's output, no bias), ``b`` and ``cols`` with a bias,
  the chain's scalar parameters; out ``y`` and the saved values ``s{m}`` that some
  backward formula reads;
- backward: in ``g_out``, ``y``, the saved values, the parameters; out ``gz``, the
  gradient with respect to ``v0``. A bias gradient is a sum of ``gz`` over rows or
  columns, done by CuPy's reduction after the kernel.

Not yet run on a GPU (no GPU was lent to the session that wrote it): the CuPy calls
follow CuPy's documented ``ElementwiseKernel(in_params, out_params, operation, name,
preamble=...)``, and ``scripts/gpu_check.sh`` runs the test that compiles them on CuPy.
"""

from __future__ import annotations

import ast
import hashlib
from typing import Any, NamedTuple

from shenjing.graph.fusion_codegen import ChainSpec
from shenjing.graph.fusion_table import CONSTANTS, FORMULAS

PREAMBLE = """
#define SJ_SELECT(c, a, b) ((c) ? (a) : (b))
#define SJ_COL(i, n) ((i) % (n))
#define SJ_ROW(i, n) ((i) / (n))
"""
"""Macros the emitted expressions use (CuPy puts the preamble before the kernel)."""

_FUNCTIONS = {"exp": "exp", "tanh": "tanh", "erf": "erf", "expm1": "expm1",
              "minimum": "fmin", "maximum": "fmax"}
_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_COMPARISONS = {ast.Lt: "<", ast.Gt: ">", ast.LtE: "<=", ast.GtE: ">="}


def to_cuda(expr: str, names: dict[str, str]) -> str:
    """A formula (Python expression) as CUDA C++, fully parenthesised, with each name of
    ``names`` renamed and each constant typed ``T``."""
    return _emit(ast.parse(expr, mode="eval").body, names)


def _emit(node: ast.AST, names: dict[str, str]) -> str:
    if isinstance(node, ast.IfExp):
        return (f"SJ_SELECT({_emit(node.test, names)}, {_emit(node.body, names)}, "
                f"{_emit(node.orelse, names)})")
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return f"({_emit(node.left, names)} {_OPERATORS[type(node.op)]} " \
               f"{_emit(node.right, names)})"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return f"(-{_emit(node.operand, names)})"
    if (isinstance(node, ast.Compare) and len(node.ops) == 1
            and type(node.ops[0]) in _COMPARISONS):
        return (f"({_emit(node.left, names)} {_COMPARISONS[type(node.ops[0])]} "
                f"{_emit(node.comparators[0], names)})")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id in _FUNCTIONS and not node.keywords:
        args = ", ".join(_emit(a, names) for a in node.args)
        return f"{_FUNCTIONS[node.func.id]}({args})"
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return f"T({float(node.value)!r})"
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        if node.id in CONSTANTS:
            return f"T({CONSTANTS[node.id]!r})"
    raise ValueError(f"fusion_cuda: cannot translate {ast.unparse(node)!r} to CUDA")


class KernelSource(NamedTuple):
    """One ElementwiseKernel's four strings."""

    in_params: str
    out_params: str
    operation: str
    name: str


def sources(spec: ChainSpec) -> tuple[KernelSource, KernelSource]:
    """The chain's (forward, backward) kernels, as CuPy ElementwiseKernel arguments."""
    count = len(spec.ops)
    saved = spec.saved()
    params = spec.params()
    p_in = "".join(f", T {p}" for p in params)
    bias_in = ", raw T b, int32 cols" if spec.bias else ""
    bias_term = {"col": " + b[SJ_COL(i, cols)]", "row": " + b[SJ_ROW(i, cols)]",
                 None: ""}[spec.bias]
    lines = [f"T v0 = z{bias_term};"]
    for k, op in enumerate(spec.ops):
        renames = {"x": f"v{k}", **{n: f"p{k}_{n}" for n in FORMULAS[op].params}}
        lines.append(f"T v{k + 1} = {to_cuda(FORMULAS[op].forward, renames)};")
    lines += [f"s{m} = v{m};" for m in saved]
    lines.append(f"y = v{count};")
    forward = KernelSource(f"T z{bias_in}{p_in}",
                           "T y" + "".join(f", T s{m}" for m in saved),
                           "\n".join(lines), "")

    def value(m: int) -> str:
        return "y" if m == count else f"s{m}"

    lines = ["T g = g_out;"]
    for k in reversed(range(count)):
        op = spec.ops[k]
        renames = {"g": "g", "x": value(k), "y": value(k + 1),
                   **{n: f"p{k}_{n}" for n in FORMULAS[op].params}}
        lines.append(f"g = {to_cuda(FORMULAS[op].backward, renames)};")
    lines.append("gz = g;")
    backward = KernelSource("T g_out, T y" + "".join(f", T s{m}" for m in saved) + p_in,
                            "T gz", "\n".join(lines), "")
    tag = hashlib.sha1(repr(spec).encode()).hexdigest()[:12]
    return (forward._replace(name=f"shenjing_chain_forward_{tag}"),
            backward._replace(name=f"shenjing_chain_backward_{tag}"))


_LOADED: dict[ChainSpec, tuple[Any, Any]] = {}


class CudaChain:
    """A chain's kernel pair on CuPy arrays (2-D, C-ordered: rows x features for a linear
    layer, channels x positions for a convolution, as the Numba pair's)."""

    def __init__(self, xp: Any, spec: ChainSpec) -> None:
        self.xp, self.spec = xp, spec
        pair = _LOADED.get(spec)
        if pair is None:
            pair = _LOADED[spec] = tuple(
                xp.ElementwiseKernel(s.in_params, s.out_params, s.operation, s.name,
                                     preamble=PREAMBLE)
                for s in sources(spec))
        self.forward_kernel, self.backward_kernel = pair
        self.saved_values = spec.saved()

    def forward(self, z: Any, bias: Any, values: tuple) -> tuple[Any, list[Any]]:
        """(vK, the saved values) from the producer's output ``z`` and the bias."""
        xp = self.xp
        y = xp.empty_like(z)
        saved = [xp.empty_like(z) for _ in self.saved_values]
        b_args = (bias, xp.int32(z.shape[1])) if self.spec.bias else ()
        self.forward_kernel(z, *b_args, *values, y, *saved)
        return y, saved

    def backward(self, g: Any, y: Any, saved: list[Any], values: tuple
                 ) -> tuple[Any, Any]:
        """(the gradient with respect to v0, the bias gradient or None)."""
        gz = self.xp.empty_like(y)
        self.backward_kernel(g, y, *saved, *values, gz)
        if self.spec.bias == "col":
            return gz, gz.sum(axis=0)
        if self.spec.bias == "row":
            return gz, gz.sum(axis=1)
        return gz, None
