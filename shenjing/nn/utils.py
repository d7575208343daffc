"""PyTorch's ``nn.utils`` namespace: ``nn.utils.clip_grad_norm_`` and
``nn.utils.clip_grad_value_``."""

from shenjing.nn.clip_grad import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_"]
