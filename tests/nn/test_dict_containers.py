"""ModuleDict, ParameterDict and ParameterList against PyTorch's (keys, order, indexing,
update, training through them), ModuleList's presence, and Module.float/double/half/type."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn

torch = pytest.importorskip("torch")


def _build(lib):
    """The same model in either library: a ModuleDict of heads, scales in a
    ParameterList, gains in a ParameterDict."""

    class Model(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = lib.nn.ModuleDict({"cls": lib.nn.Linear(4, 3)})
            self.heads["box"] = lib.nn.Linear(4, 3)
            self.scales = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(3))])
            self.scales.append(lib.nn.Parameter(lib.ones(3) * 2))
            self.gains = lib.nn.ParameterDict({"a": lib.nn.Parameter(lib.ones(3))})
            self.gains.update([("b", lib.nn.Parameter(lib.zeros(3)))])

        def forward(self, x):
            y = self.heads["cls"](x) * self.scales[0] + self.heads["box"](x) * self.scales[-1]
            return y * self.gains["a"] + self.gains["b"]

    return Model()


def test_state_dict_keys_order_and_numbers_match_pytorch() -> None:
    ours, theirs = _build(sj), _build(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(v.shape) for v in ours.state_dict().values()] == \
        [tuple(v.shape) for v in theirs.state_dict().values()]
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    y, ty = ours(sj.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    y.sum().backward()
    ty.sum().backward()
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=name)


def test_module_dict_behaves_as_a_dict() -> None:
    d = nn.ModuleDict([("a", nn.ReLU()), ("b", nn.Tanh())])
    assert list(d) == list(d.keys()) == ["a", "b"] and "a" in d and len(d) == 2
    assert isinstance(d.pop("a"), nn.ReLU) and list(d) == ["b"]
    d.update({"c": nn.Linear(1, 1)})
    assert [k for k, _ in d.items()] == ["b", "c"] and len(list(d.parameters())) == 2
    del d["c"]
    assert len(list(d.parameters())) == 0
    d.clear()
    assert len(d) == 0
    with pytest.raises(TypeError, match="Modules only"):
        nn.ModuleDict({"x": 3})
    with pytest.raises(KeyError):
        d["missing"]


def test_parameter_list_wraps_tensors_and_indexes() -> None:
    plist = nn.ParameterList([sj.ones(2), sj.zeros(3)])
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in plist)
    assert len(plist[1:]) == 1 and plist[-1].shape == (3,)
    plist[0] = sj.full((4,), 2.0)
    assert list(plist.state_dict()) == ["0", "1"] and plist[0].shape == (4,)
    with pytest.raises(IndexError, match="out of range"):
        plist[2]
    with pytest.raises(TypeError, match="tensors"):
        plist.append("not a tensor")
    assert isinstance(nn.ModuleList([nn.ReLU()]), nn.Module)


def test_parameter_dict_behaves_as_a_dict() -> None:
    pd = nn.ParameterDict({"w": sj.ones(2)})
    pd["v"] = nn.Parameter(sj.zeros(1))
    assert list(pd) == ["w", "v"] and pd.get("missing") is None
    assert isinstance(pd.pop("w"), nn.Parameter) and list(pd.state_dict()) == ["v"]
    pd["v"] = sj.ones(5)
    assert pd["v"].shape == (5,) and len(list(pd.parameters())) == 1


def test_an_optimizer_trains_parameters_in_containers() -> None:
    sj.manual_seed(0)
    model = _build(sj)
    opt = sj.optim.SGD(model.parameters(), lr=0.05)
    x, target = sj.randn(16, 4), sj.randn(16, 3)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = ((model(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_module_casts_match_pytorch() -> None:
    for method in ("double", "half", "float"):
        ours = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
        theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
        assert getattr(ours, method)() is ours
        getattr(theirs, method)()
        for (k, v), tv in zip(ours.state_dict().items(), theirs.state_dict().values(),
                              strict=True):
            assert str(v.dtype) == str(tv.dtype).replace("torch.", ""), (method, k)
    ours = nn.Sequential(nn.BatchNorm1d(3)).type(sj.float64)
    theirs = torch.nn.Sequential(torch.nn.BatchNorm1d(3)).type(torch.float64)
    assert [str(v.dtype) for v in ours.state_dict().values()] == \
        [str(v.dtype).replace("torch.", "") for v in theirs.state_dict().values()]
    model = nn.Linear(2, 1).double()
    assert model(sj.randn(3, 2, dtype="float64")).dtype == np.float64
