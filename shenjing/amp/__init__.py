"""Mixed precision: ``autocast`` (each op in PyTorch's dtype for it) and ``GradScaler``
(loss scaling for float16), as ``torch.amp``."""

from shenjing.amp import cuda_amp as _cuda_amp
from shenjing.amp.autocast_mode import (
    OP_TABLE,
    autocast,
    get_autocast_dtype,
    is_autocast_enabled,
)
from shenjing.amp.grad_scaler import GradScaler

_cuda_amp.register()  # shenjing.cuda.amp: PyTorch's older spelling

__all__ = ["GradScaler", "OP_TABLE", "autocast", "get_autocast_dtype", "is_autocast_enabled"]
