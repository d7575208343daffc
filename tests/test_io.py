"""save/load: safetensors round trips, atomic writes, clear errors, PyTorch interchange."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn


def _model() -> nn.Sequential:
    sj.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def test_a_state_dict_round_trips_exactly(tmp_path) -> None:
    model = _model()
    path = tmp_path / "model.safetensors"
    sj.save(model.state_dict(), path)
    loaded = sj.load(path)
    assert list(loaded) == list(model.state_dict())
    for key, value in model.state_dict().items():
        assert loaded[key].dtype == value.dtype
        np.testing.assert_array_equal(loaded[key], value)
    other = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    other.load_state_dict(loaded)
    x = sj.randn(5, 4)
    model.eval(), other.eval()
    np.testing.assert_array_equal(model(x).numpy(), other(x).numpy())


def test_a_checkpoint_with_optimizer_state_resumes_exactly(tmp_path) -> None:
    rng = np.random.default_rng(0)
    x = sj.tensor(rng.normal(size=(32, 4)))
    y = sj.tensor(rng.integers(0, 3, 32))

    def train(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            sj.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()

    model = _model()
    opt = sj.optim.Adam(model.parameters(), lr=0.01)
    train(model, opt, 3)
    sj.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3},
            tmp_path / "ckpt.safetensors")
    train(model, opt, 4)

    resumed = _model()
    resumed_opt = sj.optim.Adam(resumed.parameters(), lr=0.01)
    checkpoint = sj.load(tmp_path / "ckpt.safetensors")
    assert checkpoint["epoch"] == 3
    resumed.load_state_dict(checkpoint["model"])
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    train(resumed, resumed_opt, 4)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value)


def test_writes_are_atomic_and_leave_no_temporary_file(tmp_path, monkeypatch) -> None:
    path = tmp_path / "model.safetensors"
    sj.save({"w": np.ones(3, dtype=np.float32)}, path)

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        sj.save({"w": np.zeros(3, dtype=np.float32)}, path)
    assert os.listdir(tmp_path) == ["model.safetensors"]
    np.testing.assert_array_equal(sj.load(path)["w"], np.ones(3))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "header"])
def test_a_damaged_file_is_reported_not_half_loaded(tmp_path, damage: str) -> None:
    path = tmp_path / "model.safetensors"
    sj.save(_model().state_dict(), path)
    blob = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(blob[: len(blob) - 10])
    elif damage == "garbage":
        path.write_bytes(b"PK\x03\x04 this is a zip file, not safetensors" * 3)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(blob[:8] + b"{not json" + blob[17:])
    with pytest.raises(ValueError, match=f"load: {path}"):
        sj.load(path)


def test_save_rejects_what_it_cannot_store(tmp_path) -> None:
    with pytest.raises(TypeError, match=r"cannot store a set at 'a'"):
        sj.save({"a": {1, 2}}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="dtype complex128"):
        sj.save({"a": np.ones(2, dtype=complex)}, tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match="keys may not contain '/'"):
        sj.save({"a/b": np.ones(1)}, tmp_path / "x.safetensors")


def test_pytorch_reads_our_weights_and_we_read_theirs(tmp_path) -> None:
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    ours = _model()
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8),
                                 torch.nn.ReLU(), torch.nn.Linear(8, 3))
    sj.save(ours.state_dict(), tmp_path / "ours.safetensors")
    theirs.load_state_dict(safetensors_torch.load_file(str(tmp_path / "ours.safetensors")))
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    ours.eval(), theirs.eval()
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(sj.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)

    torch.manual_seed(1)
    fresh = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8),
                                torch.nn.ReLU(), torch.nn.Linear(8, 3)).eval()
    safetensors_torch.save_file(fresh.state_dict(), str(tmp_path / "theirs.safetensors"))
    ours.load_state_dict(sj.load(tmp_path / "theirs.safetensors"))
    with torch.no_grad():
        expected = fresh(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(sj.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)


def _craft(path, header, data: bytes = b"") -> None:
    """A safetensors file with this JSON header (any JSON value) and data section."""
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


F32_ENTRY = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ([F32_ENTRY], "JSON list, not an object"),
        ({"w": {"dtype": "F32", "shape": [2]}}, "has no data_offsets"),
        ({"w": "F32"}, "described by a str"),
        ({"w": {**F32_ENTRY, "dtype": "F7"}}, "unknown dtype 'F7'"),
        ({"w": {**F32_ENTRY, "shape": "2"}}, "shape '2'"),
        ({"w": {**F32_ENTRY, "data_offsets": [0, "8"]}}, "data_offsets"),
        ({"w": {**F32_ENTRY, "data_offsets": [8, 16]}}, "ends at byte 16"),
        ({"w": F32_ENTRY, "v": {**F32_ENTRY, "data_offsets": [4, 12]}}, "overlaps"),
        ({"w": {**F32_ENTRY, "shape": [3]}}, "needs 12 bytes"),
        ({"w": F32_ENTRY, "__metadata__": {"shenjing": "{"}}, "corrupt shenjing structure"),
        ({"w": F32_ENTRY, "__metadata__": {"shenjing": 5}}, "__metadata__"),
        ({"w": F32_ENTRY, "__metadata__": {"shenjing": '{"format": "shenjing-state-v1"}'}},
         "corrupt shenjing structure"),
        ({"w": {**F32_ENTRY, "dtype": "C64"}}, "complex"),
    ],
    ids=["list", "no-offsets", "entry-not-dict", "unknown-dtype", "bad-shape", "offset-type",
         "out-of-range", "overlap", "size-mismatch", "metadata-not-json",
         "metadata-not-string", "metadata-no-rest", "complex"],
)
def test_a_malformed_header_is_one_value_error_naming_file_and_problem(
        tmp_path, header, problem: str) -> None:
    path = tmp_path / "crafted.safetensors"
    _craft(path, header, bytes(8))
    with pytest.raises(ValueError, match=f"{path}.*{problem}"):
        sj.load(path)


def test_bf16_tensors_load_as_float32(tmp_path) -> None:
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    values = torch.tensor([[1.5, -2.25], [3e38, 1e-3]], dtype=torch.bfloat16)
    safetensors_torch.save_file({"w": values}, str(tmp_path / "bf16.safetensors"))
    loaded = sj.load(tmp_path / "bf16.safetensors")["w"]
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, values.float().numpy())


def test_a_killed_writers_temporary_file_is_removed_by_the_next_save(tmp_path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = tmp_path / "model.safetensors"
    leftover = tmp_path / f".model.safetensors.{dead.pid}.0123456789ab.tmp"
    leftover.write_bytes(b"half a file")
    live = tmp_path / f".model.safetensors.{os.getpid()}.0123456789ab.tmp"
    live.write_bytes(b"being written")
    other = tmp_path / f".other.safetensors.{dead.pid}.0123456789ab.tmp"
    other.write_bytes(b"another target's")
    sj.save({"w": np.ones(3, dtype=np.float32)}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [path.name, live.name, other.name])
