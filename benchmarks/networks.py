"""The two fully connected networks that the training and graph benchmarks time, built
alike in shenjing and PyTorch from the same weights and data:

- SMALL, 30-64-32-1 (sigmoid, ReLU, sigmoid output), binary cross-entropy: the source
  material's breast-cancer network;
- MLP, 784-256-128-10 (ReLU), cross-entropy;

each step being forward, zero_grad, backward and an Adam step, plus the in-place NumPy
Adam that the hand-written baselines use, and the same step in JAX (``jax.jit`` of the
whole step, optax's Adam, buffers donated, one wait per timed run) when it is installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

SMALL = (30, 64, 32, 1)
SMALL_BATCH = 64
MLP = (784, 256, 128, 10)
MLP_BATCH = 128


def activations(sizes: tuple[int, ...]) -> list[str | None]:
    """The activation after each linear layer (None: none, the loss takes the logits)."""
    if sizes == SMALL:
        return ["sigmoid", "relu", "sigmoid"]  # BCE takes probabilities
    return ["relu"] * (len(sizes) - 2) + [None]


def weights(sizes: tuple[int, ...]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W, b) of each layer, drawn as PyTorch's default initialisation draws them."""
    rng = np.random.default_rng(0)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = 1 / np.sqrt(fan_in)
        layers.append((rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                       rng.uniform(-bound, bound, fan_out).astype(np.float32)))
    return layers


def data(sizes: tuple[int, ...], batch: int) -> tuple[np.ndarray, np.ndarray]:
    """One batch of inputs and labels (0/1 floats for SMALL, class indices for MLP)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    if sizes[-1] == 1:
        return x, rng.integers(0, 2, (batch, 1)).astype(np.float32)
    return x, rng.integers(0, sizes[-1], batch)


def shenjing_model(sizes: tuple[int, ...]):
    """The network in shenjing, with ``weights(sizes)``."""
    import shenjing.nn as nn

    layers = []
    for (w, b), activation in zip(weights(sizes), activations(sizes), strict=True):
        linear = nn.Linear(w.shape[1], w.shape[0])
        linear.weight.array[...] = w
        linear.bias.array[...] = b
        layers.append(linear)
        if activation is not None:
            layers.append({"sigmoid": nn.Sigmoid, "relu": nn.ReLU}[activation]())
    return nn.Sequential(*layers)


def shenjing_step(sizes: tuple[int, ...], batch: int,
                  compiled: bool = False) -> Callable[[], object]:
    """A training step in shenjing, eager or through ``sj.compile``."""
    import shenjing as sj
    import shenjing.nn.functional as F

    model = shenjing_model(sizes)
    opt = sj.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = F.binary_cross_entropy if sizes[-1] == 1 else F.cross_entropy
    x_np, y_np = data(sizes, batch)
    x, y = sj.tensor(x_np), sj.tensor(y_np)

    def train_step(x, y):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    step = sj.compile(train_step) if compiled else train_step
    return lambda: step(x, y)


def torch_step(torch, sizes: tuple[int, ...], batch: int) -> Callable[[], None]:
    """The same training step in PyTorch (``torch`` is the module)."""
    nn = torch.nn
    layers = []
    for (w, b), activation in zip(weights(sizes), activations(sizes), strict=True):
        linear = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if activation is not None:
            layers.append({"sigmoid": nn.Sigmoid, "relu": nn.ReLU}[activation]())
    model = nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = (torch.nn.functional.binary_cross_entropy if sizes[-1] == 1
               else torch.nn.functional.cross_entropy)
    x_np, y_np = data(sizes, batch)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)

    def step() -> None:
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def jax_mlp_problem(jax, sizes: tuple[int, ...], batch: int) -> tuple[Any, Callable, Any, Any]:
    """The MLP workload in JAX (``jax`` is the module): initial parameters, the loss
    function of (params, x, y), and the batch, the same numbers as the other libraries'."""
    import optax

    jnp = jax.numpy
    params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in weights(sizes)]
    acts = {"sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu, None: lambda h: h}
    layer_acts = [acts[a] for a in activations(sizes)]
    x_np, y_np = data(sizes, batch)

    def loss_fn(params, x, y):
        h = x
        for (w, b), act in zip(params, layer_acts, strict=True):
            h = act(h @ w.T + b)
        if sizes[-1] == 1:  # BCE on probabilities, logs clamped at -100 as PyTorch does
            log_p = jnp.maximum(jnp.log(h), -100.0)
            log_q = jnp.maximum(jnp.log1p(-h), -100.0)
            return -jnp.mean(y * log_p + (1 - y) * log_q)
        return optax.softmax_cross_entropy_with_integer_labels(h, y).mean()

    return params, loss_fn, jnp.asarray(x_np), jnp.asarray(y_np)


def jax_train_chunk(jax, optimizer: Any, loss_fn: Callable, params: Any, x: Any,
                    y: Any) -> Callable[..., None]:
    """``run(k)``: k training steps in JAX as its experts write them: the whole step
    (loss, gradient, ``optimizer``'s update, an optax transformation) under one
    ``jax.jit``, the parameters and optimizer state donated, and one wait at the end of
    the k steps, not one per step (``run(k, block=False)`` does not wait; ``run(0)``
    waits for the steps before)."""
    import optax

    def train_step(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    step = jax.jit(train_step, donate_argnums=(0, 1))
    state = [params, optimizer.init(params), None]

    def run(k: int, block: bool = True) -> None:
        params, opt_state, loss = state
        for _ in range(k):
            params, opt_state, loss = step(params, opt_state, x, y)
        state[:] = [params, opt_state, loss]
        if block and loss is not None:
            jax.block_until_ready(loss)

    return run


class JaxStep:
    """One JAX training step per call, without waiting for it; ``sync()`` waits for the
    steps called so far (``common.rates`` calls it at the end of each timed run)."""

    def __init__(self, run: Callable[..., None]) -> None:
        self.run = run

    def __call__(self) -> None:
        self.run(1, block=False)

    def sync(self) -> None:
        self.run(0)


def jax_step(jax, sizes: tuple[int, ...], batch: int) -> JaxStep:
    """The same training step in JAX (``jax`` is the module): forward, loss, gradient and
    optax's Adam, jitted whole with its buffers donated (``jax_train_chunk``)."""
    import optax

    params, loss_fn, x, y = jax_mlp_problem(jax, sizes, batch)
    return JaxStep(jax_train_chunk(jax, optax.adam(1e-3), loss_fn, params, x, y))


class NumpyAdam:
    """In-place Adam over a list of arrays, as a tuned hand-written loop would do it."""

    def __init__(self, params: list[np.ndarray], lr: float = 1e-3) -> None:
        self.params, self.lr, self.t = params, lr, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.tmp = [np.empty_like(p) for p in params]

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        step_size = self.lr / (1 - b1**self.t)
        root_correction = np.sqrt(1 - b2**self.t)
        for p, g, m, v, tmp in zip(self.params, grads, self.m, self.v, self.tmp, strict=True):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp /= root_correction
            tmp += eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp
