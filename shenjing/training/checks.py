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
