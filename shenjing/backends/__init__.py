"""``shenjing.backends``: the switches PyTorch programs set even on a CPU
(``cudnn.benchmark``, ``cudnn.deterministic``, ``mps.is_available()``), accepted as
settings. shenjing runs deterministically whatever they say; no cuDNN is used.

Example:
    >>> import shenjing as sj
    >>> sj.backends.cudnn.benchmark = True
    >>> sj.backends.mps.is_available()
    False
"""

from shenjing.backends import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
