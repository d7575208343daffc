"""Keras-style training for any ``nn.Module``: ``compile``, ``fit``, ``evaluate``, ``predict``.

``Module.compile`` creates a ``Trainer`` and the other methods delegate to it, so a
``Sequential`` and a hand-written ``Module`` train the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from shenjing import _bfloat16
from shenjing.autograd.grad_mode import no_grad
from shenjing.backend import generator, get_array_module
from shenjing.data import DataLoader, TensorDataset
from shenjing.tensor import Tensor
from shenjing.threads import num_threads
from shenjing.training import checks, parallel, registry
from shenjing.training.callbacks import Callback, CallbackList, History, TerminateOnNaN
from shenjing.training.metrics import Metric
from shenjing.training.precision import Precision
from shenjing.training.progress import ProgressBar


class Trainer:
    """What ``compile`` set up for a model: loss, optimizer and metrics, and the loops.

    Args:
        model: the module to train.
        optimizer: an ``Optimizer`` or a name ("adam", "sgd", ...). A name is built with
            the optimizer's defaults once the model's parameters exist (a ``Dense`` layer
            creates its weights on the first batch).
        loss: a name ("cross_entropy", "mse", ...) or ``loss(output, target) -> Tensor``.
        metrics: names or ``Metric`` objects; "accuracy" follows the loss.
        jit: run each training step through ``sj.compile``: traced once per batch shape,
            then replayed without the eager bookkeeping (same numbers).
    """

    def __init__(
        self,
        model: Any,
        optimizer: Any = "adam",
        loss: str | Callable[..., Any] = "cross_entropy",
        metrics: Iterable[str | Metric] = (),
        jit: bool = False,
    ) -> None:
        self.model = model
        self.jit = jit
        self._compiled_step: Any = None
        self._ddp: Any = None  # the gradient averaging while fit runs data-parallel
        self.precision = Precision("32")  # fit(precision=) sets it
        self.loss = registry.resolve_loss(loss)
        self.metric_specs = list(metrics)
        self.metrics: list[Metric] = []
        self.input_shape: tuple[int, ...] | None = None
        # (min, max) of the first floating-point data fit saw: uint8 images in 0-255
        # given later to a model trained on [0, 1] get a warning.
        self.trained_range: tuple[float, float] | None = None
        self.optimizer: Any = None
        spec = registry.resolve_optimizer(optimizer)
        # A name gives an optimizer with no parameters yet, bound on the first batch.
        self._set_optimizer(spec() if isinstance(spec, type) else spec)

    # ---------------------------------------------------------------------- set-up
    def _set_optimizer(self, optimizer: Any) -> None:
        self.optimizer = optimizer
        self.model.optimizer = optimizer

    def _build(self, x_batch: Tensor) -> None:
        """Run one forward pass so lazy layers create weights, then bind the optimizer."""
        if self.optimizer.param_groups:
            return
        with no_grad():
            was_training = self.model.training
            self.model.eval()
            self.model(x_batch)
            self.model.train(was_training)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer.add_param_group({"params": params})

    def _new_metrics(self) -> list[Metric]:
        return [registry.resolve_metric(m, self.loss.kind) for m in self.metric_specs]

    def _check_data(self, x: Any, y: Any, caller: str) -> tuple[np.ndarray, np.ndarray]:
        given = y.dtype if isinstance(y, np.ndarray) else None  # before float64 -> float32
        x, y = _as_array(x, caller, "x"), _as_array(y, caller, "y")
        checks.check_not_empty(caller, "x", len(x))
        checks.check_finite(caller, "x", x)
        checks.warn_unscaled(caller, x, self.trained_range)
        if caller == "fit" and self.trained_range is None:
            self.trained_range = checks.value_range(x)
        checks.check_finite(caller, "y", y)
        if len(x) != len(y):
            raise ValueError(
                f"{caller}: x and y have different lengths. Received: {len(x)} samples in x "
                f"and {len(y)} in y"
            )
        if self.loss.kind in registry.INTEGER_LABELS:
            if y.dtype.kind not in "iu":
                raise TypeError(
                    f"{caller}: the loss {self.loss.name!r} needs integer class labels. "
                    f"Received: y with dtype={given or y.dtype}; convert with "
                    f"y.astype(np.int64) "
                    f"(a Tensor: y.long())"
                )
            if y.size and y.min() < 0:
                raise ValueError(f"{caller}: class labels must be >= 0. Received: {y.min()}")
        elif self.loss.kind != registry.CUSTOM and y.dtype != np.float32:
            y = y.astype(np.float32)
        return x, y

    def _device(self) -> Any:
        """The device of the model's parameters (None on the CPU or without any yet)."""
        for p in self.model.parameters():
            return None if p.device.type == "cpu" else p.device
        return None

    def _loader(self, x: Any, y: Any, batch_size: int, shuffle: bool, caller: str) -> Any:
        if isinstance(x, DataLoader):
            checks.check_not_empty(caller, "the DataLoader", len(x))
            return x
        checks.check_batch_size(caller, batch_size)
        x, y = self._check_data(x, y, caller)
        return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle,
                          device=self._device())

    # ------------------------------------------------------------------------ steps
    def train_step(self, batch: tuple[Tensor, Tensor]) -> float:
        """One optimisation step on a batch; returns the batch's loss."""
        x, y = batch
        if self.jit:
            if self._compiled_step is None:
                from shenjing.graph import compile as compile_step

                self._compiled_step = compile_step(self._step)
            loss, output = self._compiled_step(x, y)
        else:
            loss, output = self._step(x, y)
        self._update_metrics(_float_array(output), y.array)
        return loss.item()

    def _step(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        if not self.precision.mixed:
            output = self.model(x)
            loss = self._loss(output, y)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            return loss, output
        with self.precision.autocast(x):  # forward and loss only, as PyTorch recommends
            output = self.model(x)
            loss = self._loss(output, y)
        self.optimizer.zero_grad()
        self.precision.backward_and_step(loss, self.optimizer)
        return loss, output

    def test_step(self, batch: tuple[Tensor, Tensor]) -> float:
        """The loss of a batch, with metrics updated; records no graph."""
        x, y = batch
        with no_grad(), self.precision.autocast(x):
            output = self.model(x)
            loss = self._loss(output, y)
        self._update_metrics(_float_array(output), y.array)
        return loss.item()

    def _loss(self, output: Tensor, target: Tensor) -> Tensor:
        # Keras users give (N,) targets to (N, 1) outputs of binary and regression models.
        if target.ndim == 1 and output.ndim == 2 and output.shape[1] == 1:
            target = target.reshape(-1, 1)
        return self.loss.function(output, target)

    def _update_metrics(self, output: Any, target: Any) -> None:
        for metric in self.metrics:
            metric.update(output, target)

    # -------------------------------------------------------------------------- fit
    def fit(
        self,
        x: Any,
        y: Any = None,
        epochs: int = 1,
        batch_size: int = 32,
        validation_data: tuple[Any, Any] | None = None,
        validation_split: float = 0.0,
        shuffle: bool = True,
        callbacks: Iterable[Callback] = (),
        verbose: int = 1,
        initial_epoch: int = 0,
        device: Any = None,
        precision: str | int = "32",
        threads: int | None = None,
    ) -> History:
        """Train for ``epochs`` epochs; returns the ``History`` of per-epoch logs.

        ``verbose``: 0 silent, 1 a progress bar per epoch on a terminal, 2 no bar ("auto"
        is 1), as in Keras; either way each epoch ends with one complete line of its logs
        on stdout, ``val_*`` included (``shenjing.training.progress``). Data with no
        samples, or with NaN or infinite values, is refused with a ValueError before
        training starts. ``device`` (``"cuda"``) moves the model there first
        (``model.to(device)``); the batches follow the model's device.
        Launched by MPI with more than one rank, training is data-parallel: each epoch
        every rank takes its shard of the data (``DistributedSampler`` semantics) in
        batches of ``batch_size`` (per rank, as with PyTorch's DDP), gradients are
        averaged over ranks, the logs are averaged weighted by sample counts, and only
        rank 0 shows progress and runs the callbacks that write files. ``threads``: train
        with that many BLAS threads, then go back to the count in force before
        (``sj.set_num_threads`` sets it for good; None leaves it as it is).
        ``precision``: "32" (float32), "bf16" (forward and loss under
        ``sj.autocast(dtype=sj.bfloat16)``) or "fp16" (``sj.autocast(dtype=sj.float16)``
        with a ``sj.amp.GradScaler``); the weights stay float32. It applies to this fit's
        training and validation steps and to later ``evaluate`` calls.
        """
        verbose = checks.resolve_verbose("fit", verbose)
        self.precision = Precision(precision)
        if self.precision.mixed and self.jit:
            raise ValueError(f"fit: precision={precision!r} does not run with jit=True yet")
        if device is not None:
            self.model.to(device)
        if validation_split and validation_data is None:
            if isinstance(x, DataLoader):
                raise ValueError("fit: validation_split needs arrays, not a DataLoader")
            if not 0.0 < validation_split < 1.0:
                raise ValueError(
                    f"fit: validation_split must be in (0, 1). Received: {validation_split}"
                )
            x, y = self._check_data(x, y, "fit")
            cut = len(x) - max(1, int(round(len(x) * validation_split)))
            x, y, validation_data = x[:cut], y[:cut], (x[cut:], y[cut:])
        loader = self._loader(x, y, batch_size, shuffle, "fit")
        val_loader = None
        if validation_data is not None:
            val_loader = self._loader(*validation_data, batch_size, False, "fit (validation)")
        world = parallel.world_size()
        sampler = None
        if world > 1:
            if self.jit:
                raise ValueError("fit: jit=True does not run data-parallel (under MPI) yet")
            loader, sampler = parallel.train_loader(loader, shuffle)
            if val_loader is not None:
                val_loader = parallel.eval_loader(val_loader)
            if not parallel.is_main():
                verbose = 0
                callbacks = [c for c in callbacks if not c.main_rank_only]

        history = History()
        callbacks = list(callbacks)
        has_nan_check = any(isinstance(c, TerminateOnNaN) for c in callbacks)
        own = [] if has_nan_check else [TerminateOnNaN()]
        steps = len(loader)
        calls = CallbackList(
            [*own, *callbacks, history],
            self.model,
            {"epochs": epochs, "steps": steps, "verbose": verbose},
        )
        self.model.stop_training = False
        self.metrics = self._new_metrics()
        with num_threads(threads, "fit"):
            calls.on_train_begin()
            try:
                self._epochs(loader, val_loader, sampler, calls, epochs, initial_epoch, verbose)
            except SystemExit as exit_:
                if sampler is not None:  # the other ranks wait in a collective: end them too
                    parallel.abort_on_system_exit(exit_)
                raise
            finally:
                if self._ddp is not None:
                    parallel.release(self._ddp)
                    self._ddp = None
            calls.on_train_end()
        return history

    def _epochs(
        self,
        loader: Any,
        val_loader: Any,
        sampler: Any,
        calls: CallbackList,
        epochs: int,
        initial_epoch: int,
        verbose: int,
    ) -> None:
        """The epoch loop of ``fit``; ``sampler`` is set when training data-parallel."""
        steps = len(loader)
        for epoch in range(initial_epoch, epochs):
            if sampler is not None and sampler.shuffle:
                # Each epoch's order comes from the generator, as single-process shuffling
                # does (so a resumed run repeats it); rank 0's draw counts for everyone.
                sampler.seed = parallel.shared_seed(int(generator().integers(2**31)))
                sampler.set_epoch(epoch)
            calls.on_epoch_begin(epoch)
            self.model.train()
            for metric in self.metrics:
                metric.reset()
            bar = ProgressBar(steps, f"Epoch {epoch + 1}/{epochs}", verbose=verbose)
            total_loss, seen = 0.0, 0
            for step, batch in enumerate(loader):
                calls.on_train_batch_begin(step)
                if step == 0:
                    self.input_shape = tuple(batch[0].shape[1:])
                if not self.optimizer.param_groups:
                    self._build(batch[0])
                if sampler is not None and self._ddp is None:  # the weights exist now
                    self._ddp = parallel.data_parallel(self.model)
                batch_loss = self.model.train_step(batch)
                n = len(batch[0])
                total_loss += batch_loss * n
                seen += n
                logs = {"loss": total_loss / seen} if math.isfinite(batch_loss) else {
                    "loss": batch_loss}
                calls.on_train_batch_end(step, logs)
                bar.update(logs, self.metrics)
                if sampler is not None:  # a rank stopping alone would leave the others waiting
                    self.model.stop_training = parallel.any_rank(self.model.stop_training)
                if self.model.stop_training:
                    break
            epoch_logs = {"loss": total_loss / max(seen, 1)}
            epoch_logs.update({m.name: m.result() for m in self.metrics})
            if sampler is not None:
                epoch_logs = parallel.average(epoch_logs, seen)
                parallel.sync_buffers(self.model)  # evaluate with rank 0's running statistics
            if val_loader is not None and not self.model.stop_training:
                val_logs = self._evaluate_loader(val_loader)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            bar.close(epoch_logs)
            if not math.isfinite(epoch_logs["loss"]):
                break  # a diverged epoch did not complete: no callback records it
            calls.on_epoch_end(epoch, epoch_logs)
            if sampler is not None:
                self.model.stop_training = parallel.any_rank(self.model.stop_training)
            if self.model.stop_training:
                break

    # --------------------------------------------------------------------- evaluate
    def _evaluate_loader(self, loader: Any) -> dict[str, float]:
        self.model.eval()
        metrics, self.metrics = self.metrics, self._new_metrics()
        total, seen = 0.0, 0
        for batch in loader:
            if not self.optimizer.param_groups:
                self._build(batch[0])
            n = len(batch[0])
            total += self.test_step(batch) * n
            seen += n
        logs = {"loss": total / max(seen, 1)}
        if seen:
            logs.update({m.name: m.result() for m in self.metrics})
        else:
            logs.update({m.name: 0.0 for m in self.metrics})
        self.metrics = metrics
        if parallel.world_size() > 1:
            logs = parallel.average(logs, seen)
        return logs

    def evaluate(self, x: Any, y: Any = None, batch_size: int = 256,
                 verbose: int | str = 0) -> dict[str, float]:
        """The loss and metrics over a data set, as a dict of floats; ``verbose`` > 0
        also prints them on one line.

        Data-parallel (under MPI) each rank evaluates its block of the data and the
        results are averaged, weighted by sample counts: the same numbers on every rank.
        """
        verbose = checks.resolve_verbose("evaluate", verbose)
        loader = self._loader(x, y, batch_size, False, "evaluate")
        if parallel.world_size() > 1:
            loader = parallel.eval_loader(loader)
        logs = self._evaluate_loader(loader)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return logs

    # ---------------------------------------------------------------------- predict
    def outputs(self, x: Any, batch_size: int = 256, caller: str = "predict") -> Any:
        """The model's raw outputs for every sample, batch by batch, in eval mode.

        Data-parallel (under MPI) each rank computes a block of the rows and every rank
        gets all of them back.
        """
        checks.check_batch_size(caller, batch_size)
        x = x.array if isinstance(x, Tensor) else _as_array(x, caller, "x")
        checks.check_not_empty(caller, "x", len(x))
        checks.warn_unscaled(caller, x, self.trained_range)
        world = parallel.world_size()
        mine = parallel.block(len(x)) if world > 1 else range(len(x))
        self.model.eval()
        chunks = []
        device = self._device()
        with no_grad():
            for start in range(mine.start, mine.stop, batch_size):
                batch = Tensor(x[start:min(start + batch_size, mine.stop)])
                chunks.append(self.model(batch.to(device) if device else batch).array)
        if world > 1:
            return parallel.gather_rows(np.concatenate(chunks) if chunks else _no_rows(self, x))
        xp = get_array_module(chunks[0]) if chunks else np
        return xp.concatenate(chunks) if chunks else np.empty((0,))

    def predict_proba(self, x: Any, batch_size: int = 256, verbose: int | str = 0) -> Any:
        """Class probabilities for classification losses (the raw outputs otherwise)."""
        out = self._outputs("predict_proba", x, batch_size, verbose)
        xp = get_array_module(out)
        kind = self.loss.kind
        if kind in (registry.CLASSES, registry.ONE_HOT_LOGITS):
            shifted = out - out.max(axis=1, keepdims=True)
            e = xp.exp(shifted)
            return e / e.sum(axis=1, keepdims=True)
        if kind == registry.LOG_PROBS:
            return xp.exp(out)
        if kind == registry.BINARY_LOGITS:
            return 0.5 * (1.0 + xp.tanh(0.5 * out))  # the sigmoid, without overflow
        return out

    def predict(self, x: Any, batch_size: int = 256, verbose: int | str = 0) -> Any:
        """Class labels for classification losses, the outputs for regression."""
        out = self._outputs("predict", x, batch_size, verbose)
        kind = self.loss.kind
        if kind in registry.INTEGER_LABELS or kind in registry.ONE_HOT:
            return out.argmax(axis=1)
        if kind == registry.BINARY_LOGITS:
            return (out > 0).astype(np.int64).reshape(-1)
        if kind == registry.BINARY_PROBS:
            return (out > 0.5).astype(np.int64).reshape(-1)
        return out

    def _outputs(self, caller: str, x: Any, batch_size: int, verbose: int | str) -> Any:
        """``outputs``, with Keras's ``verbose``: above 0, one line saying how many."""
        verbose = checks.resolve_verbose(caller, verbose)
        out = self.outputs(x, batch_size, caller)
        if verbose:
            print(f"{caller}: {len(out)} samples in {-(-len(out) // batch_size)} batches")
        return out


def _no_rows(trainer: Trainer, x: Any) -> np.ndarray:
    """The empty output block of a rank left without rows (more ranks than samples)."""
    with no_grad():
        probe = trainer.model(Tensor(x[:1])).array
    return probe[:0]


def _as_array(value: Any, caller: str = "fit", name: str = "x") -> np.ndarray:
    """NumPy arrays, Tensors, lists and pandas objects alike, as an ndarray."""
    if value is None:
        raise ValueError(f"{caller}: {name} is missing. Received: None")
    if isinstance(value, Tensor):
        return value.detach().cpu().numpy()
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{caller}: {name} must hold numbers. Received: dtype={array.dtype}")
    if array.ndim == 0:
        raise ValueError(f"{caller}: {name} must be an array of samples. Received: a scalar")
    if array.dtype.kind == "f" and array.dtype != np.float32:
        array = array.astype(np.float32)
    return array


def _float_array(output: Tensor) -> Any:
    """The output's array for the metrics, float32 when autocast left it in a low dtype."""
    arr = output.array
    if arr.dtype == np.float16 or _bfloat16.is_bfloat16(arr.dtype):
        return arr.astype(np.float32)
    return arr
