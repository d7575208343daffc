"""``shenjing evaluate``: a trained model's accuracy, per-class report and confusion matrix."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from shenjing.cli import common
from shenjing.cli.common import UsageError

EPILOG = """\
examples:
  shenjing evaluate runs/lenet5-fashion-mnist-small
  shenjing evaluate runs/mlp-mnist/checkpoint.safetensors --split train
  shenjing evaluate runs/lenet5-fashion-mnist-small --dataset fashion-mnist   the full test set

CHECKPOINT is a file written by 'shenjing train' or its run folder; for a folder, its
best.safetensors (the epoch of lowest validation loss) is used when there is one, else
checkpoint.safetensors (the last epoch), and the first line says which. The data is
prepared as in training (the same scaling, standardisation and image size).
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``evaluate`` and its options."""
    parser = subparsers.add_parser(
        "evaluate", help="accuracy, per-class report and confusion matrix of a checkpoint",
        description=common.plain(__doc__), epilog=EPILOG, formatter_class=common.HelpFormatter)
    parser.add_argument("checkpoint", metavar="CHECKPOINT",
                        help="a checkpoint file, or a run folder (its best.safetensors, else "
                             "checkpoint.safetensors)")
    parser.add_argument("--dataset", type=common.dataset_argument,
                        help="evaluate on this data set (default: the one trained on)")
    parser.add_argument("--split", choices=("test", "train"), default="test",
                        help="which split to evaluate (default: test)")
    parser.add_argument("--limit", type=common.positive_int, metavar="N",
                        help="only the first N samples")
    parser.add_argument("--batch-size", type=common.positive_int, default=256,
                        help="samples per forward pass (default: 256)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Print the report; returns the exit code."""
    from shenjing.diagnostics import (
        classification_report,
        confusion_matrix,
        format_confusion_matrix,
    )

    file, checkpoint = common.chosen_checkpoint(args.checkpoint)
    config = checkpoint["config"]
    dataset = args.dataset or config["dataset"]
    (x_train, y_train), (x_test, y_test) = common.load_raw(dataset)
    x, y = (x_test, y_test) if args.split == "test" else (x_train, y_train)
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    spec = config["data"]
    if list(x.shape[1:]) != list(spec["raw_shape"]):
        raise UsageError(
            f"{common.dataset_tag(dataset)} has samples of shape {tuple(x.shape[1:])}, but the "
            f"model was trained on {tuple(spec['raw_shape'])}"
        )
    if y.size and int(y.max()) >= config["num_classes"]:
        raise UsageError(f"{common.dataset_tag(dataset)} has label {int(y.max())}, but the "
                         f"model knows {config['num_classes']} classes")
    model = common.model_from_checkpoint(checkpoint, str(file))
    probs = common.probabilities(model, common.prepare(x, spec, checkpoint["preprocess"]),
                                 args.batch_size)
    predicted = probs.argmax(axis=1)
    loss = float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, None)).mean())
    matrix = confusion_matrix(y, predicted, config["num_classes"])
    names = config["class_names"]

    print(common.using_line(file, checkpoint))
    print(f"{config['model']} trained {checkpoint['epoch']} epoch(s) on "
          f"{common.dataset_tag(config['dataset'])}; evaluated on the {args.split} split of "
          f"{common.dataset_tag(dataset)}: {len(y)} samples")
    print(f"accuracy: {float((predicted == y).mean()):.4f}   loss: {loss:.4f}\n")
    print(classification_report(matrix, names))
    print("\nconfusion matrix (rows: true class, columns: predicted class)")
    print(format_confusion_matrix(matrix, names))
    return 0
