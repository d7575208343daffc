"""Callbacks: code that ``fit`` calls at fixed points of training, in Keras's order.

train begin → (epoch begin → (batch begin → batch end)* → epoch end)* → train end.
Logs are flat dicts of floats; validation values carry a ``val_`` prefix. A callback stops
training by setting ``model.stop_training = True``.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np

# Library messages go to "shenjing" (unconfigured, Python prints warnings on stderr).
logger = logging.getLogger(__name__)


class Callback:
    """Base class: every hook does nothing. ``self.model`` is the model being trained.

    A callback that writes files or shows things sets ``main_rank_only = True``: in
    data-parallel training only rank 0 runs it.
    """

    model: Any = None
    main_rank_only = False
    params: dict[str, Any]

    def set_model(self, model: Any) -> None:
        """Called by ``fit`` before training."""
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        """Called by ``fit`` with epochs, steps per epoch and verbosity."""
        self.params = params

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        """Before the first epoch."""

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        """After the last epoch."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        """Before each epoch (counted from 0)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        """After each epoch, with its training and validation logs."""

    def on_train_batch_begin(self, batch: int, logs: dict[str, float] | None = None) -> None:
        """Before each training batch."""

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        """After each training batch, with the running loss and metrics."""


class CallbackList:
    """Dispatches each event to every callback, in order."""

    def __init__(self, callbacks: list[Callback], model: Any, params: dict[str, Any]) -> None:
        self.callbacks = callbacks
        for callback in callbacks:
            callback.set_model(model)
            callback.set_params(params)

    def __getattr__(self, event: str) -> Callable[..., None]:
        if not event.startswith("on_"):
            raise AttributeError(event)

        def dispatch(*args: Any) -> None:
            for callback in self.callbacks:
                getattr(callback, event)(*args)

        return dispatch


class History(Callback):
    """Records every epoch's logs: ``history.history["loss"]`` is the loss per epoch."""

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class TerminateOnNaN(Callback):
    """Stops training when the loss becomes NaN or infinite; on by default in ``fit``.

    The model and its optimizer are put back as they were at the end of the last finite
    epoch (their state is copied at each epoch's start), so the model in memory is never
    the wrecked one and training can go on from there (with a smaller learning rate); the
    epoch that diverged is not reported to ``on_epoch_end`` (it did not complete).
    ``stopped_epoch`` (counted from 0) and ``message`` say what happened.
    """

    def __init__(self) -> None:
        self.epoch = 0
        self.message: str | None = None
        self.stopped_epoch: int | None = None
        self._weights: dict[str, Any] | None = None
        self._optimizer_state: dict[str, Any] | None = None

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self.message, self.stopped_epoch = None, None

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.epoch = epoch
        # A lazy model has no weights before its first batch, and a named optimizer no
        # parameters: nothing to restore then.
        self._weights = {k: v.copy() for k, v in self.model.state_dict().items()}
        optimizer = getattr(self.model, "optimizer", None)
        self._optimizer_state = (optimizer.state_dict() if optimizer is not None
                                 and optimizer.param_groups else None)

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            restored = bool(self._weights)
            if restored:
                self.model.load_state_dict(self._weights)
            if self._optimizer_state is not None:
                self.model.optimizer.load_state_dict(self._optimizer_state)
            self.stopped_epoch = self.epoch
            self.message = (
                f"TerminateOnNaN: the loss became {loss} at epoch {self.epoch + 1}, batch "
                f"{batch + 1}; training stopped"
                + (f" with the weights of epoch {self.epoch}" if restored and self.epoch else "")
                + ". Try a smaller learning rate."
            )
            logger.warning(self.message)
            self.model.stop_training = True


def _improvement(mode: str, monitor: str) -> Callable[[float, float], bool]:
    if mode == "auto":
        mode = "max" if "acc" in monitor else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max'. Received: {mode!r}")
    return (lambda new, best: new < best) if mode == "min" else (lambda new, best: new > best)


