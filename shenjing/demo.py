"""The quick demo: train a small network on the Fashion-MNIST subset that ships with
shenjing, and watch the loss fall. ``python -m shenjing.demo [--epochs N]``."""

from __future__ import annotations

import argparse
import time

import shenjing as sj
import shenjing.nn as nn
from shenjing.data import CLASS_NAMES, load_fashion_mnist_small


def main(argv: list[str] | None = None) -> float:
    """Train a 784-128-64-10 MLP with Adam; returns the test accuracy."""
    parser = argparse.ArgumentParser(prog="python -m shenjing.demo", description=__doc__)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    sj.manual_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist_small(flatten=True)
    print(f"Fashion-MNIST subset: {len(x_train)} training and {len(x_test)} test images, "
          f"classes: {', '.join(CLASS_NAMES)}")
    model = nn.Sequential(
        nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.1),
        nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )
    model.compile(optimizer=sj.optim.Adam(model.parameters(), lr=1e-3),
                  loss="cross_entropy", metrics=["accuracy"])
    model.summary(input_shape=(784,))
    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                        validation_data=(x_test, y_test))
    seconds = time.perf_counter() - start
    losses = " → ".join(f"{v:.3f}" for v in history.history["loss"])
    print(f"training loss per epoch: {losses}  ({seconds:.1f} s)")
    accuracy = model.evaluate(x_test, y_test)["accuracy"]
    print(f"test accuracy: {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    main()
