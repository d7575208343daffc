"""The ``shenjing`` command: train, evaluate, predict, export, gradcheck, bench, info.

Each subcommand is one module here with ``add_parser(subparsers)`` and ``run(args)``.
Bad arguments get one line on stderr and exit code 2; a failure while running (a missing
data set, a file that is not a checkpoint) gets one ``shenjing <command>: error:`` message
and exit code 1; Ctrl-C exits with 130.
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.error("choose a command: " + ", ".join(
            c.__name__.rsplit(".", 1)[-1] for c in COMMANDS))
    name = args.run.__module__.rsplit(".", 1)[-1]
    if hasattr(args, "threads"):
        choose_threads(args.threads)
    try:
        return args.run(args)
    except UsageError as err:
        sys.stderr.write(f"shenjing {name}: error: {err}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"\nshenjing {name}: interrupted\n")
        return 130
    except (OSError, ValueError, ImportError, RuntimeError) as err:
        sys.stderr.write(f"shenjing {name}: error: {err}\n")
        return 1
