"""PyTorch names mean what they mean in PyTorch: return types, defaults, dtypes and the
gradients at edge inputs, each checked against PyTorch itself when it is installed."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import shenjing as sj


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _pair(torch, data, dtype="float64"):
    """The same data as a shenjing and a PyTorch tensor, both requiring a gradient."""
    array = np.asarray(data, dtype=dtype)
    return (sj.tensor(array, dtype=dtype, requires_grad=True),
            torch.tensor(array, requires_grad=True))


# ------------------------------------------------------------------------ max / min
@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_over_a_dim_return_values_and_indices_like_pytorch(torch, op, keepdim) -> None:
    data = [[1.0, 3.0, 3.0], [2.0, 0.0, 2.0], [-1.0, -1.0, 5.0]]  # ties: the first wins
    x, t = _pair(torch, data)
    ours, theirs = getattr(x, op)(1, keepdim), getattr(t, op)(1, keepdim)
    assert type(ours).__name__ == type(theirs).__name__ == op
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.detach().numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    assert ours.indices.dtype == np.int64
    values, indices = ours  # it unpacks like a tuple
    assert values is ours.values and indices is ours.indices
    weights = np.arange(1.0, 4.0).reshape(ours.values.shape)
    (ours.values * sj.tensor(weights, dtype="float64")).sum().backward()
    (theirs.values * torch.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())  # one element per row


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_forms_and_aliases(torch, op) -> None:
    data = [[1.0, 3.0], [3.0, 0.0]]
    x, t = _pair(torch, data)
    whole = getattr(sj, op)(x)
    assert whole.shape == () and whole.item() == getattr(t, op)().item()
    whole.backward()
    getattr(t, op)().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())  # ties share it
    other = sj.tensor([2.0, 2.0], dtype="float64")
    np.testing.assert_array_equal(getattr(x, op)(other).numpy(),
                                  getattr(t, op)(torch.tensor([2.0, 2.0])).detach().numpy())
    by_axis, by_dim = getattr(x, op)(axis=0), getattr(sj, op)(x, dim=0)
    np.testing.assert_array_equal(by_axis.values.numpy(), by_dim.values.numpy())
    np.testing.assert_array_equal(by_axis.indices.numpy(), by_dim.indices.numpy())
    with pytest.raises(TypeError, match=rf"{op}: got dim=0 and axis=1"):
        getattr(x, op)(0, axis=1)
    with pytest.raises(TypeError, match=rf"{op}: dim must be an int"):
        getattr(x, op)((0, 1))


def test_max_of_a_0d_tensor_over_dim_0(torch) -> None:
    values, indices = sj.tensor(3.0).max(0)
    expected = torch.tensor(3.0).max(0)
    assert values.item() == expected.values.item() and indices.item() == expected.indices.item()
    assert values.shape == () and indices.shape == ()


def test_max_of_an_empty_tensor_raises() -> None:
    with pytest.raises(IndexError, match=r"max: cannot reduce over an empty dimension"):
        sj.zeros(0, 3).max(0)


@pytest.mark.parametrize("args, kwargs", [((), {}), ((1,), {}), ((0, True), {}),
                                          ((), {"dim": -1, "keepdim": True})])
@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_argmin_match_pytorch(torch, op, args, kwargs) -> None:
    data = np.array([[[1.0, 5.0], [5.0, 0.0]], [[2.0, 2.0], [-1.0, 7.0]]])
    ours = getattr(sj.tensor(data), op)(*args, **kwargs)
    theirs = getattr(torch.tensor(data), op)(*args, **kwargs)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == np.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# --------------------------------------------------------------------------- var / std
@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("args, kwargs", [
    ((), {}), ((0,), {}), ((1, True, True), {}), ((1, False), {}), ((), {"unbiased": False}),
    ((), {"dim": (0, 1), "correction": 2}), ((), {"dim": 1, "correction": 0, "keepdim": True}),
    ((False,), {}),
])
def test_var_std_defaults_and_spellings_match_pytorch(torch, op, args, kwargs) -> None:
    data = np.random.default_rng(0).normal(size=(4, 3))
    x, t = _pair(torch, data)
    ours, theirs = getattr(x, op)(*args, **kwargs), getattr(t, op)(*args, **kwargs)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("op", ["var_mean", "std_mean"])
def test_var_mean_and_std_mean_return_pytorchs_pair(torch, op) -> None:
    data = np.random.default_rng(1).normal(size=(3, 5))
    ours = getattr(sj, op)(sj.tensor(data, dtype="float64"), 1, keepdim=True)
    theirs = getattr(torch, op)(torch.tensor(data), 1, keepdim=True)
    assert isinstance(ours, tuple) and len(ours) == 2
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


def test_var_rejects_unbiased_with_correction() -> None:
    with pytest.raises(TypeError, match=r"var: give unbiased or correction, not both"):
        sj.ones(3).var(unbiased=True, correction=0)


def test_a_mean_over_no_elements_is_nan_without_a_warning(torch) -> None:
    x = sj.zeros(0, 3, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = x.mean(0)
        y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), torch.zeros(0, 3).mean(0).numpy())
    assert x.grad.shape == (0, 3)
    assert math.isnan(sj.zeros(0).mean().item())


@pytest.mark.parametrize("op", ["mean", "var", "std", "var_mean", "std_mean"])
def test_mean_and_variance_of_integers_raise_as_in_pytorch(op) -> None:
    with pytest.raises(TypeError, match=rf"{op}: input dtype must be floating point"):
        getattr(sj, op)(sj.tensor([1, 2]))


def test_integer_sums_and_logsumexp_take_pytorchs_dtypes(torch) -> None:
    for dtype in ("bool", "int32", "int64"):
        data = np.array([1, 0, 1]).astype(dtype)
        ours, theirs = sj.tensor(data, dtype=dtype).sum(), torch.tensor(data).sum()
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    ours, theirs = sj.tensor([1, 2]).logsumexp(0), torch.tensor([1, 2]).logsumexp(0)
    assert ours.dtype == np.float32 and ours.item() == pytest.approx(theirs.item())


def test_dim_and_axis_keepdim_and_keepdims_agree() -> None:
    x = sj.randn(2, 3, 4)
    for op in ("sum", "mean", "amax", "amin", "logsumexp"):
        by_torch = getattr(x, op)(dim=(0, 2), keepdim=True)
        by_numpy = getattr(x, op)(axis=(0, 2), keepdims=True)
        np.testing.assert_array_equal(by_torch.numpy(), by_numpy.numpy())
    with pytest.raises(TypeError, match=r"sum: got keepdim=True and keepdims=False"):
        x.sum(1, True, keepdims=False)


# -------------------------------------------------------------------- reductions of 0-d
@pytest.mark.parametrize("call", [
    lambda x: x.sum(0), lambda x: x.sum(-1), lambda x: x.mean(-1), lambda x: x.squeeze(-1),
    lambda x: x.squeeze(0), lambda x: x.unsqueeze(0), lambda x: x.unsqueeze(-1),
    lambda x: x.amax(0), lambda x: x.logsumexp(-1), lambda x: x.flatten(),
    lambda x: x.softmax(0), lambda x: x.log_softmax(-1),
], ids=["sum0", "sum-1", "mean-1", "squeeze-1", "squeeze0", "unsqueeze0", "unsqueeze-1",
        "amax0", "logsumexp-1", "flatten", "softmax0", "log_softmax-1"])
def test_0d_tensors_accept_dims_0_and_minus_1(torch, call) -> None:
    x, t = _pair(torch, 3.0)
    ours, theirs = call(x), call(t)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())
    ours.sum().backward()
    theirs.sum().backward()
    assert x.grad.item() == t.grad.item()


def test_0d_tensors_reject_dim_1() -> None:
    with pytest.raises(ValueError, match=r"sum: axis 1 is out of range for a tensor of rank 0"):
        sj.tensor(3.0).sum(1)


@pytest.mark.parametrize("call", [lambda x: x.sum(3), lambda x: x.transpose(0, -3),
                                  lambda x: x.max(2), lambda x: x.unsqueeze(4)])
def test_a_dim_out_of_range_is_an_index_error_as_in_pytorch(call) -> None:
    with pytest.raises(IndexError, match=r"out of range for a tensor of rank"):
        call(sj.zeros(2, 3))


@pytest.mark.parametrize("shapes", [((0,), (0,)), ((2, 0), (0,)), ((0,), (0, 3)),
                                    ((2, 3, 0), (0, 4))])
def test_matmul_over_a_zero_length_inner_dim_has_zero_gradients(torch, shapes) -> None:
    a, b = (sj.zeros(*s, requires_grad=True) for s in shapes)
    y = a @ b
    y.sum().backward()
    ta, tb = (torch.zeros(*s, requires_grad=True) for s in shapes)
    (ta @ tb).sum().backward()
    assert y.shape == tuple((ta @ tb).shape)
    assert a.grad.shape == shapes[0] and b.grad.shape == shapes[1]
    assert not a.grad.numpy().any() and not b.grad.numpy().any()


# ---------------------------------------------------------------------- type promotion
PROMOTIONS = [
    ("int64", 1.5), ("int64", 2), ("int64", True), ("bool", 1), ("bool", 1.5),
    ("bool", True), ("float32", np.float64(2.0)), ("float32", 2), ("int32", 5),
    ("int32", np.int64(5)), ("float64", 1.5), ("uint8", 3),
]


@pytest.mark.parametrize("dtype, scalar", PROMOTIONS, ids=str)
@pytest.mark.parametrize("op", ["add", "mul", "sub", "div"])
def test_tensor_with_scalar_promotes_like_pytorch(torch, dtype, scalar, op) -> None:
    if op == "sub" and (dtype == "bool" or isinstance(scalar, bool)):
        pytest.skip("PyTorch refuses to subtract booleans")
    data = np.array([1, 2, 1]).astype(dtype)
    symbol = {"add": "+", "mul": "*", "sub": "-", "div": "/"}[op]
    for ours, theirs in [
        (eval(f"x {symbol} s", {"x": sj.tensor(data, dtype=dtype), "s": scalar}),
         eval(f"x {symbol} s", {"x": torch.tensor(data), "s": scalar})),
        (eval(f"s {symbol} x", {"x": sj.tensor(data, dtype=dtype), "s": scalar}),
         eval(f"s {symbol} x", {"x": torch.tensor(data), "s": scalar})),
    ]:
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
        np.testing.assert_allclose(ours.numpy(), theirs.numpy().astype(ours.dtype), rtol=1e-6)


TENSOR_PAIRS = [
    (("int64", (3,)), ("float32", (3,))), (("int64", (3,)), ("float16", (3,))),
    (("float32", (3,)), ("float64", (3,))), (("float32", (3,)), ("float64", ())),
    (("int64", (3,)), ("float64", ())), (("int32", (3,)), ("int64", ())),
    (("int32", (3,)), ("int64", (3,))), (("bool", (3,)), ("int32", (3,))),
    (("uint8", (3,)), ("int8", (3,))), (("int64", ()), ("float32", ())),
]


@pytest.mark.parametrize("left, right", TENSOR_PAIRS, ids=str)
def test_tensor_with_tensor_promotes_like_pytorch(torch, left, right) -> None:
    def make(lib, spec):
        dtype, shape = spec
        data = np.full(shape, 2).astype(dtype)
        return sj.tensor(data, dtype=dtype) if lib is sj else lib.tensor(data)

    for op in (lambda a, b: a + b, lambda a, b: b * a, lambda a, b: a / b):
        ours, theirs = op(make(sj, left), make(sj, right)), op(make(torch, left),
                                                               make(torch, right))
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
        assert ours.shape == tuple(theirs.shape)


def test_promotion_keeps_gradients_flowing_through_the_cast() -> None:
    x = sj.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y = (x * sj.tensor(3.0)).sum()  # float64 [2] with float32 0-d: stays float64
    y.backward()
    assert y.dtype == np.float64 and x.grad.tolist() == [3.0, 3.0]
    w = sj.tensor(2.0, dtype="float64", requires_grad=True)
    z = (sj.ones(3) * w).sum()  # float32 [3] with float64 0-d: float32, as in PyTorch
    z.backward()
    assert z.dtype == np.float32 and w.grad.dtype == np.float64 and w.grad.item() == 3.0


@pytest.mark.parametrize("exponent", [0.5, 2, -1.0])
def test_integer_base_with_scalar_exponent_matches_pytorch(torch, exponent) -> None:
    ours, theirs = sj.tensor([1, 4]) ** exponent, torch.tensor([1, 4]) ** exponent
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())


# ----------------------------------------------------------------- pow at zero
def test_x_to_the_power_zero_has_zero_gradient_at_zero(torch) -> None:
    x, t = _pair(torch, [0.0, 2.0, -1.0])
    (x**0).sum().backward()
    (t**0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_pow_of_tensors_at_a_zero_base_and_a_zero_exponent(torch) -> None:
    base, exponent = [0.0, 0.0, 0.0, 2.0, 0.0], [0.0, 1.0, 2.5, 0.0, -1.0]
    a, ta = _pair(torch, base)
    b, tb = _pair(torch, exponent)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = a**b
        y.sum().backward()
    ty = ta**tb
    ty.sum().backward()
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(a.grad.numpy(), ta.grad.numpy())
    np.testing.assert_array_equal(b.grad.numpy(), tb.grad.numpy())


# ------------------------------------------------------------------------- indexing
INDICES = {
    "int-slice-tensor": lambda lib: (0, slice(None), lib.tensor([2, 0])),
    "tensor-slice-int": lambda lib: (lib.tensor([1, 0, 1]), slice(None), 3),
    "int-tensor-adjacent": lambda lib: (1, lib.tensor([0, 2])),
    "ellipsis-int-tensor": lambda lib: (Ellipsis, 0, lib.tensor([1, 1])),
    "none-int-slice-tensor": lambda lib: (None, 1, slice(None), lib.tensor([0, 3])),
    "two-tensors-split": lambda lib: (lib.tensor([0, 1]), slice(None), lib.tensor([3, 2])),
    "mask": lambda lib: (lib.tensor([[True, False, True], [False, False, True]]),),
    "int-mask": lambda lib: (1, lib.tensor([True, False, True])),
    "negative": lambda lib: (-1, slice(None, None, 2), lib.tensor([-1, 0])),
    "int-slice-mask": lambda lib: (0, slice(1, None), lib.tensor([True, False, True, True])),
}


@pytest.mark.parametrize("name", list(INDICES))
def test_indexing_matches_pytorch(torch, name) -> None:
    data = np.arange(24.0).reshape(2, 3, 4)
    x, t = _pair(torch, data)
    ours, theirs = x[INDICES[name](sj)], t[INDICES[name](torch)]
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())
    weights = np.arange(1.0, 1.0 + ours.numpy().size).reshape(ours.shape)
    (ours * sj.tensor(weights, dtype="float64")).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("index", [5, (0, 7), (slice(None), sj.tensor([0, 4]))], ids=str)
def test_an_out_of_range_index_raises_index_error(index) -> None:
    with pytest.raises(IndexError, match=r"getitem: .*shape=\(2, 4\)"):
        sj.zeros(2, 4)[index]


# ------------------------------------------------------------- dtypes, casts, views
def test_dtype_names_are_pytorchs() -> None:
    names = {"float32": np.float32, "float": np.float32, "float64": np.float64,
             "double": np.float64, "float16": np.float16, "half": np.float16,
             "int64": np.int64, "long": np.int64, "int32": np.int32, "int": np.int32,
             "int16": np.int16, "short": np.int16, "int8": np.int8, "uint8": np.uint8,
             "bool": np.bool_}
    for name, expected in names.items():
        assert getattr(sj, name) == np.dtype(expected)
        assert sj.zeros(2, dtype=getattr(sj, name)).dtype == expected
        assert sj.tensor([1, 0], dtype=getattr(sj, name)).dtype == getattr(sj, name)


@pytest.mark.parametrize("cast, dtype", [("float", "float32"), ("double", "float64"),
                                         ("half", "float16"), ("int", "int32"),
                                         ("long", "int64"), ("bool", "bool")])
def test_casts_match_pytorch(torch, cast, dtype) -> None:
    data = np.array([0.0, 1.7, -2.2])
    ours = getattr(sj.tensor(data, dtype="float64"), cast)()
    theirs = getattr(torch.tensor(data), cast)()
    assert ours.dtype == np.dtype(dtype) == np.dtype(str(theirs.dtype).removeprefix("torch."))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_type_names_and_type_casts(torch) -> None:
    for dtype in ("float32", "float64", "float16", "int64", "int32", "int16", "int8",
                  "uint8", "bool"):
        ours = sj.zeros(1, dtype=dtype).type()
        assert ours == torch.zeros(1, dtype=getattr(torch, dtype)).type().replace(
            "torch.", "shenjing.")
    x = sj.tensor([1.5, 2.5])
    assert x.type(sj.long).dtype == np.int64
    assert x.type("shenjing.DoubleTensor").dtype == np.float64
    assert x.float() is x  # already float32: PyTorch returns the tensor itself
    with pytest.raises(TypeError, match=r"unknown tensor type 'shenjing.Bogus'"):
        x.type("shenjing.Bogus")


def test_cast_gradient_flows_back_in_the_input_dtype() -> None:
    x = sj.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparison_methods_match_pytorch(torch, op) -> None:
    a, b = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0])
    for other in (sj.tensor(b), 2.0):
        ours = getattr(sj.tensor(a), op)(other)
        theirs = getattr(torch.tensor(a), op)(torch.tensor(b) if isinstance(
            other, sj.Tensor) else other)
        assert ours.dtype == np.bool_
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        as_function = getattr(sj, op)(sj.tensor(a), other)
        np.testing.assert_array_equal(as_function.numpy(), theirs.numpy())


def test_equal_compares_shape_and_values() -> None:
    x = sj.tensor([1.0, 2.0])
    assert x.equal(sj.tensor([1.0, 2.0])) is True
    assert x.equal(sj.tensor([1.0, 3.0])) is False
    assert x.equal(sj.tensor([[1.0, 2.0]])) is False
    assert sj.equal(x, sj.tensor([1.0, 2.0])) is True


def test_views_sizes_and_copies(torch) -> None:
    x = sj.arange(24.0).reshape(2, 3, 4)
    t = torch.arange(24.0).reshape(2, 3, 4)
    assert x.view(6, 4).shape == tuple(t.view(6, 4).shape)
    assert x.view((4, -1)).shape == tuple(t.view((4, -1)).shape)
    assert x.view_as(sj.zeros(4, 6)).shape == (4, 6)
    assert x.reshape_as(sj.zeros(24)).shape == (24,)
    assert x.expand_as(sj.zeros(5, 2, 3, 4)).shape == (5, 2, 3, 4)
    assert x.dim() == t.dim() and x.numel() == t.numel()
    assert x.size() == tuple(t.size()) and x.size(-1) == t.size(-1) == 4
    with pytest.raises(IndexError, match=r"size: axis 3 is out of range"):
        x.size(3)
    assert x.view(sj.int32).shape == tuple(t.view(torch.int32).shape)  # view(dtype)
    with pytest.raises(ValueError, match=r"expand: -1 is not allowed for a new leading dim"):
        x.expand(-1, 2, 3, 4)


def test_clone_copies_and_stays_in_the_graph() -> None:
    x = sj.tensor([1.0, 2.0], requires_grad=True)
    y = x.clone()
    assert y.array is not x.array and y.grad_fn is not None
    (y * y).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_contiguous_returns_self_or_a_contiguous_copy() -> None:
    x = sj.zeros(3, 4)
    assert x.contiguous() is x
    transposed = x.T
    assert not transposed.array.flags.c_contiguous
    assert transposed.contiguous().array.flags.c_contiguous


# -------------------------------------------------------------------- softmax, Flatten
def test_softmax_family_takes_dim(torch) -> None:
    data = np.random.default_rng(2).normal(size=(2, 3, 4))
    x, t = sj.tensor(data, dtype="float64"), torch.tensor(data)
    np.testing.assert_allclose(sj.softmax(x, 1).numpy(), torch.softmax(t, 1).numpy())
    np.testing.assert_allclose(x.log_softmax(dim=0).numpy(), t.log_softmax(dim=0).numpy())
    np.testing.assert_allclose(sj.nn.Softmax(dim=1)(x).numpy(), torch.nn.Softmax(dim=1)(t))
    np.testing.assert_allclose(sj.nn.LogSoftmax(1)(x).numpy(), torch.nn.LogSoftmax(1)(t))
    np.testing.assert_allclose(sj.nn.functional.softmax(x, dim=0).numpy(),
                               torch.nn.functional.softmax(t, dim=0))
    with pytest.raises(TypeError, match=r"softmax: got dim=1 and axis=0"):
        sj.softmax(x, 1, axis=0)


def test_flatten_layer_takes_pytorchs_arguments(torch) -> None:
    ours = sj.nn.Flatten(start_dim=0, end_dim=1)(sj.zeros(2, 3, 4))
    theirs = torch.nn.Flatten(start_dim=0, end_dim=1)(torch.zeros(2, 3, 4))
    assert ours.shape == tuple(theirs.shape)
    assert sj.nn.Flatten()(sj.zeros(2, 3, 4)).shape == (2, 12)


def test_split_takes_dim_and_returns_a_tuple_as_torch() -> None:
    torch = pytest.importorskip("torch")
    data = np.arange(12.0).reshape(3, 4)
    for args in ((2,), (2, 1), ([1, 3], 1), (1, 0)):
        ours, theirs = sj.split(sj.tensor(data), *args), torch.split(torch.tensor(data), *args)
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert [t.shape for t in sj.split(sj.tensor(data), 3, axis=1)] == [(3, 3), (3, 1)]
