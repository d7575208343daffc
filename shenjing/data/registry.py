"""``load_dataset(name)``: every built-in data set by name, as train and test arrays."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from shenjing.data import mnist, toy

__all__ = ["DATASET_NAMES", "load_dataset", "stratified_split"]

Arrays = tuple[np.ndarray, np.ndarray]
Root = str | os.PathLike[str] | None

SPLIT_SEED = 0
"""Seed of the fixed train/test split of the scikit-learn sets."""


def stratified_split(
    labels: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a train/test split that keeps each class's share in both parts.

    Each class with ``n`` samples gives ``round(test_fraction * n)`` of them, chosen at
    random with its own generator seeded by ``seed`` (so the split does not depend on
    ``sj.manual_seed``), to the test part. Both index arrays are sorted.

    Example:
        >>> import numpy as np
        >>> train, test = stratified_split(np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1]), 0.5, 0)
        >>> len(train), len(test)
        (5, 5)
    """
    if not 0 < test_fraction < 1:
        raise ValueError(
            f"stratified_split: test_fraction must lie in (0, 1). Received: {test_fraction}"
        )
    rng = np.random.default_rng(seed)
    test_parts = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        test_parts.append(rng.choice(members, round(test_fraction * len(members)), False))
    is_test = np.zeros(len(labels), dtype=bool)
    is_test[np.concatenate(test_parts)] = True
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def _split_toy(load: Callable[[], Arrays]) -> Callable[[Root], tuple[Arrays, Arrays]]:
    """Wrap a scikit-learn loader into a fixed stratified 80/20 train/test split."""

    def loader(root: Root) -> tuple[Arrays, Arrays]:
        x, y = load()
        train, test = stratified_split(y, 0.2, SPLIT_SEED)
        return (x[train], y[train]), (x[test], y[test])

    return loader


_LOADERS: dict[str, Callable[[Root], tuple[Arrays, Arrays]]] = {
    "fashion-mnist-small": lambda root: mnist.load_fashion_mnist_small(),
    "fashion-mnist": lambda root: mnist.load_fashion_mnist(root),
    "mnist": lambda root: mnist.load_mnist(root),
    "digits": _split_toy(toy.load_digits),
    "breast-cancer": _split_toy(toy.load_breast_cancer),
    "iris": _split_toy(toy.load_iris),
}

DATASET_NAMES: tuple[str, ...] = tuple(_LOADERS)
"""The names ``load_dataset`` knows; the first is the default, bundled with shenjing."""


def load_dataset(
    name: str = "fashion-mnist-small", root: Root = None
) -> tuple[Arrays, Arrays]:
    """Load a built-in data set by name as ``(x_train, y_train), (x_test, y_test)``.

    Names: ``"fashion-mnist-small"`` (the default; ships with shenjing),
    ``"fashion-mnist"``, ``"mnist"`` (images float32 in [0, 1], NCHW), and scikit-learn's
    ``"digits"``, ``"breast-cancer"``, ``"iris"`` (features float32, split 80/20 per
    class with a fixed seed). Labels are int64. ``root`` is the folder of the files for
    ``"fashion-mnist"`` and ``"mnist"``; the other sets need none and ignore it.

    Raises:
        ValueError: an unknown name; the message lists the known ones.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_dataset("fashion-mnist-small")
        >>> x_train.shape, x_test.shape
        ((10000, 1, 28, 28), (2000, 1, 28, 28))
    """
    if name not in _LOADERS:
        raise ValueError(
            f"load_dataset: unknown data set {name!r}. Known: {', '.join(DATASET_NAMES)}"
        )
    return _LOADERS[name](root)
