"""Conv3d, ConvTranspose3d, MaxPool3d and AvgPool3d against PyTorch's layers holding the
same state dict (forward and gradients), their initialisation bounds, and a small volume
classifier that trains."""

from __future__ import annotations

import math

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn

torch = pytest.importorskip("torch")

CASES = [
    ("Conv3d", (4, 6, 3), {"stride": (1, 2, 1), "padding": 1, "groups": 2}),
    ("Conv3d", (4, 2, (3, 3, 1)), {"padding": "same", "bias": False}),
    ("ConvTranspose3d", (4, 6, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ("ConvTranspose3d", (4, 2, 2), {"groups": 2, "dilation": (1, 2, 1)}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), CASES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(CASES)])
def test_layer_matches_pytorch_with_the_same_state_dict(name, args, kwargs) -> None:
    sj.manual_seed(0)
    ours = getattr(nn, name)(*args, **kwargs, dtype=sj.float64)
    theirs = getattr(torch.nn, name)(*args, **kwargs, dtype=torch.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [v.shape for v in ours.state_dict().values()] == \
        [tuple(v.shape) for v in theirs.state_dict().values()]
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 5, 3))
    xs, txs = sj.tensor(x, dtype="float64", requires_grad=True), torch.tensor(
        x, requires_grad=True)
    y, ty = ours(xs), theirs(txs)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(xs.grad.numpy(), txs.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (key, p), tp in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=key)


def test_initialisation_follows_pytorchs_bounds() -> None:
    layer = nn.Conv3d(8, 16, 3)
    bound = 1 / math.sqrt(8 * 27)
    assert np.abs(layer.weight.numpy()).max() <= bound
    assert np.abs(layer.bias.numpy()).max() <= bound
    assert np.abs(layer.weight.numpy()).max() > 0.8 * bound


@pytest.mark.parametrize(("name", "kwargs"), [
    ("MaxPool3d", {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("MaxPool3d", {"kernel_size": 2, "stride": 1, "dilation": 2}),
    ("AvgPool3d", {"kernel_size": 2}),
    ("AvgPool3d", {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
], ids=["max-pad", "max-dilation", "avg", "avg-exclude-pad"])
def test_pool_layers_match_pytorch(name, kwargs) -> None:
    x = np.random.default_rng(1).normal(size=(2, 3, 5, 6, 4))
    xs, txs = sj.tensor(x, dtype="float64", requires_grad=True), torch.tensor(
        x, requires_grad=True)
    y, ty = getattr(nn, name)(**kwargs)(xs), getattr(torch.nn, name)(**kwargs)(txs)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(xs.grad.numpy(), txs.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_unbatched_input_and_errors() -> None:
    conv = nn.Conv3d(2, 3, 2)
    assert conv(sj.randn(2, 4, 4, 4)).shape == (3, 3, 3, 3)
    with pytest.raises(ValueError, match=r"Conv3d expects input with 2 channels"):
        conv(sj.randn(1, 3, 4, 4, 4))
    with pytest.raises(ValueError, match="larger than the padded input"):
        sj.nn.functional.max_pool3d(sj.randn(1, 1, 1, 4, 4), 2)


def test_a_small_volume_classifier_trains() -> None:
    sj.manual_seed(0)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=32)
    volumes = rng.normal(size=(32, 1, 6, 6, 6)) * 0.5
    volumes[labels == 1, :, 1:4, 1:4, 1:4] += 1.5  # a bright cube marks class 1
    model = nn.Sequential(nn.Conv3d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool3d(2),
                          nn.Conv3d(4, 4, 3, padding=1), nn.ReLU(), nn.AvgPool3d(3),
                          nn.Flatten(), nn.Linear(4, 2))
    opt = sj.optim.Adam(model.parameters(), lr=0.02)
    x, y = sj.tensor(volumes), sj.tensor(labels)
    for _ in range(30):
        opt.zero_grad()
        loss = sj.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
    assert loss.item() < 0.3 and accuracy >= 0.9
