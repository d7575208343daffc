"""Build the Fashion-MNIST subset that ships with shenjing (``shenjing/data/bundled``).

From the full Fashion-MNIST (60,000 training and 10,000 test images) it draws, with a
fixed seed, the same number of images from every class: 1,000 per class from the
training set and 200 per class from the test set. The chosen images keep their original
order. It writes them as gzipped IDX files under the standard names, with the data set's
licence and a README saying how they were made. Running it twice gives identical files.

Usage:
    python scripts/make_bundled_subset.py [--source DIR] [--out DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from shenjing.data.idx import read_idx, write_idx
from shenjing.data.mnist import FASHION_MNIST_SYSTEM_DIR, FILE_STEMS

REPO = Path(__file__).resolve().parents[1]

LICENSE = """\
Fashion-MNIST

The MIT License (MIT)

Copyright (c) 2017 Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a
copy of this software and associated documentation files (the "Software"),
to deal in the Software without restriction, including without limitation
the rights to use, copy, modify, merge, publish, distribute, sublicense,
and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included
in all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS
OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.
IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY
CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT,
TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE
SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""

README = """\
A stratified subset of Fashion-MNIST, bundled with shenjing so that examples and tests
run without a download.

  train-images-idx3-ubyte.gz  {n_train} images, 28x28 uint8 ({train_per_class} per class)
  train-labels-idx1-ubyte.gz  their labels, 0..9
  t10k-images-idx3-ubyte.gz   {n_test} images, 28x28 uint8 ({test_per_class} per class)
  t10k-labels-idx1-ubyte.gz   their labels, 0..9

Load it with shenjing.data.load_fashion_mnist_small() (float32 images in [0, 1]).

How it was made: scripts/make_bundled_subset.py read the full Fashion-MNIST (Zalando
Research, https://github.com/zalandoresearch/fashion-mnist; here Debian's
dataset-fashion-mnist package), and for each of the ten classes drew {train_per_class}
training and {test_per_class} test images without replacement, using
numpy.random.default_rng({seed}). The chosen images keep their original order.
SHA-256 of the source files:
{source_digests}
Fashion-MNIST is (c) 2017 Zalando SE under the MIT licence: LICENSE-fashion-mnist.txt.
"""


def balanced_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """``per_class`` indices of each class, drawn without replacement, in ascending order."""
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < per_class:
            raise ValueError(
                f"class {label} has {len(members)} samples, fewer than {per_class} asked for"
            )
        chosen.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def source_file(folder: Path, stem: str) -> Path:
    """``stem.gz`` or ``stem`` in ``folder``."""
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(
        f"{stem}[.gz] not found in {folder}; install it with "
        f"`sudo apt-get install dataset-fashion-mnist` or pass --source"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=FASHION_MNIST_SYSTEM_DIR,
                        help="folder holding the full Fashion-MNIST IDX files")
    parser.add_argument("--out", type=Path, default=REPO / "shenjing" / "data" / "bundled",
                        help="folder to write the subset into")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-per-class", type=int, default=1000)
    parser.add_argument("--test-per-class", type=int, default=200)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    digests, kept = [], {}
    for split, per_class in (("train", args.train_per_class), ("test", args.test_per_class)):
        images_stem, labels_stem = FILE_STEMS[f"{split}_images"], FILE_STEMS[f"{split}_labels"]
        images_path = source_file(args.source, images_stem)
        labels_path = source_file(args.source, labels_stem)
        images, labels = read_idx(images_path), read_idx(labels_path)
        keep = balanced_indices(labels, per_class, rng)
        write_idx(args.out / f"{images_stem}.gz", images[keep])
        write_idx(args.out / f"{labels_stem}.gz", labels[keep])
        for path in (images_path, labels_path):
            digests.append(f"  {path.name}  {hashlib.sha256(path.read_bytes()).hexdigest()}")
        kept[split] = len(keep)
        print(f"{split}: kept {len(keep)} of {len(labels)} images")

    (args.out / "LICENSE-fashion-mnist.txt").write_text(LICENSE, encoding="utf-8")
    readme = README.format(
        n_train=kept["train"], n_test=kept["test"],
        train_per_class=args.train_per_class, test_per_class=args.test_per_class,
        seed=args.seed, source_digests="\n".join(digests),
    )
    (args.out / "README.txt").write_text(readme, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