class EarlyStopping(Callback):
    """Stops training when ``monitor`` has not improved for ``patience`` epochs.

    Args:
        monitor: the log key to watch, e.g. "val_loss" or "val_accuracy".
        min_delta: the smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        mode: "min", "max", or "auto" (max for accuracies, min otherwise).
        restore_best_weights: load the best epoch's weights back when stopping.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        mode: str = "auto",
        restore_best_weights: bool = False,
    ) -> None:
        self.monitor = monitor
        self.min_delta = abs(min_delta)
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        improves = _improvement(mode, monitor)
        sign = -1.0 if improves(0.0, 1.0) else 1.0  # -1 when smaller is better
        self._improves = lambda new, best: improves(new - sign * self.min_delta, best)
        self.stopped_epoch: int | None = None

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self.wait = 0
        self.best: float | None = None
        self.best_weights: dict[str, np.ndarray] | None = None
        self.stopped_epoch = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise KeyError(
                f"EarlyStopping: {self.monitor!r} is not in the logs. Available: "
                f"{', '.join(sorted(logs or {}))}"
            )
        if self.best is None or self._improves(value, self.best):
            self.best, self.wait = value, 0
            if self.restore_best_weights:
                self.best_weights = {k: v.copy() for k, v in self.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.load_state_dict(self.best_weights)


class ModelCheckpoint(Callback):
    """Saves the model's state dict after each epoch (or only when ``monitor`` improves).

    Args:
        filepath: may hold fields such as ``"ckpt-{epoch:02d}-{val_loss:.3f}.safetensors"``;
            ``epoch`` counts from 1.
        monitor, mode: as in ``EarlyStopping``; used with ``save_best_only``.
        save_best_only: keep only improving epochs.
    """

    main_rank_only = True  # writes files

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        monitor: str = "val_loss",
        save_best_only: bool = False,
        mode: str = "auto",
    ) -> None:
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.save_best_only = save_best_only
        self._improves = _improvement(mode, monitor)
        self.best: float | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        from shenjing.io import save

        logs = logs or {}
        if not all(math.isfinite(v) for v in logs.values()):
            return  # a diverged epoch: keep the last good file
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                raise KeyError(f"ModelCheckpoint: {self.monitor!r} is not in the logs")
            if self.best is not None and not self._improves(value, self.best):
                return
            self.best = value
        save(self.model.state_dict(), self.filepath.format(epoch=epoch + 1, **logs))


class CSVLogger(Callback):
    """Writes one CSV row of logs per epoch to ``filename``."""

    main_rank_only = True  # writes files

    def __init__(self, filename: str | os.PathLike[str], separator: str = ",",
                 append: bool = False) -> None:
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append
        self.keys: list[str] | None = None

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self.keys = None
        if not self.append and os.path.exists(self.filename):
            os.remove(self.filename)

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = logs or {}
        new_file = not os.path.exists(self.filename)
        if self.keys is None:
            self.keys = sorted(logs)
        with open(self.filename, "a", newline="") as handle:
            writer = csv.writer(handle, delimiter=self.separator)
            if new_file:
                writer.writerow(["epoch", *self.keys])
            writer.writerow([epoch, *(logs.get(k, "") for k in self.keys)])


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch.

    Args:
        schedule: ``schedule(epoch, lr) -> new lr`` (Keras's form), or a
            ``shenjing.optim.lr_scheduler`` object, stepped once per epoch.
        verbose: print the new rate.
    """

    def __init__(self, schedule: Any, verbose: int = 0) -> None:
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        optimizer = self.model.optimizer
        if callable(self.schedule):
            lr = float(self.schedule(epoch, _current_lr(optimizer)))
            # The defaults too: a compiled model's optimizer gets its parameter group
            # only on the first batch, after this hook.
            optimizer.defaults["lr"] = lr
            for group in optimizer.param_groups:
                group["lr"] = lr
        elif epoch > 0:
            self.schedule.step()
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate {_current_lr(optimizer):g}")

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if logs is not None:
            logs["lr"] = _current_lr(self.model.optimizer)


def _current_lr(optimizer: Any) -> float:
    groups = optimizer.param_groups
    return float(groups[0]["lr"] if groups else optimizer.defaults["lr"])


class ReduceLROnPlateau(Callback):
    """Keras's ``ReduceLROnPlateau``: multiplies the learning rate by ``factor`` when
    ``monitor`` has not improved (by more than ``min_delta``) for ``patience`` epochs,
    then waits ``cooldown`` epochs before counting again; never below ``min_lr``.

    Args:
        monitor: the log key to watch, e.g. "val_loss".
        factor: the multiplier, below 1.
        patience: epochs without improvement before the rate is reduced.
        verbose: print each reduction.
        mode: "min", "max", or "auto" (max for accuracies, min otherwise).
        min_delta: the smallest change that counts as an improvement.
        cooldown: epochs after a reduction during which no waiting is counted.
        min_lr: the lower bound of the rate.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0) -> None:
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received: factor={factor}")
        self.monitor, self.factor, self.patience = monitor, factor, patience
        self.verbose, self.min_delta = verbose, abs(min_delta)
        self.cooldown, self.min_lr = cooldown, min_lr
        improves = _improvement(mode, monitor)
        self._maximise = improves(1.0, 0.0)
        sign = 1.0 if self._maximise else -1.0
        self._improves = lambda new, best: improves(new - sign * self.min_delta, best)
        self._reset()

    def _reset(self) -> None:
        self.best = -math.inf if self._maximise else math.inf
        self.wait = self.cooldown_counter = 0

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = _current_lr(optimizer)
        value = logs.get(self.monitor)
        if value is None:
            raise KeyError(f"ReduceLROnPlateau: {self.monitor!r} is not in the logs. "
                           f"Available: {', '.join(sorted(logs))}")
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improves(value, self.best):
            self.best, self.wait = value, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = _current_lr(optimizer)
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    optimizer.defaults["lr"] = new
                    for group in optimizer.param_groups:
                        group["lr"] = new
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new:g}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0
