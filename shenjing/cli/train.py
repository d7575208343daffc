"""``shenjing train``: train a network from the zoo on a data set, with a progress bar,
a resumable checkpoint, metrics.json and pictures.

Resuming is exact at epoch boundaries. After every epoch the checkpoint holds the model,
the optimizer's state, the random generator's state (which decides the next epoch's
shuffling and dropout masks) and the history. Ctrl-C during an epoch saves the state of
the last completed epoch (the work of the interrupted epoch is lost) and exits with 130;
``--resume`` then replays that epoch from the same generator state, so the final weights
are bit for bit those of an uninterrupted run with the same seed.

Nothing is lost: a run whose loss becomes NaN or infinite stops with the checkpoint of its
last finite epoch and a "stopped" entry in metrics.json; a folder holding a run is replaced
only with ``--overwrite``; a lock file (holding the pid) keeps a second run out of it.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shenjing.cli import common, launch, runfolder
from shenjing.cli.common import UsageError
from shenjing.training.callbacks import Callback, TerminateOnNaN

DEFAULT_EPOCHS = 30
"""Epochs of the no-option run: LeNet-5 on the bundled 9,000 training images takes about
1.5 s an epoch on 2 cores, so about 45 s in all, and reaches about 85% test accuracy (the
validation loss bottoms out near epoch 20; the curves then show mild overfitting, so the
test results use best.safetensors, the epoch of lowest validation loss, and say so)."""

DEFAULTS: dict[str, Any] = {
    "model": "lenet5",
    "dataset": "fashion-mnist-small",
    "epochs": DEFAULT_EPOCHS,
    "batch_size": 64,
    "optimizer": "adam",
    "lr": None,  # the optimizer's default from OPTIMIZERS
    "seed": 0,
    "limit": None,
    "validation_split": 0.1,
}

# name -> (class name in shenjing.optim, fixed keyword arguments, default learning rate)
OPTIMIZERS: dict[str, tuple[str, dict[str, Any], float]] = {
    "sgd": ("SGD", {}, 0.05),
    "momentum": ("SGD", {"momentum": 0.9}, 0.01),
    "nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}, 0.01),
    "adagrad": ("Adagrad", {}, 0.01),
    "adadelta": ("Adadelta", {}, 1.0),
    "rmsprop": ("RMSprop", {}, 1e-3),
    "adam": ("Adam", {}, 1e-3),
    "adamw": ("AdamW", {}, 1e-3),
    "adamax": ("Adamax", {}, 2e-3),
    "nadam": ("NAdam", {}, 2e-3),
}

PRECISIONS = ("32", "bf16", "fp16")

# What --resume takes from the checkpoint; giving a different value is an error.
RUN_SETTINGS = ("model", "dataset", "batch_size", "optimizer", "lr", "seed", "limit",
                "validation_split")

EPILOG = """\
examples:
  shenjing train                           LeNet-5 on the bundled Fashion-MNIST subset
  shenjing train --model mlp --epochs 10   a 784-256-128-10 MLP for 10 epochs
  shenjing train --model lstm --lr 2e-3    an LSTM reading each image row by row
  shenjing train --dataset digits --model mlp --out runs/digits
  shenjing train --dataset ~/data/mnist    a folder of the four MNIST-format IDX files
  shenjing train --out runs/lenet5-fashion-mnist-small --resume   continue after Ctrl-C
  shenjing train --resume --epochs 10      train a finished run further
  shenjing train --precision bf16          bfloat16 autocast (float32 master weights)

