"""The floors of shenjing import only the floors below them, and the modules of a floor
never import each other in a circle (pyproject.toml, ``[tool.importlinter]``); a lower
floor reaches a convenience built above it through what the floor above registers, never
through an import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn as nn
import shenjing.nn.keras as keras
import shenjing.optim.optimizer as optimizer_module

ROOT = Path(sj.__file__).resolve().parents[1]


def _lint_imports() -> str:
    """The ``lint-imports`` of the Python running the tests (its venv's bin/)."""
    pytest.importorskip("importlinter")
    beside = Path(sys.executable).with_name("lint-imports")
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    if found is None:
        pytest.fail("import-linter is installed but its lint-imports command is not on PATH")
    return found


def test_every_import_points_down_a_floor() -> None:
    # The package under test, not an installed copy, is the one checked.
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    result = subprocess.run(
        [_lint_imports(), str(ROOT / "pyproject.toml"), "--no-cache", "--no-logo"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": path},
        capture_output=True, text=True, timeout=120,
    )
    report = result.stdout + result.stderr
    # What import-linter prints under "Broken contracts" names each importer -> imported.
    broken = report[report.find("Broken contracts"):] if "Broken contracts" in report else report
    hint = (
        "give each new top-level module or package its floor in pyproject.toml's "
        "[tool.importlinter] layers: the lowest floor above everything it imports"
        if "not listed as layers" in report else
        "an import points up a floor, or closes a circle inside one (the contracts are in "
        "pyproject.toml, [tool.importlinter]); if a lower floor needs something built "
        "above it, let the floor above register it, as shenjing.training does with "
        "Module.compile's trainer"
    )
    assert result.returncode == 0, f"{hint}:\n{broken}"
    assert "0 broken" in report


def test_compile_without_a_registered_trainer_says_what_is_missing(monkeypatch) -> None:
    monkeypatch.setattr(keras, "_trainer_factory", None)
    with pytest.raises(RuntimeError, match=r"Linear\.compile\(\) needs shenjing\.training"):
        nn.Linear(2, 1).compile()


def test_training_registers_the_trainer_every_module_compiles_to() -> None:
    model = nn.Sequential(nn.Linear(3, 2))
    model.compile(optimizer="sgd", loss="cross_entropy", metrics=["accuracy"])
    assert type(model._trainer) is sj.training.Trainer
    x = np.zeros((4, 3), dtype=np.float32)
    assert model.predict(x).shape == (4,)


def test_minimize_without_graph_mode_says_what_is_missing(monkeypatch) -> None:
    monkeypatch.setattr(optimizer_module, "_graph_minimize", None)
    w = sj.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"minimize\(\) is graph mode"):
        sj.optim.SGD([w], lr=0.1).minimize(w.sum())
