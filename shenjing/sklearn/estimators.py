"""scikit-learn estimators that train a shenjing network: ``NeuralNetClassifier`` and
``NeuralNetRegressor``.

They follow scikit-learn's estimator contract: ``__init__`` only stores its arguments
(so ``get_params``/``set_params``/``clone`` work and ``GridSearchCV`` can search them),
``fit`` validates the data, builds a fresh network and returns ``self``, and the fitted
state lives in attributes ending with ``_`` (``module_``, ``classes_``,
``n_features_in_``, ``history_``).

The network is ``module``: a Module (copied at each ``fit``, so every fit starts from
its weights and the one you passed is never trained), a factory called as
``module(n_features_in, n_outputs)`` that returns a fresh Module, or None for a
multilayer perceptron of ReLU layers of ``hidden_layer_sizes``. The classifier's
network outputs one logit per class (trained with cross-entropy; ``predict_proba`` is
their softmax); the regressor's outputs the targets (trained with the mean squared error).
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from shenjing import backend, nn, optim
from shenjing.autograd import no_grad
from shenjing.sklearn._validation import validate_data
from shenjing.tensor import Tensor
from shenjing.training import registry

ModuleSpec = nn.Module | Callable[[int, int], nn.Module] | None


class _NeuralNet(BaseEstimator):
    """What the classifier and the regressor share: building, training, forward passes."""

    _loss = "mse"

    def __init__(
        self,
        module: ModuleSpec = None,
        *,
        hidden_layer_sizes: Sequence[int] = (100,),
        optimizer: str | type[optim.Optimizer] = "adam",
        lr: float = 1e-3,
        epochs: int = 200,
        batch_size: int = 32,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.module = module
        self.hidden_layer_sizes = hidden_layer_sizes
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ building
    def _build(self, n_features: int, n_outputs: int) -> nn.Module:
        if self.module is None:
            layers: list[nn.Module] = []
            width = n_features
            for size in self.hidden_layer_sizes:
                layers += [nn.Linear(width, int(size)), nn.ReLU()]
                width = int(size)
            return nn.Sequential(*layers, nn.Linear(width, n_outputs))
        if isinstance(self.module, nn.Module):
            return copy.deepcopy(self.module)
        if callable(self.module):
            built = self.module(n_features, n_outputs)
            if not isinstance(built, nn.Module):
                raise TypeError(f"{type(self).__name__}: module(n_features_in, n_outputs) "
                                f"must return a Module. Received: {type(built).__name__}")
            return built
        raise TypeError(f"{type(self).__name__}: module must be a Module, a factory "
                        f"module(n_features_in, n_outputs) or None. Received: {self.module!r}")

    def _check_options(self) -> None:
        name = type(self).__name__
        for option in ("epochs", "batch_size"):
            value = getattr(self, option)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: {option} must be a positive int. Received: {value!r}")
        if not isinstance(self.lr, numbers.Real) or not self.lr > 0:
            raise ValueError(f"{name}: lr must be a positive number. Received: {self.lr!r}")

    def _train(self, x: np.ndarray, targets: np.ndarray, n_outputs: int) -> None:
        self._check_options()
        if self.random_state is not None:
            # One seed drives the initialisation and the shuffling: the same random_state
            # gives the same fit.
            seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            backend.manual_seed(int(seed))
        self.n_features_in_ = x.shape[1]
        self.module_ = self._build(x.shape[1], n_outputs)
        optimizer = self.optimizer
        if isinstance(optimizer, str):
            optimizer = registry.resolve_optimizer(optimizer)
        if not (isinstance(optimizer, type) and issubclass(optimizer, optim.Optimizer)):
            raise TypeError(f"{type(self).__name__}: optimizer must be a name such as "
                            f"'adam' or an optimizer class. Received: {self.optimizer!r}")
        self.module_.compile(optimizer=optimizer(self.module_.parameters(), lr=self.lr),
                             loss=self._loss)
        history = self.module_.fit(x, targets, epochs=int(self.epochs),
                                   batch_size=int(self.batch_size), shuffle=True,
                                   verbose=self.verbose)
        self.history_ = history.history
        self.module_.eval()

    def _forward(self, X: Any) -> np.ndarray:
        """The network's outputs on X as a float32 array, in evaluation mode."""
        check_is_fitted(self, "module_")
        x = validate_data(self, X, reset=False).astype(np.float32, copy=False)
        self.module_.eval()
        with no_grad():
            out = self.module_(Tensor(x))
        return backend.to_device(out.array, backend.Device("cpu"))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {"non_deterministic": self.random_state is None}


