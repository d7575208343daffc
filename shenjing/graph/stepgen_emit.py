"""The op emitters of ``sj.compile``'s whole-step generator (``stepgen.py``).

One ``Emitter`` per op type writes that op's forward and backward as lines of Numba
source, on the arrays' variable names: the same formulas as the op's NumPy ``Function``
(see each one's docstring), in the same float operations, so a generated step agrees with
the plan to float32 rounding. A GEMM is ``np.dot`` (BLAS, as NumPy calls it); an
elementwise op is one flat loop; softmax with cross-entropy calls the kernel tier's own
kernels (``ops/_numba_loss.py``). An op type not in ``EMITTERS``, or one whose
arguments an emitter does not take (``supports``), keeps the whole step on the plan.

Names in the emitted code: ``one`` is the dtype's 1, ``LOG_FLOOR`` and ``BCE_EPS`` the
constants of ``ops/loss.py``; ``exp`` and ``tanh`` are the vectorising float32 ones
(``ops/_numba_exp.py``, ``ops/_numba_math.py``) in float32 code.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from shenjing.graph.symbolic import TensorRef

Lines = list[str]


class Emitter(NamedTuple):
    """How one op type is written into a generated step.

    ``forward(op, ins, out)`` gives the lines that compute ``out`` from the input names;
    ``backward(op, gy, ins, out, needs, into)`` gives (lines, one gradient name or None
    per input); ``into[i]``, when not None, names an array that input i's gradient may be
    written into directly (a parameter's ``.grad``), and the returned name is then it.
    ``supports(op, needs)`` says whether this op's arguments are ones the emitter takes.
    """

    supports: Callable[[Any, tuple[bool, ...]], bool]
    forward: Callable[..., Lines]
    backward: Callable[..., tuple[Lines, list[str | None]]]
    scalar: bool = False  # a loss: its output is a scalar, reduced over every element


def _flat_loop(out: str, ins: list[str], body: str) -> Lines:
    """A loop over every element: ``{out}[k] = body`` with ``a{i}`` the inputs' elements."""
    lines = [f"{out} = np.empty_like({ins[0]})", f"{out}_f = {out}.reshape(-1)"]
    lines += [f"{name}_f{i} = {name}.reshape(-1)" for i, name in enumerate(ins)]
    lines.append(f"for k in range({out}_f.size):")
    reads = [f"a{i} = {name}_f{i}[k]" for i, name in enumerate(ins)]
    lines += ["    " + r for r in reads]
    lines.append(f"    {out}_f[k] = {body}")
    return lines


def _elementwise(forward: str, backward: str, reads: str) -> Emitter:
    """An activation: ``forward`` of ``a0`` (x); ``backward`` of ``a0`` (gy) and ``a1``
    (x or y, as ``reads`` says)."""

    def supports(op: Any, needs: tuple[bool, ...]) -> bool:
        return (len(op.inputs) == 1 and op.outputs[0].shape == op.inputs[0].shape
                and all(isinstance(v, (int, float)) for v in op.params.values()))

    def fwd(op: Any, ins: list[str], out: str) -> Lines:
        return _flat_loop(out, ins, _with_params(forward, op))

    def bwd(op: Any, gy: str, ins: list[str], out: str, needs: tuple[bool, ...],
            into: list[str | None]) -> tuple[Lines, list[str | None]]:
        name = f"g_{out}"
        other = ins[0] if reads == "x" else out
        return _flat_loop(name, [gy, other], _with_params(backward, op)), [name]

    return Emitter(supports, fwd, bwd)


def _with_params(body: str, op: Any) -> str:
    for key, value in op.params.items():
        body = body.replace(key, f"dt({float(value)!r})")
    return body


# ------------------------------------------------------------------ Linear


def _linear_supports(op: Any, needs: tuple[bool, ...]) -> bool:
    x = op.inputs[0]
    return x.ndim == 2 and not op.params and len(op.inputs) in (2, 3)


def _linear_forward(op: Any, ins: list[str], out: str) -> Lines:
    x, w, *b = ins
    lines = [f"{out} = np.dot({x}, {w}.T)"]
    if b:
        lines += [f"for i in range({out}.shape[0]):",
                  f"    for j in range({out}.shape[1]):",
                  f"        {out}[i, j] += {b[0]}[j]"]
    return lines


def _linear_backward(op: Any, gy: str, ins: list[str], out: str, needs: tuple[bool, ...],
                     into: list[str | None]) -> tuple[Lines, list[str | None]]:
    """gx = gy @ W,  gW = gyᵀ @ x,  gb = Σ gy over the rows."""
    x, w, *b = ins
    lines: Lines = []
    names: list[str | None] = [None] * len(ins)
    if needs[0]:
        names[0] = f"gx_{out}"
        lines.append(f"{names[0]} = np.dot({gy}, {w})")
    if needs[1]:
        if into[1] is not None:
            names[1] = into[1]
            lines.append(f"np.dot({gy}.T, {x}, {into[1]})")
        else:
            names[1] = f"gw_{out}"
            lines.append(f"{names[1]} = np.dot({gy}.T, {x})")
    if b and needs[2]:
        gb = names[2] = into[2] if into[2] is not None else f"gb_{out}"
        if into[2] is None:
            lines.append(f"{gb} = np.empty({gy}.shape[1], {gy}.dtype)")
        # Column sums, each in float64 (NumPy's ones-vector product rounds alike).
        lines += [f"acc_{out} = np.zeros({gy}.shape[1], np.float64)",
                  f"for i in range({gy}.shape[0]):",
                  f"    for j in range({gy}.shape[1]):",
                  f"        acc_{out}[j] += {gy}[i, j]",
                  f"for j in range({gy}.shape[1]):",
                  f"    {gb}[j] = acc_{out}[j]"]
    return lines, names


# ------------------------------------------------------------------ losses


def _reduction(op: Any) -> str | None:
    return op.params.get("reduction")


def _loss_supports(extra: Callable[[Any], bool]) -> Callable[[Any, tuple[bool, ...]], bool]:
    def supports(op: Any, needs: tuple[bool, ...]) -> bool:
        return (_reduction(op) in ("mean", "sum") and not any(needs[1:]) and extra(op))

    return supports


def _scale(op: Any, gy: str, count: int) -> str:
    """d(reduced loss)/d(each element's loss) times ``gy``, as ``ops/loss.py``'s ``_scale``."""
    return f"({gy} / dt({count}))" if _reduction(op) == "mean" else gy


def _reduced(op: Any, acc: str, count: int) -> str:
    return f"dt({acc} / {count})" if _reduction(op) == "mean" else f"dt({acc})"


def _bce_forward(op: Any, ins: list[str], out: str) -> Lines:
    """ℓ = -[t·log p + (1 - t)·log(1 - p)], each log clamped to >= -100."""
    p, t = ins[:2]
    return [f"acc_{out} = 0.0",
            f"{p}_fl = {p}.reshape(-1)", f"{t}_fl = {t}.reshape(-1)",
            f"lodds_{out} = np.empty_like({p}_fl)",
            f"for k in range({p}_fl.size):",
            f"    log_p = max(np.log({p}_fl[k]), LOG_FLOOR)",
            f"    log_not_p = max(np.log1p(-{p}_fl[k]), LOG_FLOOR)",
            f"    lodds_{out}[k] = log_p - log_not_p",
            f"    acc_{out} += lodds_{out}[k] * {t}_fl[k] + log_not_p",
            f"{out} = -{_reduced(op, f'acc_{out}', math.prod(op.inputs[0].shape))}"]


def _bce_backward(op: Any, gy: str, ins: list[str], out: str, needs: tuple[bool, ...],
                  into: list[str | None]) -> tuple[Lines, list[str | None]]:
    """gp = (p - t) / max(p(1 - p), 1e-12)·gℓ."""
    p, t = ins[:2]
    name = f"g_{out}"
    scale = _scale(op, gy, math.prod(op.inputs[0].shape))
    lines = [f"scale_{out} = {scale}",
             f"{name} = np.empty_like({p})", f"{name}_fl = {name}.reshape(-1)",
             f"for k in range({p}_fl.size):",
             f"    pk = {p}_fl[k]",
             f"    {name}_fl[k] = (pk - {t}_fl[k]) / max(pk * (one - pk), BCE_EPS) * scale_{out}"]
    return lines, [name, None]


def _mse_forward(op: Any, ins: list[str], out: str) -> Lines:
    """ℓ = (x - t)²."""
    x, t = ins
    return [f"diff_{out} = ({x} - {t}).reshape(-1)",
            f"acc_{out} = 0.0",
            f"for k in range(diff_{out}.size):",
            f"    acc_{out} += diff_{out}[k] * diff_{out}[k]",
            f"{out} = {_reduced(op, f'acc_{out}', math.prod(op.inputs[0].shape))}"]


def _mse_backward(op: Any, gy: str, ins: list[str], out: str, needs: tuple[bool, ...],
                  into: list[str | None]) -> tuple[Lines, list[str | None]]:
    """gx = 2(x - t)·gℓ."""
    name = f"g_{out}"
    scale = _scale(op, gy, math.prod(op.inputs[0].shape))
    return ([f"{name} = (diff_{out} * (dt(2) * {scale})).reshape({ins[0]}.shape)"],
            [name, None])


def _labels(op: Any) -> Any:
    ref = op.params.get("labels")
    return ref.tensor if isinstance(ref, TensorRef) else None


def _sce_extra(op: Any) -> bool:
    labels = _labels(op)
    return (op.inputs[0].ndim == 2 and labels is not None and labels.ndim == 1
            and labels.op.type == "Placeholder" and labels.dtype == np.int64
            and op.params.get("weight") is None and op.params.get("keep") is None
            and isinstance(op.params.get("label_smoothing"), (int, float)))


def _sce_forward(op: Any, ins: list[str], out: str) -> Lines:
    """p = softmax(z); ℓ = (1 - ε)(-log p_y) + ε·mean_c(-log p_c) (``_numba_loss``)."""
    z, labels = ins[0], ins[-1]
    eps = float(op.params["label_smoothing"])
    return [f"probs_{out} = np.empty_like({z})",
            f"losses_{out} = np.empty({z}.shape[0], {z}.dtype)",
            f"sce_forward({z}, {labels}, probs_{out}, losses_{out}, dt({eps!r}), "
            f"dt({1 - eps!r}))",
            f"{out} = {_reduced(op, f'losses_{out}.sum()', op.inputs[0].shape[0])}"]


def _sce_backward(op: Any, gy: str, ins: list[str], out: str, needs: tuple[bool, ...],
                  into: list[str | None]) -> tuple[Lines, list[str | None]]:
    """gz = (p - q)·gℓ, q = (1 - ε)·onehot(y) + ε/C."""
    z, labels = ins[0], ins[-1]
    eps = float(op.params["label_smoothing"])
    classes = op.inputs[0].shape[1]
    name = f"g_{out}"
    return ([f"scale_{out} = np.empty(1, {z}.dtype)",
             f"scale_{out}[0] = {_scale(op, gy, op.inputs[0].shape[0])}",
             f"{name} = np.empty_like(probs_{out})",
             f"sce_backward(probs_{out}, {labels}, scale_{out}, {name}, "
             f"dt({eps / classes!r}), dt({1 - eps!r}), False)"], [name])


EMITTERS: dict[str, Emitter] = {
    "Linear": Emitter(_linear_supports, _linear_forward, _linear_backward),
    # A select vectorises; a NaN fails x < 0 and passes on, as NumPy's maximum passes it.
    "ReLU": _elementwise("dt(0) if a0 < dt(0) else a0", "a0 if a1 > dt(0) else dt(0)", "x"),
    "LeakyReLU": _elementwise("a0 if a0 > dt(0) else a0 * negative_slope",
                              "a0 if a1 > dt(0) else a0 * negative_slope", "x"),
    # NOTE: the sigmoid's and tanh's derivatives from their outputs, as the ops take them.
    "Sigmoid": _elementwise("one / (one + exp(-a0))", "(one - a1) * a1 * a0", "y"),
    "Tanh": _elementwise("tanh(a0)", "(one - a1 * a1) * a0", "y"),
    "BinaryCrossEntropy": Emitter(
        _loss_supports(lambda op: op.params.get("w") is None
                       and op.inputs[0].shape == op.inputs[1].shape),
        _bce_forward, _bce_backward, scalar=True),
    "MSELoss": Emitter(_loss_supports(lambda op: op.inputs[0].shape == op.inputs[1].shape),
                       _mse_forward, _mse_backward, scalar=True),
    "SoftmaxCrossEntropy": Emitter(_loss_supports(_sce_extra), _sce_forward, _sce_backward,
                                   scalar=True),
}
"""Op type -> how a generated step writes it."""


def extra_inputs(op: Any) -> list[Any]:
    """Tensors an op reads through its parameters (softmax cross-entropy's labels)."""
    labels = _labels(op) if op.type == "SoftmaxCrossEntropy" else None
    return [] if labels is None else [labels]
