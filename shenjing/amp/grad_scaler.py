"""``GradScaler``: loss scaling for float16 training, with PyTorch's semantics.

Small float16 gradients underflow to zero. Multiplying the loss by a large scale S
multiplies every gradient by S (backward is linear), so they stay representable; before
the optimizer uses them they are divided by S again. When any scaled gradient overflowed
(inf or NaN) the step is skipped and S shrinks; after ``growth_interval`` clean steps in a
row S grows:

    found_inf:  S ← S·backoff_factor,  tracker ← 0
    else:       tracker ← tracker + 1;  if tracker = growth_interval: S ← S·growth_factor,
                tracker ← 0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing.backend import get_array_module
from shenjing.tensor import Tensor

__all__ = ["GradScaler"]

_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


class GradScaler:
    """Scale the loss, unscale the gradients, skip steps with inf/NaN gradients.

    Args:
        device: ``"cpu"`` or ``"cuda"`` (PyTorch's default is ``"cuda"``).
        init_scale: the starting scale S.
        growth_factor: S is multiplied by it after ``growth_interval`` clean steps.
        backoff_factor: S is multiplied by it after a step with inf/NaN gradients.
        growth_interval: clean steps in a row before S grows.
        enabled: ``False`` makes every method a pass-through (``scale`` returns the
            loss, ``step`` just steps).

    Example:
        >>> scaler = sj.amp.GradScaler("cpu")
        >>> with sj.autocast("cpu", dtype=sj.float16):
        ...     loss = loss_fn(model(x), y)
        >>> scaler.scale(loss).backward()
        >>> scaler.step(optimizer)
        >>> scaler.update()
    """

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        if growth_factor <= 1.0:
            raise ValueError(f"GradScaler: growth_factor must be > 1. Received: {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(
                f"GradScaler: backoff_factor must be in (0, 1). Received: {backoff_factor}")
        self._device = str(device)
        self._enabled = bool(enabled)
        # Kept as float32, as PyTorch keeps the scale in a float32 tensor.
        self._scale = np.float32(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._per_optimizer: dict[int, dict[str, Any]] = {}
        self._scaled = False  # PyTorch creates its scale tensor in the first scale()

    # ------------------------------------------------------------------- scaling
    def scale(self, outputs: Any) -> Any:
        """``outputs`` times the scale: a tensor, or lists/tuples of tensors."""
        if not self._enabled:
            return outputs
        self._scaled = True
        if isinstance(outputs, Tensor):
            xp = get_array_module(outputs.array)
            # A 0-d float32 scale: the loss keeps its dtype, as PyTorch's 0-d scale does.
            return outputs * Tensor._make(xp.asarray(self._scale, dtype=outputs.dtype), None)
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise TypeError(
            f"GradScaler.scale: expected a Tensor or a list/tuple of tensors. "
            f"Received: {type(outputs).__name__}"
        )

    def _check_scaled(self, caller: str) -> None:
        if not self._scaled:
            raise AssertionError(
                f"Attempted {caller} but _scale is None.  This may indicate your script did "
                "not use scaler.scale(loss or outputs) earlier in the iteration.")

    def _state(self, optimizer: Any) -> dict[str, Any]:
        return self._per_optimizer.setdefault(id(optimizer), {"stage": _READY,
                                                              "found_inf": False})

    def unscale_(self, optimizer: Any) -> None:
        """Divide ``optimizer``'s gradients by the scale, in place, and note whether any
        is inf/NaN. Call it at most once per ``update()`` (e.g. before gradient clipping)."""
        if not self._enabled:
            return
        self._check_scaled("unscale_")
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # PyTorch computes 1/S in float64, then rounds it to float32.
        inv_scale = np.float32(1.0 / np.float64(self._scale))
        found: Any = False  # stays on the device: step() reads it once
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.array
                if g.dtype == np.float16:
                    raise ValueError("Attempting to unscale FP16 gradients.")
                xp = get_array_module(g)
                g *= xp.asarray(inv_scale, dtype=g.dtype)
                found = xp.logical_or(found, xp.logical_not(xp.isfinite(g).all()))
        state["found_inf"] = found
        state["stage"] = _UNSCALED

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """Unscale (unless ``unscale_`` did) and run ``optimizer.step()``, unless a
        gradient was inf/NaN: then the step is skipped and None returned."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError(
                "Closure use is not currently supported if GradScaler is enabled.")
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        state["found_inf"] = bool(state["found_inf"])  # the step's one read from the device
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale: float | Tensor | None = None) -> None:
        """Set the scale for the next iteration: ``new_scale`` if given, else back off
        after an inf/NaN step or grow after ``growth_interval`` clean ones."""
        if not self._enabled:
            return
        self._check_scaled("update")
        if new_scale is not None:
            if isinstance(new_scale, Tensor):
                if new_scale.numel() != 1 or new_scale.dtype != np.float32:
                    raise ValueError(
                        "GradScaler.update: new_scale should be a float32 tensor with a "
                        f"single element. Received: shape={new_scale.shape}, "
                        f"dtype={new_scale.dtype}")
                new_scale = new_scale.item()
            self._scale = np.float32(new_scale)
        else:
            checked = [s for s in self._per_optimizer.values() if s["stage"] != _READY]
            if not checked:
                raise AssertionError("No inf checks were recorded prior to update.")
            if any(bool(s["found_inf"]) for s in checked):
                self._scale = np.float32(self._scale * np.float32(self._backoff_factor))
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = np.float32(self._scale * np.float32(self._growth_factor))
                    if np.isfinite(grown):  # PyTorch keeps the scale finite
                        self._scale = grown
                    self._growth_tracker = 0
        self._per_optimizer.clear()

    # ------------------------------------------------------------------ accessors
    def get_scale(self) -> float:
        """The current scale (1.0 when disabled)."""
        return float(self._scale) if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        """The factor the scale grows by."""
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        """Set the factor the scale grows by."""
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        """The factor the scale shrinks by."""
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        """Set the factor the scale shrinks by."""
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        """Clean steps in a row before the scale grows."""
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        """Set the clean steps in a row before the scale grows."""
        self._growth_interval = int(new_interval)

    def is_enabled(self) -> bool:
        """Whether the scaler does anything."""
        return self._enabled

    def state_dict(self) -> dict[str, Any]:
        """The scale, factors, interval and growth tracker (empty when disabled), under
        PyTorch's keys."""
        if not self._enabled:
            return {}
        return {
            "scale": self.get_scale(),
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._growth_tracker,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned (also from PyTorch's GradScaler)."""
        if not self._enabled:
            raise RuntimeError(
                "Attempting to load_state_dict on a disabled instance of GradScaler.")
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved "
                "from a disabled instance of GradScaler.")
        self._scale = np.float32(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])
