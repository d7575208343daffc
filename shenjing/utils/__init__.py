"""``shenjing.utils``: where PyTorch programs look for ``utils.data``."""

from shenjing.utils import data

__all__ = ["data"]
