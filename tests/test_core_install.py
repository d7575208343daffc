"""A core install (NumPy and safetensors only) trains, saves and loads.

Building a fresh core-only venv is too slow for the suite, so a subprocess hides every
optional package behind a meta-path finder instead, then runs ``shenjing train`` to the
end and loads what it saved.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

OPTIONAL = ["tqdm", "matplotlib", "threadpoolctl", "sklearn", "PIL", "tensorboardX",
            "tensorboard", "torch", "onnx", "onnxruntime", "mpi4py", "scipy", "numba",
            "cupy", "cupyx", "jax", "filelock", "hypothesis", "ml_dtypes"]

SCRIPT = """
import sys

class HideOptional:
    '''Acts as if the optional packages were not installed.'''
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (hidden by the test)")
        return None

sys.meta_path.insert(0, HideOptional())
from shenjing.cli import main
code = main(["train", "--model", "mlp", "--epochs", "1", "--limit", "600", "--out", OUT])
import shenjing as sj
checkpoint = sj.load(OUT + "/checkpoint.safetensors")
loaded = sorted(name.split(".")[0] for name in sys.modules)
print("LOADED", sorted(set(loaded) & set(BLOCKED)), "CODE", code, "KEYS", sorted(checkpoint))
"""


def test_train_save_and_load_need_no_optional_package(tmp_path: Path) -> None:
    out = tmp_path / "run"
    script = f"BLOCKED = {OPTIONAL!r}\nOUT = {str(out)!r}\n" + textwrap.dedent(SCRIPT)
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "OPENBLAS_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("LOADED [] CODE 0"), last
    assert "model" in last and "optimizer" in last
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.3  # one epoch on 600 images: well above 0.1
    # The pictures are skipped with one line saying how to get them.
    skipped = [line for line in result.stderr.splitlines() if "No pictures" in line]
    assert len(skipped) == 1 and "pip install" in skipped[0], result.stderr[-2000:]
    assert not (out / "curves.png").exists()
