"""``sj.onnx.load``: ONNX models made by PyTorch's exporter (and by shenjing's) run as a
shenjing Module and give the original model's numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
from tests.onnx.cases import Case, shenjing_outputs, skip_without_pytorch_twin, torch_export

onnx = pytest.importorskip("onnx")


def test_load_runs_what_pytorch_exported(case: Case, tmp_path: Path) -> None:
    skip_without_pytorch_twin(case)
    model = case.build()
    path = tmp_path / "torch.onnx"
    torch_export(case, model, path)
    loaded = sj.onnx.load(path)
    assert isinstance(loaded, nn.Module) and loaded.input_names == ["input"]
    for batch in (1, 4):
        x = case.inputs(batch, seed=batch)
        with sj.no_grad():
            got = loaded(sj.from_numpy(x)).numpy()
        np.testing.assert_allclose(got, shenjing_outputs(model, x), rtol=0, atol=1e-5)


def test_load_runs_what_shenjing_exported(case: Case, tmp_path: Path) -> None:
    model = case.build()
    path = tmp_path / "model.onnx"
    sj.onnx.export(model, case.inputs(2, seed=0), path, dynamic_axes={"input": {0: "batch"}})
    x = case.inputs(3, seed=3)
    with sj.no_grad():
        got = sj.onnx.load(path)(x).numpy()
    np.testing.assert_allclose(got, shenjing_outputs(model, x), rtol=0, atol=1e-5)


def test_an_unsupported_op_is_named_at_load() -> None:
    helper = onnx.helper
    node = helper.make_node("Hardmax", ["x"], ["y"])
    info = [helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, [2, 3]) for n in "xy"]
    proto = helper.make_model(helper.make_graph([node], "g", info[:1], info[1:]))
    with pytest.raises(NotImplementedError, match="no shenjing runner for ONNX op.* Hardmax"):
        sj.onnx.load(proto)


def test_forward_checks_the_number_of_inputs(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    sj.onnx.export(nn.Linear(2, 3), np.zeros((1, 2), np.float32), path)
    with pytest.raises(TypeError, match="expects 1 input"):
        sj.onnx.load(path)(sj.zeros(1, 2), sj.zeros(1, 2))
