"""Accuracy runs on the full Fashion-MNIST (60,000 / 10,000), when it is installed.

``python -m benchmarks.accuracy_fashion_mnist [lenet5|lstm]``: LeNet-5 (modern form),
5 epochs, bar 0.89; a row-by-row LSTM (hidden 128), bar 0.85. Prints accuracy and time.
"""

from __future__ import annotations

import sys
import time

from benchmarks.common import pin_one_thread

pin_one_thread()

import shenjing as sj  # noqa: E402
from shenjing.models import lenet5, rnn_classifier  # noqa: E402
from shenjing.training import LearningRateScheduler  # noqa: E402

# name: (builder, epochs, Adam learning rate, its decay per epoch, batch size, bar)
RUNS = {
    "lenet5": (lambda: lenet5(), 5, 2e-3, 0.6, 32, 0.89),
    "lstm": (lambda: rnn_classifier("lstm", hidden_size=128), 5, 2e-3, 1.0, 64, 0.85),
}


def main(names: list[str]) -> int:
    """Train each named run; exit status 1 if any misses its bar."""
    (x_train, y_train), (x_test, y_test) = sj.data.load_fashion_mnist()
    failed = 0
    for name in names or list(RUNS):
        build, epochs, lr, decay, batch_size, bar = RUNS[name]
        sj.manual_seed(0)
        model = build()
        model.compile(optimizer=sj.optim.Adam(lr=lr), loss="cross_entropy",
                      metrics=["accuracy"])
        start = time.perf_counter()
        schedule = LearningRateScheduler(lambda epoch, _, lr=lr, decay=decay: lr * decay**epoch)
        model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0,
                  callbacks=[schedule])
        seconds = time.perf_counter() - start
        accuracy = model.evaluate(x_test, y_test)["accuracy"]
        verdict = "ok" if accuracy >= bar else "BELOW BAR"
        print(f"{name}: test accuracy {accuracy:.4f} after {epochs} epochs "
              f"({seconds:.0f} s training), bar {bar}: {verdict}", flush=True)
        failed += accuracy < bar
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
