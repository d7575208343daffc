"""Numerical gradient checking: ``sj.gradcheck`` confirms a network's backward pass, and
catches a planted mistake in a custom op's backward.

gradcheck compares each gradient from ``backward()`` with the central difference
(f(θ + ε) − f(θ − ε)) / 2ε, computed in float64, element by element.

Run ``python examples/gradient_check.py``; ``--full`` checks a deeper, wider network.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from _common import Checks, parse_args

import shenjing as sj
import shenjing.nn.functional as F


class Cube(sj.Function):
    """y = x³;  gx = gy · 3x²."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return x * x * x

    def backward(self, gy: Any) -> Any:
        return gy * 3 * self.x * self.x


class WrongCube(Cube):
    """y = x³, with the planted mistake gx = gy · 2x² (the 3 became a 2)."""

    def backward(self, gy: Any) -> Any:
        return gy * 2 * self.x * self.x


def network_loss(cube: type[sj.Function]) -> Any:
    """A small network's loss as a function of its input and every parameter, with the
    custom op as one of its activations."""

    def loss(x: sj.Tensor, target: sj.Tensor, *params: sj.Tensor) -> sj.Tensor:
        a = x
        for i in range(0, len(params), 2):
            z = F.linear(a, params[i], params[i + 1])
            a = F.tanh(z) if i + 2 < len(params) else cube.apply(z)
        return F.cross_entropy(a, target)

    return loss


def make_params(sizes: list[int], rng: np.random.Generator) -> list[sj.Tensor]:
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        params += [sj.tensor(rng.normal(0, 0.5, (n_out, n_in)), dtype="float64",
                             requires_grad=True),
                   sj.tensor(rng.normal(0, 0.5, n_out), dtype="float64", requires_grad=True)]
    return params


def main() -> None:
    args = parse_args(__doc__, "a deeper, wider network")
    check = Checks()
    rng = np.random.default_rng(0)
    sizes = [6, 16, 16, 8, 4] if args.full else [3, 5, 4]
    x = sj.tensor(rng.normal(size=(5, sizes[0])), dtype="float64", requires_grad=True)
    target = sj.tensor(rng.integers(0, sizes[-1], 5))
    params = make_params(sizes, rng)
    count = sum(p.numel() for p in params) + x.numel()
    print(f"network {sizes}: checking {count} gradient entries")

    passed = sj.gradcheck(network_loss(Cube), [x, target, *params])
    check(passed is True, "the network's backward agrees with central differences")

    try:
        sj.gradcheck(network_loss(WrongCube), [x, target, *params])
        caught = False
    except sj.GradcheckError as error:
        print(f"the planted mistake, as gradcheck reports it:\n  {error}")
        caught = True
    check(caught, "gradcheck caught the wrong backward of WrongCube")
    check.finish()


if __name__ == "__main__":
    main()
