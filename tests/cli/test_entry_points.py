"""The ways in: ``python -m shenjing`` and ``./dev.sh`` without arguments."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import shenjing

ROOT = Path(__file__).resolve().parents[2]


def test_python_m_shenjing_runs_the_command() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(shenjing.__file__).parents[1])}
    result = subprocess.run([sys.executable, "-m", "shenjing", "--version"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == f"shenjing {shenjing.__version__}\n"


@pytest.mark.skipif(shutil.which("bash") is None, reason="dev.sh is a bash script")
def test_dev_sh_without_a_command_prints_usage_and_installs_nothing() -> None:
    result = subprocess.run(["bash", str(ROOT / "dev.sh")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert [line.split()[1] for line in lines[1:5]] == ["train", "test", "lint", "bench"]
    assert not any(line.startswith("#") for line in lines)
    unknown = subprocess.run(["bash", str(ROOT / "dev.sh"), "frobnicate"], capture_output=True,
                             text=True, timeout=60)
    assert unknown.returncode == 2 and "unknown command 'frobnicate'" in unknown.stderr
