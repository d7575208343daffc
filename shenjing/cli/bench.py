"""``shenjing bench``: run the benchmarks and print their tables: shenjing's speed, the
same work in plain NumPy, and PyTorch's and JAX's (``pip install shenjing[bench]``) when
they are installed, with the ratios.

The benchmarks live in the source repository (``benchmarks/`` next to the ``shenjing/``
package), not in the installed package; they run in a fresh Python process with one BLAS
thread, so that every library is timed on equal terms.
"""

from __future__ import annotations

import argparse
import os
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from shenjing.cli import common

EPILOG = """\
examples:
  shenjing bench              every benchmark
  shenjing bench engine       only benchmarks/bench_engine.py
  shenjing bench --list

run it from a checkout of the shenjing repository (or an editable install of one).
"""

ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``bench`` and its options."""
    parser = subparsers.add_parser(
        "bench", help="run the benchmarks (speed against NumPy, PyTorch and JAX)",
        description=common.plain(__doc__), epilog=EPILOG, formatter_class=common.HelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="benchmarks to run, e.g. engine (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.set_defaults(run=run)
    return parser


def find_repository() -> Path | None:
    """The folder holding ``benchmarks/``: the current one, or the one above the package."""
    import shenjing

    for folder in (Path.cwd(), Path(shenjing.__file__).resolve().parent.parent):
        if (folder / "benchmarks" / "__main__.py").is_file():
            return folder
    return None


def run(args: argparse.Namespace) -> int:
    """Run ``python -m benchmarks NAME...`` in the repository; returns its exit code."""
    root = find_repository()
    if root is None:
        print("shenjing bench: the benchmarks are not here. They live in the shenjing source "
              "repository (benchmarks/ next to shenjing/), which this installation does not "
              "include: run 'shenjing bench' inside a checkout of it.", file=sys.stderr)
        return 1
    available = sorted(m.name.removeprefix("bench_") for m in
                       pkgutil.iter_modules([str(root / "benchmarks")])
                       if m.name.startswith("bench_"))
    if args.list:
        print("\n".join(available))
        return 0
    unknown = [name for name in args.names if name.removeprefix("bench_") not in available]
    if unknown:
        raise common.UsageError(f"unknown benchmark {unknown[0]!r}; known: "
                                f"{', '.join(available)}")
    env = {**os.environ, **ONE_THREAD}
    command = [sys.executable, "-m", "benchmarks", *args.names]
    return subprocess.run(command, cwd=root, env=env, check=False).returncode
