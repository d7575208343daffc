"""ONNX export: the checker passes, and ONNX Runtime gives shenjing's numbers (and those of
PyTorch's own exporter for the same weights) on batch sizes other than the example's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
from tests.onnx.cases import Case, shenjing_outputs, skip_without_pytorch_twin, torch_export

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

BATCHES = (1, 5)  # the example has 2 rows


def _run_ort(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_export_passes_the_checker_and_matches_onnxruntime(case: Case, tmp_path: Path) -> None:
    model = case.build()
    path = tmp_path / "model.onnx"
    sj.onnx.export(model, case.inputs(2, seed=0), path, input_names=["input"],
                   output_names=["logits"], dynamic_axes={"input": {0: "batch"}})
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    for batch in BATCHES:
        x = case.inputs(batch, seed=batch)
        expected = shenjing_outputs(model, x)
        got = _run_ort(path, x)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_pytorch_exporter_gives_the_same_numbers(case: Case, tmp_path: Path) -> None:
    skip_without_pytorch_twin(case)
    model = case.build()
    path = tmp_path / "torch.onnx"
    torch_export(case, model, path)
    for batch in BATCHES:
        x = case.inputs(batch, seed=batch)
        np.testing.assert_allclose(_run_ort(path, x), shenjing_outputs(model, x), rtol=0, atol=1e-5)


def test_a_model_built_in_graph_mode_exports(tmp_path: Path) -> None:
    sj.manual_seed(1)
    w = sj.randn(4, 3, requires_grad=True)
    b = sj.randn(3, requires_grad=True)

    def net(x: sj.Tensor) -> sj.Tensor:
        h = sj.tanh(x @ w + b) * 2.0 - sj.exp(x[:, :3] ** 2.0) / 3.0
        return sj.log_softmax(sj.concat([h, h.sum(axis=1, keepdims=True)], axis=1), axis=1)

    path = tmp_path / "net.onnx"
    sj.onnx.export(net, np.zeros((2, 4), np.float32), path,
                   dynamic_axes={"input": {0: "batch"}})
    x = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    with sj.no_grad():
        expected = net(sj.from_numpy(x)).numpy()
    np.testing.assert_allclose(_run_ort(path, x), expected, rtol=0, atol=1e-5)


def test_an_op_without_a_mapping_names_itself(tmp_path: Path) -> None:
    def net(x: sj.Tensor) -> sj.Tensor:
        return sj.mse_loss(x, x * 2.0)

    with pytest.raises(sj.onnx.ExportError, match="no ONNX mapping for op MSELoss"):
        sj.onnx.export(net, np.zeros((2, 3), np.float32), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_reading_the_lstm_cell_sequence_is_refused(tmp_path: Path) -> None:
    lstm = nn.LSTM(3, 4, batch_first=True)

    def net(x: sj.Tensor) -> sj.Tensor:
        _, (h, c) = lstm(x)
        return h[0] + c[0]  # the last cell state: exportable

    sj.onnx.export(net, np.zeros((2, 5, 3), np.float32), tmp_path / "ok.onnx")

    def cells(x: sj.Tensor) -> sj.Tensor:
        return sj.ops.lstm(x, sj.zeros(2, 4), sj.zeros(2, 4), lstm.weight_ih_l0,
                           lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)[1]

    with pytest.raises(sj.onnx.ExportError, match="LSTMSequence .* only the last cell state"):
        sj.onnx.export(cells, np.zeros((2, 5, 3), np.float32), tmp_path / "bad.onnx")


def test_dynamic_axes_must_name_an_input_or_output(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="dynamic_axes names 'x'"):
        sj.onnx.export(nn.Linear(2, 2), np.zeros((1, 2), np.float32), tmp_path / "m.onnx",
                       dynamic_axes={"x": {0: "batch"}})


def test_a_graph_built_with_placeholders_exports(tmp_path: Path) -> None:
    sj.manual_seed(3)
    model = sj.models.lenet5(activation="tanh").eval()
    graph = sj.Graph()
    with graph.as_default():
        images = sj.placeholder((None, 1, 28, 28), name="images")
        probabilities = sj.softmax(model(images), axis=1)
    path = tmp_path / "graph.onnx"
    proto = sj.onnx.export(probabilities, images, path)
    assert [i.name for i in proto.graph.input] == ["images"]
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32)
    with sj.no_grad():
        expected = sj.softmax(model(sj.from_numpy(x)), axis=1).numpy()
    np.testing.assert_allclose(_run_ort(path, x), expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("cell", ["RNN", "LSTM", "GRU"])
def test_bidirectional_stacked_recurrent_layers_and_their_states(cell: str,
                                                                 tmp_path: Path) -> None:
    sj.manual_seed(4)
    rnn = getattr(nn, cell)(3, 4, num_layers=2, batch_first=True, bidirectional=True)

    def net(x: sj.Tensor) -> sj.Tensor:
        out, state = rnn(x)
        states = list(state) if isinstance(state, tuple) else [state]
        return sj.concat([out[:, -1], out[:, 0], *[s[-1] for s in states]], axis=1)

    path = tmp_path / "rnn.onnx"
    sj.onnx.export(net, np.zeros((2, 5, 3), np.float32), path,
                   dynamic_axes={"input": {0: "batch"}})
    x = np.random.default_rng(0).standard_normal((4, 5, 3)).astype(np.float32)
    with sj.no_grad():
        expected = net(sj.from_numpy(x)).numpy()
    np.testing.assert_allclose(_run_ort(path, x), expected, rtol=0, atol=1e-5)


def test_a_missing_onnx_package_names_the_extra(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` fail
    with pytest.raises(ImportError, match=r"pip install shenjing\[onnx\]"):
        sj.onnx.export(nn.Linear(2, 2), np.zeros((1, 2), np.float32), tmp_path / "m.onnx")
