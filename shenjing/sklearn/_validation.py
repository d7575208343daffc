"""scikit-learn's input validation across its versions (``validate_data`` is 1.6+)."""

from __future__ import annotations

from typing import Any

try:
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # scikit-learn < 1.6: the same check is a BaseEstimator method
    _validate_data = None


def validate_data(estimator: Any, X: Any, y: Any = "no_validation", **kwargs: Any) -> Any:
    """Check X (and y) as scikit-learn does, setting or checking ``n_features_in_``:
    NaN, infinity, complex numbers, empty or 1-D X are refused with scikit-learn's
    messages."""
    if _validate_data is not None:
        return _validate_data(estimator, X, y, **kwargs)
    return estimator._validate_data(X, y, **kwargs)
