"""The NumPy tutorial's API on shenjing's engine: ``NeuralNetwork`` and its optimizers.

Code written for the tutorial runs with its import line changed to::

    from shenjing.compat import NeuralNetwork, Adam

and computes what the tutorial meant to compute; ``docs/tutorial-errata.md`` lists where
the tutorial's own code went wrong and what shenjing does instead.
"""

from shenjing.compat.network import ACTIVATIONS, LOSSES, NeuralNetwork, calc_accuracy
from shenjing.compat.optimizers import (
    BGD,
    MBGD,
    SGD,
    AdaDelta,
    AdaGrad,
    Adam,
    Adamax,
    RMSProp,
)

__all__ = [
    "ACTIVATIONS", "BGD", "LOSSES", "MBGD", "SGD", "AdaDelta", "AdaGrad", "Adam", "Adamax",
    "NeuralNetwork", "RMSProp", "calc_accuracy",
]
