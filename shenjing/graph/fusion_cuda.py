"""The fused elementwise chains of ``sj.compile`` as CuPy ``ElementwiseKernel`` source.

The same ``ChainSpec`` that ``fusion_codegen`` turns into a Numba kernel pair (a bias
along columns or rows, then ops of ``fusion_table.FORMULAS``) becomes a CUDA kernel pair
here, from the same formulas. Each formula (a Python expression) is translated to CUDA
C++ by walking its syntax tree:

- ``a if c else b`` becomes ``SJ_SELECT(c, a, b)``, a macro for ``((c) ? (a) : (b))``;
- literals and named constants become ``T(...)``, the kernel's element type, so a
  float32 chain computes in float32 as the NumPy ops do;
- ``exp``, ``tanh``, ``erf``, ``expm1`` are CUDA's overloads for float and double,
  ``minimum`` is ``fmin``; a bias is read as ``b[SJ_BIAS(i, inner, channels)]``, a macro
  for ``(i / inner) % channels``: the arrays stay in their own layout (a linear layer's
  (N, features): inner 1; a convolution's (N, C, H, W): inner H·W), nothing transposed.

Every emitted expression is therefore also a Python expression, which is how the CPU
tests check the emitted text itself: they execute it with NumPy standing in for the
macros and the math functions and compare with the ops' own NumPy code
(``tests/graph/test_fusion_cuda.py``). The kernels, with the shape of the Numba pair:

- forward: in ``z`` (the producer's output, no bias), ``b``, ``inner``, ``channels``
  with a bias,
  the chain's scalar parameters; out ``y`` and the saved values ``s{m}`` that some
  backward formula reads;
- backward: in ``g_out``, ``y``, the saved values, the parameters; out ``gz``, the
  gradient with respect to ``v0``. A bias gradient is a sum of ``gz`` over every axis
  but the channels', done by CuPy's reduction after the kernel.

Not yet run on a GPU (no GPU was lent to the session that wrote it): the CuPy calls
follow CuPy's documented ``ElementwiseKernel(in_params, out_params, operation, name,
preamble=...)``, and ``scripts/gpu_check.sh`` runs the test that compiles them on CuPy.
"""

from __future__ import annotations

import ast
import hashlib
import math
import re
from typing import Any, NamedTuple

from shenjing._cuda import is_cupy as _is_cupy
from shenjing.backend import get_array_module, is_array
from shenjing.graph.fusion_codegen import ChainSpec
from shenjing.graph.fusion_table import CONSTANTS, FORMULAS

