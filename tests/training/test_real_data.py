"""Training bars on real small data sets: the source material's breast-cancer network,
a digits MLP, and an MLP on the bundled Fashion-MNIST subset."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn

sklearn = pytest.importorskip("sklearn")


def test_breast_cancer_network_reaches_95_percent() -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import MinMaxScaler

    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=101)
    scaler = MinMaxScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)

    sj.manual_seed(0)
    model = nn.Sequential(
        nn.Dense(64, activation="sigmoid"),
        nn.Dense(32, activation="relu"),
        nn.Dropout(0.2),
        nn.Dense(1, activation="sigmoid"),
    )
    model.compile(optimizer=sj.optim.Adam(lr=0.01), loss="binary_cross_entropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=100, batch_size=64, verbose=0)
    accuracy = model.evaluate(x_test, y_test)["accuracy"]
    assert accuracy >= 0.95
    assert (model.predict(x_test) == y_test).mean() == pytest.approx(accuracy)


def test_digits_mlp_reaches_96_percent() -> None:
    (x_train, y_train), (x_test, y_test) = sj.data.load_dataset("digits")
    sj.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    model.compile(optimizer=sj.optim.Adam(model.parameters(), lr=1e-3), loss="cross_entropy",
                  metrics=["accuracy"])
    model.fit(x_train / 16.0, y_train, epochs=30, batch_size=32, verbose=0)
    assert model.evaluate(x_test / 16.0, y_test)["accuracy"] >= 0.96


def test_mlp_on_the_bundled_fashion_mnist_subset() -> None:
    (x_train, y_train), (x_test, y_test) = sj.data.load_fashion_mnist_small(flatten=True)
    sj.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=3, batch_size=64, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(x_test, y_test)["accuracy"] >= 0.80
    assert np.isin(model.predict(x_test[:10]), np.arange(10)).all()
