"""scikit-learn's small bundled data sets (digits, breast cancer, iris) as float32/int64.

scikit-learn is an optional dependency (``pip install shenjing[full]``); it is imported
only when one of these functions is called.
"""

from __future__ import annotations

import numpy as np

__all__ = ["load_breast_cancer", "load_digits", "load_iris"]


def _load(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Call scikit-learn's loader of the same ``name``; features float32, labels int64."""
    try:
        import sklearn.datasets
    except ImportError as err:
        raise ImportError(
            f"{name} needs scikit-learn, which is not installed: pip install shenjing[full]"
        ) from err
    bunch = getattr(sklearn.datasets, name)()
    return bunch.data.astype(np.float32), bunch.target.astype(np.int64)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The UCI handwritten digits: 1,797 images of 8x8 pixels, ten classes.

    Returns:
        ``(X, y)``: ``X`` float32 of shape (1797, 64) with pixel values 0..16 as in
        scikit-learn (divide by 16 for [0, 1]); ``y`` int64 digits 0..9.
    """
    return _load("load_digits")


def load_breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    """The Wisconsin diagnostic breast cancer set: 569 samples, 30 features, two classes.

    Returns:
        ``(X, y)``: ``X`` float32 of shape (569, 30), unscaled (the features span very
        different ranges, so standardise them before training); ``y`` int64, 0 malignant
        and 1 benign.
    """
    return _load("load_breast_cancer")


def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """Fisher's iris flowers: 150 samples, 4 features (cm), three species.

    Returns:
        ``(X, y)``: ``X`` float32 of shape (150, 4); ``y`` int64 in 0..2.
    """
    return _load("load_iris")
