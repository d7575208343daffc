"""``shenjing info``: versions, the array backend, BLAS and threads, and where data sets
are looked for: what to paste into a bug report."""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import platform
import sys
from pathlib import Path
from typing import Any

from shenjing.cli import common
from shenjing.cli import threads as threads_module

EPILOG = """\
examples:
  shenjing info
  SHENJING_DATA=~/data shenjing info      see where that folder would be searched
"""

# (module to look for, distribution names that may provide it, label)
OPTIONAL = (
    ("torch", ("torch",), "torch"),
    ("cupy", ("cupy", "cupy-cuda12x", "cupy-cuda11x"), "cupy"),
    ("safetensors", ("safetensors",), "safetensors"),
    ("tqdm", ("tqdm",), "tqdm"),
    ("matplotlib", ("matplotlib",), "matplotlib"),
    ("PIL", ("pillow", "Pillow"), "pillow"),
    ("sklearn", ("scikit-learn",), "scikit-learn"),
    ("threadpoolctl", ("threadpoolctl",), "threadpoolctl"),
)
MNIST_CACHE = Path("~/.cache/shenjing/mnist")
"""Where ``load_mnist`` downloads to when ``$SHENJING_DATA`` is not set."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``info``."""
    parser = subparsers.add_parser(
        "info", help="versions, array backend, BLAS and threads, data set folders",
        description=common.plain(__doc__), epilog=EPILOG, formatter_class=common.HelpFormatter)
    parser.set_defaults(run=run)
    return parser


def installed_version(module: str, distributions: tuple[str, ...]) -> str | None:
    """The installed version of an optional package, without importing it."""
    if importlib.util.find_spec(module) is None:
        return None
    for name in distributions:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "installed (version unknown)"


def blas_lines() -> list[str]:
    """The BLAS library NumPy uses, with its thread count when threadpoolctl can tell."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
        if pools:
            return [f"{pool.get('internal_api')} {pool.get('version')} "
                    f"({pool.get('architecture', '?')}), {pool.get('num_threads')} threads, "
                    f"{pool.get('filepath')}" for pool in pools]
    import numpy as np

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return [f"{blas.get('name')} {blas.get('version')} (threads: install threadpoolctl "
                "to see)"]
    except (TypeError, KeyError):  # NumPy < 1.26 has no mode="dicts"
        return ["unknown (see numpy.show_config())"]


def data_lines() -> list[str]:
    """Where each data set is looked for, and whether those folders exist."""
    from shenjing.data import mnist

    def place(path: Path) -> str:
        path = path.expanduser()
        return f"{path} ({'exists' if path.is_dir() else 'missing'})"

    env = os.environ.get(mnist.DATA_ENV)
    bundled = Path(mnist.__file__).parent / "bundled"
    lines = [f"${mnist.DATA_ENV}: {env if env else '(not set)'}",
             f"fashion-mnist-small: bundled, {bundled}"]
    fashion = [Path(env) / "fashion-mnist", Path(env)] if env else []
    fashion.append(mnist.FASHION_MNIST_SYSTEM_DIR)
    lines.append("fashion-mnist: " + ", then ".join(place(p) for p in fashion))
    mnist_places = [Path(env) / "mnist", Path(env)] if env else []
    cache = Path(env) / "mnist" if env else MNIST_CACHE
    lines.append("mnist: " + ", then ".join(place(p) for p in mnist_places)
                 + (", then " if mnist_places else "") + f"download cache {place(cache)}")
    lines.append("digits, breast-cancer, iris: from scikit-learn")
    return lines


def run(args: argparse.Namespace) -> int:
    """Print the report; returns 0."""
    import numpy as np

    import shenjing
    from shenjing import backend

    rows = [
        ("shenjing", f"{shenjing.__version__} ({Path(shenjing.__file__).parent})"),
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("platform", platform.platform()),
        ("numpy", np.__version__),
    ]
    for module, distributions, label in OPTIONAL:
        rows.append((label, installed_version(module, distributions) or "not installed"))
    print("versions")
    print(_indent(common.format_table(rows)))

    gpu = "CuPy available" if backend._cupy is not None else "NumPy only (CuPy not installed)"
    print(f"\narray backend\n  numpy; {gpu}; default float {backend.DEFAULT_FLOAT}")
    print("\nBLAS")
    print(_indent("\n".join(blas_lines())))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    choice = threads_module.CHOICE
    in_force = f"{choice.threads} ({choice.reason})" if choice.threads else choice.reason
    threads = [("CPU cores", f"{cores} usable of {os.cpu_count()}"),
               ("BLAS threads", in_force)]
    threads += [(name, os.environ.get(name, "(not set)"))
                for name in threads_module.THREAD_VARIABLES]
    print("\nthreads")
    print(_indent(common.format_table(threads)))
    print("\ndata sets")
    print(_indent("\n".join(data_lines())))
    return 0


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
