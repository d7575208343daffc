"""The commands choose the BLAS thread count: --threads, else the user's variable, else
half the cores; shenjing info shows what is in force."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shenjing.cli import main, threads

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpoolctl.threadpool_info()
            if pool["user_api"] == "blas"]


@pytest.fixture
def restore_blas() -> Iterator[None]:
    original = _blas_threads()
    yield
    threadpoolctl.threadpool_limits(limits=original[0] if original else None, user_api="blas")


@pytest.fixture
def no_thread_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in threads.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_threads_option_sets_blas_and_info_shows_it(
        restore_blas: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--threads", "2"]) == 0
    assert set(_blas_threads()) == {2}
    assert "BLAS threads            2 (--threads)" in capsys.readouterr().out


def test_the_default_is_half_the_cores(restore_blas: None, no_thread_variables: None,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for cores, expected in [(1, 1), (2, 1), (6, 3), (64, 4)]:
        monkeypatch.setattr(threads, "usable_cores", lambda cores=cores: cores)
        choice = threads.choose_threads(None)
        assert choice.threads == expected and set(_blas_threads()) == {expected}
        assert choice.reason == f"default: half of {cores} cores"


def test_a_thread_variable_the_user_set_is_respected(
        restore_blas: None, no_thread_variables: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    before = _blas_threads()
    choice = threads.choose_threads(None)
    assert choice.threads is None and choice.reason == "left to OPENBLAS_NUM_THREADS=3"
    assert _blas_threads() == before
