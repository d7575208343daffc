"""Devices as in PyTorch, moving tensors, modules, optimizers and data, and the training
step's host round trips, on the strict stand-in (and CUDA when present)."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
from shenjing import backend
from shenjing.testing import strict


def test_device_parses_strings_and_indices() -> None:
    assert str(sj.device("cuda:1")) == "cuda:1"
    assert sj.device("cuda", 1) == sj.device("cuda:1") == "cuda:1"
    assert sj.device("cuda").index is None and sj.device("cuda").type == "cuda"
    assert sj.device("cpu") != sj.device("cuda")
    assert repr(sj.device("cuda:0")) == "device(type='cuda', index=0)"
    assert sj.device(sj.device("cpu")) == "cpu"


@pytest.mark.parametrize("spec", ["tpu", "cuda:x", "cpu:1", 3])
def test_device_rejects_what_torch_rejects(spec) -> None:
    with pytest.raises((ValueError, TypeError), match="device"):
        sj.device(spec)


def test_tensor_to_follows_torchs_overloads(device: str) -> None:
    x = sj.randn(2, 3)
    assert x.device == sj.device("cpu") and x.to("cpu") is x and x.cpu() is x
    assert x.to("float32") is x
    y = x.to(device, "float64")
    assert y.device.type == device and y.dtype == np.float64
    assert x.to(y).device == y.device and x.to(y).dtype == np.float64
    assert y.to(dtype=np.float32).device == y.device
    np.testing.assert_array_equal(y.cpu().cpu().numpy(), x.cpu().numpy().astype(np.float64))
    assert x.to("cpu", copy=True) is not x
    with pytest.raises(TypeError, match="Tensor.to"):
        x.to("cpu", "float32", "cpu")


def test_gradient_flows_back_across_a_move(device: str) -> None:
    x = sj.tensor([1.0, 2.0], requires_grad=True)
    (x.to(device) * 3.0).sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [3.0, 3.0])


def test_mixing_devices_names_both(device: str) -> None:
    a, b = sj.ones(2), sj.ones(2, device=device)
    with pytest.raises(RuntimeError, match=f"same device.*cpu and {device}"):
        a + b


def test_creation_functions_take_device(device: str) -> None:
    sj.manual_seed(0)
    on_cpu = sj.randn(3)
    sj.manual_seed(0)
    made = [sj.zeros(2, device=device), sj.ones(2, device=device), sj.full((2,), 3.0,
            device=device), sj.arange(3, device=device), sj.randn(3, device=device),
            sj.rand(2, device=device), sj.tensor([1.0], device=device)]
    assert all(t.device.type == device for t in made)
    np.testing.assert_array_equal(made[4].cpu().numpy(), on_cpu.cpu().numpy())  # one seed, one draw
    assert sj.zeros_like(made[0]).device == made[0].device


def test_module_to_keeps_parameter_identity_and_the_optimizer(device: str) -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    params = list(model.parameters())
    opt = sj.optim.Adam(model.parameters(), lr=0.1)
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    model(sj.tensor(x)).sum().backward()
    opt.step()  # state made on the CPU
    assert model.to(device) is model
    assert list(model.parameters()) == params
    assert all(t.device.type == device for t in [*model.parameters(), *model.buffers()])
    opt.zero_grad()
    model(sj.tensor(x, device=device)).sum().backward()
    opt.step()  # the state follows the parameters
    for state in opt.state.values():
        assert all(backend.device_of(v).type == device for v in state.values()
                   if backend.is_array(v))
    assert model.cpu().to("float64")[0].weight.dtype == np.float64


def test_state_dict_and_save_come_to_the_host(device: str, tmp_path) -> None:
    model = nn.Linear(3, 2).to(device)
    sd = model.state_dict()
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    sj.save(sd, tmp_path / "m.safetensors")
    target = nn.Linear(3, 2).to(device)
    target.load_state_dict(sj.load(tmp_path / "m.safetensors"))
    assert target.weight.device.type == device
    np.testing.assert_array_equal(target.weight.cpu().numpy(), model.weight.cpu().numpy())


def test_data_loader_puts_batches_on_the_device(device: str) -> None:
    ds = sj.data.TensorDataset(np.zeros((5, 2), np.float32), np.arange(5))
    batches = list(sj.data.DataLoader(ds, batch_size=2, device=device))
    assert all(t.device.type == device for batch in batches for t in batch)


def test_fit_on_the_device_trains(device: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    sj.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 2))
    model.compile(optimizer=sj.optim.Adam(lr=0.05), loss="cross_entropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0, device=device)
    assert model[0].weight.device.type == device
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(x, y)["accuracy"] > 0.8


def test_a_training_step_reads_nothing_back_to_the_host() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Dropout(0.2), nn.Linear(2 * 3 * 3, 3)).to("strict")
    lstm = nn.LSTM(3, 4).to("strict")
    opt = sj.optim.Adam([*model.parameters(), *lstm.parameters()], lr=1e-3)
    x = sj.randn(4, 1, 8, 8, device="strict")
    target = sj.tensor([0, 1, 2, 1], device="strict")
    before = strict.host_syncs
    for _ in range(2):
        logits = model(x)
        seq, _ = lstm(logits.reshape(4, 1, 3))
        loss = sj.nn.functional.cross_entropy(seq.reshape(4, 4)[:, :3] + logits, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert strict.host_syncs == before


def test_cuda_reports_what_it_sees() -> None:
    assert sj.cuda.is_available() == (sj.cuda.device_count() > 0)


def test_cli_trains_on_the_device(device: str, tmp_path, capsys) -> None:
    from shenjing.cli import main

    code = main(["train", "--device", device, "--limit", "128", "--epochs", "1", "--quiet",
                 "--out", str(tmp_path / "run")])
    assert code == 0
    assert "test accuracy" in capsys.readouterr().out


def test_cli_rejects_an_unknown_device(capsys) -> None:
    from shenjing.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--device", "tpu"])
    assert "--device" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["mlp", "lenet5", "lstm"])
def test_compiled_step_runs_on_the_device_as_eager(kind: str, device: str) -> None:
    from benchmarks.bench_gpu import shenjing_step

    eager, compiled = (shenjing_step(kind, 8, device, compiled=c) for c in (False, True))
    for _ in range(3):
        a, b = eager(), compiled()
    assert b.device.type == device
    np.testing.assert_allclose(b.cpu().numpy(), a.cpu().numpy(), rtol=1e-5)


@pytest.mark.parametrize("kind", ["mlp", "lenet5", "lstm"])
def test_captured_step_runs_on_the_device_as_the_compiled_step(kind: str, device: str
                                                                ) -> None:
    """``mode="reduce-overhead"``: a real CUDA graph on CuPy, the stand-in's replay on
    ``strict`` (shenjing/graph/cuda_graph.py); the same numbers as the plain plan."""
    from benchmarks.bench_gpu import shenjing_step
    from shenjing.graph import cuda_graph

    if device == "strict":
        cuda_graph.register_backend("strict_numpy",
                                    cuda_graph.HostReplay(lambda: strict.host_syncs))
    try:
        plain = shenjing_step(kind, 8, device, compiled=True)
        captured = shenjing_step(kind, 8, device, compiled=True, mode="reduce-overhead")
        for _ in range(4):
            a, b = plain(), captured()
            np.testing.assert_allclose(b.cpu().numpy(), a.cpu().numpy(), rtol=1e-5)
        (state,) = captured.compiled.captures
        assert state.reason is None
        assert (state.captures, state.replays) == (1, 3)
    finally:
        cuda_graph.register_backend("strict_numpy", None)


def test_numpy_of_a_device_tensor_raises_as_in_pytorch(device: str) -> None:
    x = sj.ones(2, device=device)
    with pytest.raises(TypeError, match=r"numpy\(\): the tensor is on .*\.cpu\(\)"):
        x.numpy()
    assert x.tolist() == [1.0, 1.0] and "tensor([1., 1.]" in repr(x)


def test_optimizer_state_dict_loads_onto_device_parameters(device: str) -> None:
    model = nn.Linear(3, 2)
    opt = sj.optim.Adam(model.parameters(), lr=0.1)
    model(sj.ones(4, 3)).sum().backward()
    opt.step()
    twin = nn.Linear(3, 2).to(device)
    twin_opt = sj.optim.Adam(twin.parameters(), lr=0.1)
    twin_opt.load_state_dict(opt.state_dict())
    for state in twin_opt.state.values():
        assert backend.device_of(state["exp_avg"]).type == device


def test_lazy_dense_layers_are_built_on_their_inputs_device(device: str) -> None:
    model = nn.Sequential(nn.Dense(3, activation="relu"), nn.Dense(2)).to(device)
    assert model(sj.randn(4, 5, device=device)).device.type == device
    assert all(p.device.type == device for p in model.parameters())
