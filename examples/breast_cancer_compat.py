"""The tutorial's worked example, run as published but for its import line: a
30-64-32-1 network classifies the Wisconsin breast-cancer data with the tutorial's
``NeuralNetwork`` API, here ``shenjing.compat``.

Needs scikit-learn (``pip install shenjing[full]``). Run
``python examples/breast_cancer_compat.py``; ``--full`` repeats the run over five seeds
and checks every one.
"""

from __future__ import annotations

from _common import Checks, parse_args
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

import shenjing as sj
from shenjing.compat import Adam, NeuralNetwork  # the tutorial's own modules, before


def tutorial_example() -> float:
    """The tutorial's code, unchanged."""
    cancer = load_breast_cancer()
    X = MinMaxScaler().fit_transform(cancer.data)
    y = cancer.target
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=101)

    nn = NeuralNetwork(30, False)
    nn.add_dense_layer(64, "sigmoid")
    nn.add_dense_layer(32, "relu")
    nn.add_dropout_layer(0.8)
    nn.add_output_layer()

    optimizer = Adam(alpha=0.05, beta_1=0.9, beta_2=0.99)
    nn.fit(X_train, y_train, epoch=100, batch_size=64, optimizer=optimizer)

    y_pred = nn.predict(X_test)
    y_proba = nn.predict_proba(X_test)
    print("first probabilities:", y_proba[:5, 0].round(3).tolist())
    accuracy = nn.calc_accuracy(y_test, y_pred)
    print("test accuracy:", accuracy)
    return accuracy


def main() -> None:
    args = parse_args(__doc__, "five seeds instead of one")
    check = Checks()
    for seed in range(5 if args.full else 1):
        sj.manual_seed(seed)
        accuracy = tutorial_example()
        check(accuracy >= 0.95, f"seed {seed}: test accuracy {accuracy:.4f} >= 0.95")
    check.finish()


if __name__ == "__main__":
    main()
