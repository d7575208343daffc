"""Data: datasets and mini-batch loading, IDX files, and the built-in data sets.

Example:
    >>> import shenjing as sj
    >>> from shenjing.data import DataLoader, TensorDataset, load_fashion_mnist_small
    >>> (x_train, y_train), _ = load_fashion_mnist_small()
    >>> sj.manual_seed(0)
    >>> loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
    >>> x, y = next(iter(loader))
    >>> x.shape, y.dtype
    ((64, 1, 28, 28), dtype('int64'))
"""

from shenjing.data.collate import default_collate, default_convert
from shenjing.data.dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from shenjing.data.download import DownloadError, download_files
from shenjing.data.idx import read_idx, write_idx
from shenjing.data.loader import DataLoader
from shenjing.data.mnist import (
    CLASS_NAMES,
    MNIST_FILES,
    MNIST_MIRRORS,
    load_fashion_mnist,
    load_fashion_mnist_small,
    load_mnist,
)
from shenjing.data.registry import DATASET_NAMES, load_dataset
from shenjing.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from shenjing.data.toy import load_breast_cancer, load_digits, load_iris
from shenjing.data.worker import WorkerInfo, get_worker_info

__all__ = [
    "CLASS_NAMES",
    "DATASET_NAMES",
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "WorkerInfo",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "DownloadError",
    "MNIST_FILES",
    "MNIST_MIRRORS",
    "Subset",
    "TensorDataset",
    "download_files",
    "load_breast_cancer",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_fashion_mnist_small",
    "load_iris",
    "load_mnist",
    "random_split",
    "read_idx",
    "write_idx",
]
