"""``shenjing train --ranks N``: start the same command as N MPI ranks on this machine."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence

from shenjing.cli.common import UsageError


def add_ranks_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--ranks N`` to a subcommand's parser."""
    parser.add_argument("--ranks", type=int, metavar="N",
                        help="train data-parallel on N processes of this machine, launched "
                             "with mpiexec (or run the command under mpiexec yourself)")


def should_launch(args: argparse.Namespace) -> bool:
    """Whether this process should start the ranks (``--ranks N``, not yet under MPI)."""
    from shenjing.distributed.comm import launched_by_mpi

    ranks = getattr(args, "ranks", None)
    if ranks is not None and ranks < 1:
        raise UsageError(f"--ranks must be a positive integer, got {ranks}")
    return ranks is not None and ranks > 1 and not launched_by_mpi()


def without_ranks(argv: Sequence[str]) -> list[str]:
    """``argv`` as given, less ``--ranks N`` (also ``--ranks=N`` and argparse's
    abbreviations such as ``--rank N``): every other option reaches the ranks unchanged."""
    kept: list[str] = []
    skip_value = False
    for token in argv:
        if skip_value:
            skip_value = False
            continue
        name, equals, _ = token.partition("=")
        if len(name) >= 4 and "--ranks".startswith(name):  # "--r" alone would be ambiguous
            skip_value = not equals
            continue
        kept.append(token)
    return kept


def launch(args: argparse.Namespace) -> int:
    """Run ``args``'s command on ``args.ranks`` ranks; the job's exit code. ``args.argv``
    (the command line as given, which ``main`` keeps) is passed on without ``--ranks``."""
    from shenjing.distributed.launch import mpiexec_command, mpiexec_env

    argv = getattr(args, "argv", None)
    if argv is None:
        raise UsageError("--ranks needs the command line as given: run it through "
                         "shenjing.cli.main")
    try:
        command = mpiexec_command(
            args.ranks, [sys.executable, "-m", "shenjing.cli", *without_ranks(argv)]
        )
    except RuntimeError as err:
        raise UsageError(f"--ranks {args.ranks}: {err}") from None
    return subprocess.run(command, env=mpiexec_env()).returncode
