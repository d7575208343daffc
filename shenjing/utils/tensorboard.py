"""``shenjing.utils.tensorboard.SummaryWriter``: PyTorch's ``torch.utils.tensorboard``
writer, taking shenjing tensors.

It is tensorboardX's ``SummaryWriter`` (the optional ``tensorboard`` extra), whose
signatures PyTorch's writer shares; each ``add_*`` call first turns shenjing tensors in
its arguments (and in ``add_scalars``' dict) into NumPy arrays, which tensorboardX reads.
``add_graph`` traces PyTorch modules only and raises here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing.tensor import Tensor

__all__ = ["SummaryWriter"]

try:
    from tensorboardX import SummaryWriter as _Writer
except ImportError as _err:  # an optional extra: fail where it is used, saying how to fix
    _import_error: ImportError | None = _err
    _Writer = object
else:
    _import_error = None


def _host(value: Any) -> Any:
    """A shenjing tensor as a NumPy array (or Python number when 0-d); else unchanged."""
    if isinstance(value, Tensor):
        array = np.asarray(value.detach().cpu().array)
        return array.item() if array.ndim == 0 else array
    if isinstance(value, dict):
        return {k: _host(v) for k, v in value.items()}
    return value


class SummaryWriter(_Writer):  # type: ignore[misc, valid-type]
    """Write TensorBoard event files under ``log_dir`` (``runs/<time>_<host>`` by default).

    Example:
        >>> import shenjing as sj
        >>> from shenjing.utils.tensorboard import SummaryWriter
        >>> writer = SummaryWriter("/tmp/sj-doc-runs")
        >>> writer.add_scalar("loss", sj.tensor(0.5), 0)
        >>> writer.close()
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if _import_error is not None:
            raise ImportError(
                "SummaryWriter needs the package 'tensorboardX': install the extra with "
                f"`pip install shenjing[tensorboard]`. Received: {_import_error}")
        super().__init__(*args, **kwargs)

    def __getattribute__(self, name: str) -> Any:
        attribute = super().__getattribute__(name)
        if name == "add_graph":
            raise NotImplementedError(
                "SummaryWriter.add_graph traces PyTorch modules only; print(model) or "
                "shenjing.training.TensorBoard(write_graph=True) show a shenjing model")
        if name.startswith("add_") and callable(attribute):
            def converted(*args: Any, **kwargs: Any) -> Any:
                return attribute(*(_host(a) for a in args),
                                 **{k: _host(v) for k, v in kwargs.items()})
            return converted
        return attribute
