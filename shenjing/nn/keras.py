"""The Keras-style methods every ``Module`` has: ``compile``, ``fit``, ``evaluate``,
``predict``, ``predict_proba``, ``summary`` and an overridable ``train_step``.

They hold no training logic: ``compile`` creates a trainer and the others delegate to it.
The trainer (``shenjing.training.Trainer``) lives in the training package, which sits
above ``nn`` (it needs the optimizers, the data loaders and the graph compiler), so ``nn``
never imports it: ``shenjing.training`` registers its ``Trainer`` here when it loads, and
``import shenjing`` loads it. As in PyTorch, a Module itself knows nothing of training.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from shenjing.nn.summary import summary as _summary

# What compile() builds: factory(model, optimizer, loss, metrics, jit) -> a trainer with
# fit/train_step/evaluate/predict/predict_proba and input_shape (see register_trainer).
_trainer_factory: Callable[..., Any] | None = None


# What model.save() calls: shenjing.nn.saving registers its save_model when it loads
# (it builds on the layers, which build on Module: importing it here would be a circle).
_model_saver: Callable[[Any, Any], None] | None = None


def register_trainer(factory: Callable[..., Any]) -> None:
    """Make ``factory`` the trainer that ``Module.compile`` creates; ``shenjing.training``
    registers its ``Trainer`` when it loads. ``factory(model, optimizer, loss, metrics,
    jit)`` returns an object with ``fit``, ``train_step``, ``evaluate``, ``predict``,
    ``predict_proba`` and ``input_shape``."""
    global _trainer_factory
    _trainer_factory = factory


def _outputs(model: Any, x: Any, batch_size: int) -> Any:
    """The model's outputs for ``x`` in batches, in eval mode, recording nothing."""
    from shenjing import backend
    from shenjing.autograd import no_grad
    from shenjing.tensor import Tensor

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"predict: batch_size must be a positive integer. Received: "
                         f"{batch_size!r}")
    data = x.detach() if isinstance(x, Tensor) else Tensor(np.asarray(x))
    device = next((p.device for p in model.parameters()), None)
    model.eval()
    chunks = []
    with no_grad():
        for start in range(0, len(data), batch_size):
            batch = data[start:start + batch_size]
            if device is not None and batch.device != device:
                batch = batch.to(device)
            chunks.append(model(batch).array)
    if not chunks:
        raise ValueError("predict: x has no samples")
    return backend.get_array_module(chunks[0]).concatenate(chunks)


class Layers:
    """``model.layers`` of a ``Sequential``: Keras's list of its layers (its children).

    A non-data descriptor: a ``self.layers`` assigned on the instance wins. Only
    ``Sequential`` has it: on other modules ``layers`` stays free, as in PyTorch.
    """

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return list(obj.children())


