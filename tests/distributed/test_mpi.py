"""Data-parallel training on 2 and 3 ranks, each test one ``mpiexec`` job of a script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.distributed._mpi import needs_mpi, run_mpi

pytestmark = needs_mpi


def _ok(result) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("model", ["mlp", "lenet5", "lstm"])
def test_two_ranks_take_the_same_adam_steps_as_one_process_with_twice_the_batch(
    model: str, dtype: str
) -> None:
    out = _ok(run_mpi(2, "equivalence.py", model, dtype))
    assert f"{model} {dtype} world=2" in out


def test_three_ranks_match_one_process_too() -> None:
    assert "world=3" in _ok(run_mpi(3, "equivalence.py", "lenet5", "float64"))


@pytest.mark.parametrize("ranks", [2, 3])
@pytest.mark.parametrize("check", ["collectives", "sampler", "no_sync", "unused"])
def test_checks_on_several_ranks(check: str, ranks: int) -> None:
    assert f"{check} ok on {ranks} ranks" in _ok(run_mpi(ranks, "checks.py", check))


def test_a_failing_rank_ends_the_job_with_its_error() -> None:
    # The other rank waits in a barrier: without the abort this would hang to the timeout.
    # A generous limit: importing two interpreters on a loaded 2-core machine takes seconds.
    result = run_mpi(2, "checks.py", "fails", timeout=45)
    assert result.returncode != 0
    assert "[rank 1/2]" in result.stderr
    assert "ValueError: rank one broke on purpose" in result.stderr


def test_fit_under_mpiexec_agrees_across_ranks_and_only_rank_0_writes(tmp_path: Path) -> None:
    result = run_mpi(3, "fit.py", str(tmp_path))
    # Ranks' lines can interleave in mpiexec's output: find each whole result instead.
    lines = sorted(re.findall(r"RESULT rank=\d .*?weights=\d+\.\d{6}", _ok(result)))
    assert len(lines) == 3
    # Same averaged logs, evaluation, predictions and weights on every rank.
    assert len({line.split(" ", 2)[2] for line in lines}) == 1, lines
    assert "predictions=203:" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-0.safetensors", "log-0.csv"]
    assert result.stderr.count("Epoch 1/3:   0%") + result.stdout.count("Epoch 1/3 -") == 1
