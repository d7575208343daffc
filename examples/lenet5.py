"""LeNet-5 on the Fashion-MNIST subset bundled with shenjing: two convolution and pooling
stages, then three fully connected layers (``shenjing.models.lenet5``).

Run ``python examples/lenet5.py`` for one epoch; ``--full`` trains for ten, to a higher
bar, and also trains the 1998 form (tanh, average pooling) for comparison.
"""

from __future__ import annotations

import time

from _common import Checks, parse_args

import shenjing as sj
from shenjing.models import lenet5


def train(model: sj.nn.Module, data: tuple, epochs: int) -> float:
    (x_train, y_train), (x_test, y_test) = data
    model.compile(optimizer=sj.optim.Adam(lr=2e-3), loss="cross_entropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0)
    return model.evaluate(x_test, y_test)["accuracy"]


def main() -> None:
    args = parse_args(__doc__, "ten epochs, and the 1998 form too")
    check = Checks()
    data = sj.data.load_fashion_mnist_small()
    epochs = 10 if args.full else 1
    # name: (lenet5's options, the accuracy it must reach)
    forms = {"modern (ReLU, max pooling)": ({}, 0.84 if args.full else 0.70)}
    if args.full:
        forms["1998 (tanh, average pooling)"] = ({"activation": "tanh"}, 0.82)
    for name, (options, bar) in forms.items():
        sj.manual_seed(0)
        model = lenet5(**options)
        if name.startswith("modern"):
            model.summary(input_shape=(1, 28, 28))
        start = time.perf_counter()
        accuracy = train(model, data, epochs)
        print(f"{name}: test accuracy {accuracy:.4f} after {epochs} epoch(s), "
              f"{time.perf_counter() - start:.1f} s")
        check(accuracy >= bar, f"{name}: accuracy {accuracy:.4f} >= {bar}")
    check.finish()


if __name__ == "__main__":
    main()
