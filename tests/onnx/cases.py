"""The models the ONNX tests export: every zoo model and every layer type, each with a
PyTorch twin holding the same weights."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
from shenjing.models import lenet5, mlp, rnn_classifier


@dataclass
class Case:
    """A model to export, and how to make its inputs."""

    id: str
    build: Callable[[], nn.Module]
    example_shape: tuple[int, ...]
    integer_inputs: int = 0  # > 0: indices below this, for an Embedding
    in_pytorch: bool = True  # PyTorch has every layer (not shenjing's Step, Dense)

    def inputs(self, batch: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        shape = (batch, *self.example_shape[1:])
        if self.integer_inputs:
            return rng.integers(0, self.integer_inputs, shape).astype(np.int64)
        return rng.standard_normal(shape).astype(np.float32)


def _with_batch_statistics(model: nn.Module, shape: tuple[int, ...]) -> nn.Module:
    """Run a few training batches so BatchNorm's running estimates are not 0 and 1."""
    model.train()
    with sj.no_grad():
        for _ in range(3):
            model(sj.randn(*shape) * 2 + 0.5)
    return model.eval()


def _conv_stack() -> nn.Module:
    return _with_batch_statistics(nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.MaxPool2d(2, padding=1), nn.Conv2d(4, 3, 2), nn.Tanh(), nn.AvgPool2d(2),
        nn.Dropout(0.5), nn.Flatten(), nn.Linear(3, 5)), (8, 2, 12, 12))


def _dense_activations() -> nn.Module:
    return _with_batch_statistics(nn.Sequential(
        nn.Linear(6, 8), nn.BatchNorm1d(8), nn.LeakyReLU(0.1), nn.Linear(8, 8), nn.ELU(0.7),
        nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 8), nn.PReLU(), nn.Sigmoid(),
        nn.Linear(8, 4), nn.Softmax(dim=-1)), (8, 6))


def _one_dimensional() -> nn.Module:
    return nn.Sequential(
        nn.Conv1d(2, 4, 3, padding=1), nn.MaxPool1d(2), nn.Conv1d(4, 3, 2, stride=2, dilation=2),
        nn.AvgPool1d(2, padding=1), nn.Flatten(), nn.Linear(6, 5), nn.Softplus(),
        nn.Identity(), nn.GELU(approximate="tanh"), nn.LogSoftmax(dim=1))


def _shenjing_only() -> nn.Module:
    model = nn.Sequential(nn.Dense(6, activation="tanh"), nn.Step(), nn.Linear(6, 3))
    with sj.no_grad():
        model(sj.zeros(1, 4))  # Dense builds its weights on the first call
    return model


def _embedding() -> nn.Module:
    return nn.Sequential(nn.Embedding(12, 4), nn.Flatten(), nn.Linear(20, 3))


CASES = [
    Case("lenet5", lenet5, (2, 1, 28, 28)),
    Case("lenet5-tanh", lambda: lenet5(activation="tanh"), (2, 1, 28, 28)),
    Case("mlp", lambda: mlp(20, (16, 8), 3, dropout=0.2), (2, 20)),
    Case("rnn-2-layers", lambda: rnn_classifier("rnn", input_size=6, hidden_size=8,
                                                num_layers=2), (2, 7, 6)),
    Case("lstm-2-layers", lambda: rnn_classifier("lstm", input_size=6, hidden_size=8,
                                                 num_layers=2), (2, 7, 6)),
    Case("gru", lambda: rnn_classifier("gru", input_size=6, hidden_size=8), (2, 7, 6)),
    Case("conv-batchnorm-pool-dropout", _conv_stack, (2, 2, 12, 12)),
    Case("dense-activations-batchnorm1d", _dense_activations, (2, 6)),
    Case("embedding", _embedding, (2, 5), integer_inputs=12),
    Case("conv1d-pool1d-softplus-gelu-tanh-logsoftmax", _one_dimensional, (2, 2, 16)),
    Case("dense-step", _shenjing_only, (2, 4), in_pytorch=False),
]


# ---------------------------------------------------------------- PyTorch twins


