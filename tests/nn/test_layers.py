"""Layers: one harness over every layer (shape, parameter count, state dict round trip,
PyTorch's keys and outputs, one SGD step), then what is particular to BatchNorm, Dense,
Linear and the containers."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
import shenjing.nn.functional as F

# ------------------------------------------------------------------ the harness


@dataclass
class LayerSpec:
    """One layer under test.

    Attributes:
        make: builds the shenjing layer (built, for lazy layers).
        make_torch: builds the equivalent PyTorch module from the ``torch`` module.
        input_shape, output_shape: of one forward pass.
        num_params: the closed-form parameter count.
        random: the forward pass draws random numbers (compared with PyTorch in eval only).
        differentiable: gradients flow to the input.
    """

    make: Callable[[], nn.Module]
    make_torch: Callable[[Any], Any]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    num_params: int
    random: bool = False
    differentiable: bool = True


def _torch_dense(torch: Any, in_features: int, units: int) -> Any:
    class TanhLinear(torch.nn.Linear):
        def forward(self, x: Any) -> Any:
            return torch.tanh(super().forward(x))

    return TanhLinear(in_features, units)


def _torch_step(torch: Any) -> Any:
    class Step(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            return (x > 0).to(x.dtype)

    return Step()


SPECS = {
    "linear": LayerSpec(lambda: nn.Linear(5, 3), lambda t: t.nn.Linear(5, 3),
                        (4, 5), (4, 3), 5 * 3 + 3),
    "linear-no-bias": LayerSpec(lambda: nn.Linear(5, 3, bias=False),
                                lambda t: t.nn.Linear(5, 3, bias=False), (4, 5), (4, 3), 15),
    "linear-3d": LayerSpec(lambda: nn.Linear(5, 3), lambda t: t.nn.Linear(5, 3),
                           (2, 4, 5), (2, 4, 3), 18),
    "dense-tanh": LayerSpec(lambda: nn.Dense(3, activation="tanh").build((None, 5)),
                            lambda t: _torch_dense(t, 5, 3), (4, 5), (4, 3), 18),
    "relu": LayerSpec(nn.ReLU, lambda t: t.nn.ReLU(), (4, 5), (4, 5), 0),
    "sigmoid": LayerSpec(nn.Sigmoid, lambda t: t.nn.Sigmoid(), (4, 5), (4, 5), 0),
    "tanh": LayerSpec(nn.Tanh, lambda t: t.nn.Tanh(), (4, 5), (4, 5), 0),
    "step": LayerSpec(nn.Step, _torch_step, (4, 5), (4, 5), 0, differentiable=False),
    "leaky_relu": LayerSpec(lambda: nn.LeakyReLU(0.2), lambda t: t.nn.LeakyReLU(0.2),
                            (4, 5), (4, 5), 0),
    "prelu": LayerSpec(nn.PReLU, lambda t: t.nn.PReLU(), (4, 5), (4, 5), 1),
    "prelu-channels": LayerSpec(lambda: nn.PReLU(4, init=0.1),
                                lambda t: t.nn.PReLU(4, init=0.1), (3, 4, 5), (3, 4, 5), 4),
    "elu": LayerSpec(lambda: nn.ELU(0.5), lambda t: t.nn.ELU(0.5), (4, 5), (4, 5), 0),
    "gelu": LayerSpec(nn.GELU, lambda t: t.nn.GELU(), (4, 5), (4, 5), 0),
    "gelu-tanh": LayerSpec(lambda: nn.GELU("tanh"), lambda t: t.nn.GELU("tanh"),
                           (4, 5), (4, 5), 0),
    "softplus": LayerSpec(lambda: nn.Softplus(beta=2.0, threshold=2.0),
                          lambda t: t.nn.Softplus(beta=2.0, threshold=2.0), (4, 5), (4, 5), 0),
    "softmax": LayerSpec(lambda: nn.Softmax(axis=1), lambda t: t.nn.Softmax(dim=1),
                         (4, 3, 2), (4, 3, 2), 0),
    "log_softmax": LayerSpec(nn.LogSoftmax, lambda t: t.nn.LogSoftmax(dim=-1),
                             (4, 5), (4, 5), 0),
    **{
        name: LayerSpec(make, make_torch, (4, 5), (4, 5), 0)
        for name, make, make_torch in [
            ("celu", lambda: nn.CELU(0.5), lambda t: t.nn.CELU(0.5)),
            ("selu", nn.SELU, lambda t: t.nn.SELU()),
            ("silu", nn.SiLU, lambda t: t.nn.SiLU()),
            ("mish", nn.Mish, lambda t: t.nn.Mish()),
            ("hardtanh", lambda: nn.Hardtanh(-0.5, 0.7), lambda t: t.nn.Hardtanh(-0.5, 0.7)),
            ("relu6", nn.ReLU6, lambda t: t.nn.ReLU6()),
            ("hardsigmoid", nn.Hardsigmoid, lambda t: t.nn.Hardsigmoid()),
            ("hardswish", nn.Hardswish, lambda t: t.nn.Hardswish()),
            ("softsign", nn.Softsign, lambda t: t.nn.Softsign()),
            ("logsigmoid", nn.LogSigmoid, lambda t: t.nn.LogSigmoid()),
            ("tanhshrink", nn.Tanhshrink, lambda t: t.nn.Tanhshrink()),
            ("softshrink", lambda: nn.Softshrink(0.3), lambda t: t.nn.Softshrink(0.3)),
            ("hardshrink", lambda: nn.Hardshrink(0.3), lambda t: t.nn.Hardshrink(0.3)),
            ("softmin", lambda: nn.Softmin(dim=1), lambda t: t.nn.Softmin(dim=1)),
            ("softmax-dim0", lambda: nn.Softmax(0), lambda t: t.nn.Softmax(0)),
            ("log_softmax-dim1", lambda: nn.LogSoftmax(dim=1), lambda t: t.nn.LogSoftmax(dim=1)),
        ]
    },
    "layernorm": LayerSpec(lambda: nn.LayerNorm(5), lambda t: t.nn.LayerNorm(5),
                           (2, 4, 5), (2, 4, 5), 10),
    "layernorm-2d-no-bias": LayerSpec(lambda: nn.LayerNorm((4, 5), bias=False),
                                      lambda t: t.nn.LayerNorm((4, 5), bias=False),
                                      (3, 4, 5), (3, 4, 5), 20),
    "groupnorm": LayerSpec(lambda: nn.GroupNorm(2, 4), lambda t: t.nn.GroupNorm(2, 4),
                           (3, 4, 3, 3), (3, 4, 3, 3), 8),
    "conv_transpose2d": LayerSpec(
        lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
        lambda t: t.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
        (2, 3, 4, 5), (2, 4, 8, 10), 3 * 4 * 9 + 4),
    "conv_transpose2d-groups": LayerSpec(
        lambda: nn.ConvTranspose2d(4, 6, (2, 3), groups=2, bias=False),
        lambda t: t.nn.ConvTranspose2d(4, 6, (2, 3), groups=2, bias=False),
        (2, 4, 3, 3), (2, 6, 4, 5), 4 * 3 * 6),
    "conv_transpose1d": LayerSpec(lambda: nn.ConvTranspose1d(3, 2, 4, stride=2),
                                  lambda t: t.nn.ConvTranspose1d(3, 2, 4, stride=2),
                                  (2, 3, 6), (2, 2, 14), 3 * 2 * 4 + 2),
    "adaptive_avg_pool2d": LayerSpec(lambda: nn.AdaptiveAvgPool2d((3, None)),
                                     lambda t: t.nn.AdaptiveAvgPool2d((3, None)),
                                     (2, 3, 7, 5), (2, 3, 3, 5), 0),
    "adaptive_avg_pool1d": LayerSpec(lambda: nn.AdaptiveAvgPool1d(4),
                                     lambda t: t.nn.AdaptiveAvgPool1d(4), (2, 3, 9), (2, 3, 4), 0),
    "maxpool2d-options": LayerSpec(
        lambda: nn.MaxPool2d(3, 2, 1, dilation=1, ceil_mode=True),
        lambda t: t.nn.MaxPool2d(3, 2, 1, dilation=1, ceil_mode=True),
        (2, 3, 8, 8), (2, 3, 5, 5), 0),
    "avgpool2d-options": LayerSpec(
        lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
        lambda t: t.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
        (2, 3, 8, 8), (2, 3, 5, 5), 0),
    "adaptive_max_pool2d": LayerSpec(lambda: nn.AdaptiveMaxPool2d((3, 2)),
                                     lambda t: t.nn.AdaptiveMaxPool2d((3, 2)),
                                     (2, 3, 7, 5), (2, 3, 3, 2), 0),
    "identity": LayerSpec(nn.Identity, lambda t: t.nn.Identity(), (4, 5), (4, 5), 0),
    "flatten": LayerSpec(nn.Flatten, lambda t: t.nn.Flatten(), (2, 3, 4, 5), (2, 60), 0),
    "flatten-2-3": LayerSpec(lambda: nn.Flatten(2, 3), lambda t: t.nn.Flatten(2, 3),
                             (2, 3, 4, 5), (2, 3, 20), 0),
    "dropout": LayerSpec(lambda: nn.Dropout(0.3), lambda t: t.nn.Dropout(0.3),
                         (4, 5), (4, 5), 0, random=True),
    "batchnorm1d": LayerSpec(lambda: nn.BatchNorm1d(4), lambda t: t.nn.BatchNorm1d(4),
                             (8, 4), (8, 4), 8),
    "batchnorm1d-3d": LayerSpec(lambda: nn.BatchNorm1d(4), lambda t: t.nn.BatchNorm1d(4),
                                (6, 4, 3), (6, 4, 3), 8),
    "batchnorm1d-plain": LayerSpec(lambda: nn.BatchNorm1d(4, affine=False),
                                   lambda t: t.nn.BatchNorm1d(4, affine=False),
                                   (8, 4), (8, 4), 0),
    "batchnorm1d-no-stats": LayerSpec(
        lambda: nn.BatchNorm1d(4, track_running_stats=False),
        lambda t: t.nn.BatchNorm1d(4, track_running_stats=False), (8, 4), (8, 4), 8),
    "batchnorm1d-cumulative": LayerSpec(lambda: nn.BatchNorm1d(4, momentum=None),
                                        lambda t: t.nn.BatchNorm1d(4, momentum=None),
                                        (8, 4), (8, 4), 8),
    "batchnorm2d": LayerSpec(lambda: nn.BatchNorm2d(3, eps=1e-3, momentum=0.3),
                             lambda t: t.nn.BatchNorm2d(3, eps=1e-3, momentum=0.3),
                             (4, 3, 5, 5), (4, 3, 5, 5), 6),
    "mlp": LayerSpec(
        lambda: nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)),
        lambda t: t.nn.Sequential(t.nn.Linear(5, 8), t.nn.ReLU(), t.nn.Linear(8, 3)),
        (4, 5), (4, 3), (5 * 8 + 8) + (8 * 3 + 3)),
    "conv-head": LayerSpec(
        lambda: nn.Sequential(nn.BatchNorm2d(3), nn.Flatten(), nn.Linear(75, 4), nn.Tanh(),
                              nn.BatchNorm1d(4), nn.Dropout(0.5)),
        lambda t: t.nn.Sequential(t.nn.BatchNorm2d(3), t.nn.Flatten(), t.nn.Linear(75, 4),
                                  t.nn.Tanh(), t.nn.BatchNorm1d(4), t.nn.Dropout(0.5)),
        (4, 3, 5, 5), (4, 4), 6 + (75 * 4 + 4) + 8, random=True),
    "named-sequential": LayerSpec(
        lambda: nn.Sequential(OrderedDict(fc=nn.Linear(5, 6), act=nn.ELU(), out=nn.Linear(6, 2))),
        lambda t: t.nn.Sequential(OrderedDict(fc=t.nn.Linear(5, 6), act=t.nn.ELU(),
                                              out=t.nn.Linear(6, 2))),
        (4, 5), (4, 2), (5 * 6 + 6) + (6 * 2 + 2)),
}

LAYERS = [pytest.param(spec, id=name) for name, spec in SPECS.items()]
WITH_PARAMS = [p for p in LAYERS if p.values[0].num_params > 0]


def _input(spec: LayerSpec, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=spec.input_shape).astype(np.float32)


@pytest.mark.parametrize("spec", LAYERS)
def test_output_shape(spec: LayerSpec) -> None:
    layer = spec.make()
    y = layer(sj.tensor(_input(spec)))
    assert y.shape == spec.output_shape
    assert y.dtype == np.float32


@pytest.mark.parametrize("spec", LAYERS)
def test_parameter_count(spec: LayerSpec) -> None:
    layer = spec.make()
    assert layer.count_params() == spec.num_params
    assert sum(p.numel() for p in layer.parameters()) == spec.num_params
    torch = pytest.importorskip("torch")
    assert sum(p.numel() for p in spec.make_torch(torch).parameters()) == spec.num_params


@pytest.mark.parametrize("spec", LAYERS)
def test_state_dict_round_trip(spec: LayerSpec) -> None:
    x = sj.tensor(_input(spec))
    source = spec.make()
    rng = np.random.default_rng(4)
    for p in source.parameters():  # some layers start from constants (PReLU, BatchNorm)
        p.array += rng.normal(size=p.shape).astype(p.dtype)
    with sj.no_grad():
        source(x)  # a training-mode pass moves BatchNorm's running statistics
    target = spec.make()
    if spec.num_params:
        assert any(
            not np.array_equal(a, b)
            for a, b in zip(source.state_dict().values(), target.state_dict().values(),
                            strict=True)
        ), "the two copies must start different for the test to mean anything"
    target.load_state_dict(source.state_dict())
    for (key, a), (key_b, b) in zip(source.state_dict().items(), target.state_dict().items(),
                                    strict=True):
        assert key == key_b
        np.testing.assert_array_equal(a, b)
    source.eval()
    target.eval()
    np.testing.assert_array_equal(source(x).numpy(), target(x).numpy())


@pytest.mark.torch
@pytest.mark.parametrize("spec", LAYERS)
def test_state_dict_keys_and_shapes_match_pytorch(spec: LayerSpec) -> None:
    torch = pytest.importorskip("torch")
    ours = {k: v.shape for k, v in spec.make().state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in spec.make_torch(torch).state_dict().items()}
    assert list(ours) == list(theirs)
    assert ours == theirs


def _torch_state_as_numpy(module: Any) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


# Random layers are compared in eval mode only: the two libraries draw different masks.
TORCH_CASES = [
    pytest.param(spec, mode, id=f"{name}-{mode}")
    for name, spec in SPECS.items()
    for mode in ("train", "eval")
    if not (spec.random and mode == "train")
]


@pytest.mark.torch
@pytest.mark.parametrize(("spec", "mode"), TORCH_CASES)
def test_matches_pytorch_with_its_state_dict(spec: LayerSpec, mode: str) -> None:
    """Forward and backward (input and parameter gradients) against PyTorch, after
    loading its state dict, and the running statistics after the pass."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = spec.make_torch(torch)
    with torch.no_grad():
        for p in theirs.parameters():  # move away from trivial values (γ = 1, β = 0)
            p.add_(0.3 * torch.randn_like(p))
        theirs.train()
        theirs(torch.randn(*spec.input_shape))  # non-trivial running statistics
    ours = spec.make()
    ours.load_state_dict(_torch_state_as_numpy(theirs))
    ours.train(mode == "train")
    theirs.train(mode == "train")

    x_np = _input(spec, seed=1)
    x = sj.tensor(x_np, requires_grad=spec.differentiable)
    tx = torch.tensor(x_np, requires_grad=spec.differentiable)
    y, ty = ours(x), theirs(tx)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    for key, value in _torch_state_as_numpy(theirs).items():
        np.testing.assert_allclose(ours.state_dict()[key], value, rtol=1e-5, atol=1e-6,
                                   err_msg=key)
    if not spec.differentiable:
        return
    weights = np.random.default_rng(2).uniform(0.5, 1.5, size=y.shape).astype(np.float32)
    (y * sj.tensor(weights)).sum().backward()
    (ty * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    their_params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), their_params[name].grad.numpy(),
                                   rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("spec", WITH_PARAMS)
