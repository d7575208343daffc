"""L-BFGS: a quasi-Newton method that builds its curvature estimate from the last few
steps and gradients, with an optional strong-Wolfe line search."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from shenjing.autograd import enable_grad
from shenjing.backend import get_array_module
from shenjing.optim.optimizer import Array, Optimizer, ParamsLike, check_non_negative
from shenjing.tensor import Tensor


class LBFGS(Optimizer):
    """L-BFGS (Nocedal, 1980; Liu & Nocedal, 1989), PyTorch's variant: ``step(closure)``
    runs up to ``max_iter`` iterations on the loss the closure returns.

    All parameters are seen as one flat vector x with gradient g. Each iteration::

        s = t·d (the last step), y = g − g_prev; keep (s, y, ρ = 1/yᵀs) if yᵀs > 1e-10
        (at most ``history_size`` pairs) and set H₀ = yᵀs / yᵀy
        d = −H·g by the two-loop recursion:
            q = −g;  for i newest → oldest: αᵢ = ρᵢ sᵢᵀq,  q −= αᵢ yᵢ
            r = H₀ q; for i oldest → newest: βᵢ = ρᵢ yᵢᵀr, r += (αᵢ − βᵢ) sᵢ;  d = r
        t = γ (the first iteration: min(1, 1/‖g‖₁)·γ); stop if gᵀd > −tolerance_change
        x = x + t·d, with t from a strong-Wolfe line search if asked (c₁ = 1e-4, c₂ = 0.9)

    It stops after ``max_iter`` iterations or ``max_eval`` closure calls, when
    max|g| ≤ tolerance_grad, or when the step or the loss change falls under
    tolerance_change. The history carries over between ``step`` calls.

    Args:
        params: the tensors to optimize (one group, as in PyTorch).
        lr: learning rate γ (the step length before any line search).
        max_iter: iterations per ``step``.
        max_eval: closure calls per ``step`` (default ``max_iter · 5/4``).
        tolerance_grad: stop when the largest gradient entry is at most this.
        tolerance_change: stop when the step or the loss changes by less than this.
        history_size: how many (s, y) pairs to keep.
        line_search_fn: None (fixed step γ) or "strong_wolfe".

    Example:
        >>> import shenjing as sj
        >>> w = sj.tensor([3.0, -2.0], requires_grad=True)
        >>> opt = sj.optim.LBFGS([w], line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = ((w - 1.0) ** 2).sum()
        ...     loss.backward()
        ...     return loss
        >>> _ = opt.step(closure)
        >>> [round(v, 4) for v in w.tolist()]
        [1.0, 1.0]
    """

    def __init__(
        self,
        params: ParamsLike,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {
            "lr": lr, "max_iter": max_iter, "max_eval": max_eval,
            "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
            "history_size": history_size, "line_search_fn": line_search_fn,
        }
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params: list[Tensor] = self.param_groups[0]["params"]

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        check_non_negative("learning rate", group["lr"])
        for name in ("max_iter", "max_eval", "history_size"):
            value = group[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Invalid {name}: {value!r} (expected a positive int)")
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise RuntimeError("only 'strong_wolfe' is supported")

    # ------------------------------------------------------------------ the flat vector
    def _flat_grad(self) -> Array:
        xp = get_array_module(self._params[0].array)
        return xp.concatenate([
            (xp.zeros(p.array.size, p.array.dtype) if p.grad is None
             else p.grad.array.reshape(-1)) for p in self._params])

    def _add(self, t: float, d: Array) -> None:
        """x += t·d, parameter by parameter, in place."""
        offset = 0
        for p in self._params:
            n = p.array.size
            p.array += (t * d[offset:offset + n]).reshape(p.array.shape).astype(p.array.dtype)
            offset += n

    def _evaluate(self, closure: Callable[[], Any], x: list[Array], t: float,
                  d: Array) -> tuple[float, Array]:
        """Loss and flat gradient at x + t·d; the parameters are put back at x."""
        self._add(t, d)
        with enable_grad():
            loss = float(closure())
        g = self._flat_grad()
        for p, value in zip(self._params, x, strict=True):
            p.array[...] = value
        return loss, g

    # ------------------------------------------------------------------ the step
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Run up to ``max_iter`` L-BFGS iterations; returns the first loss evaluated."""
        if closure is None:
            raise RuntimeError("LBFGS.step needs a closure that re-evaluates the model and "
                               "returns the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        state = self.state.setdefault(self._params[0], {"func_evals": 0, "n_iter": 0})

        with enable_grad():
            first_loss = closure()
        loss = float(first_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        xp = get_array_module(g)
        if float(xp.abs(g).max()) <= tol_grad:
            return first_loss

        d, t = state.get("d"), state.get("t")
        dirs, steps, rhos = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, g_prev, loss_prev = state.get("H_diag"), state.get("prev_flat_grad"), None
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d, dirs, steps, rhos, h_diag = -g, [], [], [], 1.0
            else:
                y, s = g - g_prev, d * t
                ys = float(y @ s)
                if ys > 1e-10:  # keep the pair only if the curvature is positive
                    if len(dirs) == group["history_size"]:
                        dirs.pop(0), steps.pop(0), rhos.pop(0)
                    dirs.append(y), steps.append(s), rhos.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                alphas = [0.0] * len(dirs)
                q = -g
                for i in range(len(dirs) - 1, -1, -1):
                    alphas[i] = float(steps[i] @ q) * rhos[i]
                    q = q - alphas[i] * dirs[i]
                d = q * h_diag
                for i in range(len(dirs)):
                    beta = float(dirs[i] @ d) * rhos[i]
                    d = d + (alphas[i] - beta) * steps[i]
            g_prev = g.copy()
            loss_prev = loss
            t = min(1.0, 1.0 / float(xp.abs(g).sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(g @ d)
            if gtd > -tol_change:  # not a descent direction
                break

            ls_evals = 0
            if group["line_search_fn"] is not None:
                x = [p.array.copy() for p in self._params]
                loss, g, t, ls_evals = strong_wolfe(
                    lambda step, x=x, d=d: self._evaluate(closure, x, step, d), t, d, loss, g,
                    gtd, tol_change)
                self._add(t, d)
                done = float(xp.abs(g).max()) <= tol_grad
            else:
                self._add(t, d)
                done = False
                if n_iter != max_iter:  # the last iteration's loss is not needed
                    with enable_grad():
                        loss = float(closure())
                    g = self._flat_grad()
                    done = float(xp.abs(g).max()) <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals

            if n_iter == max_iter or evals >= max_eval or done:
                break
            if float(xp.abs(d * t).max()) <= tol_change or abs(loss - loss_prev) < tol_change:
                break

        state.update(d=d, t=t, old_dirs=dirs, old_stps=steps, ro=rhos, H_diag=h_diag,
                     prev_flat_grad=g_prev, prev_loss=loss_prev)
        return first_loss

    # ------------------------------------------------------------------ save / restore
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {0: ...}, "param_groups": [...]}``: the history lives with the first
        parameter, as in PyTorch; arrays and lists of arrays are copied."""
        packed = super().state_dict()
        for entry in packed["state"].values():
            for key, value in entry.items():
                if isinstance(value, list):
                    entry[key] = [_copy(v) for v in value]
        return packed

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a snapshot taken by ``state_dict()`` (flat vectors keep their shape)."""
        saved = state_dict.get("state", {}) if isinstance(state_dict, dict) else {}
        group = state_dict["param_groups"][0] if saved else None
        history = {}
        if saved:
            ((_, entry),) = saved.items()
            history = {key: [_copy(v) for v in value] if isinstance(value, list) else
                       _copy(value) for key, value in entry.items()}
        super().load_state_dict({"state": {}, "param_groups": state_dict["param_groups"]})
        if group is not None:
            self.state = {self._params[0]: history}
        self._params = self.param_groups[0]["params"]


def _copy(value: Any) -> Any:
    """An array copied; a number as it is."""
    return value.copy() if hasattr(value, "copy") else value


def cubic_minimum(t1: float, f1: float, g1: float, t2: float, f2: float, g2: float,
                  bounds: tuple[float, float] | None = None) -> float:
    """Where the cubic through (t1, f1) and (t2, f2) with slopes g1, g2 has its minimum,
    clamped to ``bounds`` (default the interval); the midpoint if the cubic has none.

    d₁ = g₁ + g₂ − 3(f₁ − f₂)/(t₁ − t₂), d₂ = √(d₁² − g₁g₂),
    t* = t₂ − (t₂ − t₁)(g₂ + d₂ − d₁)/(g₂ − g₁ + 2d₂)   (Nocedal & Wright, eq. 3.59)
    """
    low, high = bounds if bounds is not None else (min(t1, t2), max(t1, t2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (t1 - t2)
    square = d1 * d1 - g1 * g2
    if square < 0:
        return (low + high) / 2
    d2 = math.sqrt(square)
    if t1 <= t2:
        t = t2 - (t2 - t1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        t = t1 - (t1 - t2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(t, low), high)


def strong_wolfe(
    evaluate: Callable[[float], tuple[float, Array]], t: float, d: Array, f: float, g: Array,
    gtd: float, tolerance_change: float = 1e-9, c1: float = 1e-4, c2: float = 0.9,
    max_ls: int = 25,
) -> tuple[float, Array, float, int]:
    """A step t along d meeting the strong Wolfe conditions
    f(t) ≤ f + c₁·t·gᵀd and |g(t)ᵀd| ≤ c₂·|gᵀd|: bracket, then zoom by cubic
    interpolation (Nocedal & Wright, algorithms 3.5 and 3.6). Returns the loss, the
    gradient and t found, and the number of evaluations."""
    xp = get_array_module(d)
    d_norm = float(xp.abs(d).max())
    f_new, g_new = evaluate(t)
    evals, gtd_new = 1, float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done, ls_iter = False, 0
    bracket: list[list[Any]] = []  # [t, f, g, gtd] at each end
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        if abs(gtd_new) <= -c2 * gtd:  # both conditions hold: done
            bracket, done = [[t, f_new, g_new, gtd_new]], True
            break
        if gtd_new >= 0:  # past a minimum: it lies between t_prev and t
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        # extrapolate: a step between a bit past t and ten times t
        t_next = cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evals, gtd_new, ls_iter = evals + 1, float(g_new @ d), ls_iter + 1
    if ls_iter == max_ls:
        bracket = [[0.0, f, g, gtd], [t, f_new, g_new, gtd_new]]

    # zoom: shrink the bracket until the conditions hold; ``low`` is the better end
    stalled = False
    low, high = (0, 1) if bracket[0][1] <= bracket[-1][1] else (1, 0)
    while not done and ls_iter < max_ls:
        (ta, fa, _, ga), (tb, fb, _, gb) = bracket
        if abs(tb - ta) * d_norm < tolerance_change:
            break
        t = cubic_minimum(ta, fa, ga, tb, fb, gb)
        # keep t off the ends: a step too close to one twice in a row moves inwards
        top, bottom = max(ta, tb), min(ta, tb)
        margin = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < margin:
            if stalled or t >= top or t <= bottom:
                t = top - margin if abs(t - top) < abs(t - bottom) else bottom + margin
                stalled = False
            else:
                stalled = True
        else:
            stalled = False
        f_new, g_new = evaluate(t)
        evals, gtd_new, ls_iter = evals + 1, float(g_new @ d), ls_iter + 1
        if f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
            bracket[high] = [t, f_new, g_new, gtd_new]
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = [t, f_new, g_new, gtd_new]
    t, f_new, g_new, _ = bracket[low]
    return f_new, g_new, t, evals
