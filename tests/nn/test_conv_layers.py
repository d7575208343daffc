"""Convolution and pooling layers: shapes, parameter counts, PyTorch's state-dict keys and
outputs after loading its weights, one SGD step, the default initialisation, the error
messages."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
import shenjing.nn.functional as F


@dataclass
class Spec:
    """One layer: how to build it here and in PyTorch, its input and output shapes and
    its parameter count in closed form."""

    make: Callable[[], nn.Module]
    make_torch: Callable[[Any], Any]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    num_params: int


def _lenet(lib: Any) -> Any:
    """LeNet-5 as in the source material, from ``shenjing.nn`` or ``torch.nn``."""
    return lib.Sequential(
        lib.Conv2d(1, 6, 5, padding=2), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(6, 16, 5), lib.ReLU(), lib.MaxPool2d(2), lib.Flatten(),
        lib.Linear(400, 120), lib.ReLU(), lib.Linear(120, 84), lib.ReLU(), lib.Linear(84, 10),
    )


SPECS = {
    "conv2d-lenet1": Spec(lambda: nn.Conv2d(1, 6, 5, padding=2),
                          lambda t: t.nn.Conv2d(1, 6, 5, padding=2),
                          (2, 1, 28, 28), (2, 6, 28, 28), 6 * 25 + 6),
    "conv2d-strided": Spec(lambda: nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=1),
                           lambda t: t.nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=1),
                           (2, 3, 9, 8), (2, 4, 5, 9), 4 * 3 * 6 + 4),
    "conv2d-groups-dilated": Spec(
        lambda: nn.Conv2d(4, 6, 3, dilation=2, groups=2, bias=False),
        lambda t: t.nn.Conv2d(4, 6, 3, dilation=2, groups=2, bias=False),
        (2, 4, 9, 9), (2, 6, 5, 5), 6 * 2 * 9),
    "conv2d-same": Spec(lambda: nn.Conv2d(2, 3, 3, padding="same"),
                        lambda t: t.nn.Conv2d(2, 3, 3, padding="same"),
                        (2, 2, 6, 7), (2, 3, 6, 7), 3 * 2 * 9 + 3),
    "conv1d": Spec(lambda: nn.Conv1d(3, 4, 5, stride=2, padding=1),
                   lambda t: t.nn.Conv1d(3, 4, 5, stride=2, padding=1),
                   (2, 3, 21), (2, 4, 10), 4 * 3 * 5 + 4),
    "maxpool2d": Spec(lambda: nn.MaxPool2d(2), lambda t: t.nn.MaxPool2d(2),
                      (2, 3, 8, 7), (2, 3, 4, 3), 0),
    "maxpool2d-overlap": Spec(lambda: nn.MaxPool2d(3, stride=2, padding=1),
                              lambda t: t.nn.MaxPool2d(3, stride=2, padding=1),
                              (2, 3, 8, 8), (2, 3, 4, 4), 0),
    "avgpool2d": Spec(lambda: nn.AvgPool2d((2, 3), padding=1),
                      lambda t: t.nn.AvgPool2d((2, 3), padding=1),
                      (2, 3, 8, 8), (2, 3, 5, 3), 0),
    "maxpool1d": Spec(lambda: nn.MaxPool1d(3, stride=2), lambda t: t.nn.MaxPool1d(3, stride=2),
                      (2, 3, 9), (2, 3, 4), 0),
    "avgpool1d": Spec(lambda: nn.AvgPool1d(2), lambda t: t.nn.AvgPool1d(2),
                      (2, 3, 9), (2, 3, 4), 0),
    "lenet5": Spec(lambda: _lenet(nn), lambda t: _lenet(t.nn), (4, 1, 28, 28), (4, 10),
                   (6 * 25 + 6) + (16 * 150 + 16) + (400 * 120 + 120) + (120 * 84 + 84)
                   + (84 * 10 + 10)),
}

LAYERS = [pytest.param(spec, id=name) for name, spec in SPECS.items()]
WITH_PARAMS = [p for p in LAYERS if p.values[0].num_params > 0]


def _input(spec: Spec, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=spec.input_shape).astype(np.float32)


@pytest.mark.parametrize("spec", LAYERS)
def test_output_shape_and_parameter_count(spec: Spec) -> None:
    layer = spec.make()
    y = layer(sj.tensor(_input(spec)))
    assert y.shape == spec.output_shape
    assert y.dtype == np.float32
    assert sum(p.numel() for p in layer.parameters()) == spec.num_params


@pytest.mark.torch
@pytest.mark.parametrize("spec", LAYERS)
def test_state_dict_keys_shapes_and_repr_match_pytorch(spec: Spec) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = spec.make(), spec.make_torch(torch)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert list(ours.state_dict()) == list(theirs.state_dict())
    if "conv" in repr(ours):  # pooling reprs differ: PyTorch also lists dilation, ceil_mode
        assert repr(ours) == repr(theirs)


@pytest.mark.torch
@pytest.mark.parametrize("spec", LAYERS)
def test_pytorch_weights_give_pytorch_outputs_and_gradients(spec: Spec) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = spec.make_torch(torch)
    ours = spec.make()
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})

    x_np = _input(spec, seed=1)
    x, tx = sj.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    weights = np.random.default_rng(2).uniform(0.5, 1.5, size=y.shape).astype(np.float32)
    (y * sj.tensor(weights)).sum().backward()
    (ty * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    their_params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), their_params[name].grad.numpy(),
                                   rtol=1e-4, atol=1e-4, err_msg=name)


@pytest.mark.parametrize("spec", WITH_PARAMS)
def test_state_dict_round_trip(spec: Spec) -> None:
    source, target = spec.make(), spec.make()
    target.load_state_dict(source.state_dict())
    x = sj.tensor(_input(spec))
    np.testing.assert_array_equal(source(x).numpy(), target(x).numpy())


@pytest.mark.parametrize("spec", WITH_PARAMS)
def test_one_sgd_step_lowers_the_loss(spec: Spec) -> None:
    sj.manual_seed(0)
    layer = spec.make()
    x = sj.tensor(_input(spec))
    target = sj.tensor(np.random.default_rng(3).normal(size=spec.output_shape))
    loss = F.mse_loss(layer(x), target)
    loss.backward()
    with sj.no_grad():
        for p in layer.parameters():
            p.array -= 0.05 * p.grad.array
        assert F.mse_loss(layer(x), target).item() < loss.item()


def test_default_initialisation_is_pytorchs() -> None:
    # kaiming_uniform_(a=√5) gives U(±√(6 / ((1 + 5)·fan_in))) = U(±1/√fan_in), as the bias.
    sj.manual_seed(0)
    conv = nn.Conv2d(8, 64, 3, groups=2)
    fan_in = 4 * 3 * 3
    bound = 1 / math.sqrt(fan_in)
    for p in (conv.weight, conv.bias):
        values = p.numpy()
        assert values.dtype == np.float32
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.9 * bound  # spread over the whole interval
    assert abs(conv.weight.numpy().std() - bound / math.sqrt(3)) < 0.1 * bound
    sj.manual_seed(0)
    np.testing.assert_array_equal(nn.Conv2d(8, 64, 3, groups=2).weight.numpy(),
                                  conv.weight.numpy())


# ----------------------------------------------------------------- errors


def test_wrong_rank() -> None:
    with pytest.raises(ValueError, match=r"^Conv2d expects 4-D input \(N, C, H, W\)\. "
                                         r"Received: shape=\(28, 28\)$"):
        nn.Conv2d(1, 6, 5)(sj.ones(28, 28))
    with pytest.raises(ValueError, match=r"^Conv1d expects 3-D input \(N, C, L\)"):
        nn.Conv1d(1, 6, 5)(sj.ones(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"^MaxPool2d expects 4-D input \(N, C, H, W\)\. "
                                         r"Received: shape=\(6, 28, 28\)$"):
        nn.MaxPool2d(2)(sj.ones(6, 28, 28))


def test_channel_mismatch_names_expected_and_received() -> None:
    with pytest.raises(ValueError, match=r"^Conv2d expects input with 3 channels\. Received: "
                                         r"1 channels, input shape=\(2, 1, 8, 8\)$"):
        nn.Conv2d(3, 6, 3)(sj.ones(2, 1, 8, 8))


def test_kernel_larger_than_padded_input() -> None:
    with pytest.raises(ValueError, match=r"kernel \(7, 7\).*padded input \(6, 6\).*"
                                         r"input size \(4, 4\), padding \(1, 1\)"):
        nn.Conv2d(1, 2, 7, padding=1)(sj.ones(1, 1, 4, 4))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: nn.Conv2d(0, 6, 3), r"Conv2d: in_channels must be a positive integer"),
        (lambda: nn.Conv2d(3, 6, 3, groups=2), r"in_channels must be divisible by groups"),
        (lambda: nn.Conv2d(4, 6, 0), r"Conv2d: kernel_size must be at least 1"),
        (lambda: nn.Conv2d(4, 6, 3, padding="full"), r"padding must be 'valid', 'same'"),
        (lambda: nn.Conv2d(4, 6, 3, stride=2, padding="same"), r"needs stride 1"),
        (lambda: nn.Conv1d(4, 6, (3, 3)), r"Conv1d: kernel_size must be an int"),
        (lambda: nn.MaxPool2d(0), r"MaxPool2d: kernel_size must be at least 1"),
        (lambda: nn.AvgPool1d(2, stride=0), r"AvgPool1d: stride must be at least 1"),
    ],
    ids=["channels0", "groups", "kernel0", "padding_string", "same_strided", "conv1d_pair",
         "pool_kernel0", "pool_stride0"],
)
def test_bad_constructor_arguments(make: Callable[[], nn.Module], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        make()
