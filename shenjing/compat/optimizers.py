"""The tutorial's optimizers, under its names and argument names, as shenjing optimizers.

Each class *is* the shenjing optimizer with the same math (a subclass that only renames
the arguments), so it can also be handed to ``model.compile`` or driven by hand. Like
every shenjing optimizer it may be created without parameters; ``NeuralNetwork.fit``
binds it to the network's parameters.

- ``SGD(alpha, beta)``: ``optim.SGD(lr=alpha, momentum=beta or 0)``
- ``BGD(alpha)``: ``optim.SGD(lr=alpha)``, fed the whole data set as one batch
- ``MBGD(alpha)``: ``optim.SGD(lr=alpha)``, fed ``fit``'s mini-batches
- ``AdaGrad(alpha, epsilon)``: ``optim.Adagrad(lr=alpha, eps=epsilon)``
- ``AdaDelta(alpha, beta, epsilon)``: ``optim.Adadelta(lr=alpha, rho=beta, eps=epsilon)``
- ``RMSProp(alpha, beta, epsilon)``: ``optim.RMSprop(lr=alpha, alpha=beta, eps=epsilon)``
- ``Adam(alpha, beta_1, beta_2, epsilon)``: ``optim.Adam(lr=alpha, betas=(beta_1, beta_2),
  eps=epsilon)``
- ``Adamax(alpha, beta_1, beta_2, epsilon)``: ``optim.Adamax(lr=alpha,
  betas=(beta_1, beta_2), eps=epsilon)``

The tutorial's published defaults are not known, so the defaults here are shenjing's (and
PyTorch's) for each method, except that the plain gradient-descent family uses
α = 0.01. SGD and MBGD both step once per mini-batch of ``fit(batch_size=...)``; pass
``batch_size=1`` for the classical one-sample stochastic gradient descent.
"""

from __future__ import annotations

from shenjing import optim
from shenjing.optim.optimizer import ParamsLike

__all__ = ["BGD", "MBGD", "SGD", "AdaDelta", "AdaGrad", "Adam", "Adamax", "RMSProp"]


class SGD(optim.SGD):
    """Gradient descent with optional heavy-ball momentum: v = βv + g; θ = θ − αv.

    Without β this is θ = θ − αg on each mini-batch. β is the momentum μ of
    ``shenjing.optim.SGD`` (PyTorch's form, with no learning rate inside v).

    Args:
        alpha: the learning rate α.
        beta: the momentum β; None (or 0) for none.
        params: the tensors to optimize; ``NeuralNetwork.fit`` fills them in.
    """

    def __init__(
        self, alpha: float = 0.01, beta: float | None = None, params: ParamsLike | None = None
    ) -> None:
        super().__init__(params, lr=alpha, momentum=0 if beta is None else beta)


class BGD(optim.SGD):
    """Batch gradient descent: θ = θ − α ∇C(θ), with ∇C taken over the whole training set.

    ``NeuralNetwork.fit`` ignores its ``batch_size`` for this optimizer: each epoch is
    exactly one step on all the data.

    Args:
        alpha: the learning rate α.
        params: the tensors to optimize; ``NeuralNetwork.fit`` fills them in.
    """

    full_batch = True
    """Tells ``NeuralNetwork.fit`` to feed the whole data set as one batch."""

    def __init__(self, alpha: float = 0.01, params: ParamsLike | None = None) -> None:
        super().__init__(params, lr=alpha)


class MBGD(optim.SGD):
    """Mini-batch gradient descent: θ = θ − α ∇C_B(θ) for each mini-batch B of ``fit``.

    Args:
        alpha: the learning rate α.
        params: the tensors to optimize; ``NeuralNetwork.fit`` fills them in.
    """

    def __init__(self, alpha: float = 0.01, params: ParamsLike | None = None) -> None:
        super().__init__(params, lr=alpha)


class AdaGrad(optim.Adagrad):
    """AdaGrad: s = s + g²; θ = θ − α g / (√s + ε).

    Args:
        alpha: the learning rate α.
        epsilon: ε, added to √s.
        params: the tensors to optimize; ``NeuralNetwork.fit`` fills them in.
    """

    def __init__(
        self, alpha: float = 0.01, epsilon: float = 1e-10, params: ParamsLike | None = None
    ) -> None:
        super().__init__(params, lr=alpha, eps=epsilon)


class AdaDelta(optim.Adadelta):
    """AdaDelta: E[g²] = βE[g²] + (1 − β)g²; Δ = √(E[Δ²] + ε)/√(E[g²] + ε)·g;
    E[Δ²] = βE[Δ²] + (1 − β)Δ²; θ = θ − αΔ.

    Args:
        alpha: a factor on the step (1.0 is Zeiler's method).
        beta: β, the decay of both running averages (``rho`` in shenjing and PyTorch).
        epsilon: ε, inside both roots.
        params: the tensors to optimize; ``NeuralNetwork.fit`` fills them in.
    """

    def __init__(
        self,
        alpha: float = 1.0,
        beta: float = 0.9,
        epsilon: float = 1e-6,
        params: ParamsLike | None = None,
    ) -> None:
        super().__init__(params, lr=alpha, rho=beta, eps=epsilon)


class RMSProp(optim.RMSprop):
    """RMSProp: v = βv + (1 − β)g²; θ = θ − α g / (√v + ε).

    Args:
        alpha: the learning rate α (``lr``; shenjing's ``alpha`` is the decay, here β).
        beta: β, the decay of the running mean of g².
        epsilon: ε, added to √v.
        params: the tensors to optimize; ``NeuralNetwork.fit`` fills them in.
    """

    def __init__(
        self,
        alpha: float = 0.01,
        beta: float = 0.99,
        epsilon: float = 1e-8,
        params: ParamsLike | None = None,
    ) -> None:
        super().__init__(params, lr=alpha, alpha=beta, eps=epsilon)


class Adam(optim.Adam):
    """Adam: m = β₁m + (1 − β₁)g; v = β₂v + (1 − β₂)g²;
    θ = θ − α m̂ / (√v̂ + ε) with m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ).

    Args:
        alpha: the learning rate α.
        beta_1: β₁, the decay of the first moment m.
        beta_2: β₂, the decay of the second moment v.
        epsilon: ε, added to √v̂.
        params: the tensors to optimize; ``NeuralNetwork.fit`` fills them in.
    """

    def __init__(
        self,
        alpha: float = 1e-3,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        params: ParamsLike | None = None,
    ) -> None:
        super().__init__(params, lr=alpha, betas=(beta_1, beta_2), eps=epsilon)


class Adamax(optim.Adamax):
    """Adamax: m = β₁m + (1 − β₁)g; u = max(β₂u, |g| + ε); θ = θ − α/(1 − β₁ᵗ) · m/u.

    Args:
        alpha: the learning rate α.
        beta_1: β₁, the decay of m.
        beta_2: β₂, the decay of the infinity norm u.
        epsilon: ε, keeps u away from zero.
        params: the tensors to optimize; ``NeuralNetwork.fit`` fills them in.
    """

    def __init__(
        self,
        alpha: float = 2e-3,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        params: ParamsLike | None = None,
    ) -> None:
        super().__init__(params, lr=alpha, betas=(beta_1, beta_2), eps=epsilon)
