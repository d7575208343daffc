"""``shenjing predict``: classify image files or NumPy arrays with a trained model.

Images (PNG, JPEG, anything Pillow reads) are made to look like the training data: an
alpha channel is laid over white, colour becomes grey (ITU-R 601 luma: 0.299 R + 0.587 G
+ 0.114 B), values are scaled to [0, 1], and the picture is resampled to the model's input
size (area averaging when shrinking, linear interpolation when enlarging). Fashion-MNIST
and MNIST show light things on black, so when the border of a picture is light on
average (> 0.5), as in a photo or drawing on white paper, it is inverted.

A .npy file holds one raw sample or a batch of them, in the form the data set's loader
gives (for example (28, 28) or (N, 1, 28, 28) values in [0, 1] for Fashion-MNIST, or
(30,) unscaled features for breast-cancer); it gets the training's preprocessing.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from shenjing.cli import common
from shenjing.cli.common import UsageError

EPILOG = """\
examples:
  shenjing predict runs/lenet5-fashion-mnist-small shoe.png shirt.jpg
  shenjing predict runs/mlp-breast-cancer samples.npy --top 2
"""

LUMA = np.array([0.299, 0.587, 0.114])
MAX_PIXELS = 40_000_000
"""Larger images are refused before decoding: a small PNG can inflate to gigabytes."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``predict`` and its options."""
    parser = subparsers.add_parser(
        "predict", help="classify images (PNG/JPEG) or .npy arrays with a checkpoint",
        description=common.plain(__doc__), epilog=EPILOG, formatter_class=common.HelpFormatter)
    parser.add_argument("checkpoint", metavar="CHECKPOINT",
                        help="a checkpoint file, or a run folder (its best.safetensors, else "
                             "checkpoint.safetensors)")
    parser.add_argument("files", metavar="FILE", nargs="+", help="images or .npy arrays")
    parser.add_argument("--top", type=common.positive_int, default=1,
                        help="show the K most likely classes (default: 1)")
    parser.set_defaults(run=run)
    return parser


def read_image(path: Path) -> np.ndarray:
    """An image file as a grey (H, W) float array in [0, 1], alpha laid over white."""
    try:
        from PIL import Image
    except ImportError as err:
        raise ImportError("reading images needs Pillow, which is not installed: pip install "
                          "pillow (it comes with matplotlib)") from err
    try:
        image_file = Image.open(path)
    except (OSError, Image.DecompressionBombError) as err:  # not an image, or a bomb
        raise UsageError(f"{path}: cannot read it as an image ({err})") from None
    with image_file as image:
        width, height = image.size  # from the header: nothing is decoded yet
        if width * height > MAX_PIXELS:
            raise UsageError(f"{path}: the image is {width}x{height} pixels, more than "
                             f"{MAX_PIXELS:,}; shrink it first")
        if image.mode not in ("L", "LA", "RGB", "RGBA", "I;16", "I", "F", "1"):
            image = image.convert("RGBA")  # palette and other modes
        pixels = np.asarray(image)
    if pixels.dtype == np.bool_:
        values = pixels.astype(np.float64)
    elif pixels.dtype.kind in "ui":
        values = pixels / (255.0 if pixels.dtype.itemsize == 1 else 65535.0)  # 8 or 16 bit
    else:
        values = pixels.astype(np.float64)
    values = np.clip(values, 0.0, 1.0)
    return to_grey(values)


