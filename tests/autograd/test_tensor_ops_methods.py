"""The Tensor methods attached for the new ops mean what the op means, as in PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
from shenjing._tensor_ops_methods import SAME_AS_OP

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name", SAME_AS_OP)
def test_every_method_is_also_a_torch_tensor_method(name: str) -> None:
    assert callable(getattr(sj.Tensor, name))
    assert hasattr(torch.Tensor, name), f"torch.Tensor has no {name}"


@pytest.mark.parametrize(("name", "args"), [
    ("sin", ()), ("cumsum", (1,)), ("clamp", (-0.5, 0.5)), ("roll", (1, 0)), ("tril", (-1,)),
    ("logaddexp", ("other",)), ("flip", ((0, 1),)), ("diagonal", (1,)), ("unfold", (1, 2, 1)),
    ("prod", (0,)), ("median", ()), ("square", ()), ("remainder", (0.7,)),
])
def test_method_equals_torchs_method(name: str, args: tuple) -> None:
    rng = np.random.default_rng(0)
    data, other = rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (3, 4))
    ours_args = [sj.tensor(other) if a == "other" else a for a in args]
    theirs_args = [torch.tensor(other).float() if a == "other" else a for a in args]
    ours = getattr(sj.tensor(data), name)(*ours_args)
    theirs = getattr(torch.tensor(data).float(), name)(*theirs_args)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_methods_with_pairs_and_keywords() -> None:
    x = sj.tensor([[3.0, 1.0, 2.0]])
    assert x.sort(descending=True).indices.tolist() == [[0, 2, 1]]
    assert x.topk(1).values.tolist() == [[3.0]]
    assert x.cummax(1).indices.tolist() == [[0, 0, 0]]
    assert x.div(2, rounding_mode="floor").tolist() == [[1.0, 0.0, 1.0]]
    assert x.gather(1, sj.tensor([[2]])).tolist() == [[2.0]]
    assert x.masked_fill(x > 1.5, 0.0).tolist() == [[0.0, 1.0, 0.0]]
    assert x.nonzero().shape == (3, 2)
    assert x.count_nonzero().item() == 3
    assert x.flip(0, 1).tolist() == x.flip((0, 1)).tolist() == [[2.0, 1.0, 3.0]]


def test_operators_are_defined_with_reflected_forms() -> None:
    for name in ("mod", "floordiv", "and", "or", "xor", "lshift", "rshift"):
        assert hasattr(sj.Tensor, f"__{name}__") and hasattr(sj.Tensor, f"__r{name}__")
    assert (~sj.tensor([0, 5])).tolist() == [-1, -6]
