"""One neuron, seven activations: a = f(w·x + b) with step, sigmoid, tanh, ReLU, leaky
ReLU, PReLU and ELU, printing each output and its gradients from autograd, checked
against the derivatives written out by hand.

Run ``python examples/neuron_activations.py``; ``--full`` prints a finer table.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from _common import Checks, parse_args

import shenjing as sj
import shenjing.nn.functional as F

SLOPE = 0.1  # the leaky ReLU's fixed slope for z < 0
PRELU_INIT = 0.25  # the PReLU's learned slope, at its usual starting value
ALPHA = 1.0  # the ELU's α

# name: (the activation on a tensor, f(z) by hand, f'(z) by hand); PReLU's slope is a
# tensor of its own, made below.
ACTIVATIONS: dict[str, tuple[Callable, Callable, Callable]] = {
    "step": (F.step, lambda z: (z > 0) * 1.0, np.zeros_like),
    "sigmoid": (F.sigmoid, lambda z: 1 / (1 + np.exp(-z)),
                lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "tanh": (F.tanh, np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (F.relu, lambda z: np.maximum(z, 0), lambda z: (z > 0) * 1.0),
    "leaky_relu": (lambda z: F.leaky_relu(z, SLOPE), lambda z: np.where(z > 0, z, SLOPE * z),
                   lambda z: np.where(z > 0, 1.0, SLOPE)),
    "prelu": (None, lambda z: np.where(z > 0, z, PRELU_INIT * z),
              lambda z: np.where(z > 0, 1.0, PRELU_INIT)),
    "elu": (lambda z: F.elu(z, ALPHA), lambda z: np.where(z > 0, z, ALPHA * np.expm1(z)),
            lambda z: np.where(z > 0, 1.0, ALPHA * np.exp(z))),
}


def main() -> None:
    args = parse_args(__doc__, "a finer grid of inputs")
    check = Checks()
    # The neuron: two inputs, fixed weights; the inputs are chosen so that z = w·x + b
    # sweeps from negative to positive and never hits a kink exactly.
    w_np, b_np = np.array([0.8, -0.5]), 0.1
    steps = 13 if args.full else 5
    x_np = np.stack([np.linspace(-2.05, 2.05, steps), np.linspace(1.0, -1.0, steps)], axis=1)
    z_np = x_np @ w_np + b_np
    print("z = w·x + b for each input row:", np.round(z_np, 3).tolist())

    for name, (forward, f, df) in ACTIVATIONS.items():
        slope = sj.tensor([PRELU_INIT], dtype="float64", requires_grad=True)
        activation = forward or (lambda t, s=slope: F.prelu(t, s))

        # f'(z) from autograd: z as a leaf, a = f(z), backward of Σa gives ∂a/∂z.
        z = sj.tensor(z_np, dtype="float64", requires_grad=True)
        a = activation(z)
        a.sum().backward()
        slope_grad = slope.grad.item() if slope.grad is not None else None
        # The neuron's own gradients: ∂(Σa)/∂w = Σ f'(z)·x, ∂(Σa)/∂b = Σ f'(z).
        w = sj.tensor(w_np, dtype="float64", requires_grad=True)
        b = sj.tensor([b_np], dtype="float64", requires_grad=True)
        activation(F.linear(sj.tensor(x_np, dtype="float64"), w.reshape(1, 2), b)[:, 0]) \
            .sum().backward()

        print(f"\n{name}")
        print("  a     =", np.round(a.numpy(), 4).tolist())
        print("  da/dz =", np.round(z.grad.numpy(), 4).tolist())
        print("  dC/dw =", np.round(w.grad.numpy(), 4).tolist(),
              " dC/db =", np.round(b.grad.numpy(), 4).tolist(), " (C = Σ a)")
        check(np.allclose(a.numpy(), f(z_np), atol=1e-12), f"{name}: a = f(z)")
        check(np.allclose(z.grad.numpy(), df(z_np), atol=1e-12),
              f"{name}: autograd's da/dz equals f'(z) by hand")
        check(np.allclose(w.grad.numpy(), df(z_np) @ x_np, atol=1e-12)
              and np.allclose(b.grad.numpy(), [df(z_np).sum()], atol=1e-12),
              f"{name}: the neuron's gradients equal Σ f'(z)·x and Σ f'(z)")
        if name == "prelu":
            # ∂a/∂slope = min(z, 0): the slope learns from the negative inputs only.
            print("  dC/dslope =", round(slope_grad, 4))
            check(math.isclose(slope_grad, np.minimum(z_np, 0).sum(), abs_tol=1e-12),
                  "prelu: the slope's gradient is Σ min(z, 0)")
        if name == "step":
            print("  the step's gradient is zero everywhere: nothing before it can learn by "
                  "gradient descent (nn.Perceptron uses the perceptron rule instead)")
    check.finish()


if __name__ == "__main__":
    main()