def to_grey(values: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 2) grey+alpha, (H, W, 3) RGB or (H, W, 4) RGBA in [0, 1] → (H, W)."""
    if values.ndim == 2:
        return values
    channels = values.shape[-1]
    alpha = values[..., -1] if channels in (2, 4) else None
    colour = values[..., :-1] if alpha is not None else values
    grey = colour @ LUMA if colour.shape[-1] == 3 else colour[..., 0]
    if alpha is not None:
        grey = grey * alpha + (1.0 - alpha)  # transparent parts show white paper
    return grey


def like_training_images(grey: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Invert light-background pictures, then resample to ``size``; (1, h, w) float32."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if border.mean() > 0.5:
        grey = 1.0 - grey
    return common.resample(grey, size)[None]


def _npy_samples(path: Path, spec: dict[str, Any], stats: dict[str, np.ndarray]) -> np.ndarray:
    try:
        # mmap_mode reads the header only and checks that the file holds the array it
        # declares, so a forged header costs no memory; np.array then reads the data.
        array = np.array(np.load(path, allow_pickle=False, mmap_mode="r"))
    except (OSError, ValueError) as err:
        raise UsageError(f"{path}: not a readable .npy array ({err})") from None
    per_sample = math.prod(spec["raw_shape"])
    if array.size == per_sample:
        array = array.reshape(1, per_sample)
    elif array.ndim >= 2 and math.prod(array.shape[1:]) == per_sample:
        array = array.reshape(len(array), per_sample)
    else:
        raise UsageError(
            f"{path}: expected one sample of shape {tuple(spec['raw_shape'])} or a batch "
            f"(N, {', '.join(map(str, spec['raw_shape']))}). Received: shape {array.shape}"
        )
    return common.prepare(on_training_scale(path, array, spec), spec, stats)


def on_training_scale(path: Path, array: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """``array`` on the scale of the training data: 8-bit values (0-255) given to a model
    trained on [0, 1] are divided by 255, with a note; another mismatch gets a warning
    on stderr. Checkpoints from before ``raw_range`` was recorded are taken as they are."""
    trained = spec.get("raw_range")
    if not trained or not array.size:
        return array
    low, high = float(array.min()), float(array.max())
    span = max(trained[1] - trained[0], 1e-12)
    slack = 0.5 * span  # standardised or noisy inputs stray a little past the training range
    if trained[0] - slack <= low and high <= trained[1] + slack:
        return array
    if trained[1] <= 1.0 and trained[0] >= 0.0 and low >= 0.0 and 1.0 < high <= 255.0:
        print(f"note: {path}: values in [{low:g}, {high:g}] but the model was trained on "
              f"[{trained[0]:g}, {trained[1]:g}]; dividing by 255 as the training images were",
              file=sys.stderr)
        return array / 255.0
    print(f"warning: {path}: values in [{low:g}, {high:g}] but the model was trained on "
          f"[{trained[0]:g}, {trained[1]:g}]; the predictions may be meaningless",
          file=sys.stderr)
    return array


def run(args: argparse.Namespace) -> int:
    """Print file, class and probability for every sample; returns the exit code."""
    file, checkpoint = common.chosen_checkpoint(args.checkpoint)
    config = checkpoint["config"]
    spec = config["data"]
    labels: list[str] = []
    samples: list[np.ndarray] = []
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise UsageError(f"no such file: {name}")
        if path.suffix.lower() == ".npy":
            batch = _npy_samples(path, spec, checkpoint["preprocess"])
            labels += [name] if len(batch) == 1 else [f"{name}[{i}]" for i in range(len(batch))]
            samples.append(batch)
            continue
        if spec["kind"] != "image":
            raise UsageError(f"{name}: this model takes {spec['raw_shape'][0]} features, not "
                             "images; give .npy arrays")
        image = like_training_images(read_image(path), tuple(spec["input_size"]))
        labels.append(name)
        samples.append(image[None])
    model = common.model_from_checkpoint(checkpoint, str(file))
    # On stderr: stdout is the table, for whoever reads it with a program.
    print(common.using_line(file, checkpoint), file=sys.stderr)
    probs = common.probabilities(model, np.concatenate(samples))
    names = config["class_names"] or [str(k) for k in range(config["num_classes"])]
    top = min(args.top, probs.shape[1])
    rows = [("file", "class", "probability")]
    for label, p in zip(labels, probs, strict=True):
        for rank, k in enumerate(np.argsort(-p, kind="stable")[:top]):
            class_text = f"{k} {names[k]}" if names[k] != str(k) else str(k)
            rows.append((label if rank == 0 else "", class_text, f"{p[k]:.4f}"))
    print(common.format_table(rows))
    return 0
