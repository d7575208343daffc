"""Checks on the data given to ``fit``, ``evaluate`` and ``predict``, before any work:
bad data is named as such, not blamed later on the learning rate."""

from __future__ import annotations

from typing import Any

import numpy as np

VERBOSITIES = (0, 1, 2, "auto")


def nonfinite_report(name: str, array: np.ndarray) -> str | None:
    """"x contains 16 NaN values in 4 rows" (and the infinite ones), or None if all
    values are finite or the array is not floating point."""
    if array.dtype.kind not in "fc" or array.size == 0:
        return None
    rows = array.reshape(len(array), -1) if array.ndim else array.reshape(1, 1)
    nan, inf = np.isnan(rows), np.isinf(rows)
    parts = []
    for label, mask in (("NaN", nan), ("infinite", inf)):
        count = int(mask.sum())
        if count:
            in_rows = int(mask.any(axis=1).sum())
            parts.append(f"{count} {label} value{'s' * (count != 1)} in {in_rows} "
                         f"row{'s' * (in_rows != 1)}")
    return f"{name} contains {' and '.join(parts)}" if parts else None


def check_finite(caller: str, name: str, array: np.ndarray) -> None:
    """ValueError naming ``caller`` if ``array`` holds NaN or infinite values."""
    report = nonfinite_report(name, array)
    if report:
        raise ValueError(f"{caller}: {report}; clean or impute them before training")


def check_not_empty(caller: str, name: str, length: int) -> None:
    """ValueError naming ``caller`` when there are no samples to work on."""
    if length == 0:
        raise ValueError(f"{caller}: {name} has no samples. Received: 0 samples")


def check_batch_size(caller: str, batch_size: Any) -> None:
    """ValueError unless ``batch_size`` is a positive integer."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or (
            batch_size < 1):
        raise ValueError(f"{caller}: batch_size must be a positive integer. "
                         f"Received: {batch_size!r}")


def resolve_verbose(caller: str, verbose: Any) -> int:
    """Keras's verbosity: 0 silent, 1 progress bar, 2 one line per epoch; "auto" is 1
    (False and True count as 0 and 1)."""
    if verbose not in VERBOSITIES:
        raise ValueError(f"{caller}: verbose must be 0, 1, 2 or 'auto'. Received: {verbose!r}")
    return 1 if verbose == "auto" else int(verbose)


def value_range(x: Any) -> tuple[float, float] | None:
    """(min, max) of a floating-point array with values; None otherwise."""
    if getattr(x, "dtype", None) is None or x.dtype.kind != "f" or x.size == 0:
        return None
    return float(x.min()), float(x.max())


def _stacklevel_outside_shenjing() -> int:
    """The ``stacklevel`` that makes a warning point at the first caller outside shenjing."""
    import os
    import sys

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def warn_unscaled(caller: str, x: Any, trained: tuple[float, float] | None) -> None:
    """Warn when integer images (uint8 in 0-255) reach a model trained on data in [0, 1]
    (or [-1, 1]): the outputs, or the training, would be meaningless without dividing
    by 255 as the training data was."""
    if trained is None or getattr(x, "dtype", None) is None or x.dtype.kind not in "iu":
        return
    low, high = trained
    if not (low >= -1.0 and high <= 1.0) or x.size == 0:
        return
    top = int(x.max())
    if top <= 1:
        return
    import warnings

    warnings.warn(
        f"{caller}: x is {x.dtype} with values up to {top}, but the model was trained on "
        f"data in [{low:g}, {high:g}]; scale it as the training data was (x / 255.0 for "
        f"8-bit images), or the results may be meaningless",
        UserWarning, stacklevel=_stacklevel_outside_shenjing())
