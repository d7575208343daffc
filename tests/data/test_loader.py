"""Dataset, TensorDataset, Subset, random_split and DataLoader: PyTorch's semantics."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
from shenjing.data import DataLoader, Dataset, Subset, TensorDataset, random_split


def _features(n: int) -> np.ndarray:
    """Row i is filled with i, so a row tells which sample it is."""
    return np.repeat(np.arange(n, dtype=np.float64)[:, None], 3, axis=1)


def _dataset(n: int = 10) -> TensorDataset:
    return TensorDataset(_features(n), np.arange(n, dtype=np.int32))


def _epoch_labels(loader: DataLoader) -> np.ndarray:
    return np.concatenate([y.numpy() for _, y in loader])


class PairDataset(Dataset):
    """A generic dataset: sample i is (an array of i's, the Python int i)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        if not 0 <= index < self.n:
            raise IndexError(index)
        return np.full(3, float(index)), index


class ValueDataset(Dataset):
    """A generic dataset whose samples are single numbers."""

    def __len__(self) -> int:
        return 5

    def __getitem__(self, index: int) -> float:
        return index * 0.5


@pytest.mark.parametrize(
    ("n", "batch_size", "drop_last", "sizes"),
    [
        (10, 4, False, [4, 4, 2]),
        (10, 4, True, [4, 4]),
        (10, 5, False, [5, 5]),
        (10, 5, True, [5, 5]),
        (3, 8, False, [3]),
        (3, 8, True, []),
        (7, 1, False, [1] * 7),
    ],
    ids=lambda v: str(v),
)
def test_batch_sizes_and_len(n: int, batch_size: int, drop_last: bool, sizes: list[int]) -> None:
    loader = DataLoader(_dataset(n), batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == len(sizes)
    assert [len(x) for x, _ in loader] == sizes


def test_unshuffled_batches_keep_order_rows_and_dtypes() -> None:
    loader = DataLoader(_dataset(10), batch_size=4)
    batches = list(loader)
    for x, y in batches:
        assert isinstance(x, sj.Tensor) and isinstance(y, sj.Tensor)
        assert x.dtype == np.float32 and y.dtype == np.int64
        np.testing.assert_array_equal(x.numpy(), _features(10)[y.numpy()])
    np.testing.assert_array_equal(_epoch_labels(loader), np.arange(10))


def test_tensor_inputs_keep_their_dtype() -> None:
    x = sj.tensor(_features(4), dtype="float64")
    (batch,) = next(iter(DataLoader(TensorDataset(x), batch_size=4)))
    assert batch.dtype == np.float64


def test_shuffle_covers_each_sample_once_and_is_reproducible() -> None:
    loader = DataLoader(_dataset(50), batch_size=8, shuffle=True)
    sj.manual_seed(123)
    first, second = _epoch_labels(loader), _epoch_labels(loader)
    sj.manual_seed(123)
    again = _epoch_labels(loader)
    sj.manual_seed(124)
    other_seed = _epoch_labels(loader)
    for epoch in (first, second, again, other_seed):
        np.testing.assert_array_equal(np.sort(epoch), np.arange(50))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, np.arange(50)), "shuffle=True must shuffle"
    assert not np.array_equal(first, second), "each epoch draws a new permutation"
    assert not np.array_equal(first, other_seed)


def test_shuffle_with_drop_last_drops_only_the_tail() -> None:
    sj.manual_seed(0)
    labels = _epoch_labels(DataLoader(_dataset(10), batch_size=4, shuffle=True, drop_last=True))
    assert len(labels) == 8 and len(set(labels.tolist())) == 8


def test_array_backed_batches_never_fetch_single_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_single_samples(self: TensorDataset, index: int) -> None:
        raise AssertionError("a batch must be one fancy-index, not a loop over samples")

    monkeypatch.setattr(TensorDataset, "__getitem__", no_single_samples)
    dataset = _dataset(20)
    subset = Subset(dataset, [5, 1, 17])
    for ds in (dataset, subset):
        assert sum(len(y) for _, y in DataLoader(ds, batch_size=3, shuffle=True)) == len(ds)


def test_generic_dataset_is_collated_per_field() -> None:
    batches = list(DataLoader(PairDataset(5), batch_size=2))
    assert [len(b) for b in batches] == [2, 2, 2]
    x, y = batches[-1]
    assert x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(x.numpy(), np.full((1, 3), 4.0))
    np.testing.assert_array_equal(y.numpy(), [4])


def test_single_value_samples_give_one_tensor_as_in_pytorch() -> None:
    batches = list(DataLoader(ValueDataset(), batch_size=5))
    assert len(batches) == 1 and isinstance(batches[0], sj.Tensor)
    np.testing.assert_array_equal(batches[0].numpy(), np.arange(5) * 0.5)


def test_plain_sequence_works_as_a_dataset() -> None:
    samples = [(np.ones(2) * i, i) for i in range(3)]
    x, y = next(iter(DataLoader(samples, batch_size=3)))
    np.testing.assert_array_equal(y.numpy(), [0, 1, 2])
    assert x.shape == (3, 2)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_bad_batch_size_is_rejected(batch_size: object) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(_dataset(), batch_size=batch_size)  # type: ignore[arg-type]


def test_tensor_dataset_item_and_length() -> None:
    ds = _dataset(6)
    x, y = ds[4]
    assert len(ds) == 6
    assert x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(x.numpy(), [4.0, 4.0, 4.0])
    assert y.item() == 4


def test_tensor_dataset_length_mismatch_names_the_lengths() -> None:
    with pytest.raises(ValueError, match=r"lengths=\[5, 4\]"):
        TensorDataset(np.zeros((5, 2)), np.zeros(4))


def test_tensor_dataset_rejects_nothing_and_scalars() -> None:
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(np.float32(3.0))


def test_subset_maps_indices_into_its_parent() -> None:
    subset = Subset(_dataset(10), [7, 2, 9])
    assert len(subset) == 3
    assert subset[1][1].item() == 2
    x, y = next(iter(DataLoader(subset, batch_size=3)))
    np.testing.assert_array_equal(y.numpy(), [7, 2, 9])
    np.testing.assert_array_equal(x.numpy()[:, 0], [7.0, 2.0, 9.0])


@pytest.mark.parametrize(
    ("n", "lengths", "expected"),
    [
        (10, [7, 3], [7, 3]),
        (10, [0.8, 0.2], [8, 2]),
        # floor(2.5), floor(2.5), floor(5) = 2, 2, 5; the one left over goes to the first
        (10, [0.25, 0.25, 0.5], [3, 2, 5]),
        # floor(3.3), floor(3.3), floor(4.4) = 3, 3, 4; the one left over goes to the first
        (11, [0.3, 0.3, 0.4], [4, 3, 4]),
        # floor(7 / 3) = 2 each; the one left over goes to the first
        (7, [1 / 3, 1 / 3, 1 / 3], [3, 2, 2]),
        # floor(1.6), floor(1.6), floor(4.8) = 1, 1, 4; two left over: first and second
        (8, [0.2, 0.2, 0.6], [2, 2, 4]),
    ],
    ids=str,
)
def test_random_split_lengths(n: int, lengths: list[float], expected: list[int]) -> None:
    sj.manual_seed(0)
    parts = random_split(_dataset(n), lengths)
    assert [len(p) for p in parts] == expected
    together = np.concatenate([p.indices for p in parts])
    np.testing.assert_array_equal(np.sort(together), np.arange(n))


@pytest.mark.torch
@pytest.mark.parametrize("fractions", [[0.7, 0.2, 0.1], [0.33, 0.33, 0.34], [0.5, 0.5]], ids=str)
def test_random_split_lengths_match_pytorch(fractions: list[float]) -> None:
    torch = pytest.importorskip("torch")
    n = 37
    theirs = torch.utils.data.random_split(range(n), fractions)
    ours = random_split(_dataset(n), fractions)
    assert [len(p) for p in ours] == [len(p) for p in theirs]


def test_random_split_is_reproducible_under_the_seed() -> None:
    sj.manual_seed(5)
    first = [p.indices for p in random_split(_dataset(20), [10, 10])]
    sj.manual_seed(5)
    again = [p.indices for p in random_split(_dataset(20), [10, 10])]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(np.sort(first[0]), np.arange(10)), "the split must be random"


@pytest.mark.parametrize("lengths", [[5, 4], [0.5, 0.4], [11, -1], [], [0.5, 5]], ids=str)
def test_random_split_rejects_bad_lengths(lengths: list[float]) -> None:
    with pytest.raises(ValueError, match="random_split"):
        random_split(_dataset(10), lengths)
