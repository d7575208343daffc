"""The Transformer of Vaswani et al. (2017) as PyTorch builds it: ``TransformerEncoderLayer``,
``TransformerEncoder``, ``TransformerDecoderLayer``, ``TransformerDecoder`` and
``Transformer``, on ``MultiheadAttention`` and ``LayerNorm``.

Arguments, defaults, submodule names (``self_attn``, ``multihead_attn``, ``linear1``,
``linear2``, ``norm1``..``norm3``, ``layers.0``, ...) and so the state-dict keys are
PyTorch's, so a trained model moves between the libraries. Masks follow PyTorch: a
boolean mask marks *blocked* positions with True, a float mask is added to the scores
(``generate_square_subsequent_mask`` makes the causal one). ``is_causal`` is, as there,
only a hint that the given mask is causal; it never replaces the mask.

One difference: PyTorch's inference fast path (eval mode, no gradient, a key padding
mask, ``enable_nested_tensor=True``) returns 0 at padded positions; shenjing computes
those positions like any other. Non-padded positions agree.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import shenjing.nn.functional as F
from shenjing import creation
from shenjing.nn import init
from shenjing.nn.layers._factory import apply_factory_kwargs
from shenjing.nn.layers.attention import MultiheadAttention
from shenjing.nn.layers.container import ModuleList
from shenjing.nn.layers.dropout import Dropout
from shenjing.nn.layers.linear import Linear
from shenjing.nn.layers.norm import LayerNorm
from shenjing.nn.module import Module
from shenjing.ops.triangle import triu
from shenjing.tensor import Tensor

__all__ = [
    "Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
    "TransformerEncoderLayer",
]

Activation = str | Callable[[Tensor], Tensor]


def _activation(layer: str, activation: Activation) -> Callable[[Tensor], Tensor]:
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    if callable(activation):
        return activation
    raise ValueError(f"{layer}: activation must be 'relu', 'gelu' or a callable. Received: "
                     f"{activation!r}")


def _check_width(layer: str, d_model: int, nhead: int) -> None:
    if not isinstance(d_model, int) or not isinstance(nhead, int) or nhead < 1 \
            or d_model % nhead:
        raise ValueError(f"{layer}: d_model must be divisible by nhead. Received: "
                         f"d_model={d_model}, nhead={nhead}")


class _FeedForwardBlock(Module):
    """What the encoder and decoder layers share: the position-wise feed-forward block
    linear2(dropout(activation(linear1(x)))) and its settings, and the children both
    register (``_build``), in PyTorch's order."""

    norm_first: bool

    def _build(self, owner: str, attentions: tuple[str, ...], d_model: int, nhead: int,
               dim_feedforward: int, dropout: float, activation: Activation,
               layer_norm_eps: float, batch_first: bool, norm_first: bool,
               bias: bool) -> None:
        """Register the children in PyTorch's order (which is the state dict's): the
        attentions, the feed-forward block, then one norm and one dropout per sublayer."""
        _check_width(owner, d_model, nhead)
        for name in attentions:
            setattr(self, name, MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                   batch_first=batch_first))
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        sublayers = len(attentions) + 1
        for k in range(1, sublayers + 1):
            setattr(self, f"norm{k}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias))
        for k in range(1, sublayers + 1):
            setattr(self, f"dropout{k}", Dropout(dropout))
        self.activation = _activation(owner, activation)

    def _feed_forward(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def _attend(self, attn: MultiheadAttention, dropout: Dropout, x: Tensor, source: Tensor,
                mask: Any, padding: Any, is_causal: bool) -> Tensor:
        out = attn(x, source, source, attn_mask=mask, key_padding_mask=padding,
                   need_weights=False, is_causal=is_causal)[0]
        return dropout(out)


class TransformerEncoderLayer(_FeedForwardBlock):
    """Self-attention then a feed-forward block, each with a residual connection and
    LayerNorm (after the sum, or before the block with ``norm_first=True``).

    Args:
        d_model: the model width E; nhead: attention heads (dividing E).
        dim_feedforward: the feed-forward block's hidden width (2048).
        dropout: on the attention weights, after each block and inside the feed-forward.
        activation: 'relu' (default), 'gelu' or a callable.
        layer_norm_eps: LayerNorm's ε. batch_first: (N, S, E) instead of (S, N, E).
        norm_first: pre-norm (x + block(norm(x))) instead of post-norm.
        bias: learn the biases of the linear layers and the norms.

    ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``.

    Example:
        >>> import shenjing as sj
        >>> layer = sj.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
        >>> layer(sj.randn(3, 5, 8)).shape
        (3, 5, 8)
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: Activation = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self._build("TransformerEncoderLayer", ("self_attn",), d_model, nhead,
                    dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
                    norm_first, bias)
        apply_factory_kwargs(self, device, dtype)

    def forward(self, src: Tensor, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Tensor:
        x = src
        if self.norm_first:
            h = self.norm1(x)
            x = x + self._attend(self.self_attn, self.dropout1, h, h, src_mask,
                                 src_key_padding_mask, is_causal)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._attend(self.self_attn, self.dropout1, x, x, src_mask,
                                        src_key_padding_mask, is_causal))
        return self.norm2(x + self._feed_forward(x))


class TransformerDecoderLayer(_FeedForwardBlock):
    """Self-attention over the target, attention over the encoder's output (memory),
    then a feed-forward block; each with a residual connection and LayerNorm.

    Arguments as for ``TransformerEncoderLayer``. ``forward(tgt, memory, tgt_mask=None,
    memory_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
    tgt_is_causal=False, memory_is_causal=False)``.

    Example:
        >>> import shenjing as sj
        >>> layer = sj.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16)
        >>> layer(sj.randn(4, 3, 8), sj.randn(6, 3, 8)).shape
        (4, 3, 8)
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: Activation = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self._build("TransformerDecoderLayer", ("self_attn", "multihead_attn"), d_model,
                    nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
                    norm_first, bias)
        apply_factory_kwargs(self, device, dtype)

    def _feed_forward(self, x: Tensor) -> Tensor:
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Any = None,
                memory_mask: Any = None, tgt_key_padding_mask: Any = None,
                memory_key_padding_mask: Any = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> Tensor:
        x = tgt
        if self.norm_first:
            h = self.norm1(x)
            x = x + self._attend(self.self_attn, self.dropout1, h, h, tgt_mask,
                                 tgt_key_padding_mask, tgt_is_causal)
            x = x + self._attend(self.multihead_attn, self.dropout2, self.norm2(x), memory,
                                 memory_mask, memory_key_padding_mask, memory_is_causal)
            return x + self._feed_forward(self.norm3(x))
        x = self.norm1(x + self._attend(self.self_attn, self.dropout1, x, x, tgt_mask,
                                        tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._attend(self.multihead_attn, self.dropout2, x, memory,
                                        memory_mask, memory_key_padding_mask,
                                        memory_is_causal))
        return self.norm3(x + self._feed_forward(x))


def _clones(layer: Module, n: int) -> ModuleList:
    """``n`` deep copies of ``layer``: equal initial weights, as PyTorch's stacks have."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"num_layers must be a positive integer. Received: {n!r}")
    return ModuleList([copy.deepcopy(layer) for _ in range(n)])


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` applied in turn, then ``norm`` if given.

    ``forward(src, mask=None, src_key_padding_mask=None, is_causal=None)``. PyTorch's
    ``enable_nested_tensor`` and ``mask_check`` are accepted; they choose PyTorch's fast
    path, which shenjing does not have.

    Example:
        >>> import shenjing as sj
        >>> layer = sj.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
        >>> sj.nn.TransformerEncoder(layer, num_layers=2)(sj.randn(5, 3, 8)).shape
        (5, 3, 8)
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int,
                 norm: Module | None = None, enable_nested_tensor: bool = True,
                 mask_check: bool = True) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src: Tensor, mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool | None = None) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` applied in turn, then ``norm`` if given.

    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False)``.

    Example:
        >>> import shenjing as sj
        >>> layer = sj.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16)
        >>> sj.nn.TransformerDecoder(layer, 2)(sj.randn(4, 3, 8), sj.randn(6, 3, 8)).shape
        (4, 3, 8)
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int,
                 norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Any = None,
                memory_mask: Any = None, tgt_key_padding_mask: Any = None,
                memory_key_padding_mask: Any = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return x if self.norm is None else self.norm(x)


class Transformer(Module):
    """The encoder-decoder Transformer, as PyTorch's ``nn.Transformer``: an encoder of
    ``num_encoder_layers`` layers and a decoder of ``num_decoder_layers``, each stack
    ending in a LayerNorm; every weight matrix drawn Xavier-uniform.

    ``forward(src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
    src_key_padding_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
    src_is_causal=None, tgt_is_causal=None, memory_is_causal=False)`` returns the
    decoder's output, shaped as ``tgt``.

    Example:
        >>> import shenjing as sj
        >>> model = sj.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1,
        ...                           num_decoder_layers=1, dim_feedforward=16)
        >>> mask = sj.nn.Transformer.generate_square_subsequent_mask(4)
        >>> model(sj.randn(6, 3, 8), sj.randn(4, 3, 8), tgt_mask=mask).shape
        (4, 3, 8)
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: Activation = "relu",
                 custom_encoder: Module | None = None, custom_decoder: Module | None = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        settings = {"dim_feedforward": dim_feedforward, "dropout": dropout,
                    "activation": activation, "layer_norm_eps": layer_norm_eps,
                    "batch_first": batch_first, "norm_first": norm_first, "bias": bias}
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, **settings)
            self.encoder = TransformerEncoder(
                layer, num_encoder_layers, LayerNorm(d_model, eps=layer_norm_eps, bias=bias))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, **settings)
            self.decoder = TransformerDecoder(
                layer, num_decoder_layers, LayerNorm(d_model, eps=layer_norm_eps, bias=bias))
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        for p in self.parameters():  # PyTorch's _reset_parameters
            if p.ndim > 1:
                init.xavier_uniform_(p)
        apply_factory_kwargs(self, device, dtype)

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Any = None, tgt_mask: Any = None,
                memory_mask: Any = None, src_key_padding_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                src_is_causal: bool | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        batch_dim = 0 if self.batch_first else 1
        if src.ndim == 3 and tgt.ndim == 3 and src.shape[batch_dim] != tgt.shape[batch_dim]:
            raise RuntimeError(f"Transformer: the batch size of src and tgt must be equal. "
                               f"Received: src {src.shape}, tgt {tgt.shape} "
                               f"(batch_first={self.batch_first})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(f"Transformer: the feature size of src and tgt must equal "
                               f"d_model={self.d_model}. Received: src {src.shape}, tgt "
                               f"{tgt.shape}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None,
                                        dtype: Any = None) -> Tensor:
        """The (sz, sz) causal mask: -inf above the diagonal (a query may not see later
        keys), 0 on and below it; float32 unless ``dtype`` says otherwise."""
        return triu(creation.full((sz, sz), -math.inf, dtype=dtype, device=device),
                    diagonal=1)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, nhead={self.nhead}, batch_first={self.batch_first}"