def test_one_sgd_step_lowers_the_loss(spec: LayerSpec) -> None:
    sj.manual_seed(0)
    layer = spec.make()
    if spec.random:
        layer.eval()
    x = sj.tensor(_input(spec))
    target = sj.tensor(np.random.default_rng(3).normal(size=spec.output_shape))
    loss = F.mse_loss(layer(x), target)
    loss.backward()
    with sj.no_grad():
        for p in layer.parameters():
            p.array -= 0.05 * p.grad.array
        new_loss = F.mse_loss(layer(x), target)
    assert new_loss.item() < loss.item()


# --------------------------------------------------------------------- BatchNorm


def test_batchnorm_matches_the_formulas() -> None:
    """Training: biased batch variance to normalise, unbiased in the running estimate;
    evaluation: the running estimates. Checked against NumPy, with no PyTorch needed."""
    rng = np.random.default_rng(0)
    bn = nn.BatchNorm2d(3, momentum=0.2)
    bn.load_state_dict({**bn.state_dict(), "weight": rng.uniform(0.5, 2, 3),
                        "bias": rng.normal(size=3)})
    gamma, beta = bn.weight.numpy().reshape(1, 3, 1, 1), bn.bias.numpy().reshape(1, 3, 1, 1)
    x = rng.normal(2.0, 3.0, size=(4, 3, 5, 5))
    y = bn(sj.tensor(x)).numpy()
    mean, var = x.mean(axis=(0, 2, 3), keepdims=True), x.var(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5) * gamma + beta,
                               rtol=1e-4, atol=1e-5)
    unbiased = x.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.2 * mean.ravel(), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.8 + 0.2 * unbiased, rtol=1e-5)
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.item() == 1

    bn.eval()
    y = bn(sj.tensor(x)).numpy()
    running_mean = bn.running_mean.numpy().reshape(1, 3, 1, 1)
    running_var = bn.running_var.numpy().reshape(1, 3, 1, 1)
    np.testing.assert_allclose(
        y, (x - running_mean) / np.sqrt(running_var + 1e-5) * gamma + beta, rtol=1e-4,
        atol=1e-5)
    assert bn.num_batches_tracked.item() == 1, "evaluation tracks nothing"


