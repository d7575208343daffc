"""``NeuralNetwork``: the NumPy tutorial's network API, running on shenjing's engine.

The tutorial built a network layer by layer and trained it with one call::

    nn = NeuralNetwork(30, False)
    nn.add_dense_layer(64, "sigmoid")
    nn.add_dense_layer(32, "relu")
    nn.add_dropout_layer(0.8)          # keep 80% of the units
    nn.add_output_layer()              # inferred from y at fit time
    nn.fit(X_train, y_train, epoch=100, batch_size=64, optimizer=Adam(alpha=0.05))
    nn.calc_accuracy(y_test, nn.predict(X_test))

Here each call adds a shenjing layer (``nn.Dense``, ``nn.Dropout``) to ``self.model``, an
``nn.Sequential``, and ``fit`` trains it with shenjing's ``Trainer``: shuffled
mini-batches from a ``DataLoader`` that cover every sample once per epoch, gradients from
autograd, and the optimizer's update in place.

``self.model`` ends at the output layer's pre-activation z, and the output activation
(``self.output_activation``) is applied by ``predict_proba``. Training uses the fused,
stable form of the loss where there is one: cross-entropy on a softmax output is
``F.cross_entropy(z, labels)`` (log-softmax by the log-sum-exp trick, so no exp can
overflow, and the gradient softmax(z) − onehot(y) without dividing by a probability),
and on a sigmoid output ``F.binary_cross_entropy_with_logits(z, t)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import shenjing.nn as nn
import shenjing.nn.functional as F
from shenjing.autograd import no_grad
from shenjing.compat import targets as tg
from shenjing.compat.optimizers import Adam
from shenjing.optim import Optimizer
from shenjing.tensor import Tensor
from shenjing.training import Callback

try:
    from tqdm.auto import tqdm
except ImportError:  # tqdm is an optional extra
    tqdm = None

__all__ = ["ACTIVATIONS", "LOSSES", "NeuralNetwork", "calc_accuracy", "hidden_init"]

ACTIVATIONS = ("sigmoid", "tanh", "relu", "softmax", "leaky_relu", "elu", "linear")
"""The activation names the tutorial's layers accept."""

LOSSES = {
    "mse": "mse", "mean_squared_error": "mse", "quadratic": "mse",
    "mae": "mae", "mean_absolute_error": "mae",
    "cross_entropy_loss": "cross_entropy", "cross_entropy": "cross_entropy",
    "binary_cross_entropy": "cross_entropy", "categorical_cross_entropy": "cross_entropy",
    "log_loss": "cross_entropy",
}
"""Loss names ``fit`` accepts, and the loss each one means."""

HIDDEN_WEIGHT_SCALE = 4.0
"""Hidden layers start from N(0, (4/√fan_in)²): see ``hidden_init``."""


def hidden_init(weight: Tensor) -> Tensor:
    """The initialisation of the hidden layers ``add_dense_layer`` adds: weights drawn
    from N(0, σ²) with σ = 4/√fan_in, in place.

    Four times LeCun's scale, Glorot and Bengio's factor for logistic units (whose slope
    at 0 is 1/4). It is larger than the Glorot scale of ``nn.Dense`` on purpose: the
    tutorial's examples train bias-free networks with Adam at α = 0.05, whose first steps
    move every weight by about α. From Glorot's small weights, the sigmoid layer's outputs
    are ≈ 0.5 for every sample, so each ReLU unit above it is on or off for all samples at
    once, and a few α-sized steps switch every one of them off for good: the network
    collapses to one class (docs/tutorial-errata.md, section 7).
    """
    return nn.init.normal_(weight, 0.0, HIDDEN_WEIGHT_SCALE / math.sqrt(weight.shape[1]))


PREDICT_CHUNK = 4096
"""Rows per forward pass in ``predict``, to bound memory on large inputs."""


def _as_numpy(value: Any) -> np.ndarray:
    """NumPy arrays, Tensors, lists and pandas-like objects (``to_numpy()``/``values``)."""
    if isinstance(value, Tensor):
        return value.numpy()
    if hasattr(value, "to_numpy"):
        return np.asarray(value.to_numpy())
    if hasattr(value, "values") and not callable(value.values):
        return np.asarray(value.values)
    return np.asarray(value)


