"""PyTorch's ``nn.utils`` namespace: ``nn.utils.clip_grad_norm_`` and
``nn.utils.clip_grad_value_``, and ``nn.utils.rnn.pad_sequence``."""

from shenjing.nn.clip_grad import clip_grad_norm_, clip_grad_value_
from shenjing.nn.utils import rnn

__all__ = ["clip_grad_norm_", "clip_grad_value_", "rnn"]
