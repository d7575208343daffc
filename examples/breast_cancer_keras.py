"""The tutorial's breast-cancer network in shenjing's own, Keras-style API: the same
30-64-32-1 layers, dropout keeping 80%, Adam(0.05, β = (0.9, 0.99)), 100 epochs.

The output layer gives a logit and the loss is binary cross-entropy on logits (the
sigmoid is folded into the loss, which is stable for any logit). Needs scikit-learn.
Run ``python examples/breast_cancer_keras.py``; ``--full`` repeats over five seeds.
"""

from __future__ import annotations

from _common import Checks, parse_args
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

import shenjing as sj
import shenjing.nn as nn


def train(seed: int) -> float:
    sj.manual_seed(seed)
    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=101)
    scaler = MinMaxScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)

    model = nn.Sequential(
        nn.Dense(64, activation="sigmoid", use_bias=False),
        nn.Dense(32, activation="relu", use_bias=False),
        nn.Dropout(0.2),  # PyTorch's and Keras's p is the probability of dropping
        nn.Dense(1, use_bias=False),
    )
    model.compile(optimizer=sj.optim.Adam(lr=0.05, betas=(0.9, 0.99)),
                  loss="binary_cross_entropy_with_logits", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=100, batch_size=64, verbose=0)
    if seed == 0:
        model.summary()
    print(f"final training loss {history.history['loss'][-1]:.4f}")
    results = model.evaluate(x_test, y_test)
    print(f"test loss {results['loss']:.4f}, test accuracy {results['accuracy']:.4f}")
    return results["accuracy"]


def main() -> None:
    args = parse_args(__doc__, "five seeds instead of one")
    check = Checks()
    for seed in range(5 if args.full else 1):
        accuracy = train(seed)
        check(accuracy >= 0.95, f"seed {seed}: test accuracy {accuracy:.4f} >= 0.95")
    check.finish()


if __name__ == "__main__":
    main()
