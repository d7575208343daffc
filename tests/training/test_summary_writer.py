"""``shenjing.utils.tensorboard.SummaryWriter`` takes shenjing tensors; the values are
read back with TensorBoard's own reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import shenjing as sj

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator")


def test_summary_writer_writes_tensor_scalars_and_histograms(tmp_path: Path) -> None:
    from shenjing.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(tmp_path))
    losses = [sj.tensor(2.5), sj.tensor(1.25), 0.5]
    for step, loss in enumerate(losses):
        writer.add_scalar("train/loss", loss, step)
    writer.add_scalars("loss", {"train": sj.tensor(1.0), "val": sj.tensor(2.0)}, 0)
    writer.add_histogram("weights", sj.arange(10).float(), global_step=0)
    writer.flush()
    writer.close()
    reader = event_accumulator.EventAccumulator(str(tmp_path))
    reader.Reload()
    got = [(e.step, e.value) for e in reader.Scalars("train/loss")]
    assert got == [(0, 2.5), (1, 1.25), (2, 0.5)]
    histogram = reader.Histograms("weights")[0].histogram_value
    assert (histogram.num, histogram.sum, histogram.max) == (10, 45.0, 9.0)
    series = {p.name for p in tmp_path.rglob("*") if p.is_dir()}
    assert any("val" in name for name in series)  # add_scalars: a writer per series
    with pytest.raises(NotImplementedError, match="add_graph"):
        writer.add_graph(sj.nn.Linear(2, 2), sj.ones(1, 2))
    assert np.isfinite(got[0][1])
