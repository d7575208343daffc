"""The four backpropagation equations, written out by hand in NumPy for a [2, 3, 2, 2]
sigmoid network, agree with shenjing's autograd, before and after training steps.

For layer l, zˡ = Wˡ aˡ⁻¹ + bˡ and aˡ = σ(zˡ); the cost is the quadratic
C = (1/m) Σₓ ½‖aᴸ − y‖² over a batch of m samples. Then, per sample:

    δᴸ = ∇ₐC ⊙ σ'(zᴸ)              with ∇ₐC = aᴸ − y
    δˡ = ((Wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ'(zˡ)
    ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ
    ∂C/∂bˡ = δˡ

and the batch's gradients are the means over its samples. Samples are the columns of
the NumPy arrays, so each equation reads as printed.

Run ``python examples/backprop_by_hand.py``; ``--full`` trains for 200 steps and checks
the equations at every one.
"""

from __future__ import annotations

import numpy as np
from _common import Checks, parse_args

import shenjing as sj
import shenjing.nn.functional as F

SIZES = [2, 3, 2, 2]
LR = 2.0


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def backprop(weights: list[np.ndarray], biases: list[np.ndarray], x: np.ndarray,
             y: np.ndarray) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    """The cost and its gradients by the four equations; x, y hold samples as columns."""
    m = x.shape[1]
    activations, zs = [x], []
    for w, b in zip(weights, biases, strict=True):  # forward: keep every z and a
        zs.append(w @ activations[-1] + b)
        activations.append(sigmoid(zs[-1]))
    cost = 0.5 * ((activations[-1] - y) ** 2).sum() / m

    def sigmoid_prime(z: np.ndarray) -> np.ndarray:
        return sigmoid(z) * (1 - sigmoid(z))

    grad_w, grad_b = [None] * len(weights), [None] * len(weights)
    delta = (activations[-1] - y) * sigmoid_prime(zs[-1])                 # (BP1)
    for layer in reversed(range(len(weights))):
        if layer < len(weights) - 1:
            delta = (weights[layer + 1].T @ delta) * sigmoid_prime(zs[layer])  # (BP2)
        grad_w[layer] = delta @ activations[layer].T / m                   # (BP3), mean
        grad_b[layer] = delta.sum(axis=1, keepdims=True) / m               # (BP4), mean
    return cost, grad_w, grad_b


def main() -> None:
    args = parse_args(__doc__, "200 training steps, checked at every step")
    check = Checks()
    rng = np.random.default_rng(0)
    m = 8
    x = rng.normal(size=(2, m))
    y = (rng.uniform(size=(2, m)) > 0.5).astype(np.float64)
    weights = [rng.normal(size=(n_out, n_in))
               for n_in, n_out in zip(SIZES[:-1], SIZES[1:], strict=True)]
    biases = [rng.normal(size=(n_out, 1)) for n_out in SIZES[1:]]

    # The same network in shenjing: the same arrays (copied), in float64, with
    # PyTorch's layout (W is (out, in), b is (out,)) and samples as rows.
    params = []
    for w, b in zip(weights, biases, strict=True):
        params += [sj.tensor(w, dtype="float64", requires_grad=True),
                   sj.tensor(b[:, 0], dtype="float64", requires_grad=True)]
    optimizer = sj.optim.SGD(params, lr=LR)
    inputs, targets = sj.tensor(x.T, dtype="float64"), sj.tensor(y.T, dtype="float64")

    def autograd_cost() -> sj.Tensor:
        a = inputs
        for w, b in zip(params[::2], params[1::2], strict=True):
            a = F.sigmoid(F.linear(a, w, b))
        return 0.5 * ((a - targets) ** 2).sum() / m

    steps = 200 if args.full else 3
    worst, first_cost = 0.0, 0.0
    for step in range(steps + 1):
        cost, grad_w, grad_b = backprop(weights, biases, x, y)
        loss = autograd_cost()
        optimizer.zero_grad()
        loss.backward()
        for layer in range(len(weights)):
            worst = max(worst,
                        np.abs(params[2 * layer].grad.numpy() - grad_w[layer]).max(),
                        np.abs(params[2 * layer + 1].grad.numpy() - grad_b[layer][:, 0]).max())
        if step == 0:
            first_cost = cost
            print(f"cost {cost:.6f} (autograd {loss.item():.6f})")
            for layer in range(len(weights)):
                print(f"∂C/∂W{layer + 1} by hand:\n{np.round(grad_w[layer], 6)}")
                print(f"∂C/∂W{layer + 1} by autograd:\n"
                      f"{np.round(params[2 * layer].grad.numpy(), 6)}")
        if step == steps:
            break
        # One gradient-descent step on both copies; each later check uses the *current*
        # weights, as backpropagation must (see docs/tutorial-errata.md, item 1).
        optimizer.step()
        for layer in range(len(weights)):
            weights[layer] = weights[layer] - LR * grad_w[layer]
            biases[layer] = biases[layer] - LR * grad_b[layer]

    print(f"after {steps} steps: cost {first_cost:.6f} → {cost:.6f}")
    check(worst < 1e-12, f"the four equations match autograd at every step "
          f"(largest difference {worst:.1e})")
    same_weights = all(np.allclose(p.numpy(), w, atol=1e-12)
                       for p, w in zip(params[::2], weights, strict=True))
    check(same_weights, "both copies of the network took the same steps")
    check(cost < first_cost, "gradient descent lowered the cost")
    check.finish()


if __name__ == "__main__":
    main()
