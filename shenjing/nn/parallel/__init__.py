"""``nn.parallel``: ``DataParallel`` and ``data_parallel`` on one device, so PyTorch
programs that wrap their model run unchanged. Several processes: ``shenjing.distributed``,
whose ``DistributedDataParallel`` is registered here too when ``shenjing`` is imported
(``from shenjing.nn.parallel import DistributedDataParallel``, as in PyTorch).
"""

from shenjing.nn.parallel.data_parallel import DataParallel, data_parallel

__all__ = ["DataParallel", "data_parallel"]
