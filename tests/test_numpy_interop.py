"""NumPy functions and DLPack on tensors behave as on PyTorch tensors (checked with torch)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import shenjing as sj

torch = pytest.importorskip("torch")

VALUES = np.array([[0.5, -1.0, 2.0], [3.0, 0.25, -0.75]], dtype=np.float32)

CALLS = {
    "exp": lambda t: np.exp(t),
    "sqrt-abs": lambda t: np.sqrt(np.abs(t)),
    "add-array": lambda t: np.add(t, np.ones(3, np.float32)),
    "maximum": lambda t: np.maximum(t, 0.5),
    "matmul": lambda t: np.matmul(t, t.T),
    "reshape": lambda t: np.reshape(t, (3, 2)),
    "transpose": lambda t: np.transpose(t),
    "clip": lambda t: np.clip(t, 0, 1),
    "argmax": lambda t: np.argmax(t),
    "concatenate": lambda t: np.concatenate([t, t]),
    "stack": lambda t: np.stack([t, t]),
    "where": lambda t: np.where(t > 0, t, 0),
    "dot": lambda t: np.dot(t[0], t[1]),
    "tensor-plus-array": lambda t: t + np.ones(3, np.float32),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_numpy_functions_return_what_they_return_on_pytorch(name: str) -> None:
    ours = CALLS[name](sj.tensor(VALUES))
    with warnings.catch_warnings():  # torch's own __array__/__array_wrap__ predate NumPy 2
        warnings.simplefilter("ignore", DeprecationWarning)
        theirs = CALLS[name](torch.tensor(VALUES))
    # A Tensor where PyTorch gives a Tensor, an ndarray or NumPy scalar where it gives one.
    assert isinstance(ours, sj.Tensor) == isinstance(theirs, torch.Tensor), type(ours)
    if isinstance(theirs, torch.Tensor):
        assert ours.shape == tuple(theirs.shape)
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    else:
        assert type(ours) is type(theirs) and ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "std", "prod"])
def test_numpy_reductions_give_a_tensor_of_numpys_answer(name: str) -> None:
    """PyTorch raises here (NumPy calls t.sum(axis=..., out=...)); shenjing gives NumPy's
    result as a Tensor, as a ufunc would."""
    reduce = getattr(np, name)
    for kwargs in ({}, {"axis": 0}, {"axis": 1, "keepdims": True}):
        got = reduce(sj.tensor(VALUES), **kwargs)
        assert isinstance(got, sj.Tensor) and got.dtype == np.float32
        np.testing.assert_allclose(got.numpy(), reduce(VALUES, **kwargs), rtol=1e-6)


def test_numpy_results_carry_no_history_and_arrays_copy_or_share() -> None:
    x = sj.tensor(VALUES, requires_grad=True)
    assert not np.exp(x).requires_grad
    # PyTorch's __array_wrap__ turns a bool result into uint8; a bool stays a bool here.
    assert np.isnan(x).dtype == np.bool_ and isinstance(np.isnan(x), sj.Tensor)
    t = sj.tensor(VALUES)
    np.asarray(t)[0, 0] = 9.0
    assert t[0, 0].item() == 9.0
    np.array(t)[0, 0] = -9.0
    assert t[0, 0].item() == 9.0


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_dlpack_round_trips_with_pytorch_sharing_memory(dtype: str) -> None:
    ours = sj.from_numpy(np.arange(6).reshape(2, 3).astype(dtype))
    theirs = torch.from_dlpack(ours)
    assert str(theirs.dtype) == f"torch.{dtype}" and tuple(theirs.shape) == ours.shape
    assert theirs.data_ptr() == ours.array.ctypes.data  # the same memory
    back = sj.from_dlpack(theirs)
    assert back.dtype == ours.dtype and back.array.ctypes.data == ours.array.ctypes.data
    source = torch.arange(4, dtype=torch.float32)
    shared = sj.from_dlpack(source)
    source[1] = 42.0
    assert shared.tolist() == [0.0, 42.0, 2.0, 3.0]
    assert ours.__dlpack_device__() == theirs.__dlpack_device__() == (1, 0)


def test_dlpack_with_numpy_and_its_refusals() -> None:
    array = np.arange(4.0)
    t = sj.from_dlpack(array)
    array[0] = 5.0
    assert t[0].item() == 5.0
    np.testing.assert_array_equal(np.from_dlpack(t), array)
    with pytest.raises(BufferError, match="require gradient"):
        torch.from_dlpack(sj.ones(2, requires_grad=True))
    with pytest.raises(TypeError, match="from_dlpack expects"):
        sj.from_dlpack([1, 2])


@pytest.mark.gpu
def test_dlpack_on_a_gpu_with_cupy_and_pytorch() -> None:
    if not sj.cuda.is_available():
        pytest.skip("needs CuPy and a GPU")
    import cupy

    ours = sj.arange(6.0, device="cuda")
    theirs = cupy.from_dlpack(ours)
    assert theirs.data.ptr == ours.array.data.ptr  # the same GPU memory
    back = sj.from_dlpack(theirs)
    assert back.device == sj.device("cuda:0") and back.array.data.ptr == ours.array.data.ptr
    if torch.cuda.is_available():
        shared = torch.from_dlpack(ours)
        assert shared.is_cuda and shared.data_ptr() == ours.array.data.ptr
        assert sj.from_dlpack(shared).array.data.ptr == ours.array.data.ptr
