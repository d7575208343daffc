"""DataLoader with PyTorch's arguments: collate_fn, samplers, workers, dict samples,
iterable and concatenated datasets; structure checked against torch.utils.data."""

from __future__ import annotations

import collections
import os

import numpy as np
import pytest

import shenjing as sj
from shenjing.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    get_worker_info,
    random_split,
)


class DictDataset(Dataset):
    """Samples as dicts holding an array, a label, a string and a nested tuple."""

    def __len__(self) -> int:
        return 7

    def __getitem__(self, i: int) -> dict:
        return {"x": np.full(3, float(i)), "y": i, "name": f"s{i}", "pair": (i, [i, -i])}


class Stream(IterableDataset):
    """0..n-1, split between workers by ``get_worker_info`` as PyTorch's docs advise."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


def _structure(batch) -> object:
    """The batch with each leaf tensor replaced by (shape, values), for either library."""
    if hasattr(batch, "shape") and not isinstance(batch, np.ndarray):
        return ("tensor", tuple(batch.shape), np.asarray(batch.tolist(), dtype=float).tolist())
    if isinstance(batch, dict):
        return {k: _structure(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return (type(batch).__name__, [_structure(v) for v in batch])
    return batch


def test_dict_and_nested_samples_collate_as_in_pytorch() -> None:
    torch_data = pytest.importorskip("torch.utils.data")
    ours = [_structure(b) for b in DataLoader(DictDataset(), batch_size=3)]
    theirs = [_structure(b) for b in torch_data.DataLoader(DictDataset(), batch_size=3)]
    assert ours == theirs


def test_named_tuples_stay_named_tuples() -> None:
    Point = collections.namedtuple("Point", "x y")
    batch = next(iter(DataLoader([Point(1.0, 2), Point(3.0, 4)], batch_size=2)))
    assert isinstance(batch, Point) and batch.x.tolist() == [1.0, 3.0]
    assert batch.y.dtype == np.int64


def test_collate_fn_receives_the_list_of_samples() -> None:
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return sum(s[1] for s in samples)

    loader = DataLoader(TensorDataset(np.zeros((5, 2)), np.arange(5)), batch_size=2,
                        collate_fn=collate)
    assert [int(b) for b in loader] == [1, 5, 4] and seen == [2, 2, 1]


def test_batch_size_none_yields_unbatched_samples() -> None:
    samples = list(DataLoader([np.ones(2), np.zeros(2)], batch_size=None))
    assert [s.shape for s in samples] == [(2,), (2,)]


def test_batch_sampler_picks_the_batches() -> None:
    loader = DataLoader(TensorDataset(np.arange(6)), batch_sampler=[[5, 0], [3]])
    assert [b[0].tolist() for b in loader] == [[5, 0], [3]] and len(loader) == 2
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(TensorDataset(np.arange(6)), batch_size=2, batch_sampler=[[0]])


def test_generator_makes_shuffling_reproducible_without_the_global_seed() -> None:
    ds = TensorDataset(np.arange(20))

    def epoch(seed: int) -> list[int]:
        loader = DataLoader(ds, batch_size=20, shuffle=True,
                            generator=sj.Generator().manual_seed(seed))
        return next(iter(loader))[0].tolist()

    first = epoch(3)
    sj.manual_seed(99)  # the global stream does not matter
    assert epoch(3) == first and sorted(first) == list(range(20)) and epoch(4) != first


def test_samplers() -> None:
    assert list(SequentialSampler(range(3))) == [0, 1, 2]
    g = sj.Generator().manual_seed(1)
    drawn = list(RandomSampler(range(5), replacement=True, num_samples=50, generator=g))
    assert len(drawn) == 50 and set(drawn) <= set(range(5))
    more = list(RandomSampler(range(4), num_samples=6))  # a whole permutation, then 2 more
    assert len(more) == 6 and sorted(more[:4]) == [0, 1, 2, 3]
    assert sorted(SubsetRandomSampler([4, 8, 9])) == [4, 8, 9]
    sj.manual_seed(0)
    counts = np.bincount(list(WeightedRandomSampler([1.0, 3.0], 4000)), minlength=2)
    assert abs(counts[1] / 4000 - 0.75) < 0.03
    assert list(BatchSampler(range(5), 2, drop_last=True)) == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match="without replacement"):
        WeightedRandomSampler([1.0, 0.0], 2, replacement=False)


def test_concat_and_chain_datasets() -> None:
    both = ConcatDataset([TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 12))])
    assert len(both) == 5 and [both[i][0].item() for i in range(-5, 5)] == [0, 1, 2, 10, 11] * 2
    assert [b[0].tolist() for b in DataLoader(both, batch_size=4)] == [[0, 1, 2, 10], [11]]
    added = TensorDataset(np.arange(2)) + TensorDataset(np.arange(1))
    assert isinstance(added, ConcatDataset) and len(added) == 3
    with pytest.raises(IndexError, match="out of range"):
        both[5]
    assert list(ChainDataset([Stream(2), Stream(3)])) == [0, 1, 0, 1, 2]


def test_iterable_dataset_batches_in_order() -> None:
    batches = [b.tolist() for b in DataLoader(Stream(7), batch_size=3)]
    assert batches == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3, drop_last=True)] == [
        [0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(3), shuffle=True)


def test_random_split_takes_a_generator() -> None:
    ds = TensorDataset(np.arange(10))
    a = random_split(ds, [0.5, 0.5], generator=sj.Generator().manual_seed(7))
    b = random_split(ds, [0.5, 0.5], generator=sj.Generator().manual_seed(7))
    assert a[0].indices.tolist() == b[0].indices.tolist()


def _worker_seed(worker_id: int) -> None:
    os.environ["SJ_TEST_WORKER"] = str(worker_id)


class WorkerRecorder(Dataset):
    """Each sample says which process and worker fetched it."""

    def __len__(self) -> int:
        return 12

    def __getitem__(self, i: int) -> tuple:
        info = get_worker_info()
        return i, os.getpid(), info.id, int(os.environ["SJ_TEST_WORKER"])


def test_workers_fetch_in_other_processes_and_keep_the_order() -> None:
    loader = DataLoader(WorkerRecorder(), batch_size=2, num_workers=2,
                        worker_init_fn=_worker_seed)
    batches = list(loader)
    indices = [i for b in batches for i in b[0].tolist()]
    assert indices == list(range(12))
    pids = {p for b in batches for p in b[1].tolist()}
    assert os.getpid() not in pids and len(pids) == 2
    for b in batches:  # worker_init_fn ran in the worker that fetched the batch
        assert b[2].tolist() == b[3].tolist()


def test_workers_give_the_same_batches_as_the_main_process() -> None:
    ds = TensorDataset(np.arange(40, dtype=np.float32).reshape(20, 2), np.arange(20))
    sj.manual_seed(5)
    here = [b[1].tolist() for b in DataLoader(ds, batch_size=3, shuffle=True)]
    sj.manual_seed(5)
    there = [b[1].tolist() for b in DataLoader(ds, batch_size=3, shuffle=True, num_workers=2,
                                               persistent_workers=True)]
    assert sorted(sum(there, [])) == list(range(20))
    # The workers draw a base seed from the generator first, as in PyTorch, so the
    # permutation differs from the single-process one, but each epoch is complete.
    assert len(here) == len(there) == 7


def test_iterable_dataset_with_workers_sharded_by_worker_info() -> None:
    loader = DataLoader(Stream(10), batch_size=2, num_workers=2)
    seen = sorted(i for b in loader for i in b.tolist())
    assert seen == list(range(10))


class Broken(Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int) -> float:
        if i == 2:
            raise KeyError("sample 2 is missing")
        return float(i)


def test_a_worker_error_names_the_worker_and_the_cause() -> None:
    with pytest.raises(RuntimeError, match=r"worker \d(.|\n)*sample 2 is missing"):
        list(DataLoader(Broken(), batch_size=1, num_workers=2))


def test_pytorch_only_options_are_checked() -> None:
    with pytest.raises(ValueError, match="prefetch_factor"):
        DataLoader(range(3), prefetch_factor=2)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(range(3), num_workers=-1)
    loader = DataLoader(TensorDataset(np.arange(3)), pin_memory=True)
    assert [b[0].tolist() for b in loader] == [[0], [1], [2]]
