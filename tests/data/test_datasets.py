"""The built-in data sets: the bundled Fashion-MNIST subset, local Fashion-MNIST,
scikit-learn's sets, and the load_dataset registry."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from shenjing.data import (
    CLASS_NAMES,
    DATASET_NAMES,
    load_breast_cancer,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_fashion_mnist_small,
    load_iris,
    mnist,
    read_idx,
    write_idx,
)
from shenjing.data.registry import stratified_split

SYSTEM_FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_system_fashion = pytest.mark.skipif(
    not SYSTEM_FASHION.is_dir(),
    reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)",
)


# ------------------------------------------------------------------ bundled subset
def test_bundled_subset_shapes_types_and_range() -> None:
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist_small()
    assert x_train.shape == (10_000, 1, 28, 28) and x_test.shape == (2_000, 1, 28, 28)
    assert x_train.dtype == x_test.dtype == np.float32
    assert y_train.dtype == y_test.dtype == np.int64
    for x in (x_train, x_test):
        assert x.min() == 0.0 and x.max() == 1.0


def test_bundled_subset_is_stratified() -> None:
    (_, y_train), (_, y_test) = load_fashion_mnist_small()
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10), [1_000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10), [200] * 10)


def test_bundled_subset_flattens() -> None:
    (x_flat, _), _ = load_fashion_mnist_small(flatten=True)
    (x_nchw, _), _ = load_fashion_mnist_small()
    assert x_flat.shape == (10_000, 784)
    np.testing.assert_array_equal(x_flat, x_nchw.reshape(10_000, 784))


def test_bundled_folder_carries_licence_and_readme() -> None:
    bundled = Path(mnist.__file__).parent / "bundled"
    licence = (bundled / "LICENSE-fashion-mnist.txt").read_text(encoding="utf-8")
    assert "Zalando SE" in licence and "Permission is hereby granted" in licence
    assert "make_bundled_subset.py" in (bundled / "README.txt").read_text(encoding="utf-8")


@needs_system_fashion
def test_bundled_images_come_from_fashion_mnist_with_their_labels() -> None:
    full_images = read_idx(SYSTEM_FASHION / "t10k-images-idx3-ubyte.gz")
    full_labels = read_idx(SYSTEM_FASHION / "t10k-labels-idx1-ubyte.gz")
    labels_of: dict[bytes, set[int]] = {}
    for image, label in zip(full_images, full_labels, strict=True):
        labels_of.setdefault(image.tobytes(), set()).add(int(label))
    _, (x_test, y_test) = load_fashion_mnist_small()
    pixels = np.rint(x_test[:, 0] * 255).astype(np.uint8)
    for image, label in zip(pixels, y_test, strict=True):
        assert int(label) in labels_of[image.tobytes()]


# ------------------------------------------------------------- full Fashion-MNIST
@needs_system_fashion
def test_system_fashion_mnist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHENJING_DATA", raising=False)
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    assert x_train.shape == (60_000, 1, 28, 28) and x_test.shape == (10_000, 1, 28, 28)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    np.testing.assert_array_equal(np.bincount(y_train), [6_000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1_000] * 10)


def _write_fashion_like(folder: Path, compress: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 6, dtype=np.uint8)
    folder.mkdir(parents=True)
    suffix = ".gz" if compress else ""
    for split in ("train", "t10k"):
        write_idx(folder / f"{split}-images-idx3-ubyte{suffix}", images, compress=compress)
        write_idx(folder / f"{split}-labels-idx1-ubyte{suffix}", labels, compress=compress)
    return images, labels


@pytest.mark.parametrize("compress", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("subfolder", ["", "fashion-mnist"], ids=["flat", "subfolder"])
@pytest.mark.parametrize("via", ["root", "env"])
def test_fashion_mnist_from_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compress: bool, subfolder: str, via: str
) -> None:
    images, labels = _write_fashion_like(tmp_path / "data" / subfolder, compress)
    if via == "env":
        monkeypatch.setenv("SHENJING_DATA", str(tmp_path / "data"))
        root = None
    else:
        monkeypatch.delenv("SHENJING_DATA", raising=False)
        root = tmp_path / "data"
    (x_train, y_train), (x_test, _) = load_fashion_mnist(root, flatten=True)
    assert x_train.shape == (6, 784)
    np.testing.assert_allclose(x_train, images.reshape(6, 784) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_train, labels)


def test_missing_fashion_mnist_says_where_it_looked_and_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHENJING_DATA", str(tmp_path / "env"))
    monkeypatch.setattr(mnist, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "system")
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist()
    message = str(info.value)
    for place in (tmp_path / "env", tmp_path / "env" / "fashion-mnist", tmp_path / "system"):
        assert str(place) in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "load_fashion_mnist_small()" in message


def test_labels_that_do_not_match_the_images_are_reported(tmp_path: Path) -> None:
    _write_fashion_like(tmp_path / "data", compress=True)
    write_idx(tmp_path / "data" / "t10k-labels-idx1-ubyte.gz", np.zeros(5, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"t10k-labels.*expected 6 uint8 labels.*shape=\(5,\)"):
        load_fashion_mnist(tmp_path / "data")


def test_class_names() -> None:
    assert len(CLASS_NAMES) == 10
    assert CLASS_NAMES[0] == "T-shirt/top" and CLASS_NAMES[9] == "Ankle boot"


# ---------------------------------------------------------------- scikit-learn sets
@pytest.mark.parametrize(
    ("ours", "name"),
    [(load_digits, "load_digits"), (load_breast_cancer, "load_breast_cancer"),
     (load_iris, "load_iris")],
    ids=["digits", "breast-cancer", "iris"],
)
def test_sklearn_sets_match_sklearn(ours: object, name: str) -> None:
    datasets = pytest.importorskip("sklearn.datasets")
    reference = getattr(datasets, name)()
    x, y = ours()  # type: ignore[operator]
    assert x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(x, reference.data, rtol=1e-6)
    np.testing.assert_array_equal(y, reference.target)


def test_missing_sklearn_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"load_iris needs scikit-learn.*pip install shenjing\[full\]"):
        load_iris()


# ----------------------------------------------------------------------- registry
@pytest.mark.parametrize("name", ["digits", "breast-cancer", "iris"])
def test_sklearn_sets_split_80_20_per_class(name: str) -> None:
    pytest.importorskip("sklearn")
    (x_train, y_train), (x_test, y_test) = load_dataset(name)
    full_x, full_y = {"digits": load_digits, "breast-cancer": load_breast_cancer,
                      "iris": load_iris}[name]()
    assert len(x_train) + len(x_test) == len(full_x)
    for label, count in enumerate(np.bincount(full_y)):
        assert np.sum(y_test == label) == round(0.2 * count)
        assert np.sum(y_train == label) == count - round(0.2 * count)
    # Together the two parts hold every row of the set.
    rows = np.concatenate([x_train, x_test])
    np.testing.assert_array_equal(np.unique(rows, axis=0), np.unique(full_x, axis=0))
    (x_again, _), _ = load_dataset(name)
    np.testing.assert_array_equal(x_train, x_again)


def test_load_dataset_default_is_the_bundled_subset() -> None:
    (x_train, _), (x_test, _) = load_dataset()
    assert DATASET_NAMES[0] == "fashion-mnist-small"
    assert x_train.shape == (10_000, 1, 28, 28) and x_test.shape == (2_000, 1, 28, 28)


def test_load_dataset_passes_root_on(tmp_path: Path) -> None:
    images, _ = _write_fashion_like(tmp_path / "data", compress=False)
    (x_train, _), _ = load_dataset("fashion-mnist", root=tmp_path / "data")
    np.testing.assert_allclose(x_train[:, 0], images / 255.0, rtol=1e-6)


def test_unknown_dataset_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown data set 'cifar10'") as info:
        load_dataset("cifar10")
    for name in ("fashion-mnist-small", "fashion-mnist", "mnist", "digits", "breast-cancer",
                 "iris"):
        assert name in str(info.value)


def test_stratified_split_keeps_class_shares() -> None:
    labels = np.repeat([0, 1, 2], [10, 20, 5])
    train, test = stratified_split(labels, 0.2, seed=0)
    np.testing.assert_array_equal(np.bincount(labels[test]), [2, 4, 1])
    assert np.intersect1d(train, test).size == 0
    np.testing.assert_array_equal(np.union1d(train, test), np.arange(35))
    with pytest.raises(ValueError, match="test_fraction"):
        stratified_split(labels, 1.0, seed=0)
