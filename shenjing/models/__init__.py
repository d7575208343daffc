"""The model zoo: ready-made networks from the source material."""

from shenjing.models.lenet import lenet5
from shenjing.models.mlp import mlp
from shenjing.models.recurrent import RowClassifier, rnn_classifier

__all__ = ["RowClassifier", "lenet5", "mlp", "rnn_classifier"]
