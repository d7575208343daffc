"""The ``TensorBoard`` callback: Keras's callback of that name, writing TensorBoard event
files through tensorboardX (the optional ``tensorboard`` extra), never a hand-made encoder.

What it writes, as Keras lays it out: ``log_dir/train`` and ``log_dir/validation`` event
files; scalars ``epoch_<name>`` per epoch (loss, each metric, and in ``train`` the
learning rate ``epoch_learning_rate``), ``batch_<name>`` every ``update_freq`` batches;
histograms ``<parameter>/histogram`` and ``<parameter>/gradient`` every
``histogram_freq`` epochs; an image ``confusion_matrix`` per epoch when given labelled
data to classify; and the model graph, as text (tensorboardX's ``add_graph`` traces
PyTorch modules only): the layer tree and the ops a forward pass records.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from shenjing.training.callbacks import Callback


def _summary_writer(log_dir: str) -> Any:
    try:
        from tensorboardX import SummaryWriter
    except ImportError as err:
        raise ImportError(
            "TensorBoard needs the package 'tensorboardX': install the extra with "
            f"`pip install shenjing[tensorboard]`. Received: {err}"
        ) from err
    return SummaryWriter(log_dir)


class TensorBoard(Callback):
    """Write training curves, histograms, a confusion matrix and the graph for TensorBoard.

    Args:
        log_dir: the folder for the event files (``tensorboard --logdir`` it).
        histogram_freq: every how many epochs to write weight and gradient histograms
            (0: never).
        write_graph: write the model graph (as text) once, after the first batch.
        update_freq: "epoch" (scalars per epoch), "batch" (also per batch) or an integer N
            (also every N batches).
        confusion_data: optional ``(x, y)``, labelled samples the model classifies after
            each epoch into a confusion-matrix image (classification models).

    Example:
        >>> import shenjing as sj
        >>> model = sj.nn.Sequential(sj.nn.Linear(4, 3))
        >>> model.compile(optimizer="sgd", loss="cross_entropy", metrics=["accuracy"])
        >>> x, y = sj.randn(8, 4).numpy(), sj.tensor([0, 1, 2, 0, 1, 2, 0, 1]).numpy()
        >>> h = model.fit(x, y, epochs=1, verbose=0,
        ...               callbacks=[sj.training.TensorBoard("/tmp/tb-doc")])
    """

    main_rank_only = True  # writes files: under MPI only rank 0 logs

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 0,
                 write_graph: bool = True, update_freq: str | int = "epoch",
                 confusion_data: tuple[Any, Any] | None = None) -> None:
        if update_freq not in ("epoch", "batch") and not (
                isinstance(update_freq, int) and not isinstance(update_freq, bool)
                and update_freq > 0):
            raise ValueError("TensorBoard: update_freq must be 'epoch', 'batch' or a positive "
                             f"integer. Received: {update_freq!r}")
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) or (
                histogram_freq < 0):
            raise ValueError("TensorBoard: histogram_freq must be a non-negative integer. "
                             f"Received: {histogram_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.confusion_data = confusion_data
        self._writers: dict[str, Any] = {}
        self._batches = 0  # training batches seen in this fit, the step of batch scalars
        self._graph_written = False

    # ------------------------------------------------------------------ writers
    def _writer(self, name: str) -> Any:
        if name not in self._writers:
            self._writers[name] = _summary_writer(os.path.join(self.log_dir, name))
        return self._writers[name]

    def _learning_rate(self) -> float | None:
        optimizer = getattr(self.model, "optimizer", None)
        groups = getattr(optimizer, "param_groups", None)
        return float(groups[0]["lr"]) if groups else None

    # ------------------------------------------------------------------ events
    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self._batches = 0

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        self._batches += 1
        if self.write_graph and not self._graph_written:
            self._write_graph()
        if self.update_freq == "epoch" or self._batches % self.update_freq:
            return
        writer = self._writer("train")
        for key, value in (logs or {}).items():
            writer.add_scalar(f"batch_{key}", float(value), self._batches)
        lr = self._learning_rate()
        if lr is not None:
            writer.add_scalar("batch_learning_rate", lr, self._batches)

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        train, validation = self._writer("train"), None
        for key, value in (logs or {}).items():
            if key.startswith("val_"):
                validation = validation or self._writer("validation")
                validation.add_scalar(f"epoch_{key[4:]}", float(value), epoch)
            else:
                train.add_scalar(f"epoch_{key}", float(value), epoch)
        lr = self._learning_rate()
        if lr is not None:
            train.add_scalar("epoch_learning_rate", lr, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._write_histograms(train, epoch)
        if self.confusion_data is not None:
            self._write_confusion_matrix(epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # ------------------------------------------------------------------ contents
    def _write_histograms(self, writer: Any, epoch: int) -> None:
        for name, p in self.model.named_parameters():
            writer.add_histogram(f"{name}/histogram", _host(p.array), epoch)
            if p.grad is not None:
                writer.add_histogram(f"{name}/gradient", _host(p.grad.array), epoch)

    def _write_confusion_matrix(self, epoch: int) -> None:
        from shenjing.autograd import no_grad
        from shenjing.tensor import Tensor
        from shenjing.training.classification import confusion_matrix

        x, y = self.confusion_data
        y = np.asarray(y).reshape(-1)
        was_training = self.model.training
        self.model.eval()
        try:
            with no_grad():
                scores = np.concatenate([
                    _host(self.model(Tensor(np.asarray(x[k:k + 256]))).array)
                    for k in range(0, len(y), 256)])
        finally:
            self.model.train(was_training)
        if scores.ndim != 2 or scores.shape[1] < 2:
            raise ValueError("TensorBoard: confusion_data needs a classifier (one score per "
                             f"class). Received: outputs of shape {scores.shape}")
        matrix = confusion_matrix(y, scores.argmax(axis=1), scores.shape[1])
        self._writer("validation").add_image("confusion_matrix", matrix_image(matrix), epoch)

    def _write_graph(self) -> None:
        from shenjing.graph.graph import Graph

        self._graph_written = True
        lines = [repr(self.model)]
        trainer = self.model.__dict__.get("_trainer")  # set by compile(); knows the shape
        shape = getattr(trainer, "input_shape", None)
        if shape is not None:
            example = np.zeros((1, *shape), dtype=np.float32)
            graph = Graph()
            was_training = self.model.training
            try:
                with graph.as_default():
                    x = graph.add_placeholder(example.shape, example.dtype, "input",
                                              example=example)
                    self.model(x)
            except Exception as err:  # the graph is a picture: never stop training for it
                lines += ["", f"(the forward pass could not be traced: {err})"]
            else:
                lines += ["", "ops of one forward pass:"]
                lines += [f"{op.name}: {op.type}({', '.join(t.name for t in op.inputs)})"
                          f" -> {', '.join(str(t.shape) for t in op.outputs)}"
                          for op in graph.get_operations()]
            finally:
                self.model.train(was_training)
        # Four spaces of indent make TensorBoard's Markdown show the text as code.
        self._writer("train").add_text("graph", "\n".join("    " + line for line in lines), 0)


def _host(array: Any) -> np.ndarray:
    """A NumPy copy of a NumPy or CuPy array (tensorboardX reads NumPy)."""
    return array.get() if hasattr(array, "get") else np.asarray(array)


def matrix_image(matrix: np.ndarray, cell: int = 16) -> np.ndarray:
    """A confusion matrix as a (3, H, W) float image in [0, 1]: each cell a ``cell``-pixel
    square, white for no samples to dark blue for the row's largest share (rows are the
    true classes, so each row is normalised by its count)."""
    counts = np.asarray(matrix, dtype=np.float64)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    pixels = np.kron(share, np.ones((cell, cell)))
    white, blue = np.array([1.0, 1.0, 1.0]), np.array([0.03, 0.19, 0.42])
    image = white[:, None, None] + (blue - white)[:, None, None] * pixels[None]
    return image.astype(np.float32)
