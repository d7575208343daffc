"""Edge cases of indexing, rearranging and einsum: PyTorch's shapes and index rules,
repeated indices, empty and 0-d tensors, and errors that name the op."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
from tests.torch_parity import assert_same

torch = pytest.importorskip("torch")


def test_gather_adds_the_gradient_of_repeated_indices() -> None:
    x = sj.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    sj.gather(x, 1, sj.tensor([[0, 0, 2, 0]])).sum().backward()
    assert x.grad.tolist() == [[3.0, 0.0, 1.0]]


def test_index_errors_name_the_op_and_what_was_received() -> None:
    x = sj.zeros(2, 3)
    with pytest.raises(IndexError, match="gather: index out of range for size 3 of dim 1"):
        sj.gather(x, 1, sj.tensor([[3]]))
    with pytest.raises(TypeError, match="gather: index must be an integer tensor"):
        sj.gather(x, 1, sj.tensor([[0.0]]))
    with pytest.raises(ValueError, match="same rank"):
        sj.gather(x, 1, sj.tensor([0]))
    with pytest.raises(ValueError, match="larger than input"):
        sj.gather(x, 1, sj.tensor([[0], [0], [0]]))
    with pytest.raises(IndexError, match="index_select"):
        sj.index_select(x, 0, sj.tensor([2]))
    with pytest.raises(IndexError, match="take"):
        sj.take(x, sj.tensor([-7]))
    with pytest.raises(ValueError, match="scatter_reduce: reduce"):
        sj.scatter_reduce(x, 0, sj.tensor([[0]]), sj.ones(1, 1), "max")
    with pytest.raises(TypeError, match="scatter: src must have input's dtype"):
        sj.scatter(x, 0, sj.tensor([[0]]), sj.ones(1, 1, dtype="float64"))


def test_scatter_with_a_value_and_negative_indices() -> None:
    x = np.zeros((2, 3))
    index = np.array([[-1, 0]])
    assert_same(sj.scatter(sj.tensor(x), 1, sj.tensor(index), value=2.5),
          torch.scatter(torch.tensor(x).float(), 1, torch.tensor(index) % 3, 2.5))
    with pytest.raises(TypeError, match="exactly one"):
        sj.scatter(sj.tensor(x), 1, sj.tensor(index))


def test_scatter_add_of_integers() -> None:
    x, index, src = np.zeros((1, 3), np.int64), np.array([[0, 0, 2]]), np.array([[1, 2, 3]])
    assert_same(sj.scatter_add(sj.tensor(x), 1, sj.tensor(index), sj.tensor(src)),
          torch.scatter_add(torch.tensor(x), 1, torch.tensor(index), torch.tensor(src)))


def test_where_with_one_argument_is_nonzero_as_a_tuple() -> None:
    data = [[0, 1], [1, 1]]
    ours, theirs = sj.where(sj.tensor(data)), torch.where(torch.tensor(data))
    assert len(ours) == len(theirs) == 2
    for a, b in zip(ours, theirs, strict=True):
        assert_same(a, b)


@pytest.mark.parametrize("data", [[[0.0, 1.0], [2.0, 0.0]], [0.0, 0.0], 3.0, 0.0])
def test_nonzero_shapes_as_torch(data) -> None:
    assert_same(sj.nonzero(sj.tensor(data)), torch.nonzero(torch.tensor(data)))
    for a, b in zip(sj.nonzero(sj.tensor(data), as_tuple=True),
                    torch.nonzero(torch.tensor(data), as_tuple=True), strict=True):
        assert_same(a, b)


def test_masked_fill_with_a_0d_tensor_value_passes_the_gradient_to_it() -> None:
    x = sj.tensor([1.0, 2.0, 3.0], requires_grad=True)
    value = sj.tensor(5.0, requires_grad=True)
    sj.masked_fill(x, sj.tensor([True, False, True]), value).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0] and value.grad.item() == 2.0
    with pytest.raises(ValueError, match="masked_fill: mask"):
        sj.masked_fill(x, sj.tensor([[True], [False]]), 0.0)
    with pytest.raises(TypeError, match="masked_fill: mask must be boolean"):
        sj.masked_fill(x, sj.tensor([1, 0, 1]), 0.0)


def test_masked_select_of_nothing_is_empty() -> None:
    assert sj.masked_select(sj.ones(2, 2), sj.tensor([False, False])).shape == (0,)


@pytest.mark.parametrize(("n", "chunks"), [(5, 3), (6, 4), (0, 3), (2, 5)])
def test_chunk_sizes_as_torch(n: int, chunks: int) -> None:
    ours = [t.shape for t in sj.chunk(sj.zeros(n), chunks)]
    assert ours == [tuple(t.shape) for t in torch.chunk(torch.zeros(n), chunks)]


@pytest.mark.parametrize("how", [3, 5, [1, 5, 9], [4, 1]])
def test_tensor_split_sizes_as_torch(how) -> None:
    ours = [t.shape for t in sj.tensor_split(sj.zeros(7, 2), how)]
    assert ours == [tuple(t.shape) for t in torch.tensor_split(torch.zeros(7, 2), how)]


def test_split_method_takes_dim() -> None:
    pieces = sj.ones(2, 5).split([2, 3], dim=1)
    assert isinstance(pieces, tuple) and [p.shape for p in pieces] == [(2, 2), (2, 3)]


def test_meshgrid_shapes_for_both_indexings() -> None:
    a, b, c = sj.arange(2), sj.arange(3), sj.arange(4)
    for indexing in ("ij", "xy"):
        ours = sj.meshgrid(a, b, c, indexing=indexing)
        theirs = torch.meshgrid(torch.arange(2), torch.arange(3), torch.arange(4),
                                indexing=indexing)
        for o, t in zip(ours, theirs, strict=True):
            assert_same(o, t)
    with pytest.raises(ValueError, match="meshgrid: indexing"):
        sj.meshgrid(a, indexing="yx")


def test_unfold_0d_and_empty_windows_as_torch() -> None:
    assert sj.tensor(5.0).unfold(0, 1, 1).shape == (1,)
    assert sj.arange(5.0).unfold(0, 0, 1).shape == tuple(torch.arange(5.0).unfold(0, 0, 1).shape)
    with pytest.raises(ValueError, match="unfold: size"):
        sj.arange(5.0).unfold(0, 6, 1)


def test_flip_copies_and_roll_of_0d() -> None:
    x = sj.tensor([1.0, 2.0])
    flipped = sj.flip(x, 0)
    x.array[0] = 9.0
    assert flipped.tolist() == [2.0, 1.0]
    assert sj.roll(sj.tensor(3.0), 1, 0).item() == 3.0


def test_movedim_unflatten_narrow_as_torch() -> None:
    x, t = sj.zeros(2, 3, 4, 5), torch.zeros(2, 3, 4, 5)
    assert sj.movedim(x, (0, 1), (2, 0)).shape == tuple(torch.movedim(t, (0, 1), (2, 0)).shape)
    assert sj.unflatten(x, -1, (5, 1)).shape == (2, 3, 4, 5, 1)
    assert sj.unflatten(x, 1, (-1, 1)).shape == (2, 3, 1, 4, 5)
    with pytest.raises(ValueError, match="unflatten"):
        sj.unflatten(x, 1, (2, -1))
    assert sj.narrow(x, 3, 1, 0).shape == (2, 3, 4, 0)
    with pytest.raises(ValueError, match="narrow"):
        sj.narrow(x, 3, 4, 2)


def test_diag_and_triangle_errors() -> None:
    with pytest.raises(ValueError, match="diag: expects a 1-D or 2-D"):
        sj.diag(sj.zeros(2, 2, 2))
    with pytest.raises(ValueError, match="tril: expects at least 2"):
        sj.tril(sj.zeros(3))
    with pytest.raises(ValueError, match="diagonal: dim1 and dim2 must differ"):
        sj.diagonal(sj.zeros(3, 3), 0, 1, -1)
    assert sj.diagonal(sj.zeros(2, 3), 5).shape == (0,)


def test_triangles_of_integers_keep_their_dtype() -> None:
    data = np.arange(9).reshape(3, 3)
    assert_same(sj.triu(sj.tensor(data)), torch.triu(torch.tensor(data)))


def test_einsum_takes_a_list_and_checks_the_equation() -> None:
    a = sj.ones(2, 3)
    assert sj.einsum("ij->ji", [a]).shape == (3, 2)
    with pytest.raises(ValueError, match="einsum: the equation 'ij,jk' has 2 operands"):
        sj.einsum("ij,jk", a)
    with pytest.raises(ValueError, match="einsum: term 'ijk' names 3 dims"):
        sj.einsum("ijk", a)
    with pytest.raises(ValueError, match="einsum: index 'j' has sizes 3 and 2"):
        sj.einsum("ij,jk", a, sj.ones(2, 2))


def test_gather_and_scatter_of_0d_tensors() -> None:
    x, i = sj.tensor(5.0), sj.tensor(0)
    assert_same(sj.gather(x, 0, i), torch.gather(torch.tensor(5.0), 0, torch.tensor(0)))
    assert_same(sj.scatter_add(x, 0, i, sj.tensor(2.0)),
          torch.scatter_add(torch.tensor(5.0), 0, torch.tensor(0), torch.tensor(2.0)))
