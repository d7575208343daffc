"""``shenjing.utils.data`` is ``shenjing.data`` under PyTorch's path, so that
``from torch.utils.data import DataLoader`` becomes ``from shenjing.utils.data import
DataLoader`` with nothing else changed."""

from shenjing.data import *  # noqa: F403
from shenjing.data import __all__  # noqa: F401
