"""The functional API, under PyTorch's names: ``import shenjing.nn.functional as F``.

Stateless functions of tensors: activations, the fully connected layer, dropout and the
losses. Each is the op from ``shenjing.ops`` itself, so ``F.relu is sj.relu``; the layers
in ``shenjing.nn`` wrap these with parameters and state. One exception: ``F.pad`` takes
PyTorch's pad tuple (last dimension first) and modes, while ``sj.pad`` keeps NumPy's
(before, after) pairs.

Example:
    >>> import shenjing as sj
    >>> import shenjing.nn.functional as F
    >>> logits = sj.tensor([[2.0, 0.5, -1.0]], requires_grad=True)
    >>> loss = F.cross_entropy(logits, sj.tensor([0]))
    >>> loss.backward()
    >>> logits.grad.shape
    (1, 3)
"""

from shenjing.ops.activation import (
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    prelu,
    relu,
    sigmoid,
    softmax,
    softplus,
    step,
    tanh,
)
from shenjing.ops.activation_extra import (
    celu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    logsigmoid,
    mish,
    relu6,
    selu,
    silu,
    softmin,
    softshrink,
    softsign,
    tanhshrink,
)
from shenjing.ops.adaptive_max import adaptive_max_pool1d, adaptive_max_pool2d
from shenjing.ops.attention import scaled_dot_product_attention
from shenjing.ops.conv import conv1d, conv2d
from shenjing.ops.conv3d import avg_pool3d, conv3d, conv_transpose3d, max_pool3d
from shenjing.ops.conv_transpose import conv_transpose1d, conv_transpose2d
from shenjing.ops.dropout import dropout
from shenjing.ops.embedding import embedding, one_hot
from shenjing.ops.linalg import linear
from shenjing.ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    smooth_l1_loss,
)
from shenjing.ops.loss_class import cross_entropy, nll_loss
from shenjing.ops.norm_layers import group_norm, layer_norm, normalize
from shenjing.ops.normalization import batch_norm
from shenjing.ops.padding import pad
from shenjing.ops.pool import avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from shenjing.ops.resize import adaptive_avg_pool1d, adaptive_avg_pool2d, interpolate
from shenjing.ops.unpool import max_unpool1d, max_unpool2d

__all__ = [
    "avg_pool1d", "avg_pool2d", "conv1d", "conv2d", "max_pool1d", "max_pool2d",
    "batch_norm", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
    "dropout", "embedding",
    "elu", "gelu", "huber_loss", "l1_loss", "leaky_relu", "linear", "log_softmax",
    "mse_loss", "nll_loss", "prelu", "relu", "sigmoid", "softmax", "softplus", "step",
    "tanh",
    "celu", "hardshrink", "hardsigmoid", "hardswish", "hardtanh", "logsigmoid", "mish",
    "kl_div", "smooth_l1_loss", "relu6", "selu", "silu", "softmin", "softshrink",
    "softsign", "tanhshrink",
    "group_norm", "layer_norm", "normalize", "one_hot", "pad", "scaled_dot_product_attention",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "interpolate",
    "conv_transpose1d", "conv_transpose2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "max_unpool1d", "max_unpool2d", "conv3d", "conv_transpose3d", "max_pool3d", "avg_pool3d",
]
