"""The model zoo: shapes, parameter counts, and LeNet-5 learning the bundled data."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
from shenjing.models import lenet5, mlp, rnn_classifier


def test_lenet5_has_the_classic_shapes_and_parameter_count() -> None:
    model = lenet5()
    assert model(sj.zeros(2, 1, 28, 28)).shape == (2, 10)
    # conv1 156 + conv2 2,416 + fc 48,120 + 10,164 + 850
    assert model.count_params() == 61_706
    assert type(model[1]).__name__ == "ReLU" and type(model[2]).__name__ == "MaxPool2d"


def test_lenet5_1998_form_uses_tanh_and_average_pooling() -> None:
    model = lenet5(activation="tanh")
    assert type(model[1]).__name__ == "Tanh" and type(model[2]).__name__ == "AvgPool2d"
    assert lenet5(in_channels=3, num_classes=5, input_size=32)(sj.zeros(1, 3, 32, 32)).shape == (1, 5)


def test_builders_reject_unknown_choices() -> None:
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        lenet5(activation="swish")
    with pytest.raises(ValueError, match="pooling must be 'max' or 'avg'"):
        lenet5(pooling="min")
    with pytest.raises(ValueError, match="cell must be one of"):
        rnn_classifier("transformer")


def test_mlp_flattens_images() -> None:
    model = mlp(784, (32, 16), 10, dropout=0.1)
    assert model(sj.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert model.count_params() == 784 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_row_classifier_reads_images_row_by_row(cell: str) -> None:
    model = rnn_classifier(cell, hidden_size=8)
    x = sj.randn(4, 1, 28, 28)
    assert model(x).shape == (4, 10)
    assert model(x.reshape(4, 28, 28)).shape == (4, 10)


def test_lenet5_reaches_80_percent_on_the_bundled_subset_in_two_epochs() -> None:
    (x_train, y_train), (x_test, y_test) = sj.data.load_fashion_mnist_small()
    sj.manual_seed(0)
    model = lenet5()
    model.compile(optimizer=sj.optim.Adam(lr=3e-3), loss="cross_entropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=2, batch_size=32, verbose=0)
    accuracy = model.evaluate(x_test, y_test)["accuracy"]
    assert accuracy >= 0.80
    assert np.isfinite(model.predict_proba(x_test[:5])).all()
