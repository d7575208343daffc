"""Every script in examples/ runs in its fast mode and passes its own checks."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
NEEDS_MODULE = {"breast_cancer_compat.py": "sklearn", "breast_cancer_keras.py": "sklearn"}
FULL_RUN_DOWNLOADS = {"mnist_mlp.py"}


def _has_pytorch_names() -> bool:
    """Whether shenjing has the PyTorch names pytorch_mnist.py is spelled with (they come
    from other branches; tests/examples/test_pytorch_mnist.py runs it with shims till then)."""
    import inspect

    import shenjing as sj

    t = sj.zeros(1)
    return all((hasattr(sj, "device"), hasattr(sj.nn.Module, "to"), hasattr(t, "to"),
                hasattr(t, "eq"), hasattr(t, "view_as"),
                "dim" in inspect.signature(t.argmax).parameters,
                "dim" in inspect.signature(sj.nn.functional.log_softmax).parameters))


def _run(arguments: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # One BLAS thread per example: the tests run in parallel on few cores, and
    # oversubscribed BLAS threads make small matrix products many times slower.
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(variable, "1")
    return subprocess.run([sys.executable, *arguments], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


def _skip_without_dependencies(script: str) -> None:
    module = NEEDS_MODULE.get(script)
    if module is not None and importlib.util.find_spec(module) is None:
        pytest.skip(f"{script} needs {module}")
    if script == "pytorch_mnist.py" and not _has_pytorch_names():
        pytest.skip("pytorch_mnist.py needs sj.device, Module.to, Tensor.to/eq/view_as, "
                    "argmax(dim=, keepdim=) and log_softmax(dim=)")


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_and_passes_its_checks(script: str) -> None:
    _skip_without_dependencies(script)
    result = _run([str(EXAMPLES / script)], timeout=120)
    assert result.returncode == 0, f"{script} failed:\n{result.stdout}\n{result.stderr}"
    assert "all checks passed" in result.stdout
    assert "[FAILED]" not in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("script", [s for s in SCRIPTS if s not in FULL_RUN_DOWNLOADS])
def test_example_full_run(script: str) -> None:
    """The long runs, minutes in all: only with SHENJING_FULL_EXAMPLES=1."""
    if not os.environ.get("SHENJING_FULL_EXAMPLES"):
        pytest.skip("set SHENJING_FULL_EXAMPLES=1 to run the examples' --full mode")
    _skip_without_dependencies(script)
    result = _run([str(EXAMPLES / script), "--full"], timeout=600)
    assert result.returncode == 0, f"{script} --full failed:\n{result.stdout}\n{result.stderr}"


def test_a_failed_check_fails_the_script() -> None:
    program = (
        f"import sys; sys.path.insert(0, {str(EXAMPLES)!r})\n"
        "from _common import Checks\n"
        "check = Checks()\n"
        "check(True, 'fine')\n"
        "check(False, 'planted failure')\n"
        "check.finish()\n"
    )
    result = _run(["-c", program], timeout=60)
    assert result.returncode == 1
    assert "[FAILED] planted failure" in result.stdout


def test_every_example_is_listed_in_the_readme() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    missing = [script for script in SCRIPTS if f"`{script}`" not in readme]
    assert not missing, f"examples/README.md does not list {missing}"
