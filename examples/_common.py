"""What every example shares: the ``--full`` and ``--threads`` flags, and checks that set
the exit code.

Each example checks its own result and exits non-zero when a check fails, so running the
scripts is a test (``tests/examples`` runs each one in its fast mode).
"""

from __future__ import annotations

import argparse
import sys


def parse_args(doc: str, full_help: str) -> argparse.Namespace:
    """The command line of an example: ``--full`` for the long run, described by
    ``full_help``; the description is the first line of the example's docstring."""
    from shenjing.cli.threads import choose_threads

    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    parser.add_argument("--full", action="store_true", help=full_help)
    parser.add_argument("--threads", type=int, metavar="N",
                        help="BLAS threads (default: half the cores, 1 to 4)")
    args = parser.parse_args()
    choose_threads(args.threads)  # OpenBLAS's one-per-core default is slow on small GEMMs
    return args


class Checks:
    """Collects pass/fail results, printing each; ``finish()`` exits 1 if any failed."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def __call__(self, passed: bool, what: str) -> None:
        print(f"[{'ok' if passed else 'FAILED'}] {what}")
        if not passed:
            self.failed.append(what)

    def finish(self) -> None:
        if self.failed:
            print(f"{len(self.failed)} check(s) failed", file=sys.stderr)
            sys.exit(1)
        print("all checks passed")
        sys.exit(0)