writes into --out: checkpoint.safetensors (the last epoch: model, optimizer, epoch, random
state, history, config), best.safetensors (the epoch of lowest validation loss, which the
test results use), metrics.json, curves.png and confusion.png. A folder that holds a run
is never replaced silently (--resume or --overwrite), and only one run uses it at a time.
A diverging run (the loss becomes NaN or infinite) stops, keeps the last finite epoch in
the checkpoint, and says so in metrics.json ("stopped").
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``train`` and its options."""
    parser = subparsers.add_parser(
        "train", help="train a network, with a progress bar and a resumable checkpoint",
        description=common.plain(__doc__), epilog=EPILOG, formatter_class=common.HelpFormatter)
    parser.add_argument("--model", choices=common.MODELS,
                        help=f"the network (default: {DEFAULTS['model']})")
    parser.add_argument("--dataset", type=common.dataset_argument,
                        help="fashion-mnist-small (bundled, the default), fashion-mnist, "
                             "mnist, digits, breast-cancer, iris, or a folder of IDX files")
    parser.add_argument("--epochs", type=common.positive_int,
                        help=f"epochs in all (default: {DEFAULTS['epochs']}; with --resume, "
                             "the checkpoint's)")
    parser.add_argument("--batch-size", type=common.positive_int,
                        help=f"samples per batch (default: {DEFAULTS['batch_size']})")
    parser.add_argument("--optimizer", choices=tuple(OPTIMIZERS),
                        help=f"the optimizer (default: {DEFAULTS['optimizer']})")
    parser.add_argument("--lr", type=common.positive_float,
                        help="learning rate (default: 1e-3 for adam; each optimizer has its own)")
    parser.add_argument("--seed", type=int, help=f"random seed (default: {DEFAULTS['seed']})")
    parser.add_argument("--validation-split", type=_fraction, metavar="FRACTION",
                        help="share of the training set held out for validation curves "
                             f"(default: {DEFAULTS['validation_split']}; 0 for none)")
    parser.add_argument("--limit", type=common.positive_int, metavar="N",
                        help="use only the first N training and N test samples (a quick try)")
    parser.add_argument("--out", metavar="DIR",
                        help="run folder (default: runs/<model>-<dataset>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run saved in --out where it stopped")
    parser.add_argument("--overwrite", action="store_true",
                        help="start afresh in an --out that already holds a run, replacing it")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--device", type=_device, default=None,
                        help="where to train: cpu or cuda[:N] (cuda needs CuPy; default: cpu)")
    parser.add_argument("--precision", choices=PRECISIONS,
                        help="32: float32; bf16: forward and loss under bfloat16 autocast "
                             "(needs ml_dtypes); fp16: float16 autocast with loss scaling. "
                             "Weights stay float32 (default: 32; with --resume, the "
                             "checkpoint's)")
    launch.add_ranks_option(parser)
    parser.add_argument("--tensorboard", action="store_true",
                        help="also write TensorBoard logs into DIR/tensorboard")
    parser.set_defaults(run=run)
    return parser


def _device(text: str) -> Any:
    from shenjing.backend import Device  # light: the CLI imports the library lazily

    try:
        device = Device(text)
        device.xp  # noqa: B018 - raises when the device's backend is not installed
    except (ValueError, TypeError, RuntimeError) as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return device


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def make_optimizer(name: str, params: Any, lr: float) -> Any:
    """The optimizer called ``name`` in ``OPTIMIZERS``, over ``params``."""
    from shenjing import optim

    class_name, fixed, _ = OPTIMIZERS[name]
    return getattr(optim, class_name)(params, lr=lr, **fixed)


class RunCheckpoint(Callback):
    """Saves a resumable checkpoint at every epoch boundary of ``fit``, and the epoch of
    lowest validation loss again as ``best.safetensors``.

    It also keeps the last boundary's state in memory, so that an interrupted run can be
    saved as it was there (``save_last``), not half-way through an epoch.
    """

    main_rank_only = True  # under MPI, rank 0 alone writes the run's files

    def __init__(self, path: Path, config: dict[str, Any], stats: dict[str, np.ndarray],
                 history: dict[str, list[float]], start_epoch: int) -> None:
        self.path = path
        self.best_path = path.with_name(common.BEST_NAME)
        self.config = config
        self.stats = stats
        self.history = history
        self.epoch = start_epoch
        self.last: dict[str, Any] | None = None
        losses = history.get("val_loss", [])
        # (epoch counted from 1, validation loss) of the best epoch so far
        self.best: tuple[int, float] | None = None
        if losses and self.best_path.is_file():
            index = int(np.argmin(losses))
            self.best = (index + 1, losses[index])

    def snapshot(self) -> dict[str, Any]:
        """The run as it stands, as a checkpoint dict (arrays copied)."""
        from shenjing import backend

        return {
            "kind": common.CHECKPOINT_KIND,
            "model": self.model.state_dict(),
            "optimizer": self.model.optimizer.state_dict(),
            "epoch": self.epoch,
            "rng": backend.get_rng_state(),
            "history": copy.deepcopy(self.history),
            "config": copy.deepcopy(self.config),
            "preprocess": dict(self.stats),
        }

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self.last = self.snapshot()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        from shenjing.io import save

        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.epoch = epoch + 1
        self.last = self.snapshot()
        save(self.last, self.path)
        val_loss = (logs or {}).get("val_loss")
        if val_loss is not None and (self.best is None or val_loss < self.best[1]):
            self.best = (self.epoch, float(val_loss))
            save(self.last, self.best_path)

    def save_last(self) -> None:
        """Write the state of the last epoch boundary."""
        from shenjing.io import save

        if self.last is not None:
            save(self.last, self.path)


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """The run settings given on the command line (None where not given)."""
    return {key: getattr(args, key) for key in (*RUN_SETTINGS, "epochs")}


def _fresh_config(args: argparse.Namespace, raw: Any) -> dict[str, Any]:
    settings = {key: value if value is not None else DEFAULTS[key]
                for key, value in _settings(args).items()}
    (x_train, y_train), (_, y_test) = raw
    data = common.describe_data(settings["dataset"], x_train, settings["model"])
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    if settings["lr"] is None:
        settings["lr"] = OPTIMIZERS[settings["optimizer"]][2]
    return {
        **settings,
        "data": data,
        "num_classes": num_classes,
        "class_names": common.class_names_for(settings["dataset"], num_classes),
        "model_arguments": common.model_arguments(settings["model"], data, num_classes),
    }


def _resumed_config(args: argparse.Namespace, saved: dict[str, Any]) -> dict[str, Any]:
    config = copy.deepcopy(saved)
    for key, value in _settings(args).items():
        if key == "epochs" or value is None or value == config.get(key):
            continue
        option = "--" + key.replace("_", "-")
        raise UsageError(
            f"--resume continues the saved run, which has {option} {config.get(key)}; "
            f"drop {option} {value} or start a new run in another --out"
        )
    if args.epochs is not None:
        config["epochs"] = args.epochs
    return config


def run(args: argparse.Namespace, callbacks: Sequence[Callback] = ()) -> int:
    """Train as ``args`` say; ``callbacks`` go to ``fit`` after the checkpointing one.

    Returns the exit code: 0 done, 1 training diverged, 130 interrupted (checkpoint saved).
    """
    from shenjing.training import parallel

    if launch.should_launch(args):
        return launch.launch(args)
    # Under mpiexec, join the world before anything can fail, so a failure aborts the job.
    main_rank = parallel.is_main()
    model_name = args.model or DEFAULTS["model"]
    dataset = args.dataset or DEFAULTS["dataset"]
    out = Path(args.out or Path("runs") / f"{model_name}-{common.dataset_tag(dataset)}")
    if args.resume and args.overwrite:
        raise UsageError("--resume continues the run in --out, --overwrite replaces it: "
                         "give one of them")
    # Under MPI, rank 0 holds the folder's lock for the whole job; every rank checks the
    # folder (read only, the same answer everywhere) so that a refusal ends them all.
    with runfolder.claimed(out) if main_rank else contextlib.nullcontext():
        if not args.resume:
            runfolder.check_fresh_start(out, args.overwrite)
        return _train(args, out, model_name, dataset, callbacks, main_rank)


def _train(args: argparse.Namespace, out: Path, model_name: str, dataset: str,
           callbacks: Sequence[Callback], main_rank: bool) -> int:
    import shenjing as sj

    path = out / common.CHECKPOINT_NAME
    if args.resume:
        if not path.is_file():
            raise UsageError(f"--resume: no checkpoint at {path} (give the run's --out)")
        checkpoint = common.read_checkpoint(path)
        config = _resumed_config(args, checkpoint["config"])
        start_epoch = int(checkpoint["epoch"])
        if config["epochs"] < start_epoch:
            raise UsageError(f"--epochs {config['epochs']} is fewer than the {start_epoch} "
                             "epochs the checkpoint has already trained")
        train, val, test, stats = common.load_splits(config, checkpoint["preprocess"])
    else:
        checkpoint = None
        config_args = argparse.Namespace(**{**vars(args), "model": model_name,
                                            "dataset": dataset})
        raw = common.load_raw(dataset)
        config = _fresh_config(config_args, raw)
        start_epoch = 0
        train, val, test, stats = common.load_splits(config, raw=raw)
    # Not a fixed run setting: the weights are float32 either way, so a resumed run may
    # change it; the checkpoint records the last one used.
    config["precision"] = args.precision or config.get("precision") or "32"
    out.mkdir(parents=True, exist_ok=True)

    sj.manual_seed(config["seed"])
    model = common.build_model(config["model"], config["model_arguments"])
    optimizer = make_optimizer(config["optimizer"], model.parameters(), config["lr"])
    model.compile(optimizer=optimizer, loss="cross_entropy", metrics=["accuracy"])
    history: dict[str, list[float]] = {}
    if checkpoint is not None:
        try:
            model.load_state_dict(checkpoint["model"])
            optimizer.load_state_dict(checkpoint["optimizer"])
            sj.set_rng_state(checkpoint["rng"])
            history = {key: list(values) for key, values in checkpoint["history"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise UsageError(f"{path} cannot be resumed: its state is damaged ({err!r})") from None

    if main_rank:
        _print_plan(config, model, train, val, test, start_epoch, args.resume)
    recorder = RunCheckpoint(path, config, stats, history, start_epoch)
    nan_guard = TerminateOnNaN()
    if getattr(args, "tensorboard", False):
        from shenjing.training.tensorboard import TensorBoard

        labelled = None if val is None else (val.x, val.y)
        callbacks = [*callbacks, TensorBoard(out / "tensorboard", histogram_freq=1,
                                             confusion_data=labelled)]
    started = time.perf_counter()
    try:
        # A diverging run overflows on its way to NaN: nan_guard reports that in one line,
        # so NumPy's overflow warnings would only repeat it.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            model.fit(train.x, train.y, epochs=config["epochs"],
                      batch_size=config["batch_size"],
                      validation_data=None if val is None else (val.x, val.y),
                      callbacks=[nan_guard, recorder, *callbacks], initial_epoch=start_epoch,
                      verbose=0 if args.quiet else 1, device=args.device,
                      precision=config["precision"])
    except KeyboardInterrupt:
        if not main_rank:
            return 130
        recorder.save_last()
        _write_metrics(out, config, recorder, None, time.perf_counter() - started)
        print(f"\nInterrupted. Saved the run as it was after epoch {recorder.last['epoch']} "
              f"of {config['epochs']} to {path}.\nContinue with: shenjing train --out {out} "
              "--resume", file=sys.stderr)
        return 130
    if not main_rank:  # rank 0 reports and writes; every rank holds the same model now
        return 0
    seconds = time.perf_counter() - started
    if nan_guard.stopped_epoch is not None:
        stopped = f"non-finite loss at epoch {nan_guard.stopped_epoch + 1}"
        kept = (f"{path} keeps epoch {recorder.epoch}, the last with a finite loss" if
                recorder.epoch else "no epoch completed, so no checkpoint was written")
        print(f"Training stopped: {stopped}; {kept}. Try a smaller --lr.", file=sys.stderr)
        _write_metrics(out, config, recorder, None, seconds, stopped=stopped)
        return 1
    if start_epoch == config["epochs"]:
        print(f"Nothing to train: the run already has {start_epoch} epochs (give --epochs "
              "to train it further).")
    return _finish(out, config, model, test, recorder, seconds)


def _print_plan(config: dict[str, Any], model: Any, train: common.Split,
                val: common.Split | None, test: common.Split, start: int, resumed: bool) -> None:
    params = sum(p.numel() for p in model.parameters())
    sizes = f"{len(train.x)} training, " + (f"{len(val.x)} validation, " if val else "")
    verb = f"Resuming at epoch {start + 1} of" if resumed else "Training"
    print(f"{verb} {config['model']} ({params:,} parameters) on "
          f"{common.dataset_tag(config['dataset'])}: {sizes}{len(test.x)} test samples; "
          f"{config['epochs']} epochs, batch {config['batch_size']}, {config['optimizer']} "
          f"lr {config['lr']:g}, seed {config['seed']}"
          + ("" if config.get("precision", "32") == "32" else f", precision {config['precision']}"))


def _test_results(model: Any, test: common.Split, config: dict[str, Any]) -> dict[str, Any]:
    from shenjing.diagnostics import confusion_matrix, per_class_scores

    probs = common.probabilities(model, test.x)
    predicted = probs.argmax(axis=1)
    picked = np.clip(probs[np.arange(len(test.y)), test.y], 1e-12, None)
    matrix = confusion_matrix(test.y, predicted, config["num_classes"])
    scores = per_class_scores(matrix)
    names = config["class_names"] or [str(k) for k in range(config["num_classes"])]
    return {
        "loss": float(-np.log(picked).mean()),
        "accuracy": float((predicted == test.y).mean()),
        "samples": len(test.y),
        "confusion_matrix": matrix.tolist(),
        "per_class": {name: {key: values[k].item() for key, values in scores.items()}
                      for k, name in enumerate(names)},
    }


def _write_metrics(out: Path, config: dict[str, Any], recorder: RunCheckpoint,
                   test: dict[str, Any] | None, seconds: float, stopped: str | None = None,
                   tested: str | None = None) -> None:
    common.write_json(out / "metrics.json", {
        "epochs_completed": recorder.epoch,
        "stopped": stopped,
        "best_epoch": recorder.best[0] if recorder.best else None,
        "test_weights": tested,
        "config": config,
        "history": recorder.history,
        "test": test,
        "training_seconds": round(seconds, 3),
    })


def _finish(out: Path, config: dict[str, Any], model: Any, test: common.Split,
            recorder: RunCheckpoint, seconds: float) -> int:
    tested = f"{common.CHECKPOINT_NAME} (epoch {recorder.epoch}, the last)"
    if recorder.best is not None and recorder.best[0] != recorder.epoch:
        # The curves' minimum, not the last epoch: the default run overfits past it.
        model.load_state_dict(common.read_checkpoint(recorder.best_path)["model"])
        tested = (f"{common.BEST_NAME} (epoch {recorder.best[0]} of {recorder.epoch}, lowest "
                  f"validation loss {recorder.best[1]:.4f})")
    results = _test_results(model, test, config)
    _write_metrics(out, config, recorder, results, seconds, tested=tested)
    written = [common.CHECKPOINT_NAME, "metrics.json"]
    if recorder.best is not None:
        written.insert(1, common.BEST_NAME)
    try:
        from shenjing.viz.plots import plot_confusion, plot_curves

        if recorder.history.get("loss"):
            plot_curves(recorder.history, out / "curves.png")
            written.append("curves.png")
        plot_confusion(np.array(results["confusion_matrix"]), out / "confusion.png",
                       config["class_names"],
                       title=f"{config['model']} on {common.dataset_tag(config['dataset'])}: "
                             f"accuracy {results['accuracy']:.3f}")
        written.append("confusion.png")
    except ImportError as err:
        print(f"No pictures: {err}", file=sys.stderr)
    print(f"test accuracy: {results['accuracy']:.4f} on {results['samples']} samples with "
          f"{tested} (training took {seconds:.1f} s)")
    print(f"wrote {', '.join(written)} to {out}")
    return 0
