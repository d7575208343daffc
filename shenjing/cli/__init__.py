"""The ``shenjing`` command: train, evaluate, predict, export, gradcheck, bench, info.

Each subcommand is one module here with ``add_parser(subparsers)`` and ``run(args)``.
Bad arguments get one line on stderr and exit code 2; a failure while running (a missing
data set, a file that is not a checkpoint) gets one ``shenjing <command>: error:`` message
and exit code 1; Ctrl-C exits with 130. Under ``mpiexec`` with several ranks, each message
starts with the rank (``[rank 1/2]``), and a failing rank ends the whole job (every rank,
at once) instead of leaving the others waiting for it in a collective.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from shenjing.cli import bench, evaluate, export, gradcheck, info, predict, train
from shenjing.cli.common import HelpFormatter, OneLineParser, UsageError, positive_int
from shenjing.cli.threads import choose_threads

COMMANDS = (train, evaluate, predict, export, gradcheck, bench, info)

EPILOG = """\
examples:
  shenjing train                      LeNet-5 on the bundled Fashion-MNIST subset (~1 min)
  shenjing evaluate runs/lenet5-fashion-mnist-small
  shenjing predict runs/lenet5-fashion-mnist-small shoe.png
  shenjing export runs/lenet5-fashion-mnist-small model.onnx
  shenjing gradcheck --model lstm
  shenjing bench
  shenjing info

'shenjing COMMAND --help' shows each command's options and examples.
"""


def build_parser() -> OneLineParser:
    """The argument parser of the whole command."""
    from shenjing import __version__

    parser = OneLineParser(
        prog="shenjing", formatter_class=HelpFormatter, epilog=EPILOG,
        description="shenjing (神经): a deep-learning library on NumPy, from the command line.")
    parser.add_argument("--version", action="version", version=f"shenjing {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND",
                                       parser_class=OneLineParser)
    for command in COMMANDS:
        sub = command.add_parser(subparsers)
        if command is not bench:  # the benchmarks pin one thread in their own process
            sub.add_argument("--threads", type=positive_int, metavar="N",
                             help="BLAS threads (default: half the cores, 1 to 4, unless "
                                  "OPENBLAS_NUM_THREADS or the like is set)")
    return parser


def _ranks() -> tuple[str, int]:
    """Under mpiexec with several ranks: ("[rank r/n] ", n) after joining the MPI world (so
    that a failure anywhere, even in argument parsing, ends the job); ("", 1) otherwise."""
    from shenjing.distributed.comm import launched_by_mpi

    if not launched_by_mpi():
        return "", 1
    from shenjing.distributed import comm

    world = comm.world_size()
    return (f"[rank {comm.rank()}/{world}] " if world > 1 else ""), world


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit code.

    Under mpiexec with several ranks, a failure (any exit code but 0 and 130) ends every
    rank of the job with that code, after this rank's message.
    """
    prefix, world = _ranks()
    code = _run(argv, prefix)
    if world > 1 and code not in (0, 130):
        from shenjing.distributed import failure

        failure.abort(code, f"shenjing: exit code {code}; ending every rank of the job")
    return code


def _run(argv: Sequence[str] | None, prefix: str) -> int:
    """``main`` without the MPI handling; ``prefix`` starts each error message."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv  # as given: ``--ranks`` passes it on to the ranks unchanged
    if not hasattr(args, "run"):
        parser.error("choose a command: " + ", ".join(
            c.__name__.rsplit(".", 1)[-1] for c in COMMANDS))
    name = args.run.__module__.rsplit(".", 1)[-1]
    if hasattr(args, "threads"):
        choose_threads(args.threads)
    try:
        return args.run(args)
    except UsageError as err:
        sys.stderr.write(f"{prefix}shenjing {name}: error: {err}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"\n{prefix}shenjing {name}: interrupted\n")
        return 130
    except (OSError, ValueError, ImportError, RuntimeError) as err:
        sys.stderr.write(f"{prefix}shenjing {name}: error: {err}\n")
        return 1
