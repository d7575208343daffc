"""scikit-learn estimators around shenjing networks (needs scikit-learn:
``pip install 'shenjing[full]'``).

Example:
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn.datasets import load_iris
    >>> from shenjing.sklearn import NeuralNetClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NeuralNetClassifier(hidden_layer_sizes=(16,), lr=0.01, epochs=30, random_state=0)
    >>> bool(cross_val_score(clf, X, y, cv=3).mean() > 0.8)
    True
"""

try:
    import sklearn
except ImportError as err:  # an optional extra
    raise ImportError("shenjing.sklearn needs scikit-learn, which is not installed: "
                      "pip install 'shenjing[full]' (or pip install scikit-learn)") from err

from shenjing.sklearn.estimators import NeuralNetClassifier, NeuralNetRegressor

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor"]
