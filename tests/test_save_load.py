"""sj.save / sj.load as torch.save / torch.load: nesting, file objects, keywords, safety."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn


def test_any_nesting_round_trips_with_its_types(tmp_path) -> None:
    grad = sj.ones(2, requires_grad=True)
    obj = {
        "tensor": sj.arange(6.0).reshape(2, 3),
        "grad": grad,
        "array": np.arange(4, dtype=np.int16),
        "list": [1, 2.5, "three", None, True, [sj.zeros(1), (4, "five")]],
        "tuple": (sj.ones(3, dtype="float64"), np.float32(1.5), {"deep": np.ones((2, 2))}),
        "ints": {0: np.zeros(1), 7: {"step": 3}},
        "empty": {"d": {}, "l": [], "t": ()},
    }
    sj.save(obj, tmp_path / "obj.safetensors")
    back = sj.load(tmp_path / "obj.safetensors")
    assert isinstance(back["tensor"], sj.Tensor) and back["tensor"].dtype == np.float32
    np.testing.assert_array_equal(back["tensor"].numpy(), obj["tensor"].numpy())
    assert back["grad"].requires_grad and back["grad"].is_leaf
    assert isinstance(back["array"], np.ndarray) and back["array"].dtype == np.int16
    assert back["list"][:5] == [1, 2.5, "three", None, True]
    assert isinstance(back["list"][5][0], sj.Tensor) and back["list"][5][1] == (4, "five")
    assert isinstance(back["tuple"], tuple) and back["tuple"][0].dtype == np.float64
    assert back["tuple"][1] == 1.5
    np.testing.assert_array_equal(back["tuple"][2]["deep"], np.ones((2, 2)))
    assert list(back["ints"]) == [0, 7] and back["ints"][7] == {"step": 3}
    assert back["empty"] == {"d": {}, "l": [], "t": ()}


@pytest.mark.parametrize("obj", [sj.arange(3.0), [sj.ones(2), np.zeros(3)], (1, "a"), 5],
                         ids=["tensor", "list", "tuple", "number"])
def test_the_top_level_may_be_any_storable_value(obj) -> None:
    buffer = io.BytesIO()
    sj.save(obj, buffer)
    buffer.seek(0)
    back = sj.load(buffer)
    assert type(back) is type(obj)
    if isinstance(obj, sj.Tensor):
        np.testing.assert_array_equal(back.numpy(), obj.numpy())
    elif isinstance(obj, list):
        np.testing.assert_array_equal(back[1], obj[1])
    else:
        assert back == obj


def test_binary_file_objects_work_both_ways(tmp_path) -> None:
    model = nn.Linear(3, 2)
    with open(tmp_path / "m.safetensors", "wb") as f:
        sj.save(model.state_dict(), f)
    with open(tmp_path / "m.safetensors", "rb") as f:
        back = sj.load(f, map_location="cpu", weights_only=True)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(back[key], value)
    with open(tmp_path / "m.safetensors") as f, pytest.raises(TypeError, match="text mode"):
        sj.load(f)


def test_a_damaged_file_object_is_reported() -> None:
    buffer = io.BytesIO()
    sj.save({"w": sj.ones(4)}, buffer)
    damaged = io.BytesIO(buffer.getvalue()[:-3])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        sj.load(damaged)


def test_saving_a_module_or_optimizer_points_to_state_dict(tmp_path) -> None:
    model = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"Linear object itself.*state_dict\(\)"):
        sj.save(model, tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match=r"SGD object itself.*state_dict\(\)"):
        sj.save({"opt": sj.optim.SGD(model.parameters(), lr=0.1)}, tmp_path / "m.safetensors")
    assert not list(tmp_path.iterdir())


def test_map_location_keywords(tmp_path) -> None:
    sj.save({"w": sj.ones(2)}, tmp_path / "w.safetensors")
    for location in (None, "cpu", sj.device("cpu"), {"cuda:0": "cpu"}):
        back = sj.load(tmp_path / "w.safetensors", map_location=location)
        assert back["w"].device == sj.device("cpu")
    with pytest.raises(ValueError, match="device"):
        sj.load(tmp_path / "w.safetensors", map_location="tpu")
    with pytest.raises(TypeError, match="function"):
        sj.load(tmp_path / "w.safetensors", map_location=lambda storage, loc: storage)
    with pytest.raises(TypeError, match="no pickle"):
        sj.load(tmp_path / "w.safetensors", pickle_module=json)


def test_loading_builds_only_data_never_objects_named_in_the_file(tmp_path) -> None:
    """A crafted skeleton naming a class or a callable comes back as plain data."""
    tree = {"__dict__": {"x": {"__reduce__": "os.system", "args": ["echo hi"]},
                         "y": "builtins.eval"}}
    metadata = {"shenjing": json.dumps({"format": "shenjing-save-v2", "tree": tree})}
    text = json.dumps({"__metadata__": metadata}).encode()
    (tmp_path / "evil.safetensors").write_bytes(struct.pack("<Q", len(text)) + text)
    with pytest.raises(ValueError, match="corrupt shenjing structure"):
        sj.load(tmp_path / "evil.safetensors")
    tree["__dict__"].pop("x")
    metadata = {"shenjing": json.dumps({"format": "shenjing-save-v2", "tree": tree})}
    text = json.dumps({"__metadata__": metadata}).encode()
    (tmp_path / "plain.safetensors").write_bytes(struct.pack("<Q", len(text)) + text)
    assert sj.load(tmp_path / "plain.safetensors") == {"y": "builtins.eval"}


def test_a_pytorch_program_round_trip(tmp_path) -> None:
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    opt = sj.optim.Adam(model.parameters(), lr=0.01)
    model(sj.randn(5, 4)).sum().backward()
    opt.step()
    checkpoint = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 1}
    sj.save(checkpoint, tmp_path / "ckpt.pt")
    back = sj.load(tmp_path / "ckpt.pt", map_location="cpu", weights_only=True)
    assert back["epoch"] == 1
    fresh = sj.optim.Adam(model.parameters(), lr=0.01)
    fresh.load_state_dict(back["optimizer"])
    model.load_state_dict(back["model"])
    # A flat state dict stays a plain safetensors file that PyTorch reads.
    sj.save(model.state_dict(), tmp_path / "flat.safetensors")
    theirs = safetensors_torch.load_file(str(tmp_path / "flat.safetensors"))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(theirs[key].numpy(), value)
    assert isinstance(theirs["0.weight"], torch.Tensor)


def test_files_written_before_nesting_still_load(tmp_path) -> None:
    """The first format (dicts only, tuples of scalars, arrays back as arrays)."""
    import safetensors.numpy

    rest = {"w": {"__array__": "w"}, "betas": {"__tuple__": [0.9, 0.999]},
            "sub": {"__dict__": {"0": {"__array__": "sub/0"}}, "__int_keys__": True}}
    metadata = {"shenjing": json.dumps({"format": "shenjing-state-v1", "rest": rest})}
    safetensors.numpy.save_file({"w": np.ones(2, np.float32), "sub/0": np.zeros(1)},
                                str(tmp_path / "v1.safetensors"), metadata=metadata)
    back = sj.load(tmp_path / "v1.safetensors")
    assert back["betas"] == (0.9, 0.999) and list(back["sub"]) == [0]
    assert isinstance(back["w"], np.ndarray)
