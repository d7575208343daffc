"""PyTorch's legacy tensor classes, compared with PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj

torch = pytest.importorskip("torch")  # these tests compare with PyTorch

NAMES = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor",
         "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"]


@pytest.mark.parametrize("name", NAMES)
def test_legacy_classes_make_tensors_of_their_dtype_as_pytorch(name: str) -> None:
    ours, theirs = getattr(sj, name), getattr(torch, name)
    data = [1, 0, 3]
    np.testing.assert_array_equal(ours(data).numpy(), theirs(data).numpy())
    assert ours(data).dtype == theirs(data).numpy().dtype
    assert ours(2, 3).shape == tuple(theirs(2, 3).shape)
    assert ours().shape == tuple(theirs().shape) == (0,)
    assert isinstance(ours(data), ours)
    assert isinstance(ours(data).numpy(), ours) is False
    t = ours(data)
    assert ours(t) is t


def test_isinstance_checks_dtype_and_device_as_pytorch() -> None:
    for lib in (torch, sj):
        x = lib.ones(2)
        assert isinstance(x, lib.FloatTensor)
        assert not isinstance(x.double(), lib.FloatTensor)
        assert isinstance(x.double(), lib.DoubleTensor)
        assert not isinstance(x, lib.cuda.FloatTensor)


def test_legacy_classes_refuse_what_they_would_misread() -> None:
    with pytest.raises(TypeError, match="tuple is ambiguous"):
        sj.FloatTensor(sj.ones(2, 3).shape)
    with pytest.raises(TypeError, match="expected a tensor of dtype"):
        sj.FloatTensor(sj.ones(2).double())
    with pytest.raises(TypeError, match="sizes"):
        sj.FloatTensor(2.5)
    if not sj.cuda.is_available():
        with pytest.raises(TypeError, match="not available"):
            sj.cuda.FloatTensor(2)
