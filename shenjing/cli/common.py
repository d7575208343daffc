"""What the subcommands share: the one-line-error parser, data sets and their
preprocessing, the model zoo by name, and checkpoints.

A checkpoint written by ``shenjing train`` holds, besides the model's and the optimizer's
state, everything ``evaluate`` and ``predict`` need to rebuild the model and to prepare
data the way training did: the ``config`` dict (model name and arguments, data set,
class names, preprocessing) and the ``preprocess`` arrays (standardisation statistics).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

CHECKPOINT_NAME = "checkpoint.safetensors"
BEST_NAME = "best.safetensors"
"""The epoch with the lowest validation loss, in the same format as the checkpoint."""
CHECKPOINT_KIND = "shenjing-train-checkpoint-v1"

MODELS = ("lenet5", "mlp", "lstm", "gru", "rnn")
RECURRENT = ("rnn", "lstm", "gru")
MLP_HIDDEN = (256, 128)
RNN_HIDDEN = 64
LENET_MIN_SIZE = 28
"""LeNet-5 sees images at least this large: smaller ones (digits, 8x8) are upsampled."""

CLASS_NAMES_BY_DATASET: dict[str, tuple[str, ...]] = {
    "mnist": tuple(str(d) for d in range(10)),
    "digits": tuple(str(d) for d in range(10)),
    "breast-cancer": ("malignant", "benign"),
    "iris": ("setosa", "versicolor", "virginica"),
}
IMAGE_DATASETS = {"digits": ((8, 8), 16.0)}
"""Data sets stored as feature rows that are really images: (height, width), pixel scale."""
TABULAR_DATASETS = ("breast-cancer", "iris")


class UsageError(Exception):
    """A bad combination of arguments: reported in one line, exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit code 2), naming the
    command and where to find help, instead of the usage block and the message."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        sys.exit(2)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' line breaks and shows defaults where help mentions them."""


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def dataset_argument(text: str) -> str:
    """argparse type: a known data set name, or an existing folder of IDX files."""
    from shenjing.data import DATASET_NAMES

    if text in DATASET_NAMES:
        return text
    if Path(text).is_dir():
        return str(Path(text).resolve())
    raise argparse.ArgumentTypeError(
        f"{text!r} is neither a data set ({', '.join(DATASET_NAMES)}) nor a folder of IDX files"
    )


# ------------------------------------------------------------------------- data
@dataclass
class Split:
    """Arrays of one split, ready for the model."""

    x: np.ndarray
    y: np.ndarray


def dataset_tag(dataset: str) -> str:
    """A short name for run folders: the data set's name, or the folder's."""
    return Path(dataset).name if os.sep in dataset else dataset


def load_raw(dataset: str) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The data set's train and test arrays as its loader gives them."""
    from shenjing.data import DATASET_NAMES, load_dataset, load_fashion_mnist

    if dataset in DATASET_NAMES:
        return load_dataset(dataset)
    # A folder of the four standard IDX files (MNIST's format).
    return load_fashion_mnist(root=dataset)


def class_names_for(dataset: str, num_classes: int) -> list[str] | None:
    """Human names of the classes when the data set has them."""
    from shenjing.data import CLASS_NAMES

    names = CLASS_NAMES if dataset.startswith("fashion-mnist") else CLASS_NAMES_BY_DATASET.get(
        dataset)
    return list(names) if names is not None and len(names) == num_classes else None


def describe_data(dataset: str, x_train: np.ndarray, model: str) -> dict[str, Any]:
    """How to turn the data set's raw samples into the model's input (JSON-ready).

    Keys: ``raw_shape`` (one raw sample's shape), ``kind`` ("image" or "tabular"),
    ``scale`` (raw values are divided by it), ``standardize`` (subtract the training mean,
    divide by the standard deviation, per feature), ``image_shape`` (the raw sample as an
    (H, W) image), ``input_size`` ((H, W) the model sees: images are resampled to it) and
    ``raw_range`` ([min, max] of the raw training values).
    """
    raw_shape = list(x_train.shape[1:])
    # The range of raw values trained on, so that predict can spot inputs on another scale.
    raw_range = [float(x_train.min()), float(x_train.max())] if x_train.size else None
    spec = _describe(dataset, x_train, model, raw_shape)
    return {**spec, "raw_range": raw_range}


