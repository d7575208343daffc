"""MNIST and Fashion-MNIST: 28x28 grey-level images in ten classes, stored as IDX files.

Every loader returns ``(x_train, y_train), (x_test, y_test)`` as NumPy arrays: images
float32 in [0, 1] of shape (N, 1, 28, 28) (NCHW, ready for ``nn.Conv2d``), or (N, 784)
with ``flatten=True``; labels int64 in 0..9.

Where the files come from:

- ``load_fashion_mnist_small()``: a stratified 12,000-image subset of Fashion-MNIST that
  ships with shenjing (``shenjing/data/bundled``, made by
  ``scripts/make_bundled_subset.py``); always available.
- ``load_fashion_mnist(root)``: a local folder (``root``, else ``$SHENJING_DATA``, else
  the Debian package's ``/usr/share/datasets/fashion-mnist``).
- ``load_mnist(root)``: a local folder, else a download from ``MNIST_MIRRORS`` into a
  cache, checked against ``MNIST_FILES``' checksums.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from shenjing.data.download import download_files
from shenjing.data.idx import read_idx

__all__ = [
    "CLASS_NAMES",
    "MNIST_FILES",
    "MNIST_MIRRORS",
    "load_fashion_mnist",
    "load_fashion_mnist_small",
    "load_mnist",
]

Arrays = tuple[np.ndarray, np.ndarray]

CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
"""Fashion-MNIST's label names: ``CLASS_NAMES[label]``."""

# The standard file names, shared by MNIST and Fashion-MNIST (each may end in ".gz").
FILE_STEMS: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

DATA_ENV = "SHENJING_DATA"
"""Environment variable naming a folder of datasets (each possibly in its own subfolder)."""

FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's ``dataset-fashion-mnist`` package installs the files."""

MNIST_MIRRORS: list[str] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]
"""Base URLs tried in order by ``load_mnist``; replace to use another mirror."""

MNIST_FILES: list[dict[str, str]] = [
    {
        "name": "train-images-idx3-ubyte.gz",
        "sha256": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "md5": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    },
    {
        "name": "train-labels-idx1-ubyte.gz",
        "sha256": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "md5": "d53e105ee54ea40749a09fcbcd1e9432",
    },
    {
        "name": "t10k-images-idx3-ubyte.gz",
        "sha256": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "md5": "9fb629c4189551a2d022fa330f9573f3",
    },
    {
        "name": "t10k-labels-idx1-ubyte.gz",
        "sha256": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        "md5": "ec29112dd5afa0611ce80d1b7f02629c",
    },
]
"""The four MNIST files with their published digests (SHA-256 as listed by TensorFlow
Datasets, MD5 as listed by torchvision); both are checked."""


def _find_files(folder: Path) -> dict[str, Path] | None:
    """The four standard files in ``folder`` (gzipped or not), or None if any is missing."""
    found = {}
    for key, stem in FILE_STEMS.items():
        for name in (stem + ".gz", stem):
            if (folder / name).is_file():
                found[key] = folder / name
                break
        else:
            return None
    return found


def _images(raw: np.ndarray, flatten: bool) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 in [0, 1], (N, 1, 28, 28) or (N, 784)."""
    images = raw.astype(np.float32)
    images /= 255.0
    return images.reshape(len(raw), -1) if flatten else images[:, None]


def _read_split(images_path: Path, labels_path: Path, flatten: bool) -> Arrays:
    """Read one split's images and labels, checking that they belong together."""
    raw_images, raw_labels = read_idx(images_path), read_idx(labels_path)
    if raw_images.dtype != np.uint8 or raw_images.ndim != 3:
        raise ValueError(
            f"{images_path}: expected uint8 images of shape (N, rows, cols). Received: "
            f"dtype={raw_images.dtype}, shape={raw_images.shape}"
        )
    if raw_labels.dtype != np.uint8 or raw_labels.shape != raw_images.shape[:1]:
        raise ValueError(
            f"{labels_path}: expected {len(raw_images)} uint8 labels to match "
            f"{images_path.name}. Received: dtype={raw_labels.dtype}, shape={raw_labels.shape}"
        )
    return _images(raw_images, flatten), raw_labels.astype(np.int64)


def _read_folder(files: dict[str, Path], flatten: bool) -> tuple[Arrays, Arrays]:
    train = _read_split(files["train_images"], files["train_labels"], flatten)
    test = _read_split(files["test_images"], files["test_labels"], flatten)
    return train, test


def _candidates(root: str | os.PathLike[str] | None, subfolder: str) -> list[Path]:
    """Folders to search: ``root`` (or ``$SHENJING_DATA``), its ``subfolder`` first."""
    base = root if root is not None else os.environ.get(DATA_ENV)
    if not base:
        return []
    base = Path(base).expanduser()
    return [base / subfolder, base]