def calc_accuracy(y_true: Any, y_pred: Any) -> float:
    """The fraction of predictions equal to the true labels.

    One-hot ``y_true`` rows are compared by the position of their 1.

    Example:
        >>> calc_accuracy([0, 1, 1, 0], [0, 1, 0, 0])
        0.75
    """
    truth, pred = _as_numpy(y_true), _as_numpy(y_pred)
    if truth.ndim == 2 and truth.shape[1] > 1 and pred.ndim == 1:
        truth = truth.argmax(axis=1)
    truth, pred = truth.reshape(-1), pred.reshape(-1)
    if truth.size != pred.size:
        raise ValueError(
            f"calc_accuracy: y_true and y_pred have different sizes. Received: "
            f"{truth.size} and {pred.size}"
        )
    if truth.size == 0:
        raise ValueError("calc_accuracy: no samples")
    return float((truth == pred).mean())


class _EpochProgress(Callback):
    """One progress bar over the epochs (tqdm when installed), showing the loss."""

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        epochs = self.params["epochs"]
        self.bar = tqdm(total=epochs, desc="Training", unit="epoch") if tqdm else None
        self.every = max(1, epochs // 10)

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        loss = (logs or {}).get("loss", math.nan)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        elif (epoch + 1) % self.every == 0 or epoch + 1 == self.params["epochs"]:
            print(f"epoch {epoch + 1}/{self.params['epochs']} - loss: {loss:.4f}")

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        if self.bar is not None:
            self.bar.close()


class NeuralNetwork:
    """A fully connected network built layer by layer, as in the NumPy tutorial.

    Args:
        feature_num: the number of input features (columns of X).
        bias: whether the dense layers (the output layer included) learn biases.

    Attributes:
        model: the shenjing network (``nn.Sequential``) from the input to the output
            layer's pre-activation; complete once the output layer is resolved.
        output_activation: the output layer's activation name.
        task: "binary", "multiclass", "multilabel" or "regression", after ``fit``.
        classes_: the class labels of a classifier, in the order of the outputs.
        history: the ``History`` of the last ``fit`` (``history.history["loss"]``).

    Example:
        >>> import numpy as np
        >>> from shenjing.compat import NeuralNetwork, Adam
        >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 8, dtype=np.float32)
        >>> y = X[:, 0].astype(np.int64) | X[:, 1].astype(np.int64)       # OR
        >>> net = NeuralNetwork(2)
        >>> net.add_dense_layer(4, "tanh")
        >>> net.add_output_layer()
        >>> _ = net.fit(X, y, epoch=200, optimizer=Adam(alpha=0.05), verbose=False)
        >>> net.predict(X[:4]).tolist()
        [0, 1, 1, 1]
    """

    def __init__(self, feature_num: int, bias: bool = True) -> None:
        if isinstance(feature_num, bool) or not isinstance(feature_num, int) or feature_num < 1:
            raise ValueError(
                f"NeuralNetwork: feature_num must be a positive integer. Received: "
                f"{feature_num!r}"
            )
        self.feature_num = feature_num
        self.bias = bool(bias)
        self.model = nn.Sequential()
        self._width = feature_num
        self._output_request: tuple[int | None, str | None] | None = None
        self._spec: tg.OutputSpec | None = None
        self.history: Any = None

    # ------------------------------------------------------------------ layers
    def _check_open(self, method: str) -> None:
        if self._output_request is not None:
            raise RuntimeError(
                f"NeuralNetwork.{method}: the output layer is already added; add hidden "
                "layers before add_output_layer()"
            )

    @staticmethod
    def _check_activation(method: str, activation: str | None) -> None:
        if activation is not None and activation not in ACTIVATIONS:
            raise ValueError(
                f"NeuralNetwork.{method}: unknown activation {activation!r}. Known: "
                f"{', '.join(ACTIVATIONS)}"
            )

    def add_dense_layer(self, units: int, activation: str = "relu") -> None:
        """Add a fully connected layer a = activation(W a_prev + b) of ``units`` units,
        its weights drawn by ``hidden_init``."""
        self._check_open("add_dense_layer")
        self._check_activation("add_dense_layer", activation)
        self.model.add(nn.Dense(units, activation, use_bias=self.bias, in_features=self._width,
                                kernel_initializer=hidden_init))
        self._width = units

    def add_dropout_layer(self, rate: float = 0.5) -> None:
        """Add dropout that **keeps** each unit with probability ``rate`` while training
        (0.8 keeps 80%), scaling the kept ones by 1/rate; in prediction it does nothing.

        This is the tutorial's meaning of ``rate`` (a keep probability, as in
        TensorFlow 1's ``keep_prob``): it becomes ``nn.Dropout(p=1 - rate)``.
        """
        self._check_open("add_dropout_layer")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1:
            raise ValueError(
                "NeuralNetwork.add_dropout_layer: rate is the probability of keeping a unit "
                f"and must be in (0, 1]. Received: {rate!r}"
            )
        self.model.add(nn.Dropout(p=1.0 - rate))

    def add_output_layer(self, units: int | None = None, activation: str | None = None) -> None:
        """Add the output layer. Left bare, it is inferred from ``y`` at ``fit`` time: one
        sigmoid unit for two classes, a softmax over the classes for integer labels with
        more than two values, linear units for real targets (see ``shenjing.compat.targets``).
        """
        self._check_open("add_output_layer")
        self._check_activation("add_output_layer", activation)
        if units is not None and (isinstance(units, bool) or not isinstance(units, int)
                                  or units < 1):
            raise ValueError(
                f"NeuralNetwork.add_output_layer: units must be a positive integer. "
                f"Received: {units!r}"
            )
        if activation == "softmax" and units == 1:
            raise ValueError(
                "NeuralNetwork.add_output_layer: a softmax over one unit is always 1; use "
                "activation='sigmoid' for two classes"
            )
        self._output_request = (units, activation)

    def _resolve_output(self, y: np.ndarray) -> None:
        if self._output_request is None:
            raise RuntimeError("NeuralNetwork.fit: call add_output_layer() before fit()")
        spec = tg.infer_output(y, *self._output_request)
        self.model.add(nn.Dense(spec.units, use_bias=self.bias, in_features=self._width))
        self._spec = spec

    @property
    def task(self) -> str | None:
        """The problem the output layer solves, once known."""
        return None if self._spec is None else self._spec.task

    @property
    def output_activation(self) -> str | None:
        """The output layer's activation, once known."""
        return None if self._spec is None else self._spec.activation

    @property
    def classes_(self) -> np.ndarray | None:
        """The class labels of a classifier, in the order of its outputs."""
        return None if self._spec is None else self._spec.classes

    # ------------------------------------------------------------------ training
    def _features(self, X: Any, method: str) -> np.ndarray:
        x = _as_numpy(X)
        if x.ndim == 1 and self.feature_num == 1:
            x = x.reshape(-1, 1)
        if x.ndim != 2 or x.shape[1] != self.feature_num:
            raise ValueError(
                f"NeuralNetwork.{method}: X must have shape (n, {self.feature_num}) "
                f"(feature_num={self.feature_num}). Received: shape={x.shape}"
            )
        return x.astype(np.float32, copy=False)

    def _loss_function(self, loss: str | Callable[..., Any] | None) -> Callable[..., Any]:
        spec = self._spec
        if callable(loss):
            def custom_loss(z: Tensor, target: Tensor) -> Tensor:
                return loss(self._activate(z), target)
            return custom_loss
        if loss is None:
            name = "mse" if spec.task == tg.REGRESSION else "cross_entropy"
        elif isinstance(loss, str) and loss.lower() in LOSSES:
            name = LOSSES[loss.lower()]
        else:
            raise ValueError(
                f"NeuralNetwork.fit: unknown loss {loss!r}. Known: {', '.join(LOSSES)}, or a "
                "callable loss(output, target)"
            )
        if name == "cross_entropy":
            if spec.task == tg.REGRESSION:
                raise ValueError(
                    "NeuralNetwork.fit: cross-entropy needs a sigmoid or softmax output "
                    f"layer. Received: activation={spec.activation!r}"
                )
            # The fused forms take the pre-activation z: stable for any z.
            if spec.task == tg.MULTICLASS:
                return F.cross_entropy
            return F.binary_cross_entropy_with_logits
        distance = F.mse_loss if name == "mse" else F.l1_loss

        def loss_of_outputs(z: Tensor, target: Tensor) -> Tensor:
            return distance(self._activate(z), target)

        loss_of_outputs.__name__ = name
        return loss_of_outputs

    def fit(
        self,
        X: Any,
        y: Any,
        epoch: int = 50,
        batch_size: int = 64,
        optimizer: Any = None,
        loss: str | Callable[..., Any] | None = None,
        verbose: bool = True,
    ) -> Any:
        """Train for ``epoch`` passes over the data, in shuffled mini-batches.

        Args:
            X: (n, feature_num) features: a NumPy array, a Tensor, a list, or a pandas
                DataFrame (anything with ``to_numpy()`` or ``values``).
            y: n labels or targets, or (n, k) one-hot / multi-output targets.
            epoch: passes over the training set.
            batch_size: samples per update (``BGD`` always uses all of them).
            optimizer: a ``shenjing.compat`` (or ``shenjing.optim``) optimizer; default
                ``Adam()``. It is bound to this network's parameters on first use.
            loss: "mse", "mae", "cross_entropy_loss" (or the other names in ``LOSSES``),
                or ``loss(output, target) -> Tensor``, which gets the outputs after the
                output activation and the targets as the distance losses see them (a
                column of 0/1 for a binary output, one-hot rows for a softmax); default
                cross-entropy for classifiers and MSE for regression.
            verbose: show a progress bar over the epochs.

        Returns:
            The ``History``; ``history.history["loss"]`` holds each epoch's mean loss.
        """
        x = self._features(X, "fit")
        labels = _as_numpy(y)
        if len(labels) != len(x):
            raise ValueError(
                f"NeuralNetwork.fit: X and y have different lengths. Received: {len(x)} and "
                f"{len(labels)}"
            )
        if self._spec is None:
            self._resolve_output(labels)
        loss_fn = self._loss_function(loss)
        fused = loss_fn is F.cross_entropy
        targets = tg.encode_targets(self._spec, labels, fused_cross_entropy=fused)
        optimizer = Adam() if optimizer is None else optimizer
        self._check_binding(optimizer)
        if getattr(optimizer, "full_batch", False):
            batch_size = len(x)
        self.model.compile(optimizer=optimizer, loss=loss_fn)
        callbacks = [_EpochProgress()] if verbose else []
        self.history = self.model.fit(x, targets, epochs=epoch, batch_size=batch_size,
                                      shuffle=True, verbose=0, callbacks=callbacks)
        return self.history

    def _check_binding(self, optimizer: Any) -> None:
        if not isinstance(optimizer, Optimizer) or not optimizer.param_groups:
            return  # a name or an unbound optimizer: the Trainer binds it
        ours = {id(p) for p in self.model.parameters()}
        bound = {id(p) for group in optimizer.param_groups for p in group["params"]}
        if bound != ours:
            raise ValueError(
                "NeuralNetwork.fit: the optimizer is already bound to other parameters "
                "(another network's); create one optimizer per network"
            )

    # ---------------------------------------------------------------- prediction
    def _activate(self, z: Tensor) -> Tensor:
        activation = self._spec.activation
        if activation == "linear":
            return z
        return getattr(F, activation)(z)

    def _outputs(self, X: Any, method: str) -> np.ndarray:
        if self._spec is None:
            raise RuntimeError(f"NeuralNetwork.{method}: the network is not trained; call "
                               "fit() first")
        x = self._features(X, method)
        self.model.eval()
        with no_grad():
            chunks = [self._activate(self.model(Tensor(x[i:i + PREDICT_CHUNK]))).numpy()
                      for i in range(0, len(x), PREDICT_CHUNK)]
        return np.concatenate(chunks) if chunks else np.empty((0, self._spec.units),
                                                              dtype=np.float32)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: (n, classes) for a softmax output, (n, 1) for a binary
        one (the probability of ``classes_[1]``), (n, k) for k sigmoid units."""
        if self.task == tg.REGRESSION:
            raise ValueError(
                "NeuralNetwork.predict_proba: this network does regression (a "
                f"{self.output_activation!r} output); use predict()"
            )
        return self._outputs(X, "predict_proba")

    def predict(self, X: Any, threshold: float = 0.5) -> np.ndarray:
        """Predictions: class labels (n,) for a classifier, where a binary output says
        ``classes_[1]`` when its probability exceeds ``threshold``; 0/1 per column for
        sigmoid multi-label outputs; the outputs themselves for regression ((n,) for one
        output)."""
        out = self._outputs(X, "predict")
        task = self.task
        if task == tg.BINARY:
            return self.classes_[(out[:, 0] > threshold).astype(np.int64)]
        if task == tg.MULTICLASS:
            return self.classes_[out.argmax(axis=1)]
        if task == tg.MULTILABEL:
            return (out > threshold).astype(np.int64)
        return out[:, 0] if out.shape[1] == 1 else out

    @staticmethod
    def calc_accuracy(y_true: Any, y_pred: Any) -> float:
        """The fraction of predictions equal to the true labels (see ``calc_accuracy``)."""
        return calc_accuracy(y_true, y_pred)

    def __repr__(self) -> str:
        return f"NeuralNetwork(feature_num={self.feature_num}, bias={self.bias})\n{self.model}"