class NeuralNetClassifier(ClassifierMixin, _NeuralNet):
    """A classifier that trains a shenjing network (see the module docstring).

    Args:
        module: a Module, a factory ``module(n_features_in, n_classes)``, or None for an
            MLP with ``hidden_layer_sizes``. It must output one logit per class.
        hidden_layer_sizes: the hidden widths of the default MLP.
        optimizer: an optimizer name ("adam", "sgd", ...) or class (``sj.optim.Adam``).
        lr: its learning rate.
        epochs: passes over the training data.
        batch_size: samples per step.
        random_state: seeds the initialisation and the shuffling (None: not seeded).
        verbose: ``fit``'s progress display (0 silent, 1 a bar, 2 a line per epoch).

    Example:
        >>> from sklearn.datasets import load_iris
        >>> from shenjing.sklearn import NeuralNetClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = NeuralNetClassifier(hidden_layer_sizes=(16,), lr=0.01, epochs=50,
        ...                           random_state=0).fit(X, y)
        >>> clf.score(X, y) > 0.9
        True
    """

    _loss = "cross_entropy"

    def fit(self, X: Any, y: Any) -> NeuralNetClassifier:
        """Train a fresh network on (X, y); returns ``self``."""
        x, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_, labels = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"NeuralNetClassifier needs at least 2 classes to train; y has "
                             f"1 class: {self.classes_[0]!r}")
        self._train(x.astype(np.float32, copy=False), labels.astype(np.int64),
                    len(self.classes_))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n, n_classes): the softmax of the logits."""
        logits = self._forward(X).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """The most likely class of each sample, among ``classes_``."""
        scores = self._forward(X)  # first: it raises NotFittedError before fit
        return self.classes_[scores.argmax(axis=1)]


class NeuralNetRegressor(RegressorMixin, _NeuralNet):
    """A regressor that trains a shenjing network (see the module docstring) with the
    mean squared error; takes the same arguments as ``NeuralNetClassifier``, and a
    ``module`` factory is called as ``module(n_features_in, n_targets)``.

    Example:
        >>> import numpy as np
        >>> from shenjing.sklearn import NeuralNetRegressor
        >>> X = np.linspace(-1, 1, 64).reshape(-1, 1)
        >>> reg = NeuralNetRegressor(lr=0.01, epochs=100, random_state=0).fit(X, 3 * X[:, 0])
        >>> reg.score(X, 3 * X[:, 0]) > 0.95
        True
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {**super()._more_tags(), "multioutput": True}

    def fit(self, X: Any, y: Any) -> NeuralNetRegressor:
        """Train a fresh network on (X, y); y is (n,) or (n, n_targets). Returns ``self``."""
        x, y = validate_data(self, X, y, multi_output=True, y_numeric=True)
        targets = np.asarray(y, dtype=np.float32)
        self._y_ndim = targets.ndim
        targets = targets.reshape(len(targets), -1)
        self._train(x.astype(np.float32, copy=False), targets, targets.shape[1])
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The predicted targets: (n,) when trained on (n,) targets, else (n, n_targets)."""
        out = self._forward(X).astype(np.float64)  # scikit-learn's regressors answer in float64
        return out[:, 0] if self._y_ndim == 1 else out