@pytest.mark.torch
@pytest.mark.parametrize("momentum", [0.1, None], ids=["momentum0.1", "cumulative"])
@pytest.mark.parametrize("layer", ["BatchNorm1d", "BatchNorm2d"])
def test_batchnorm_running_stats_follow_pytorch_over_several_steps(layer, momentum) -> None:
    torch = pytest.importorskip("torch")
    shape = (6, 4) if layer == "BatchNorm1d" else (5, 4, 3, 3)
    ours = getattr(nn, layer)(4, momentum=momentum)
    theirs = getattr(torch.nn, layer)(4, momentum=momentum)
    rng = np.random.default_rng(0)
    for step in range(4):
        x = rng.normal(step, 1 + step, size=shape).astype(np.float32)
        ours(sj.tensor(x))
        theirs(torch.tensor(x))
    for key, value in _torch_state_as_numpy(theirs).items():
        np.testing.assert_allclose(ours.state_dict()[key], value, rtol=1e-5, err_msg=key)
    assert ours.num_batches_tracked.item() == 4
    x = rng.normal(size=shape).astype(np.float32)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(sj.tensor(x)).numpy(), theirs(torch.tensor(x)).detach(),
                               rtol=1e-5, atol=1e-5)


def test_batchnorm_without_running_stats_uses_batch_statistics_in_eval() -> None:
    bn = nn.BatchNorm1d(3, track_running_stats=False).eval()
    assert list(bn.state_dict()) == ["weight", "bias"]
    x = np.random.default_rng(0).normal(5.0, 2.0, size=(10, 3))
    y = bn(sj.tensor(x)).numpy()
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-5)