class KerasMethods:
    """Mixed into ``Module``: train any model the way Keras trains a ``Model``."""

    def compile(
        self,
        optimizer: Any = "adam",
        loss: str | Callable[..., Any] = "cross_entropy",
        metrics: Iterable[Any] = (),
        jit: bool = False,
    ) -> None:
        """Choose the optimizer (an ``Optimizer`` or a name such as "adam"), the loss (a
        name such as "cross_entropy" or "mse", or a callable) and metrics ("accuracy",
        "mae", ...) that ``fit`` and ``evaluate`` use.

        An optimizer made without parameters (``sj.optim.Adam(lr=1e-3)``) is given the
        model's parameters on the first batch, once lazy layers have built their weights.
        With ``jit=True``, ``fit`` runs each step through ``sj.compile`` (traced once per
        batch shape, then replayed; the numbers are the same as eager mode).
        """
        if _trainer_factory is None:  # only if shenjing.training failed to load
            raise RuntimeError(
                f"{type(self).__name__}.compile() needs shenjing.training; import it first"
            )
        trainer = _trainer_factory(self, optimizer, loss, metrics, jit)
        object.__setattr__(self, "_trainer", trainer)

    def _compiled(self, method: str) -> Any:
        trainer = self.__dict__.get("_trainer")
        if trainer is None:
            raise RuntimeError(
                f"{type(self).__name__}.{method}() needs compile() first, e.g. "
                "model.compile(optimizer='adam', loss='cross_entropy', metrics=['accuracy'])"
            )
        return trainer

    def fit(self, x: Any, y: Any = None, **kwargs: Any) -> Any:
        """Train; takes arrays (or a DataLoader as ``x``) and Keras's keywords: epochs,
        batch_size, validation_data, validation_split, shuffle, callbacks, verbose; also
        device, threads and precision ("32", "bf16", "fp16": mixed precision, see
        ``Trainer.fit``). Returns a ``History`` whose ``history`` dict holds the per-epoch logs."""
        return self._compiled("fit").fit(x, y, **kwargs)

    def train_step(self, batch: tuple[Any, Any]) -> float:
        """One optimisation step on ``(x, y)``; override it to customise training."""
        return self._compiled("train_step").train_step(batch)

    def evaluate(self, x: Any, y: Any = None, batch_size: int = 256,
                 verbose: int | str = 0) -> dict[str, float]:
        """The loss and metrics over a data set, as a dict of floats (printed on one line
        when ``verbose`` > 0)."""
        return self._compiled("evaluate").evaluate(x, y, batch_size=batch_size,
                                                   verbose=verbose)

    def predict(self, x: Any, batch_size: int = 256, verbose: int | str = 0) -> Any:
        """Class labels for classification losses; the outputs for regression. Before
        ``compile`` (inference needs no loss), the model's outputs, as Keras's."""
        trainer = self.__dict__.get("_trainer")
        if trainer is None:
            return _outputs(self, x, batch_size)
        return trainer.predict(x, batch_size=batch_size, verbose=verbose)

    # ------------------------------------------------------------------ weights
    def get_weights(self) -> list[Any]:
        """Keras's ``get_weights``: copies of every weight (parameters, then buffers such
        as BatchNorm's running statistics, layer by layer) as NumPy arrays."""
        return list(self.state_dict().values())

    def set_weights(self, weights: list[Any]) -> None:
        """Keras's ``set_weights``: write arrays, in ``get_weights``'s order, into the
        model; their number and shapes are checked before anything is written."""
        names = list(self.state_dict(keep_vars=True).items())
        if len(weights) != len(names):
            raise ValueError(f"set_weights: the model has {len(names)} weights. Received: "
                             f"{len(weights)}")
        for (name, tensor), value in zip(names, weights, strict=True):
            if tuple(getattr(value, "shape", ())) != tuple(tensor.shape):
                raise ValueError(f"set_weights: {name} has shape {tuple(tensor.shape)}. "
                                 f"Received: shape={tuple(getattr(value, 'shape', ()))}")
        self.load_state_dict({name: value for (name, _), value in
                              zip(names, weights, strict=True)})

    def save_weights(self, filepath: Any) -> None:
        """Keras's ``save_weights``: the state dict to a safetensors file, atomically."""
        from shenjing import io

        io.save(self.state_dict(), filepath)

    def save(self, filepath: Any) -> None:
        """Keras's ``model.save``: the architecture (as JSON, in the file's metadata)
        and the weights in one safetensors file; ``sj.load_model`` reads it back. Only
        shenjing's layers and classes registered with ``nn.register_module``."""
        if _model_saver is None:  # only if shenjing.nn.saving failed to load
            raise RuntimeError("model.save needs shenjing.nn.saving, which is not loaded")
        _model_saver(self, filepath)

    def load_weights(self, filepath: Any) -> None:
        """Keras's ``load_weights``: the weights ``save_weights`` wrote (or any state
        dict file of this model), checked before anything is written."""
        from shenjing import io

        self.load_state_dict(io.load(filepath))

    def predict_proba(self, x: Any, batch_size: int = 256, verbose: int | str = 0) -> Any:
        """Class probabilities, shape (n, classes), or (n, 1) for a binary model."""
        return self._compiled("predict_proba").predict_proba(x, batch_size=batch_size,
                                                             verbose=verbose)

    def summary(self, input_shape: tuple[int, ...] | None = None) -> str:
        """Print (and return) each layer with its output shape and parameter count.

        Args:
            input_shape: one sample's shape, without the batch axis; defaults to the
                shape seen by the last ``fit``.
        """
        trainer = self.__dict__.get("_trainer")
        if input_shape is None and trainer is not None:
            input_shape = trainer.input_shape
        return _summary(self, input_shape)
