"""Keras-style training: ``compile``/``fit``/``evaluate``/``predict``, callbacks, metrics."""

from shenjing.nn.keras import register_trainer
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
from shenjing.training.gradcheck import GradCheck
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

# Every Module's compile() builds this trainer (nn sits below training and never imports it).
register_trainer(Trainer)