@pytest.mark.parametrize(
    ("layer", "shape", "message"),
    [
        (nn.BatchNorm1d(4), (8, 3), r"BatchNorm1d expects input of shape \(N, C\) or "
         r"\(N, C, L\) with C=4. Received: shape=\(8, 3\)"),
        (nn.BatchNorm1d(4), (2, 4, 3, 3), r"Received: shape=\(2, 4, 3, 3\)"),
        (nn.BatchNorm2d(3), (4, 3), r"BatchNorm2d expects input of shape \(N, C, H, W\)"),
        (nn.BatchNorm1d(4), (1, 4), r"more than 1 value per channel when training"),
    ],
    ids=["channels", "rank-1d", "rank-2d", "single-value"],
)
def test_batchnorm_rejects_bad_input(layer: nn.Module, shape: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        layer(sj.zeros(shape))


# ------------------------------------------------------------------ Linear, Dense


def test_linear_names_the_feature_mismatch() -> None:
    with pytest.raises(ValueError, match=r"^Linear expects input with 3 features. "
                                         r"Received: shape=\(4, 5\)$"):
        nn.Linear(3, 2)(sj.zeros(4, 5))
    with pytest.raises(ValueError, match="out_features must be a positive integer"):
        nn.Linear(3, 0)


def test_dense_infers_its_input_size_on_the_first_call() -> None:
    layer = nn.Dense(4, activation="relu")
    assert list(layer.parameters()) == [] and not layer.built
    assert repr(layer) == "Dense(units=4, activation=relu)"
    y = layer(sj.randn(2, 7))
    assert y.shape == (2, 4) and (y.numpy() >= 0).all()
    assert layer.weight.shape == (4, 7) and layer.bias.shape == (4,)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert repr(layer) == "Dense(in_features=7, units=4, activation=relu)"
    with pytest.raises(ValueError, match=r"Dense expects input with 7 features. "
                                         r"Received: shape=\(2, 6\)"):
        layer(sj.randn(2, 6))


def test_dense_is_a_linear_once_built() -> None:
    linear = nn.Linear(5, 3)
    dense = nn.Dense(3).build((None, 5))
    assert {k: v.shape for k, v in dense.state_dict().items()} == {
        k: v.shape for k, v in linear.state_dict().items()}
    dense.load_state_dict(linear.state_dict())
    x = sj.randn(6, 5)
    np.testing.assert_array_equal(dense(x).numpy(), linear(x).numpy())
    built_at_once = nn.Dense(3, in_features=5)
    assert built_at_once.built and built_at_once.weight.shape == (3, 5)


def test_dense_initialisers_and_module_activations() -> None:
    sj.manual_seed(0)
    layer = nn.Dense(300, kernel_initializer="he_normal", bias_initializer="ones",
                     in_features=400)
    assert layer.weight.numpy().std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert (layer.bias.numpy() == 1).all()
    with_prelu = nn.Dense(3, activation=nn.PReLU(), in_features=2)
    assert list(with_prelu.state_dict()) == ["weight", "bias", "activation.weight"]
    no_bias = nn.Dense(3, use_bias=False, in_features=2)
    assert [name for name, _ in no_bias.named_parameters()] == ["weight"]


def test_dense_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match=r"Dense: unknown activation 'relux'. Known: linear, "
                                         r"elu, gelu, .*relu.*softmax"):
        nn.Dense(3, activation="relux")
    with pytest.raises(ValueError, match="Dense: unknown initializer 'glorot'. Known: "
                                         "glorot_uniform"):
        nn.Dense(3, kernel_initializer="glorot")


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "softmax", "leaky_relu",
                                        "elu", "gelu", "softplus", "log_softmax"])