def _describe(dataset: str, x_train: np.ndarray, model: str,
              raw_shape: list[int]) -> dict[str, Any]:
    if dataset in TABULAR_DATASETS or (x_train.ndim == 2 and dataset not in IMAGE_DATASETS):
        if model != "mlp":
            raise UsageError(
                f"--model {model} needs images, and {dataset_tag(dataset)} is tabular "
                f"({x_train.shape[1]} features per sample): use --model mlp"
            )
        return {"raw_shape": raw_shape, "kind": "tabular", "scale": 1.0, "standardize": True,
                "image_shape": None, "input_size": None}
    if dataset in IMAGE_DATASETS:
        image_shape, scale = IMAGE_DATASETS[dataset]
    else:
        image_shape, scale = tuple(x_train.shape[-2:]), 1.0
    input_size = list(image_shape)
    if model == "lenet5" and min(image_shape) < LENET_MIN_SIZE:
        input_size = [LENET_MIN_SIZE, LENET_MIN_SIZE]
    if model == "lenet5" and input_size[0] != input_size[1]:
        raise UsageError(f"--model lenet5 needs square images. Received: {tuple(image_shape)}")
    return {"raw_shape": raw_shape, "kind": "image", "scale": scale, "standardize": False,
            "image_shape": list(image_shape), "input_size": input_size}


def standardization(x_train: np.ndarray, spec: dict[str, Any]) -> dict[str, np.ndarray]:
    """The per-feature mean and standard deviation of the training set (tabular data)."""
    if not spec["standardize"]:
        return {}
    features = x_train.reshape(len(x_train), -1).astype(np.float64) / spec["scale"]
    std = features.std(axis=0)
    std[std == 0] = 1.0  # a constant feature: leave it at zero rather than divide by 0
    return {"mean": features.mean(axis=0).astype(np.float32), "std": std.astype(np.float32)}


def prepare(x: np.ndarray, spec: dict[str, Any], stats: dict[str, np.ndarray]) -> np.ndarray:
    """Raw samples (N, *raw_shape) → the model's input, float32: scaled, standardised
    (tabular) or shaped (N, 1, H, W) and resampled to the input size (images)."""
    x = np.asarray(x, dtype=np.float32).reshape(len(x), *spec["raw_shape"])
    if spec["scale"] != 1.0:
        x = x / np.float32(spec["scale"])
    if spec["kind"] == "tabular":
        if stats:
            x = (x - stats["mean"]) / stats["std"]
        return np.ascontiguousarray(x, dtype=np.float32)
    height, width = spec["image_shape"]
    images = x.reshape(len(x), height, width)
    if list(spec["input_size"]) != [height, width]:
        images = resample(images, tuple(spec["input_size"]))
    return np.ascontiguousarray(images[:, None], dtype=np.float32)


def _axis_weights(size_in: int, size_out: int) -> np.ndarray:
    """A (size_out, size_in) matrix that resamples one axis.

    Shrinking averages the input pixels each output pixel covers (weighted by overlap),
    so no detail aliases; enlarging interpolates linearly between pixel centres.
    """
    if size_out < size_in:
        edges = np.linspace(0.0, size_in, size_out + 1)
        pixels = np.arange(size_in)
        overlap = np.minimum(edges[1:, None], pixels + 1) - np.maximum(edges[:-1, None], pixels)
        weights = np.clip(overlap, 0.0, None)
        return weights / weights.sum(axis=1, keepdims=True)
    weights = np.zeros((size_out, size_in))
    centres = (np.arange(size_out) + 0.5) * size_in / size_out - 0.5
    centres = np.clip(centres, 0.0, size_in - 1)
    low = np.floor(centres).astype(int)
    high = np.minimum(low + 1, size_in - 1)
    frac = centres - low
    rows = np.arange(size_out)
    np.add.at(weights, (rows, low), 1.0 - frac)
    np.add.at(weights, (rows, high), frac)
    return weights


