"""A small character-level GPT, trained on Shakespeare's sonnets bundled with shenjing,
and sampled with ``generate``.

The model is PyTorch's usual shape for it: token and position embeddings, a stack of
``nn.TransformerEncoderLayer`` blocks (pre-norm, GELU, batch first) made causal by
``nn.Transformer.generate_square_subsequent_mask``, a final LayerNorm and a linear head
onto the characters. ``generate`` draws each next character with ``sj.multinomial``
from the softmax of the last position's logits (temperature and top-k as usual).

The script checks its own result: the training loss falls below a bar (well under
the 3.1 nats of guessing each character from its frequency alone), the model's most
likely next character is the text's for a share of the text, and sampling is
reproducible under ``sj.manual_seed`` and gives only the text's characters. ``--full``
trains a larger model three times as long, with higher bars.
"""

from __future__ import annotations

import importlib.resources
import math
import time

import numpy as np
from _common import Checks, parse_args

import shenjing as sj
import shenjing.nn as nn
import shenjing.nn.functional as F


def load_text() -> str:
    """The bundled sonnets (3.7 KB of public-domain text)."""
    return (importlib.resources.files("shenjing.data") / "bundled" / "sonnets.txt").read_text()


class CharGPT(nn.Module):
    """A decoder-only Transformer over characters."""

    def __init__(self, vocab_size: int, block_size: int, d_model: int, nhead: int,
                 num_layers: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.block_size = block_size
        self.tok_emb = nn.Embedding(vocab_size, d_model)
        self.pos_emb = nn.Parameter(sj.randn(block_size, d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=4 * d_model,
                                           dropout=dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, num_layers)
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)
        self.register_buffer("causal", nn.Transformer.generate_square_subsequent_mask(
            block_size), persistent=False)

    def forward(self, idx: sj.Tensor) -> sj.Tensor:
        """Logits (batch, time, vocab) for token ids (batch, time)."""
        t = idx.shape[1]
        x = self.tok_emb(idx) + self.pos_emb[:t]
        x = self.blocks(x, mask=self.causal[:t, :t], is_causal=True)
        return self.head(self.ln_f(x))

    def generate(self, idx: sj.Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, greedy: bool = False) -> sj.Tensor:
        """``idx`` (batch, time) extended by ``max_new_tokens`` characters, each drawn
        from the model's distribution over the next one (or its argmax if ``greedy``)."""
        was_training = self.training
        self.eval()
        with sj.no_grad():
            for _ in range(max_new_tokens):
                logits = self(idx[:, -self.block_size:])[:, -1, :] / temperature
                if top_k is not None:
                    kth = logits.topk(top_k, dim=-1).values[:, -1:]
                    logits = logits.masked_fill(logits < kth, -math.inf)
                if greedy:
                    nxt = logits.argmax(dim=-1, keepdim=True)
                else:
                    nxt = sj.multinomial(F.softmax(logits, dim=-1), num_samples=1)
                idx = sj.cat([idx, nxt], dim=1)
        self.train(was_training)
        return idx


def next_char_accuracy(model: CharGPT, data: np.ndarray, block: int) -> float:
    """How often the most likely next character is the text's, over the whole text in
    windows of ``block`` characters (evaluation mode, no dropout)."""
    model.eval()
    hits = total = 0
    with sj.no_grad():
        for start in range(0, len(data) - block - 1, block):
            x = sj.tensor(data[None, start:start + block])
            guess = model(x).argmax(dim=-1).numpy()[0]
            hits += int((guess == data[start + 1:start + block + 1]).sum())
            total += block
    model.train()
    return hits / total


def batches(data: np.ndarray, block_size: int, batch_size: int, rng: np.random.Generator):
    """Endless random windows of the text: inputs and the same shifted by one."""
    while True:
        starts = rng.integers(0, len(data) - block_size - 1, size=batch_size)
        x = np.stack([data[s:s + block_size] for s in starts])
        y = np.stack([data[s + 1:s + block_size + 1] for s in starts])
        yield sj.tensor(x), sj.tensor(y)


def main() -> None:
    args = parse_args(__doc__, "a larger model trained three times as long, with higher bars")
    check = Checks()
    sj.manual_seed(0)
    text = load_text()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = np.array([stoi[c] for c in text], dtype=np.int64)
    if args.full:
        block, width, heads, layers, steps, bar = 32, 64, 4, 2, 600, 1.0
    else:
        block, width, heads, layers, steps, bar = 32, 48, 4, 1, 250, 2.2
    model = CharGPT(len(chars), block, width, heads, layers)
    opt = sj.optim.AdamW(model.parameters(), lr=1e-2 if not args.full else 3e-3,
                         weight_decay=0.01)
    scheduler = sj.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=3e-4)
    stream = batches(data, block, 32 if args.full else 16, np.random.default_rng(0))
    print(f"{len(text)} characters, {len(chars)} distinct; "
          f"{sum(p.numel() for p in model.parameters())} parameters")
    start, recent = time.perf_counter(), []
    for step in range(1, steps + 1):
        x, y = next(stream)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        scheduler.step()
        recent = (recent + [loss.item()])[-20:]
        if step % 50 == 0 or step == 1:
            print(f"step {step:5d}  loss {np.mean(recent):.3f}  "
                  f"({time.perf_counter() - start:.1f} s)")
    final = float(np.mean(recent))
    check(final < bar, f"training loss {final:.3f} < {bar} (uniform guessing: "
                       f"{math.log(len(chars)):.2f})")

    accuracy = next_char_accuracy(model, data, block)
    need = 0.7 if args.full else 0.33
    check(accuracy >= need, f"predicts {accuracy:.0%} of the text's next characters "
                            f"(>= {need:.0%}; the commonest character alone: "
                            f"{np.bincount(data).max() / len(data):.0%})")
    prompt = "Shall I compare thee"
    encode = lambda s: sj.tensor([[stoi[c] for c in s]])  # noqa: E731
    decode = lambda t: "".join(chars[i] for i in t.tolist()[0])  # noqa: E731
    print(f"greedy from {prompt!r}: {decode(model.generate(encode(prompt), 14, greedy=True))!r}")
    sj.manual_seed(1)
    sample = decode(model.generate(encode("\n"), 200, temperature=0.8, top_k=10))
    sj.manual_seed(1)
    again = decode(model.generate(encode("\n"), 200, temperature=0.8, top_k=10))
    print("sample:\n" + sample)
    check(sample == again, "sampling is reproducible under manual_seed")
    check(set(sample) <= set(chars), "samples only the text's characters")
    check.finish()


if __name__ == "__main__":
    main()
