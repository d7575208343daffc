"""``format(tensor, spec)``: a 0-d tensor formats as its number, as in PyTorch."""

from __future__ import annotations

import pytest

import shenjing as sj

torch = pytest.importorskip("torch")  # every test here compares with PyTorch


@pytest.mark.parametrize(("value", "spec"), [(1.23456, ".4f"), (3, "04d"), (2.5e-7, ".2e"),
                                             (True, ""), (-7, ">5")])
def test_a_0d_tensor_formats_as_pytorch_formats_it(value: object, spec: str) -> None:
    assert format(sj.tensor(value), spec) == format(torch.tensor(value), spec)


def test_a_0d_tensor_with_history_formats_as_its_number() -> None:
    loss = (sj.ones(3, requires_grad=True) * 0.5).mean()
    assert f"loss {loss:.4f}" == "loss 0.5000"


def test_a_tensor_with_dimensions_refuses_a_format_spec_as_pytorch() -> None:
    for lib in (torch, sj):
        with pytest.raises(TypeError, match="unsupported format string"):
            format(lib.ones(2), ".2f")
    assert f"{sj.ones(2)}" == str(sj.ones(2))