def resample(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize (N, H, W) (or one (H, W)) images to ``size`` = (h, w): Rₕ · image · R_wᵀ
    with the per-axis matrices of ``_axis_weights``."""
    rows = _axis_weights(images.shape[-2], size[0])
    cols = _axis_weights(images.shape[-1], size[1])
    return (rows @ images @ cols.T).astype(np.float32)


def load_splits(config: dict[str, Any], stats: dict[str, np.ndarray] | None = None,
                raw: Any = None) -> tuple[Split, Split | None, Split, dict[str, np.ndarray]]:
    """Train, validation (None without a split) and test sets, prepared for the model.

    The validation set is a fixed stratified share of the training set (seed 0, so it
    does not depend on the run's seed); standardisation statistics come from what is left
    for training, unless ``stats`` (from a checkpoint) is given. ``raw`` is the data set
    as ``load_raw`` gives it, if already loaded.
    """
    from shenjing.data.registry import stratified_split

    (x_train, y_train), (x_test, y_test) = raw if raw is not None else load_raw(
        config["dataset"])
    from shenjing.training.checks import nonfinite_report

    for name, array in (("x_train", x_train), ("x_test", x_test)):
        report = nonfinite_report(name, array)
        if report:  # named here, not blamed later on the learning rate
            raise ValueError(f"{dataset_tag(config['dataset'])}: {report}")
    limit = config.get("limit")
    if limit:
        x_train, y_train, x_test, y_test = (x_train[:limit], y_train[:limit], x_test[:limit],
                                            y_test[:limit])
    validation = None
    fraction = config.get("validation_split") or 0.0
    if fraction > 0:
        train_idx, val_idx = stratified_split(y_train, fraction, seed=0)
        validation = (x_train[val_idx], y_train[val_idx])
        x_train, y_train = x_train[train_idx], y_train[train_idx]
    spec = config["data"]
    if stats is None:
        stats = standardization(x_train, spec)
    train = Split(prepare(x_train, spec, stats), y_train.astype(np.int64))
    test = Split(prepare(x_test, spec, stats), y_test.astype(np.int64))
    val = None if validation is None else Split(prepare(validation[0], spec, stats),
                                                validation[1].astype(np.int64))
    return train, val, test, stats


# ----------------------------------------------------------------------- models
def model_arguments(model: str, spec: dict[str, Any], num_classes: int) -> dict[str, Any]:
    """The zoo builder's keyword arguments for ``model`` on data described by ``spec``."""
    if model == "mlp":
        in_features = math.prod(spec["raw_shape"]) if spec["kind"] == "tabular" else math.prod(
            spec["input_size"])
        return {"in_features": in_features, "hidden": list(MLP_HIDDEN),
                "num_classes": num_classes}
    if model == "lenet5":
        return {"num_classes": num_classes, "input_size": spec["input_size"][0]}
    return {"input_size": spec["input_size"][1], "hidden_size": RNN_HIDDEN,
            "num_classes": num_classes}


def build_model(model: str, arguments: dict[str, Any]) -> Any:
    """A fresh network from the zoo (``shenjing.models``)."""
    from shenjing import models

    if model == "mlp":
        return models.mlp(**arguments)
    if model == "lenet5":
        return models.lenet5(**arguments)
    if model in RECURRENT:
        return models.rnn_classifier(model, **arguments)
    raise UsageError(f"unknown model {model!r}; known: {', '.join(MODELS)}")


# ------------------------------------------------------------------ checkpoints
def checkpoint_path(path: str | os.PathLike[str], best: bool = False) -> Path:
    """A checkpoint file, or the run folder holding one: with ``best``, the folder's
    best checkpoint (lowest validation loss) when it has one, else its last."""
    path = Path(path)
    if not path.is_dir():
        return path
    return path / BEST_NAME if best and (path / BEST_NAME).is_file() else path / CHECKPOINT_NAME


def chosen_checkpoint(path: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    """The checkpoint ``evaluate``, ``predict`` and ``export`` use for ``path`` (a run
    folder's best.safetensors where it exists, else its checkpoint.safetensors; a file as
    given), read and checked: (file, checkpoint)."""
    file = checkpoint_path(path, best=True)
    return file, read_checkpoint(file)


def using_line(file: Path, checkpoint: dict[str, Any]) -> str:
    """The line that names the checkpoint a command used, and which epoch it holds."""
    which = ("the best epoch by validation loss" if file.name == BEST_NAME
             else "the last epoch")
    return f"using {file} ({which}, epoch {checkpoint['epoch']})"


# What a checkpoint and its config must hold, and of which type, to be used.
_CHECKPOINT_FIELDS = {"model": dict, "epoch": int, "config": dict, "preprocess": dict}
_CONFIG_FIELDS = {"model": str, "model_arguments": dict, "data": dict, "num_classes": int,
                  "dataset": str, "epochs": int}
_DATA_FIELDS = {"raw_shape": list, "kind": str, "scale": (int, float), "standardize": bool}


def _check_fields(file: Path, where: str, value: dict[str, Any],
                  fields: dict[str, Any]) -> None:
    for key, kind in fields.items():
        found = value.get(key)
        # bool is an int to isinstance; a flag where a count belongs is still malformed.
        if not isinstance(found, kind) or (isinstance(found, bool) and kind is not bool):
            raise UsageError(f"{file} is a damaged checkpoint: {where}{key!r} is missing or "
                             f"malformed (found {found!r})")


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a checkpoint written by ``shenjing train``.

    Anything else (a missing, foreign, corrupt or incomplete file) raises ``UsageError``
    with one line naming the file and the problem: the CLI reports it and exits with 2.
    """
    from shenjing.io import load

    file = checkpoint_path(path)
    if not file.is_file():
        raise UsageError(f"no checkpoint at {file}")
    try:
        checkpoint = load(file)
    except (ValueError, OSError) as err:
        raise UsageError(str(err)) from None
    if checkpoint.get("kind") != CHECKPOINT_KIND:
        raise UsageError(
            f"{file} is not a checkpoint written by 'shenjing train' (it holds: "
            f"{', '.join(sorted(checkpoint)[:6])})"
        )
    _check_fields(file, "", checkpoint, _CHECKPOINT_FIELDS)
    _check_fields(file, "config ", checkpoint["config"], _CONFIG_FIELDS)
    _check_fields(file, "config data ", checkpoint["config"]["data"], _DATA_FIELDS)
    return checkpoint


def model_from_checkpoint(checkpoint: dict[str, Any], source: str = "the checkpoint") -> Any:
    """The trained network, in eval mode; UsageError naming ``source`` if its config or
    weights do not make a model of the zoo."""
    config = checkpoint["config"]
    try:
        model = build_model(config["model"], config["model_arguments"])
        model.load_state_dict(checkpoint["model"])
    except (TypeError, ValueError, KeyError) as err:
        raise UsageError(f"{source} cannot rebuild its {config['model']!r} model: "
                         f"{err}") from None
    return model.eval()


def probabilities(model: Any, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Softmax of the model's outputs, batch by batch, without recording a graph."""
    from shenjing.autograd import no_grad
    from shenjing.tensor import Tensor

    chunks = []
    first = next(model.parameters(), None)  # batches go where the model is (a GPU)
    device = "cpu" if first is None else first.device
    with no_grad():
        for start in range(0, len(x), batch_size):
            batch = Tensor(x[start:start + batch_size]).to(device)
            logits = model(batch).cpu().numpy().astype(np.float64)
            logits -= logits.max(axis=1, keepdims=True)
            exp = np.exp(logits)
            chunks.append(exp / exp.sum(axis=1, keepdims=True))
    return np.concatenate(chunks) if chunks else np.zeros((0, 0))


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    from shenjing.data._atomic import write_bytes_atomically

    text = json.dumps(data, indent=2, default=_json_default) + "\n"
    write_bytes_atomically(path, text.encode())


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def format_table(rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                     .rstrip() for row in rows)


def plain(docstring: str | None) -> str:
    """A module docstring as help text: without the reStructuredText quotes."""
    return (docstring or "").replace("``", "'")
