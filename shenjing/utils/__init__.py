"""``shenjing.utils``: where PyTorch programs look for ``utils.data`` (and for
``utils.tensorboard``, imported on use as in PyTorch)."""

from shenjing.utils import data

__all__ = ["data"]
