"""Module and Parameter: registration, traversal, state dicts, modes and repr."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn


class Block(nn.Module):
    """A module with a parameter, buffers (one not persistent) and children."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(sj.ones(3))
        self.register_buffer("count", sj.zeros(1))
        self.register_buffer("cache", sj.zeros(2), persistent=False)
        self.fc = nn.Linear(3, 2)
        self.layers = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))

    def forward(self, x: sj.Tensor) -> sj.Tensor:
        return self.layers(self.fc(x * self.scale))


def test_parameter_is_a_leaf_tensor_that_requires_grad() -> None:
    p = nn.Parameter(sj.tensor([1.0, 2.0]))
    assert isinstance(p, sj.Tensor) and p.is_leaf and p.requires_grad
    frozen = nn.Parameter(sj.zeros(2), requires_grad=False)
    assert not frozen.requires_grad
    assert repr(p).startswith("Parameter containing:\ntensor(")


def test_parameter_shares_a_tensors_array_and_copies_other_data() -> None:
    t = sj.zeros(3)
    assert nn.Parameter(t).array is t.array
    array = np.zeros(3)
    p = nn.Parameter(array)
    assert p.array is not array and p.dtype == np.float32


def test_keys_follow_assignment_order_with_dotted_names() -> None:
    block = Block()
    assert [name for name, _ in block.named_parameters()] == [
        "scale", "fc.weight", "fc.bias", "layers.0.weight", "layers.0.bias",
        "layers.2.weight", "layers.2.bias",
    ]
    assert [name for name, _ in block.named_buffers()] == ["count", "cache"]
    assert list(block.state_dict()) == [
        "scale", "count", "fc.weight", "fc.bias", "layers.0.weight", "layers.0.bias",
        "layers.2.weight", "layers.2.bias",
    ]
    assert [name for name, _ in block.named_children()] == ["fc", "layers"]
    assert [name for name, _ in block.named_modules()] == [
        "", "fc", "layers", "layers.0", "layers.1", "layers.2",
    ]
    assert block.count_params() == 3 + (3 * 2 + 2) + (2 * 4 + 4) + (4 + 1)


def test_keys_match_pytorch_for_the_same_structure() -> None:
    torch = pytest.importorskip("torch")

    class TorchBlock(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(3))
            self.register_buffer("count", torch.zeros(1))
            self.register_buffer("cache", torch.zeros(2), persistent=False)
            self.fc = torch.nn.Linear(3, 2)
            self.layers = torch.nn.Sequential(
                torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1)
            )

    theirs = TorchBlock()
    ours = Block()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]


def test_reassignment_keeps_position_and_moves_between_kinds() -> None:
    block = Block()
    block.scale = nn.Parameter(sj.zeros(3))  # same slot, new parameter
    assert next(iter(block.state_dict())) == "scale"
    block.count = sj.ones(1)  # a tensor assigned to a buffer updates the buffer
    assert block.state_dict()["count"].tolist() == [1.0]
    block.fc = nn.Parameter(sj.zeros(1))  # a child becomes a parameter
    assert "fc" not in dict(block.named_children())
    assert "fc" in dict(block.named_parameters())
    del block.layers
    assert not hasattr(block, "layers")
    assert all(not k.startswith("layers") for k in block.state_dict())


def test_wrong_kind_for_a_registered_name_is_rejected() -> None:
    block = Block()
    with pytest.raises(TypeError, match="as parameter 'scale'"):
        block.scale = sj.ones(3)
    with pytest.raises(TypeError, match="as buffer 'count'"):
        block.count = 3.0
    with pytest.raises(TypeError, match="as child module 'fc'"):
        block.fc = "linear"
    block.scale = None  # None is a valid placeholder
    assert "scale" not in dict(block.named_parameters())


def test_registration_checks_names() -> None:
    block = Block()
    with pytest.raises(KeyError, match="without '.'"):
        block.register_buffer("a.b", sj.zeros(1))
    with pytest.raises(KeyError, match="already exists"):
        block.register_parameter("fc", nn.Parameter(sj.zeros(1)))
    with pytest.raises(TypeError, match="Parameter or None expected"):
        block.register_parameter("w", sj.zeros(1))
    with pytest.raises(TypeError, match="Module or None expected"):
        block.add_module("m", sj.zeros(1))


def test_assigning_before_init_fails_clearly() -> None:
    class Forgetful(nn.Module):
        def __init__(self) -> None:
            self.w = nn.Parameter(sj.zeros(1))

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Forgetful()


def test_shared_parameters_appear_once_but_are_saved_under_each_name() -> None:
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_state_dict_is_a_numpy_snapshot_and_keep_vars_gives_the_tensors() -> None:
    layer = nn.Linear(3, 2)
    state = layer.state_dict()
    assert isinstance(state, OrderedDict)
    assert all(isinstance(v, np.ndarray) for v in state.values())
    before = state["weight"].copy()
    layer.weight.array += 1.0
    np.testing.assert_array_equal(state["weight"], before)
    assert layer.state_dict(keep_vars=True)["weight"] is layer.weight


