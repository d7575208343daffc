"""``shenjing export``: write a trained model as an ONNX file, checked in ONNX Runtime."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from shenjing.cli import common

EPILOG = """\
examples:
  shenjing export runs/lenet5-fashion-mnist-small model.onnx
  shenjing export runs/mlp-mnist/checkpoint.safetensors mlp.onnx --opset 18

The ONNX model takes the prepared input (float32, scaled and shaped as in training, e.g.
(N, 1, 28, 28) for LeNet-5) with a dynamic batch axis and returns logits; its input is
called "input" and its output "logits". For a run folder, its best.safetensors (the epoch
of lowest validation loss) is exported when there is one, else checkpoint.safetensors (the
last epoch), as 'evaluate' and 'predict' use; the first line says which. Needs the onnx
extra: pip install shenjing[onnx].
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``export`` and its options."""
    parser = subparsers.add_parser(
        "export", help="write a checkpoint's model as ONNX (checked in ONNX Runtime)",
        description=common.plain(__doc__), epilog=EPILOG, formatter_class=common.HelpFormatter)
    parser.add_argument("checkpoint", metavar="CHECKPOINT",
                        help="a checkpoint file, or a run folder (its best.safetensors, else "
                             "checkpoint.safetensors, as evaluate and predict use)")
    parser.add_argument("output", metavar="OUTPUT", help="the .onnx file to write")
    parser.add_argument("--opset", type=common.positive_int, default=17,
                        help="ONNX opset version (default: 17)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Export, then run the file in ONNX Runtime once and compare; returns the exit code."""
    import shenjing as sj

    file, checkpoint = common.chosen_checkpoint(args.checkpoint)
    config = checkpoint["config"]
    spec = config["data"]
    model = common.model_from_checkpoint(checkpoint, str(file))
    print(common.using_line(file, checkpoint))
    rng = np.random.default_rng(0)
    raw = rng.uniform(0.0, spec["scale"], size=(3, *spec["raw_shape"]))
    x = common.prepare(raw, spec, checkpoint["preprocess"])
    sj.onnx.export(model, x[:1], args.output, input_names=["input"], output_names=["logits"],
                   dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                   opset_version=args.opset)
    difference = _largest_difference(model, x, args.output)
    print(f"wrote {args.output}: {config['model']}, input (batch, "
          f"{', '.join(map(str, x.shape[1:]))}) float32 -> logits (batch, "
          f"{config['num_classes']})")
    if difference is not None:
        print(f"ONNX Runtime agrees with shenjing on 3 samples: largest difference "
              f"{difference:.2e}")
    return 0


def _largest_difference(model: Any, x: np.ndarray, path: str) -> float | None:
    """max |ONNX Runtime − shenjing| on ``x``; None when onnxruntime is not installed."""
    try:
        import onnxruntime
    except ImportError:
        return None
    from shenjing.autograd import no_grad
    from shenjing.tensor import Tensor

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x})[0]
    with no_grad():
        expected = model(Tensor(x)).numpy()
    difference = float(np.abs(got - expected).max())
    if difference > 1e-4:
        raise ValueError(f"ONNX Runtime's outputs differ from shenjing's by {difference:.2e}")
    return difference
