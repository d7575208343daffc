"""``nn.utils.rnn.pad_sequence``: variable-length sequences into one padded batch.

Built from ``cat`` and ``stack``, so gradients flow back to each sequence. The packed
forms (``pack_padded_sequence``) are not provided: shenjing's recurrent layers take the
padded batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from shenjing import ops
from shenjing.creation import full
from shenjing.tensor import Tensor

__all__ = ["pad_sequence"]


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack tensors of shape ``(L_i, *)`` into ``(max L, B, *)`` (``(B, max L, *)``
    with ``batch_first``), filling with ``padding_value`` on ``padding_side``.

    Example:
        >>> import shenjing as sj
        >>> from shenjing.nn.utils.rnn import pad_sequence
        >>> pad_sequence([sj.tensor([1, 2, 3]), sj.tensor([4])], batch_first=True).tolist()
        [[1, 2, 3], [4, 0, 0]]
    """
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right'. "
                         f"Received: {padding_side!r}")
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    trailing = tuple(sequences[0].shape[1:])
    for i, seq in enumerate(sequences):
        if not isinstance(seq, Tensor) or seq.ndim == 0 or tuple(seq.shape[1:]) != trailing:
            raise ValueError(
                f"pad_sequence: every sequence must be a Tensor of shape (L, "
                f"{', '.join(map(str, trailing)) or '*'}). Received sequence {i} with "
                f"shape {getattr(seq, 'shape', type(seq).__name__)}")
    longest = max(seq.shape[0] for seq in sequences)
    padded = []
    for seq in sequences:
        missing = longest - seq.shape[0]
        if missing:
            fill = full((missing, *trailing), padding_value, dtype=seq.dtype,
                        device=seq.device)
            parts = [seq, fill] if padding_side == "right" else [fill, seq]
            seq = ops.cat(parts, 0)
        padded.append(seq)
    return ops.stack(padded, 0 if batch_first else 1)
