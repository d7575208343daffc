"""An MNIST-style network trained two ways, side by side: the tutorial's way (sigmoid
units, the quadratic cost, plain mini-batch SGD) and the modern way (ReLU units, softmax
cross-entropy, Adam), with the same 784-30-10 shape.

By default both train on the Fashion-MNIST subset bundled with shenjing (10,000 training
and 2,000 test images), for three epochs each. ``--full`` trains on the complete MNIST
(downloaded into the cache on first use; see ``sj.data.load_mnist``) for 30 epochs the
tutorial's way and 10 the modern way; ``--full --fashion`` uses full Fashion-MNIST.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import Checks

import shenjing as sj
import shenjing.nn as nn
from shenjing.cli.threads import choose_threads


def quadratic_cost(output: sj.Tensor, target: sj.Tensor) -> sj.Tensor:
    """The tutorial's C = (1/2n) Σₓ ‖a(x) − y(x)‖², with y(x) the one-hot target."""
    return 0.5 * ((output - target) ** 2).sum() / len(output)


def tutorial_way(train: tuple, test: tuple, epochs: int) -> float:
    """784-30-10 sigmoid network, quadratic cost, SGD with η = 3 on mini-batches of 10."""
    (x_train, y_train), (x_test, y_test) = train, test
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 30), nn.Sigmoid(),
                          nn.Linear(30, 10), nn.Sigmoid())
    model.compile(optimizer=sj.optim.SGD(lr=3.0), loss=quadratic_cost)
    one_hot = np.eye(10, dtype=np.float32)[y_train]
    model.fit(x_train, one_hot, epochs=epochs, batch_size=10, verbose=0)
    return float((model.predict(x_test).argmax(axis=1) == y_test).mean())


def modern_way(train: tuple, test: tuple, epochs: int) -> float:
    """784-30-10 ReLU network on logits, softmax cross-entropy, Adam on batches of 64."""
    (x_train, y_train), (x_test, y_test) = train, test
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 30), nn.ReLU(), nn.Linear(30, 10))
    model.compile(optimizer=sj.optim.Adam(lr=2e-3), loss="cross_entropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0)
    return model.evaluate(x_test, y_test)["accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--full", action="store_true",
                        help="full MNIST, 30 and 10 epochs (downloads MNIST once)")
    parser.add_argument("--fashion", action="store_true",
                        help="with --full: full Fashion-MNIST instead of MNIST")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="BLAS threads (default: half the cores, 1 to 4)")
    args = parser.parse_args()
    choose_threads(args.threads)
    check = Checks()
    if args.full:
        load = sj.data.load_fashion_mnist if args.fashion else sj.data.load_mnist
        train, test = load()
        epochs = {"tutorial": 30, "modern": 10}
        bars = {"tutorial": 0.80, "modern": 0.82} if args.fashion else \
            {"tutorial": 0.93, "modern": 0.94}
    else:
        train, test = sj.data.load_fashion_mnist_small()
        epochs = {"tutorial": 3, "modern": 3}
        bars = {"tutorial": 0.70, "modern": 0.75}

    print(f"{'recipe':<10}{'epochs':>8}{'test accuracy':>16}{'seconds':>10}")
    for name, train_way in (("tutorial", tutorial_way), ("modern", modern_way)):
        sj.manual_seed(0)
        start = time.perf_counter()
        accuracy = train_way(train, test, epochs[name])
        print(f"{name:<10}{epochs[name]:>8}{accuracy:>16.4f}"
              f"{time.perf_counter() - start:>10.1f}")
        check(accuracy >= bars[name], f"{name} way: accuracy {accuracy:.4f} >= {bars[name]}")
    check.finish()


if __name__ == "__main__":
    main()