def test_load_state_dict_copies_in_place_and_casts() -> None:
    layer = nn.Linear(3, 2)
    weight_array = layer.weight.array
    rng = np.random.default_rng(0)
    new = {"weight": rng.normal(size=(2, 3)), "bias": sj.tensor([1.0, 2.0], dtype="float64")}
    result = layer.load_state_dict(new)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert layer.weight.array is weight_array, "loaded in place"
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    np.testing.assert_allclose(layer.weight.numpy(), new["weight"], rtol=1e-6)
    assert layer.bias.tolist() == [1.0, 2.0]


def _weights(module: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in module.state_dict().items()}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(lambda sd: sd.pop("2.bias"), r"Missing key\(s\): '2.bias'", id="missing"),
        pytest.param(lambda sd: sd.update(extra=np.zeros(1)), r"Unexpected key\(s\): 'extra'",
                     id="unexpected"),
        pytest.param(lambda sd: sd.update({"0.weight": np.zeros((5, 3))}),
                     r"Size mismatch for '0.weight': the module has shape \(4, 3\), the state "
                     r"dict has shape \(5, 3\)", id="shape"),
    ],
)
def test_load_state_dict_errors_name_the_keys_and_change_nothing(change, message) -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    before = _weights(model)
    state = {k: v + 1.0 for k, v in model.state_dict().items()}  # every value differs
    change(state)
    with pytest.raises(RuntimeError, match=message):
        model.load_state_dict(state)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_load_state_dict_reports_every_problem_at_once() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    state = model.state_dict()
    del state["1.weight"]
    state["0.bias"] = np.zeros(7)
    state["ghost"] = np.zeros(1)
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(state)
    text = str(info.value)
    assert "'1.weight'" in text and "'ghost'" in text and "'0.bias'" in text and "(7,)" in text


def test_load_state_dict_non_strict_skips_keys_but_not_shapes() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    state = model.state_dict()
    del state["1.bias"]
    state["extra"] = np.ones(2)
    state["0.bias"] = np.full(4, 7.0)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["1.bias"] and result.unexpected_keys == ["extra"]
    assert model[0].bias.tolist() == [7.0] * 4
    state["0.weight"] = np.zeros((1, 1))
    with pytest.raises(RuntimeError, match="Size mismatch for '0.weight'"):
        model.load_state_dict(state, strict=False)


def test_train_and_eval_set_every_module() -> None:
    block = Block()
    assert block.training and all(m.training for m in block.modules())
    assert block.eval() is block
    assert not any(m.training for m in block.modules())
    block.train()
    assert all(m.training for m in block.modules())
    with pytest.raises(TypeError, match="expects a bool"):
        block.train("no")


def test_zero_grad_drops_or_zeroes_gradients() -> None:
    block = Block()
    block(sj.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in block.parameters())
    block.zero_grad(set_to_none=False)
    assert all(not p.grad.numpy().any() for p in block.parameters())
    block.zero_grad()
    assert all(p.grad is None for p in block.parameters())


def test_requires_grad_freezes_parameters() -> None:
    block = Block().requires_grad_(False)
    assert not any(p.requires_grad for p in block.parameters())
    assert block.count_params(trainable_only=True) == 0


def test_apply_visits_children_before_the_parent() -> None:
    visited: list[str] = []
    Block().apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "Linear", "ReLU", "Linear", "Sequential", "Block"]


def test_call_runs_forward_and_base_forward_is_missing() -> None:
    block = Block()
    x = sj.randn(5, 3)
    np.testing.assert_array_equal(block(x).numpy(), block.forward(x).numpy())
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        nn.Module()(x)


def test_build_creates_lazy_parameters_and_keeps_modes_and_statistics() -> None:
    model = nn.Sequential(nn.Dense(8, activation="relu"), nn.BatchNorm1d(8), nn.Dense(2))
    assert model.count_params() == 2 * 8  # only the BatchNorm's γ and β so far
    model.build((None, 5))
    assert model.count_params() == (5 * 8 + 8) + 2 * 8 + (8 * 2 + 2)
    assert model.training
    assert int(model[1].num_batches_tracked.item()) == 0
    assert model[1].running_mean.tolist() == [0.0] * 8


def test_repr_matches_pytorch() -> None:
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(
        nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(),
        nn.Sequential(nn.Linear(8, 8, bias=False), nn.LeakyReLU(0.2), nn.PReLU()),
        nn.ELU(), nn.GELU(), nn.Softplus(), nn.Identity(), nn.Tanh(), nn.Sigmoid(),
    )
    theirs = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
        torch.nn.Sequential(torch.nn.Linear(8, 8, bias=False), torch.nn.LeakyReLU(0.2),
                            torch.nn.PReLU()),
        torch.nn.ELU(), torch.nn.GELU(), torch.nn.Softplus(), torch.nn.Identity(),
        torch.nn.Tanh(), torch.nn.Sigmoid(),
    )
    assert repr(ours) == repr(theirs)


def test_repr_of_a_custom_module_nests_children() -> None:
    assert repr(Block()) == (
        "Block(\n"
        "  (fc): Linear(in_features=3, out_features=2, bias=True)\n"
        "  (layers): Sequential(\n"
        "    (0): Linear(in_features=2, out_features=4, bias=True)\n"
        "    (1): ReLU()\n"
        "    (2): Linear(in_features=4, out_features=1, bias=True)\n"
        "  )\n"
        ")"
    )