PREAMBLE = """
#define SJ_SELECT(c, a, b) ((c) ? (a) : (b))
#define SJ_BIAS(i, inner, n) (((i) / (inner)) % (n))
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
    bias_in = ", raw T b, int32 inner, int32 channels" if spec.bias else ""
    bias_term = " + b[SJ_BIAS(i, inner, channels)]" if spec.bias else ""
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
_INTERPRETED: set[str] = set()


def interpret_on(module_name: str, on: bool = True) -> None:
    """Run the emitted kernels by executing their text with the array module called
    ``module_name`` (the strict CuPy stand-in's, in tests) instead of compiling them:
    its chains are then fused too, so the wiring is tested without a GPU."""
    if on:
        _INTERPRETED.add(module_name)
    else:
        _INTERPRETED.discard(module_name)


def supports(xp: Any) -> bool:
    """Whether arrays of module ``xp`` get generated chain kernels: CuPy, or a module
    registered with ``interpret_on``."""
    return _is_cupy(xp) or xp.__name__ in _INTERPRETED


class _Interpreted:
    """An emitted kernel executed statement by statement with ``xp`` over the flat index
    (each statement is a Python assignment too; see the module docstring)."""

    _STATEMENT = re.compile(r"(?:T )?(\w+) = (.*);")

    def __init__(self, xp: Any, source: KernelSource) -> None:
        self.xp, self.source = xp, source
        self.inputs = [p.split()[-1] for p in source.in_params.split(", ")]
        self.outputs = [p.split()[-1] for p in source.out_params.split(", ")]
        self.statements = []
        for line in source.operation.splitlines():
            target, expr = self._STATEMENT.fullmatch(line.strip()).groups()
            self.statements.append((target, compile(expr, source.name, "eval")))

    def __call__(self, *args: Any) -> None:
        xp = self.xp
        first = args[0]
        kind = first.dtype.type
        names: dict[str, Any] = {
            "SJ_SELECT": xp.where, "SJ_BIAS": lambda i, inner, n: (i // inner) % n,
            "T": kind, "exp": xp.exp, "tanh": xp.tanh, "expm1": xp.expm1,
            "fmin": xp.minimum, "fmax": xp.maximum, "erf": _erf(xp),
            "i": xp.arange(first.size),
        }
        for name, value in zip(self.inputs + self.outputs, args, strict=True):
            names[name] = value.reshape(-1) if is_array(value) and name != "b" else value
        for target, code in self.statements:
            names[target] = eval(code, {"__builtins__": {}}, names)  # the emitted text
        for name, out in zip(self.outputs, args[len(self.inputs):], strict=True):
            out.reshape(-1)[...] = names[name]


def _erf(xp: Any) -> Any:
    """erf for the interpreter, from ``xp``'s own functions (NumPy has none): Abramowitz
    and Stegun 7.1.26, absolute error below 1.5e-7, enough for float32 tests."""
    def erf(a: Any) -> Any:
        t = 1.0 / (1.0 + 0.3275911 * xp.abs(a))
        poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (
            -1.453152027 + t * 1.061405429))))
        return (xp.sign(a) * (1.0 - poly * xp.exp(-a * a))).astype(a.dtype)

    return erf


class CudaChain:
    """A chain's kernel pair on device arrays, C-ordered, in their own layout."""

    def __init__(self, xp: Any, spec: ChainSpec) -> None:
        self.xp, self.spec = xp, spec
        if not _is_cupy(xp):
            self.forward_kernel, self.backward_kernel = (_Interpreted(xp, s)
                                                         for s in sources(spec))
        else:
            pair = _LOADED.get(spec)
            if pair is None:
                pair = _LOADED[spec] = tuple(
                    xp.ElementwiseKernel(s.in_params, s.out_params, s.operation, s.name,
                                         preamble=PREAMBLE)
                    for s in sources(spec))
            self.forward_kernel, self.backward_kernel = pair
        self.saved_values = spec.saved()

    def _bias_axes(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """(inner, channels): a linear layer's features are the last axis, a
        convolution's channels the second."""
        if self.spec.bias == "row":
            return math.prod(shape[2:]), shape[1]
        return 1, shape[-1]

    def forward(self, z: Any, bias: Any, values: tuple) -> tuple[Any, list[Any]]:
        """(vK, the saved values) from the producer's output ``z`` and the bias."""
        xp = self.xp
        y = xp.empty_like(z)
        saved = [xp.empty_like(z) for _ in self.saved_values]
        b_args: tuple = ()
        if self.spec.bias:
            inner, channels = self._bias_axes(z.shape)
            b_args = (bias, xp.int32(inner), xp.int32(channels))
        self.forward_kernel(z, *b_args, *values, y, *saved)
        return y, saved

    def backward(self, g: Any, y: Any, saved: list[Any], values: tuple
                 ) -> tuple[Any, Any]:
        """(the gradient with respect to v0, the bias gradient or None)."""
        gz = self.xp.empty_like(y)
        self.backward_kernel(g, y, *saved, *values, gz)
        if self.spec.bias is None:
            return gz, None
        inner, channels = self._bias_axes(y.shape)
        if self.spec.bias == "row":
            return gz, gz.reshape(y.shape[0], channels, inner).sum(axis=(0, 2))
        return gz, gz.reshape(-1, channels).sum(axis=0)


class CudaFusedChain:
    """The ``Function`` of a fused chain on the GPU (what ``fusion.FusedChain`` is on
    the CPU, same arguments): the producer's ``Function`` without its bias, then one
    generated kernel adding the bias and applying the chain; backward, one kernel for the
    chain's derivatives, a reduction for the bias, then the producer's backward."""

    def __init__(self, spec: ChainSpec, values: tuple, producer: Any, params: Any,
                 layout: str, chain: list[tuple[Any, dict]]) -> None:
        self.spec = spec
        self.raw_values = values
        self.producer = None if producer is None else producer()
        self.producer_params = params
        self.kernels: CudaChain | None = None
        self.needs_input_grad: tuple[bool, ...] = ()

    def forward(self, x: Any, *rest: Any) -> Any:
        xp = get_array_module(x)
        if self.kernels is None:
            self.kernels = CudaChain(xp, self.spec)
            kind = x.dtype.type
            self.values = tuple(kind(v) for v in self.raw_values)
        bias = None
        z = x
        if self.producer is not None:
            weight, *more = rest
            bias = more[0] if more else None
            if self.needs_input_grad:
                self.producer.needs_input_grad = self.needs_input_grad[:2]
            z = self.producer.forward(x, weight, **self.producer_params)
        self.y, self.saved = self.kernels.forward(xp.ascontiguousarray(z), bias, self.values)
        return self.y

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        gz, gb = self.kernels.backward(xp.ascontiguousarray(gy), self.y, self.saved,
                                       self.values)
        if self.producer is None:
            return gz
        gx, gw = self.producer.backward(gz)
        if len(self.needs_input_grad) == 3:
            return gx, gw, gb
        return gx, gw
