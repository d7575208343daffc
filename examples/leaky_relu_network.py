"""A (2, 4, 1) network with leaky ReLU learns z = x + 2y from examples.

Two inputs, four leaky-ReLU hidden units, one linear output, trained on the quadratic
cost by mini-batch gradient descent, one explicit step at a time: forward, loss,
backward, update.

Run ``python examples/leaky_relu_network.py``; ``--full`` trains ten times longer on more
data, to a tighter bar.
"""

from __future__ import annotations

import numpy as np
from _common import Checks, parse_args

import shenjing as sj
import shenjing.nn as nn
import shenjing.nn.functional as F
from shenjing.data import DataLoader, TensorDataset


def target(points: np.ndarray) -> np.ndarray:
    """z = x + 2y for each row (x, y)."""
    return points[:, :1] + 2 * points[:, 1:]


def main() -> None:
    args = parse_args(__doc__, "ten times the epochs and four times the data")
    check = Checks()
    sj.manual_seed(0)
    rng = np.random.default_rng(0)
    n, epochs = (2000, 400) if args.full else (500, 40)
    train = rng.uniform(-1, 1, size=(n, 2)).astype(np.float32)
    test = rng.uniform(-1, 1, size=(200, 2)).astype(np.float32)

    model = nn.Sequential(nn.Linear(2, 4), nn.LeakyReLU(0.01), nn.Linear(4, 1))
    optimizer = sj.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = DataLoader(TensorDataset(train, target(train)), batch_size=32, shuffle=True)
    for epoch in range(epochs):
        total = 0.0
        for x, z in loader:
            loss = F.mse_loss(model(x), z)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(x)
        if (epoch + 1) % (epochs // 4) == 0:
            print(f"epoch {epoch + 1:4d}: training MSE {total / n:.6f}")

    model.eval()
    with sj.no_grad():
        test_mse = F.mse_loss(model(sj.tensor(test)), sj.tensor(target(test))).item()
        probes = np.array([[0.5, 0.25], [-0.5, 0.5], [1.0, -1.0]], dtype=np.float32)
        answers = model(sj.tensor(probes)).numpy()[:, 0]
    for (x, y), z in zip(probes, answers, strict=True):
        print(f"  net({x:+.2f}, {y:+.2f}) = {z:+.4f}   (x + 2y = {x + 2 * y:+.4f})")
    bar = 1e-4 if args.full else 1e-3
    check(test_mse < bar, f"test MSE {test_mse:.2e} < {bar:g}")
    check(bool(np.allclose(answers, target(probes)[:, 0], atol=0.1)),
          "the probes come out within 0.1 of x + 2y")
    check.finish()


if __name__ == "__main__":
    main()
