"""Keras fit, evaluate and predict under mpiexec. Usage: mpiexec -n N python fit.py DIR.

Every rank prints a line with its results (the test compares them); only rank 0 may
show progress or write the CSV log and the checkpoint into DIR.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import shenjing as sj
import shenjing.distributed as dist
import shenjing.nn as nn
from shenjing.training.callbacks import CSVLogger, ModelCheckpoint


def main() -> None:
    out = Path(sys.argv[1])
    rank = dist.rank()
    sj.manual_seed(rank)  # fit must still start every rank from rank 0's weights
    rng = np.random.default_rng(0)
    x = rng.standard_normal((203, 8)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.BatchNorm1d(16), nn.Linear(16, 2))
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    history = model.fit(
        x, y, epochs=3, batch_size=16, validation_data=(x[:50], y[:50]), verbose=1,
        callbacks=[CSVLogger(out / f"log-{rank}.csv"),
                   ModelCheckpoint(out / f"ckpt-{rank}.safetensors", monitor="val_loss")],
    )
    scores = model.evaluate(x, y)
    predictions = model.predict(x)
    weights = np.concatenate([np.asarray(v).ravel() for v in model.state_dict().values()])
    print(
        f"RESULT rank={rank} loss={history.history['loss'][-1]:.9f} "
        f"val_loss={history.history['val_loss'][-1]:.9f} eval={scores['loss']:.9f} "
        f"acc={scores['accuracy']:.6f} predictions={len(predictions)}:{int(predictions.sum())} "
        f"weights={float(np.abs(weights).sum()):.6f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
