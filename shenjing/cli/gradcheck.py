"""``shenjing gradcheck``: check every parameter's gradient of a zoo model against central
differences in float64 (``sj.gradcheck_model``), on a tiny random batch."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from shenjing.cli import common

EPILOG = """\
examples:
  shenjing gradcheck                      LeNet-5
  shenjing gradcheck --model lstm
  shenjing gradcheck --model mlp --max-elements 0   every element of every parameter

exit code 0 when every parameter passes, 1 when one fails.
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``gradcheck`` and its options."""
    parser = subparsers.add_parser(
        "gradcheck", help="check a model's gradients against central differences",
        description=common.plain(__doc__), epilog=EPILOG, formatter_class=common.HelpFormatter)
    parser.add_argument("--model", choices=common.MODELS, default="lenet5",
                        help="the network, as 'shenjing train' builds it for 28x28 images "
                             "(default: lenet5)")
    parser.add_argument("--batch-size", type=common.positive_int, default=4,
                        help="samples in the batch (default: 4)")
    parser.add_argument("--max-elements", type=int, default=50, metavar="N",
                        help="check at most N random elements per parameter; 0 for all "
                             "(default: 50)")
    parser.add_argument("--eps", type=common.positive_float, default=1e-6,
                        help="finite-difference step (default: 1e-6)")
    parser.add_argument("--rtol", type=common.positive_float, default=1e-4,
                        help="relative tolerance (default: 1e-4)")
    parser.add_argument("--atol", type=common.positive_float, default=1e-7,
                        help="absolute tolerance for tiny gradients (default: 1e-7)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Print the table; returns 0 if every parameter passes, else 1."""
    import shenjing as sj
    from shenjing.diagnostics import gradcheck_model

    if args.max_elements < 0:
        raise common.UsageError(f"--max-elements must be >= 0. Received: {args.max_elements}")
    side, classes = 28, 10
    spec = {"raw_shape": [1, side, side], "kind": "image", "input_size": [side, side]}
    sj.manual_seed(args.seed)
    model = common.build_model(args.model, common.model_arguments(args.model, spec, classes))
    rng = np.random.default_rng(args.seed)
    x = rng.uniform(0.0, 1.0, size=(args.batch_size, 1, side, side))
    y = rng.integers(0, classes, size=args.batch_size)
    report = gradcheck_model(model, x, y, "cross_entropy", eps=args.eps, atol=args.atol,
                             rtol=args.rtol, max_elements_per_param=args.max_elements or None,
                             seed=args.seed)
    report.title = (f"gradcheck {args.model}: cross-entropy on a random batch of "
                    f"{args.batch_size} images {side}x{side}, float64")
    print(report)
    return 0 if report.passed else 1
