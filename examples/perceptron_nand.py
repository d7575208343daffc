"""The NAND perceptron: one threshold unit learns NAND by the perceptron rule, and fails
on XOR, which no single straight line separates.

Run ``python examples/perceptron_nand.py``; ``--full`` also trains AND, OR and NOR.
"""

from __future__ import annotations

import warnings

import numpy as np
from _common import Checks, parse_args

import shenjing.nn as nn

INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
GATES = {"NAND": [1, 1, 1, 0], "AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "NOR": [1, 0, 0, 0]}


def train_gate(name: str, targets: list[int], check: Checks) -> None:
    unit = nn.Perceptron(2, lr=1.0)
    converged = unit.fit(INPUTS, targets).converged_
    w, b = unit.weight.numpy()[0], unit.bias.item()
    print(f"\n{name}: mistakes per epoch {unit.errors_}; w = {w.tolist()}, b = {b}")
    predictions = unit.predict(INPUTS)
    for (x1, x2), out in zip(INPUTS.astype(int), predictions, strict=True):
        print(f"  {name}({x1}, {x2}) = {out}")
    check(converged, f"{name} converged after {unit.epochs_} epochs")
    check(predictions.tolist() == targets, f"{name} truth table reproduced")


def main() -> None:
    args = parse_args(__doc__, "also train AND, OR and NOR")
    check = Checks()
    for name in (GATES if args.full else ["NAND"]):
        train_gate(name, GATES[name], check)

    print("\nXOR:")
    unit = nn.Perceptron(2, max_epochs=20)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        converged = unit.fit(INPUTS, [0, 1, 1, 0]).converged_
    print(f"  mistakes per epoch {unit.errors_}")
    print(f"  Perceptron {unit.message_}")
    check(not converged, "XOR is not learned by a single unit")
    check(any(issubclass(w.category, nn.PerceptronConvergenceWarning) for w in caught),
          "fit warned that it did not converge")
    check.finish()


if __name__ == "__main__":
    main()
