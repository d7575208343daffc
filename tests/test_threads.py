"""``sj.set_num_threads`` / ``sj.get_num_threads`` (PyTorch's names) and ``fit(threads=)``:
the BLAS thread count, changed in the running process through threadpoolctl."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
from shenjing.training import Callback

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpoolctl.threadpool_info()
            if pool["user_api"] == "blas"}


@pytest.fixture(autouse=True)
def restore_blas() -> Iterator[None]:
    if not _blas_threads():
        pytest.skip("threadpoolctl sees no BLAS in this NumPy")
    original = max(_blas_threads())
    yield
    threadpoolctl.threadpool_limits(limits=original, user_api="blas")


def test_set_then_get_the_blas_thread_count() -> None:
    for n in (2, 1):
        sj.set_num_threads(n)
        assert _blas_threads() == {n}
        assert sj.get_num_threads() == n
        assert isinstance(sj.get_num_threads(), int)


@pytest.mark.parametrize(("value", "error"), [(0, ValueError), (-2, ValueError),
                                              (1.5, TypeError), (True, TypeError)])
def test_a_bad_count_is_refused(value: object, error: type[Exception]) -> None:
    before = _blas_threads()
    with pytest.raises(error, match="set_num_threads"):
        sj.set_num_threads(value)  # type: ignore[arg-type]
    assert _blas_threads() == before


class SeesThreads(Callback):
    def __init__(self) -> None:
        self.seen: set[int] = set()

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        self.seen.add(sj.get_num_threads())


def test_fit_trains_with_its_threads_then_restores_the_count() -> None:
    sj.set_num_threads(2)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model.compile(optimizer="sgd", loss="cross_entropy")
    seen = SeesThreads()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, threads=1, callbacks=[seen])
    assert seen.seen == {1}
    assert sj.get_num_threads() == 2 and _blas_threads() == {2}
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[seen])  # None: as set
    assert seen.seen == {1, 2}
    with pytest.raises(ValueError, match="fit: the number of threads must be positive"):
        model.fit(x, y, verbose=0, threads=0)