def shenjing_outputs(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """The model's own output for ``x``, in evaluation mode: what an exported or loaded
    model must reproduce."""
    model.eval()
    with sj.no_grad():
        return model(sj.from_numpy(x)).numpy()


def skip_without_pytorch_twin(case: Case) -> None:
    """Skip the calling test unless PyTorch is installed and has every layer of ``case``."""
    pytest.importorskip("torch")
    if not case.in_pytorch:
        pytest.skip(f"{case.id} has layers PyTorch lacks")


def torch_export(case: Case, model: nn.Module, path: Path) -> None:
    """Export ``model``'s PyTorch twin with PyTorch's own exporter (dynamic batch)."""
    import torch

    example = torch.from_numpy(case.inputs(2, seed=0))
    with warnings.catch_warnings():
        # dynamo=False: the TorchScript exporter works offline without onnxscript. It warns
        # that it is the legacy one, and its tracer warns about torch's own RNN code.
        warnings.simplefilter("ignore")
        torch.onnx.export(torch_twin(model), (example,), str(path), input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "batch"}},
                          opset_version=17, dynamo=False)


def torch_twin(model: nn.Module) -> Any:
    """The same network in PyTorch, with the same weights, in eval mode."""
    import torch

    if isinstance(model, nn.Sequential):
        twin = torch.nn.Sequential(*[_torch_layer(layer) for layer in model])
    else:  # the zoo's RowClassifier
        twin = _torch_row_classifier(model)
    state = {k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()}
    twin.load_state_dict(state)
    return twin.eval()


def _torch_layer(layer: nn.Module) -> Any:
    import torch.nn as tnn

    kind = type(layer).__name__
    if kind == "Conv2d":
        return tnn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                          stride=layer.stride, padding=layer.padding)
    if kind == "Linear":
        return tnn.Linear(layer.weight.shape[1], layer.weight.shape[0])
    if kind in ("MaxPool2d", "AvgPool2d"):
        return getattr(tnn, kind)(layer.kernel_size, layer.stride, layer.padding)
    if kind in ("BatchNorm1d", "BatchNorm2d"):
        return getattr(tnn, kind)(layer.num_features, eps=layer.eps)
    if kind == "Embedding":
        return tnn.Embedding(layer.num_embeddings, layer.embedding_dim)
    if kind == "LeakyReLU":
        return tnn.LeakyReLU(layer.negative_slope)
    if kind == "ELU":
        return tnn.ELU(layer.alpha)
    if kind == "PReLU":
        return tnn.PReLU(layer.num_parameters)
    if kind in ("Softmax", "LogSoftmax"):
        return getattr(tnn, kind)(dim=layer.dim)
    if kind in ("Conv1d", "MaxPool1d", "AvgPool1d"):
        return _torch_1d(layer)
    if kind == "GELU":
        return tnn.GELU(approximate=layer.approximate)
    if kind == "Softplus":
        return tnn.Softplus(layer.beta, layer.threshold)
    if kind == "Dropout":
        return tnn.Dropout(layer.p)
    return getattr(tnn, kind)()  # ReLU, Tanh, Sigmoid, GELU, Flatten


def _torch_1d(layer: nn.Module) -> Any:
    import torch.nn as tnn

    kind = type(layer).__name__
    if kind == "Conv1d":
        return tnn.Conv1d(layer.in_channels, layer.out_channels, layer.kernel_size,
                          stride=layer.stride, padding=layer.padding, dilation=layer.dilation)
    return getattr(tnn, kind)(layer.kernel_size, layer.stride, layer.padding)


def _torch_row_classifier(model: nn.Module) -> Any:
    import torch

    class RowClassifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            rnn = model.rnn
            kind = type(rnn).__name__
            extra = {"nonlinearity": rnn.nonlinearity} if kind == "RNN" else {}
            self.rnn = getattr(torch.nn, kind)(rnn.input_size, rnn.hidden_size,
                                               num_layers=rnn.num_layers, batch_first=True,
                                               **extra)
            self.head = torch.nn.Linear(model.head.weight.shape[1], model.head.weight.shape[0])

        def forward(self, x: Any) -> Any:
            output, _ = self.rnn(x)
            return self.head(output[:, -1])

    return RowClassifier()