def test_dense_activation_names_apply_the_functional_activation(activation: str) -> None:
    layer = nn.Dense(4, activation=activation, in_features=3)
    plain = nn.Dense(4, in_features=3)
    plain.load_state_dict(layer.state_dict())
    x = sj.randn(5, 3)
    expected = getattr(F, activation)(plain(x))
    np.testing.assert_array_equal(layer(x).numpy(), expected.numpy())


# ------------------------------------------------------------------ containers


def test_sequential_indexing_and_growth() -> None:
    first, act, last = nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)
    model = nn.Sequential(first, act)
    assert model.add(last) is model
    assert len(model) == 3 and list(model) == [first, act, last]
    assert model[0] is first and model[-1] is last
    head = model[1:]
    assert isinstance(head, nn.Sequential) and list(head) == [act, last]
    assert list(head.state_dict()) == ["2.weight", "2.bias"], "a slice keeps the names"
    model.append(nn.Tanh())
    assert [name for name, _ in model.named_children()] == ["0", "1", "2", "3"]
    with pytest.raises(IndexError, match="Sequential index 4 is out of range for 4 modules"):
        model[4]
    with pytest.raises(TypeError, match="Sequential holds Modules only. Received: function"):
        model.add(F.relu)
    model[3] = nn.Sigmoid()
    assert isinstance(model[3], nn.Sigmoid)
    del model[1]
    assert [name for name, _ in model.named_children()] == ["0", "1", "2"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_sequential_from_an_ordered_dict_keeps_names() -> None:
    model = nn.Sequential(OrderedDict(hidden=nn.Linear(3, 4), out=nn.Linear(4, 1)))
    assert list(model.state_dict()) == ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert model.hidden is model[0]
    assert model(sj.randn(2, 3)).shape == (2, 1)


def test_module_list_registers_its_modules() -> None:
    blocks = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    blocks.append(nn.Linear(2, 3)).extend([nn.ReLU()])
    assert len(blocks) == 4 and blocks.count_params() == 2 * 6 + 9
    blocks.insert(0, nn.Linear(2, 2))
    assert [name for name, _ in blocks.named_children()] == ["0", "1", "2", "3", "4"]
    assert isinstance(blocks[1:3], nn.ModuleList) and len(blocks[1:3]) == 2
    assert isinstance(blocks[-1], nn.ReLU)

    class Tower(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(3, 3) for _ in range(2)])

        def forward(self, x: sj.Tensor) -> sj.Tensor:
            for block in self.blocks:
                x = block(x)
            return x

    tower = Tower()
    assert list(tower.state_dict())[:2] == ["blocks.0.weight", "blocks.0.bias"]
    assert tower(sj.randn(4, 3)).shape == (4, 3)
    with pytest.raises(NotImplementedError):
        tower.blocks(sj.randn(4, 3))


def test_nn_namespace_exports() -> None:
    assert nn.utils.clip_grad_norm_ is nn.clip_grad_norm_
    assert nn.utils.clip_grad_value_ is nn.clip_grad_value_
    assert nn.functional is F and F.batch_norm is sj.batch_norm
    assert issubclass(nn.Parameter, sj.Tensor)
