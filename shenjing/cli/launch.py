"""``shenjing train --ranks N``: start the same command as N MPI ranks on this machine."""

from __future__ import annotations

import argparse
import subprocess
import sys

from shenjing.cli.common import UsageError

# The train options that are passed on to the ranks as given (None: not given).
_VALUED = ("model", "dataset", "epochs", "batch_size", "optimizer", "lr", "seed",
           "validation_split", "limit", "out", "precision")
_FLAGS = ("resume", "quiet")


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


def train_argv(args: argparse.Namespace) -> list[str]:
    """The ``shenjing train`` arguments that reproduce ``args`` (without ``--ranks``)."""
    argv = ["train"]
    for key in _VALUED:
        value = getattr(args, key)
        if value is not None:
            argv += ["--" + key.replace("_", "-"), str(value)]
    argv += ["--" + flag for flag in _FLAGS if getattr(args, flag)]
    return argv


def launch(args: argparse.Namespace) -> int:
    """Run ``args``'s training on ``args.ranks`` ranks; the job's exit code."""
    from shenjing.distributed.launch import mpiexec_command, mpiexec_env

    try:
        command = mpiexec_command(
            args.ranks, [sys.executable, "-m", "shenjing.cli", *train_argv(args)]
        )
    except RuntimeError as err:
        raise UsageError(f"--ranks {args.ranks}: {err}") from None
    return subprocess.run(command, env=mpiexec_env()).returncode