def _search(folders: Sequence[Path]) -> dict[str, Path] | None:
    for folder in folders:
        files = _find_files(folder)
        if files is not None:
            return files
    return None


def _looked_in(folders: Sequence[Path]) -> str:
    names = " ".join(f"{stem}[.gz]" for stem in FILE_STEMS.values())
    places = "\n".join(f"  {folder}" for folder in folders) or "  (nowhere: no folder given)"
    return f"Looked for {names} in:\n{places}"


def load_fashion_mnist(
    root: str | os.PathLike[str] | None = None, flatten: bool = False
) -> tuple[Arrays, Arrays]:
    """Fashion-MNIST (Zalando, 2017): 60,000 training and 10,000 test images of clothes.

    The four standard IDX files (``train-images-idx3-ubyte.gz`` etc., gzipped or not)
    are read from the first folder that holds them all: ``root`` or its
    ``fashion-mnist`` subfolder; or, without ``root``, ``$SHENJING_DATA`` (or its
    ``fashion-mnist`` subfolder), then ``/usr/share/datasets/fashion-mnist``.

    Args:
        root: a folder holding the files.
        flatten: give images as (N, 784) rows instead of (N, 1, 28, 28).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: images float32 in [0, 1], labels
        int64 (names in ``CLASS_NAMES``).

    Raises:
        FileNotFoundError: no folder holds the files; the message lists where it looked
            and how to get them.
    """
    folders = _candidates(root, "fashion-mnist")
    if root is None:
        folders.append(FASHION_MNIST_SYSTEM_DIR)
    files = _search(folders)
    if files is None:
        raise FileNotFoundError(
            f"load_fashion_mnist: Fashion-MNIST not found. {_looked_in(folders)}\n"
            f"Get it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or "
            f"download the four files from https://github.com/zalandoresearch/fashion-mnist "
            f"into a folder and pass root= or set ${DATA_ENV}. The 12,000-image subset "
            f"bundled with shenjing needs no download: load_fashion_mnist_small()."
        )
    return _read_folder(files, flatten)


def load_fashion_mnist_small(flatten: bool = False) -> tuple[Arrays, Arrays]:
    """The Fashion-MNIST subset that ships with shenjing: 10,000 training images
    (1,000 per class) and 2,000 test images (200 per class), drawn with a fixed seed
    from the full training and test sets.

    Same format as ``load_fashion_mnist``; the licence (MIT, Zalando SE) and how the
    subset was made are in ``shenjing/data/bundled``.
    """
    bundled = importlib.resources.files("shenjing.data") / "bundled"
    with contextlib.ExitStack() as stack:
        # as_file gives real paths even when the package is installed as a zip.
        files = {
            key: stack.enter_context(importlib.resources.as_file(bundled / f"{stem}.gz"))
            for key, stem in FILE_STEMS.items()
        }
        return _read_folder(files, flatten)


def load_mnist(
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    flatten: bool = False,
) -> tuple[Arrays, Arrays]:
    """MNIST (LeCun, Cortes and Burges): 60,000 training and 10,000 test handwritten digits.

    Looks first in a local folder: ``root`` or its ``mnist`` subfolder, or, without
    ``root``, ``$SHENJING_DATA`` or its ``mnist`` subfolder. Otherwise the files come
    from the cache folder: ``cache_dir``, else ``$SHENJING_DATA/mnist``, else
    ``~/.cache/shenjing/mnist``. With ``download=True`` missing or corrupt cache files
    are fetched from ``MNIST_MIRRORS`` (tried in order) and checked against the digests
    in ``MNIST_FILES``; a file is only renamed into the cache once its digests match.

    Args:
        root: a folder holding the four standard IDX files (gzipped or not).
        download: fetch missing files into the cache.
        cache_dir: where downloads go.
        flatten: give images as (N, 784) rows instead of (N, 1, 28, 28).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: images float32 in [0, 1], labels int64.

    Raises:
        FileNotFoundError: the files are nowhere and ``download=False``.
        DownloadError: no mirror delivered a file with the right checksum.
    """
    folders = _candidates(root, "mnist")
    files = _search(folders)
    if files is not None:
        return _read_folder(files, flatten)
    if cache_dir is None:
        env = os.environ.get(DATA_ENV)
        cache_dir = Path(env) / "mnist" if env else Path("~/.cache/shenjing/mnist")
    cache = Path(cache_dir).expanduser()
    if download:
        download_files(MNIST_FILES, MNIST_MIRRORS, cache)
    files = _find_files(cache)
    if files is None:
        raise FileNotFoundError(
            f"load_mnist: MNIST not found. {_looked_in([*folders, cache])}\n"
            f"Call load_mnist(download=True) to fetch it, or put the four files in a "
            f"folder and pass root= or set ${DATA_ENV}."
        )
    return _read_folder(files, flatten)
