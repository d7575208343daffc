"""Keras-style training: ``compile``/``fit``/``evaluate``/``predict``, callbacks, metrics."""

from shenjing.training.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from shenjing.training.metrics import (
    Accuracy,
    BinaryAccuracy,
    MeanAbsoluteError,
    MeanSquaredError,
    Metric,
    TopKAccuracy,
)
from shenjing.training.tensorboard import TensorBoard
from shenjing.training.trainer import Trainer

# isort: off
# Last: the callback builds on the training package above.
from shenjing.diagnostics.gradcheck_model import GradCheck  # noqa: E402
# isort: on
