"""The kernel tier's switch and compiler (``shenjing.kernels``): on only with Numba and
without SHENJING_KERNELS=0, loaded lazily, compiled kernels cached on disk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shenjing import kernels

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, **env: str) -> str:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=environment, check=True, timeout=120)
    return result.stdout.strip()


def test_import_shenjing_does_not_import_numba() -> None:
    out = _python("import sys, shenjing; print('numba' in sys.modules)")
    assert out == "False"


def test_environment_variable_turns_the_tier_off() -> None:
    code = "from shenjing import kernels; print(kernels.enabled())"
    assert _python(code, SHENJING_KERNELS="0") == "False"
    assert _python(code, SHENJING_KERNELS="1") == str(kernels.available())


def test_use_forces_the_tier_and_restores_it() -> None:
    before = kernels.enabled()
    with kernels.use(False):
        assert not kernels.enabled()
        if kernels.available():
            with kernels.use(True):
                assert kernels.enabled()
            assert not kernels.enabled()
    assert kernels.enabled() == before


def test_use_true_without_numba_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernels, "_available", False)
    with pytest.raises(RuntimeError, match="needs Numba"), kernels.use(True):
        pass


@kernels.kernel
def _scaled_sum(x: np.ndarray, scale: float) -> float:
    total = 0.0
    for i in range(x.size):
        total += _twice(x[i]) * scale
    return total


@kernels.kernel
def _twice(v: float) -> float:
    return 2.0 * v


@kernels.kernel
def _divide(x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    for i in range(x.size):
        out[i] = x[i] / y[i]


def test_a_kernel_compiles_on_first_call_and_calls_other_kernels() -> None:
    pytest.importorskip("numba")
    x = np.arange(5.0)
    before = kernels.calls()
    assert _scaled_sum(x, 0.5) == pytest.approx(np.sum(x))
    assert kernels.calls() == before + 1
    assert kernels.compile_seconds() > 0


def test_nan_and_inf_propagate_as_in_numpy() -> None:
    """The default fast-math flags keep IEEE NaN/inf, and error_model="numpy" divides by
    zero as NumPy does."""
    pytest.importorskip("numba")
    x = np.array([1.0, 0.0, np.nan, -1.0, np.inf], dtype=np.float32)
    y = np.array([0.0, 0.0, 1.0, 0.0, np.inf], dtype=np.float32)
    out = np.empty_like(x)
    _divide(x, y, out)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_array_equal(out, x / y)


def test_generated_source_is_cached_on_disk(tmp_path: Path) -> None:
    """Generated kernels (sj.compile's) are file-backed, so a second process loads the
    machine code from the cache instead of compiling it."""
    pytest.importorskip("numba")
    source = (
        "from shenjing.kernels import kernel\n"
        "@kernel\n"
        "def axpy(a, x, y):\n"
        "    for i in range(x.size):\n"
        "        y[i] += a * x[i]\n"
    )
    code = (
        "import numpy as np\n"
        "from shenjing import kernels\n"
        f"m = kernels.load_source('test_axpy', {source!r})\n"
        "y = np.ones(3)\n"
        "m.axpy(2.0, np.arange(3.0), y)\n"
        "print(y.tolist(), sum(m.axpy.dispatcher.stats.cache_hits.values()))\n"
    )
    env = {"NUMBA_CACHE_DIR": str(tmp_path)}
    first = _python(code, **env)
    second = _python(code, **env)
    assert first.startswith("[1.0, 3.0, 5.0]") and second.startswith("[1.0, 3.0, 5.0]")
    assert first.endswith(" 0") and second.endswith(" 1"), (first, second)


def test_without_numba_everything_runs_on_numpy() -> None:
    """Numba absent: the tier is off, and the ops it would speed up run as before."""
    code = (
        "import sys\n"
        "sys.modules['numba'] = None  # as if it were not installed\n"
        "import numpy as np, shenjing as sj\n"
        "from shenjing import kernels\n"
        "from shenjing.models import rnn_classifier\n"
        "sj.manual_seed(0)\n"
        "model = rnn_classifier('gru', hidden_size=8)\n"
        "opt = sj.optim.Adam(model.parameters())\n"
        "x = sj.tensor(np.random.default_rng(0).random((4, 5, 28), dtype=np.float32))\n"
        "loss = sj.cross_entropy(model(x), sj.tensor(np.array([0, 1, 2, 3])))\n"
        "loss.backward()\n"
        "opt.step()\n"
        "print(kernels.available(), kernels.enabled(), kernels.calls(), np.isfinite(loss.item()))\n"
    )
    assert _python(code) == "False False 0 True"


def test_a_kernel_recompiles_when_a_helper_in_another_file_changes(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    """Numba stamps a cached kernel with its own file only; the tier adds the files of the
    kernels it calls, so an edited helper is never served from a stale cache entry, and
    an unchanged one is loaded from the disk cache."""
    pytest.importorskip("numba")
    import importlib

    monkeypatch.syspath_prepend(str(tmp_path))
    helper, user = "sj_cache_helper", "sj_cache_user"
    (tmp_path / f"{user}.py").write_text(
        "from shenjing.kernels import kernel\n"
        f"from {helper} import bump\n"
        "@kernel\n"
        "def apply(x):\n"
        "    return bump(x)\n")

    def load(step: str) -> tuple[float, int]:
        (tmp_path / f"{helper}.py").write_text(
            f"from shenjing.kernels import kernel\n@kernel\ndef bump(x):\n    return x + {step}\n")
        for name in (helper, user):
            sys.modules.pop(name, None)
        importlib.invalidate_caches()
        module = importlib.import_module(user)
        value = module.apply(1.0)
        return value, sum(module.apply.dispatcher.stats.cache_hits.values())

    try:
        assert load("1.0") == (2.0, 0)  # compiled, and saved
        assert load("1.0") == (2.0, 1)  # a fresh kernel object loads it from disk
        assert load("20.0")[0] == 21.0  # the helper changed: not the stale 2.0
    finally:
        for name in (helper, user):
            sys.modules.pop(name, None)


def test_a_kernels_first_call_does_not_import_scipy(tmp_path: Path) -> None:
    """Numba's start-up asks whether BLAS exists by importing SciPy (about half a second);
    the tier answers for it, so a kernel that needs no BLAS leaves SciPy unloaded."""
    pytest.importorskip("numba")
    script = tmp_path / "first_call.py"
    script.write_text(
        "import sys, numpy as np\n"
        "from shenjing import kernels\n"
        "@kernels.kernel\n"
        "def double(x):\n"
        "    return 2 * x\n"
        "print(double(np.float32(2)), 'scipy.linalg' in sys.modules)\n")
    code = f"import runpy; runpy.run_path({str(script)!r})"
    assert _python(code, NUMBA_CACHE_DIR=str(tmp_path)) == "4.0 False"
