"""Whole-model gradient checking: every parameter's ``backward()`` gradient against central
differences in float64, as a table; and ``GradCheck``, the same check as a ``fit`` callback.

``sj.gradcheck`` checks one function of a few tensors. A model adds two things that make a
loss non-deterministic between evaluations, and this check freezes both:

- **Dropout** draws a fresh mask on every forward pass. The generator's state is taken once
  and restored before every evaluation, so each one draws the *same* masks (and the user's
  generator is left exactly where it was: a check inside ``fit`` does not change training).
- **BatchNorm** in train mode normalises with the batch's statistics, which do not depend on
  earlier evaluations, but it also updates its running statistics. The buffers are restored
  before every evaluation all the same, so any layer whose output reads its own buffers in
  train mode is checked correctly too.

The model itself is never touched: the check runs on a float64 deep copy.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shenjing import backend
from shenjing.autograd import GradcheckError, no_grad
from shenjing.autograd.gradcheck import central_difference
from shenjing.tensor import Tensor
from shenjing.training.callbacks import Callback

__all__ = ["GradCheck", "GradCheckReport", "GradCheckRow", "gradcheck_model"]

LossLike = str | Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class GradCheckRow:
    """The check of one parameter.

    Attributes:
        name: the parameter's dotted name (``"0.weight"``).
        shape: its shape.
        checked: how many of its elements were perturbed.
        max_error: the largest relative error over the checked elements (see
            ``gradcheck_model`` for the definition).
        worst_index: where that error occurred.
        numeric, analytic: the two gradients at ``worst_index``.
        passed: ``max_error <= rtol``.
    """

    name: str
    shape: tuple[int, ...]
    checked: int
    max_error: float
    worst_index: tuple[int, ...]
    numeric: float
    analytic: float
    passed: bool


@dataclass
class GradCheckReport:
    """The table ``gradcheck_model`` returns: one ``GradCheckRow`` per parameter.

    Iterate over it, index it or ``len()`` it like the list of rows; ``print`` it for the
    table; ``passed`` says whether every parameter passed and ``failed`` lists those that
    did not.
    """

    rows: list[GradCheckRow]
    eps: float
    atol: float
    rtol: float
    title: str = field(default="")

    @property
    def passed(self) -> bool:
        """True when every parameter passed."""
        return all(row.passed for row in self.rows)

    @property
    def failed(self) -> list[GradCheckRow]:
        """The rows of the parameters that failed."""
        return [row for row in self.rows if not row.passed]

    def __iter__(self) -> Iterator[GradCheckRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> GradCheckRow:
        return self.rows[index]

    def __str__(self) -> str:
        header = ("parameter", "shape", "checked", "max rel. error", "worst index",
                  "numeric", "analytic", "result")
        body = [
            (row.name, str(row.shape), f"{row.checked}/{math.prod(row.shape)}",
             f"{row.max_error:.2e}", str(row.worst_index), f"{row.numeric:.6g}",
             f"{row.analytic:.6g}", "ok" if row.passed else "FAIL")
            for row in self.rows
        ]
        widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
        lines = [self.title] if self.title else []
        for line in (header, *body):
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True))
                         .rstrip())
        failed = self.failed
        verdict = (f"all {len(self.rows)} parameters pass" if not failed else
                   f"{len(failed)} of {len(self.rows)} parameters FAIL: "
                   + ", ".join(row.name for row in failed))
        lines.append(f"{verdict} (float64, eps={self.eps:g}, rtol={self.rtol:g}, "
                     f"atol={self.atol:g})")
        return "\n".join(lines)


def gradcheck_model(
    model: Any,
    x: Any,
    y: Any,
    loss: LossLike = "cross_entropy",
    eps: float = 1e-6,
    atol: float = 1e-7,
    rtol: float = 1e-4,
    max_elements_per_param: int | None = 50,
    training: bool = True,
    seed: int = 0,
) -> GradCheckReport:
    """Check every parameter's gradient of ``loss(model(x), y)`` against central differences.

    The model is deep-copied and converted to float64 (parameters, floating buffers and
    floating inputs/targets); one ``backward()`` gives the analytic gradient ∂C/∂θ, and each
    checked element θᵢ gets the numeric one

        (C(θ + eps·eᵢ) − C(θ − eps·eᵢ)) / (2·eps).

    With a the analytic and n the numeric value, an element's relative error is

        |a − n| / (max(|a|, |n|) + atol/rtol)

    (gradients smaller than atol/rtol are thus compared absolutely, against atol) and a
    parameter passes when its largest error is at most ``rtol``. Dropout masks are frozen
    and BatchNorm is held in train mode (see the module docstring); the caller's model and
    random generator are left as they were.

    Args:
        model: any ``nn.Module`` (lazy layers are built by one forward pass first).
        x: a batch of inputs (an array or Tensor); keep it small, every checked element
            costs two forward passes.
        y: the targets.
        loss: a loss name known to ``compile`` ("cross_entropy", "mse", ...) or a function
            ``loss(output, target) -> scalar Tensor``.
        eps: the finite-difference step.
        atol, rtol: the tolerances above.
        max_elements_per_param: check at most this many elements of each parameter,
            chosen at random with ``seed`` (None checks every element).
        training: run the model in training mode (dropout and batch statistics active).
        seed: seeds the choice of elements (not the model's generator).

    Returns:
        A ``GradCheckReport``: per parameter, the max relative error, the worst index, the
        two gradients there, and pass/fail.

    Example:
        >>> import numpy as np, shenjing.nn as nn
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
        >>> x, y = np.random.default_rng(0).normal(size=(5, 4)), np.array([0, 1, 2, 1, 0])
        >>> gradcheck_model(model, x, y, "cross_entropy").passed
        True
    """
    if eps <= 0 or atol < 0 or rtol <= 0:
        raise ValueError(
            f"gradcheck_model: eps and rtol must be positive and atol non-negative. "
            f"Received: eps={eps}, atol={atol}, rtol={rtol}"
        )
    if max_elements_per_param is not None and max_elements_per_param < 1:
        raise ValueError(
            f"gradcheck_model: max_elements_per_param must be positive or None. "
            f"Received: {max_elements_per_param}"
        )
    loss_fn = _loss_function(loss)
    x64, y64 = _as_float64_tensor(x), _as_float64_tensor(y)
    user_rng = backend.get_rng_state()
    try:
        check_model = _float64_copy(model, x)
        check_model.train(training)
        buffers = [(b, b.array.copy()) for b in check_model.buffers()]

        def cost() -> Tensor:
            # The same dropout masks and the same buffers for every evaluation.
            backend.set_rng_state(user_rng)
            for buffer, saved in buffers:
                buffer.array[...] = saved
            output = check_model(x64)
            if output.dtype != np.float64:
                raise TypeError(
                    f"gradcheck_model: the model's output is {output.dtype} although its "
                    f"parameters and input are float64; a layer casts to a lower precision"
                )
            target = y64
            # As in fit: Keras users give (N,) targets to (N, 1) outputs.
            if target.ndim == 1 and output.ndim == 2 and output.shape[1] == 1:
                target = target.reshape(-1, 1)
            value = loss_fn(output, target)
            if value.numel() != 1:
                raise ValueError(
                    f"gradcheck_model: the loss must be a scalar. Received: shape={value.shape}"
                )
            return value

        params = [(name, p) for name, p in check_model.named_parameters() if p.requires_grad]
        if not params:
            raise ValueError("gradcheck_model: the model has no parameter requiring a gradient")
        for _, p in params:
            p.grad = None
        cost().backward()

        def numeric_cost() -> float:
            with no_grad():
                return float(cost().item())

        rng = np.random.default_rng(seed)
        rows = [
            _check_parameter(name, p, numeric_cost, eps, atol, rtol, max_elements_per_param, rng)
            for name, p in params
        ]
    finally:
        backend.set_rng_state(user_rng)
    return GradCheckReport(rows, eps, atol, rtol, title=f"gradcheck_model: {type(model).__name__}")


def _check_parameter(
    name: str,
    param: Tensor,
    numeric_cost: Callable[[], float],
    eps: float,
    atol: float,
    rtol: float,
    max_elements: int | None,
    rng: np.random.Generator,
) -> GradCheckRow:
    """Perturb (a random subset of) one parameter's elements; the row of the worst one."""
    data = param.array
    analytic = np.zeros(param.shape) if param.grad is None else param.grad.numpy()
    flat_indices = np.arange(param.numel())
    if max_elements is not None and param.numel() > max_elements:
        flat_indices = np.sort(rng.choice(param.numel(), max_elements, replace=False))
    worst = (-1.0, (), 0.0, 0.0)
    floor = atol / rtol
    for flat in flat_indices:
        index = np.unravel_index(flat, param.shape)
        numeric = central_difference(numeric_cost, data, index, eps)
        a = float(analytic[index])
        error = abs(a - numeric) / (max(abs(a), abs(numeric)) + floor)
        if not math.isfinite(error):
            error = math.inf
        if error > worst[0]:
            worst = (error, tuple(int(i) for i in index), numeric, a)
    error, index, numeric, a = worst
    return GradCheckRow(name, tuple(param.shape), len(flat_indices), error, index, numeric, a,
                        error <= rtol)


def _loss_function(loss: LossLike) -> Callable[[Tensor, Tensor], Tensor]:
    from shenjing.training.registry import resolve_loss

    return resolve_loss(loss).function


def _as_float64_tensor(value: Any) -> Tensor:
    """Floating data as float64; integer data (labels, indices) as it is."""
    data = value.array if isinstance(value, Tensor) else value
    if not backend.is_array(data):
        data = np.asarray(data)
    if data.dtype.kind == "f":
        data = data.astype(np.float64)
    return Tensor(data, dtype=data.dtype)


def _float64_copy(model: Any, x: Any) -> Any:
    """A deep copy of ``model`` in float64, without its trainer and optimizer."""
    if any(getattr(m, "built", True) is False for m in model.modules()):
        # A Dense that has not seen data yet: give it its weights (in float32, as fit would).
        data = np.asarray(x.numpy() if isinstance(x, Tensor) else x)
        model.build(data.shape, dtype=None if data.dtype.kind == "f" else data.dtype)
    # Training state hangs off the model (compile's trainer, its optimizer): not copied.
    memo: dict[int, Any] = {}
    for module in model.modules():
        for key in ("_trainer", "optimizer"):
            value = module.__dict__.get(key)
            if value is not None:
                memo[id(value)] = None
    copied = copy.deepcopy(model, memo)
    for tensor in (*copied.parameters(), *copied.buffers()):
        tensor.grad = None
        if tensor.dtype.kind == "f":
            tensor.array = tensor.array.astype(np.float64)
    return copied


class GradCheck(Callback):
    """Runs ``gradcheck_model`` every ``every`` training batches during ``fit``.

    Some backward bugs only show once the weights have moved (a ReLU that was never
    negative, a saturated gate), so checking at initialisation is not enough. The check
    runs after the optimizer's step, on a float64 copy; it leaves the model and the random
    generator untouched, so training goes on exactly as it would without it.

    Args:
        every: check after every ``every``-th batch (counted across epochs).
        x, y: a fixed batch to check on; by default the batch just trained on, cut to
            ``max_samples`` samples.
        loss: the loss; by default the one given to ``compile``.
        on_failure: "raise" (a ``GradcheckError`` carrying the table as ``.report``) or
            "stop" (print the table and set ``model.stop_training``).
        max_samples: samples of the current batch to check on.
        verbose: print every table, not only failing ones.
        **options: passed on to ``gradcheck_model`` (eps, atol, rtol,
            max_elements_per_param).

    Attributes:
        reports: ``(batch_count, GradCheckReport)`` for every check made.

    Example:
        >>> model.fit(x, y, callbacks=[GradCheck(every=100)])  # doctest: +SKIP
    """

    def __init__(
        self,
        every: int = 100,
        x: Any = None,
        y: Any = None,
        loss: LossLike | None = None,
        on_failure: str = "raise",
        max_samples: int = 8,
        verbose: bool = False,
        **options: Any,
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"GradCheck: every must be a positive integer. Received: {every!r}")
        if on_failure not in ("raise", "stop"):
            raise ValueError(
                f"GradCheck: on_failure must be 'raise' or 'stop'. Received: {on_failure!r}"
            )
        if (x is None) != (y is None):
            raise ValueError("GradCheck: give both x and y, or neither (to use the batch)")
        self.every = every
        self.x, self.y = x, y
        self.loss = loss
        self.on_failure = on_failure
        self.max_samples = max_samples
        self.verbose = verbose
        self.options = options
        self.reports: list[tuple[int, GradCheckReport]] = []
        self._count = 0
        self._batch: tuple[Any, Any] | None = None

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self._count = 0
        self.reports = []
        if self.x is None:
            # The hooks do not see the batch, so catch it on its way into train_step.
            model, callback = self.model, self
            original = model.train_step

            def recording_train_step(batch: tuple[Any, Any]) -> float:
                callback._batch = batch
                return original(batch)

            object.__setattr__(model, "train_step", recording_train_step)

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        self._unwrap()

    def _unwrap(self) -> None:
        if "train_step" in self.model.__dict__:
            object.__delattr__(self.model, "train_step")
        self._batch = None

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        self._count += 1
        if self._count % self.every:
            return
        if self.x is not None:
            x, y = self.x, self.y
        else:
            x, y = (t[: self.max_samples] for t in self._batch)
        loss = self.loss
        if loss is None:
            loss = self.model._compiled("GradCheck").loss.function
        report = gradcheck_model(self.model, x, y, loss, **self.options)
        report.title = f"GradCheck after batch {self._count}"
        self.reports.append((self._count, report))
        if self.verbose or not report.passed:
            print(report)
        if not report.passed:
            if self.on_failure == "raise":
                self._unwrap()  # fit will not reach on_train_end
                error = GradcheckError(f"GradCheck failed after batch {self._count}:\n{report}")
                error.report = report
                raise error
            self.model.stop_training = True
