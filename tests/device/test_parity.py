"""Every op (the op table), layer and optimizer on the device against the same on the CPU."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
from shenjing import optim
from tests.nn import test_conv_layers, test_layers
from tests.ops.opinfo import OpInfo, all_rows
from tests.optim.problems import CONFIG_PARAMS, INITIAL, least_squares_grads

ROWS = [pytest.param(row, row.shapes[0], id=row.name) for row in all_rows()]


def _tensors(arrays, dtype, requires_grad, device=None):
    return [
        sj.tensor(a, dtype=dtype, requires_grad=requires_grad, device=device)
        if a.dtype.kind == "f" else sj.tensor(a, device=device)
        for a in arrays
    ]


@pytest.mark.parametrize(("row", "shapes"), ROWS)
def test_op_forward_and_backward_match_cpu(row: OpInfo, shapes: tuple, device: str) -> None:
    if device == "cuda" and row.name.startswith(("scatter_reduce_prod", "scatter_reduce_am")):
        with pytest.raises(NotImplementedError, match="not available on a GPU"):
            row.op(*_tensors(row.inputs(shapes), "float32", False, device), **row.kwargs)
        return
    arrays = row.inputs(shapes)
    dtype = "float64" if row.grad else "float32"
    on_cpu = _tensors(arrays, dtype, row.grad)
    on_device = _tensors(arrays, dtype, row.grad, device)
    expected = row.op(*on_cpu, **row.kwargs)
    # Constant tensors among the keyword arguments (running statistics) go along.
    kwargs = {k: v.to(device) if isinstance(v, sj.Tensor) else v for k, v in row.kwargs.items()}
    got = row.op(*on_device, **kwargs)
    assert got.device == sj.device(device) or got.device.type == device
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got.cpu().numpy(), expected.cpu().numpy(), rtol=1e-6, atol=1e-8)
    if not row.grad:
        return
    weights = np.random.default_rng(1).uniform(0.5, 1.5, size=expected.shape)
    (expected * sj.tensor(weights, dtype=dtype)).sum().backward()
    (got * sj.tensor(weights, dtype=dtype, device=device)).sum().backward()
    for x_cpu, x_dev in zip(on_cpu, on_device, strict=True):
        if x_cpu.requires_grad:
            assert x_dev.grad.device.type == device
            np.testing.assert_allclose(x_dev.grad.cpu().numpy(), x_cpu.grad.cpu().numpy(),
                                       rtol=1e-6, atol=1e-8)


LAYER_SPECS = {**test_layers.SPECS, **test_conv_layers.SPECS}
RECURRENT = {
    "rnn": lambda: nn.RNN(5, 4, num_layers=2),
    "lstm": lambda: nn.LSTM(5, 4, num_layers=2, bidirectional=True),
    "gru": lambda: nn.GRU(5, 4),
}


def _layer_parity(make, x: np.ndarray, device: str, random: bool) -> None:
    layer, twin = make(), make()
    twin.to(device).load_state_dict(layer.state_dict())  # host arrays onto the device
    assert all(p.device.type == device for p in twin.parameters())
    if random:  # the devices draw different dropout masks
        layer.eval()
        twin.eval()
    cpu_grads = _forward_backward(layer, x, None)
    dev_grads = _forward_backward(twin, x, device)
    for a, b in zip(dev_grads, cpu_grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


def _forward_backward(layer: nn.Module, x: np.ndarray, device: str | None) -> list:
    layer.zero_grad()
    xt = sj.tensor(x, requires_grad=True, device=device)
    y = layer(xt)
    y = y[0] if isinstance(y, tuple) else y
    (y * y).sum().backward()
    grads = [y.cpu().numpy()]
    if xt.grad is not None:
        grads.append(xt.grad.cpu().numpy())
    grads += [p.grad.cpu().numpy() for p in layer.parameters() if p.grad is not None]
    grads += [b.cpu().numpy() for b in layer.buffers()]
    return grads


@pytest.mark.filterwarnings("ignore:Step")  # the step layer warns of its zero gradient
@pytest.mark.parametrize("name", sorted(LAYER_SPECS))
def test_layer_matches_cpu(name: str, device: str) -> None:
    spec = LAYER_SPECS[name]
    sj.manual_seed(0)
    x = np.random.default_rng(0).normal(size=spec.input_shape).astype(np.float32)
    _layer_parity(spec.make, x, device, getattr(spec, "random", False))


@pytest.mark.parametrize("name", sorted(RECURRENT))
def test_recurrent_layer_matches_cpu(name: str, device: str) -> None:
    sj.manual_seed(0)
    x = np.random.default_rng(0).normal(size=(3, 6, 5)).astype(np.float32)
    _layer_parity(RECURRENT[name], x, device, random=False)


def _trajectory(name: str, kwargs: dict, device: str | None, steps: int = 10) -> list:
    params = [sj.tensor(a, dtype="float64", requires_grad=True, device=device)
              for a in INITIAL]
    opt = getattr(optim, name)(params, **kwargs)
    sign = -1 if kwargs.get("maximize") else 1
    out = []
    host = [a.copy() for a in INITIAL]
    for _ in range(steps):
        for p, g in zip(params, least_squares_grads(*host), strict=True):
            p.grad = sj.tensor(sign * g, dtype="float64", device=device)
        opt.step()
        host = [p.cpu().numpy().copy() for p in params]
        out.append(host)
    for state in opt.state.values():  # the state lives with the parameters
        for value in state.values():
            if sj.backend.is_array(value):
                assert sj.backend.device_of(value).type == (device or "cpu")
    return out


@pytest.mark.parametrize(("name", "kwargs"), CONFIG_PARAMS)
def test_optimizer_matches_cpu(name: str, kwargs: dict, device: str) -> None:
    for got, expected in zip(_trajectory(name, kwargs, device), _trajectory(name, kwargs, None),
                             strict=True):
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
