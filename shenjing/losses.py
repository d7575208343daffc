"""Keras's losses under Keras's names: ``sj.losses.SparseCategoricalCrossentropy(from_logits=
True)`` and friends, taking ``(y_true, y_pred)``; see ``shenjing.nn.keras_losses``."""

from shenjing.nn.keras_losses import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Loss,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    categorical_crossentropy,
    sparse_categorical_crossentropy,
)

__all__ = [
    "BinaryCrossentropy", "CategoricalCrossentropy", "Loss", "SparseCategoricalCrossentropy",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
]
