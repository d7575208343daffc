"""Convolutional and recurrent training speed, batch 64, against PyTorch:

- LeNet-5 (modern form) training steps/s and inference batches/s;
- a tanh RNN (input 28, hidden 128, 28 steps, last state → Linear 10) training steps/s;
- the same with an LSTM, and with a GRU.

Each step: forward, cross-entropy, backward, plain SGD. The recurrent rows also time JAX
when it is installed: ``jax.jit`` of the whole step, the time loop a ``lax.scan``, optax's
SGD, PyTorch's gate layout and initialisation range.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmarks.common import Row, jax_or_none, rates, torch_or_none

BATCH = 64


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((BATCH, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, BATCH)


def _shenjing_model(kind: str):
    import shenjing as sj
    from shenjing.models import lenet5, rnn_classifier

    sj.manual_seed(0)
    return lenet5() if kind == "lenet5" else rnn_classifier(kind, hidden_size=128)


def _shenjing(kind: str, train: bool = True) -> Callable[[], None]:
    import shenjing as sj
    import shenjing.nn.functional as F

    x_np, y_np = _data()
    if kind != "lenet5":
        x_np = x_np.reshape(BATCH, 28, 28)
    model = _shenjing_model(kind)
    opt = sj.optim.SGD(model.parameters(), lr=0.01)
    x, y = sj.tensor(x_np), sj.tensor(y_np)

    def step() -> None:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def infer() -> None:
        with sj.no_grad():
            model(x)

    if not train:
        model.eval()
    return step if train else infer


class _TorchRows:
    """The same models in PyTorch."""

    def __init__(self, torch) -> None:
        self.torch = torch

    def model(self, kind: str):
        nn = self.torch.nn
        self.torch.manual_seed(0)
        if kind == "lenet5":
            return nn.Sequential(
                nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                nn.Linear(84, 10))
        cell = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]

        class Rows(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.rnn = cell(28, 128, batch_first=True)
                self.head = nn.Linear(128, 10)

            def forward(self, x):
                out, _ = self.rnn(x)
                return self.head(out[:, -1])

        return Rows()

    def step(self, kind: str, train: bool = True) -> Callable[[], None]:
        torch = self.torch
        x_np, y_np = _data()
        if kind != "lenet5":
            x_np = x_np.reshape(BATCH, 28, 28)
        model = self.model(kind)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)

        def step() -> None:
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

        def infer() -> None:
            with torch.no_grad():
                model(x)

        if not train:
            model.eval()
        return step if train else infer


def _jax_recurrent(jax, kind: str) -> Callable[[], None]:
    """The recurrent classifier's training step in JAX, compiled whole by ``jax.jit``."""
    import optax

    jnp, lax = jax.numpy, jax.lax
    hidden, inputs, gates = 128, 28, {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    rng = np.random.default_rng(0)
    bound = 1 / np.sqrt(hidden)

    def uniform(*shape: int) -> object:
        return jnp.asarray(rng.uniform(-bound, bound, shape).astype(np.float32))

    params = {"w_ih": uniform(gates * hidden, inputs), "w_hh": uniform(gates * hidden, hidden),
              "b_ih": uniform(gates * hidden), "b_hh": uniform(gates * hidden),
              "w_out": uniform(10, hidden), "b_out": uniform(10)}
    x_np, y_np = _data()
    x = jnp.asarray(x_np.reshape(BATCH, 28, 28).transpose(1, 0, 2))  # time-major for scan
    y = jnp.asarray(y_np)

    def cell(p, carry, x_t):
        h, c = carry
        gx = x_t @ p["w_ih"].T + p["b_ih"]
        gh = h @ p["w_hh"].T + p["b_hh"]
        if kind == "rnn":
            h = jnp.tanh(gx + gh)
        elif kind == "lstm":
            i, f, g, o = jnp.split(gx + gh, 4, axis=1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
        else:
            xr, xz, xn = jnp.split(gx, 3, axis=1)
            hr, hz, hn = jnp.split(gh, 3, axis=1)
            r, z = jax.nn.sigmoid(xr + hr), jax.nn.sigmoid(xz + hz)
            n = jnp.tanh(xn + r * hn)
            h = (1 - z) * n + z * h
        return (h, c), None

    def loss_fn(p, x, y):
        zeros = jnp.zeros((BATCH, hidden), jnp.float32)
        (h, _), _ = lax.scan(lambda carry, x_t: cell(p, carry, x_t), (zeros, zeros), x)
        logits = h @ p["w_out"].T + p["b_out"]
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    opt = optax.sgd(0.01)

    @jax.jit
    def train_step(p, opt_state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(p, x, y)
        updates, opt_state = opt.update(grads, opt_state, p)
        return optax.apply_updates(p, updates), opt_state, loss

    state = [params, opt.init(params)]

    def step() -> None:
        state[0], state[1], loss = train_step(state[0], state[1], x, y)
        loss.block_until_ready()

    return step


def run() -> tuple[str, list[Row]]:
    """Measure the five benchmarks; returns the table title and rows."""
    torch, jax = torch_or_none(), jax_or_none()
    theirs = _TorchRows(torch) if torch else None

    rows = []
    for name, unit, kind, train, target in (
        ("LeNet-5 training step, batch 64", "steps/s", "lenet5", True, ">= 1.0x PyTorch"),
        ("LeNet-5 inference, batch 64", "batches/s", "lenet5", False, ""),
        ("tanh RNN 28x28→128 training step, batch 64", "steps/s", "rnn", True,
         ">= 1.5x PyTorch"),
        ("LSTM 28x28→128 training step, batch 64", "steps/s", "lstm", True,
         ">= 1.15x PyTorch, >= 1.0x JAX"),
        ("GRU 28x28→128 training step, batch 64", "steps/s", "gru", True,
         ">= 1.15x PyTorch, >= 1.0x JAX"),
    ):
        anchor = _jax_recurrent(jax, kind) if jax and kind != "lenet5" else None
        ours, reference, jitted = rates(_shenjing(kind, train),
                                        theirs.step(kind, train) if theirs else None, anchor)
        rows.append(Row(name, unit, ours, torch=reference, target=target, jax=jitted))
    return "CNN and RNN (issue: convolutional and recurrent networks)", rows
