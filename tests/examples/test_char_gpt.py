"""The character-level GPT example (examples/char_gpt.py), briefly: its model is causal,
``generate`` extends prompts reproducibly, and a short training run learns the bundled
text. (test_examples.py runs the whole script in its fast mode.)"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import shenjing as sj
import shenjing.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
char_gpt = pytest.importorskip("char_gpt")


@pytest.fixture
def model():
    sj.manual_seed(0)
    return char_gpt.CharGPT(vocab_size=12, block_size=8, d_model=16, nhead=2, num_layers=2)


def test_the_model_is_causal(model) -> None:
    idx = sj.randint(0, 12, (2, 8))
    changed = sj.tensor(idx.numpy().copy())
    changed.array[:, 5] = (changed.array[:, 5] + 1) % 12
    before, after = model(idx).numpy(), model(changed).numpy()
    np.testing.assert_allclose(before[:, :5], after[:, :5], rtol=1e-5, atol=1e-6)
    assert not np.allclose(before[:, 5:], after[:, 5:])


def test_generate_extends_reproducibly_past_the_block_size(model) -> None:
    prompt = sj.tensor([[1, 2, 3]])
    sj.manual_seed(5)
    first = model.generate(prompt, 10, temperature=0.9, top_k=4)
    sj.manual_seed(5)
    second = model.generate(prompt, 10, temperature=0.9, top_k=4)
    assert first.shape == (1, 13) and first.dtype == np.int64
    np.testing.assert_array_equal(first.numpy(), second.numpy())
    np.testing.assert_array_equal(first.numpy()[:, :3], prompt.numpy())
    greedy = model.generate(prompt, 3, greedy=True).numpy()
    logits = model(prompt).numpy()[0, -1]
    assert greedy[0, 3] == logits.argmax()
    assert model.training, "generate restores the training mode"


def test_a_short_run_learns_the_bundled_text() -> None:
    sj.manual_seed(0)
    text = char_gpt.load_text()
    assert "Shall I compare thee to a summer's day?" in text
    chars = sorted(set(text))
    data = np.array([chars.index(c) for c in text])
    model = char_gpt.CharGPT(len(chars), block_size=16, d_model=32, nhead=2, num_layers=1)
    opt = sj.optim.Adam(model.parameters(), lr=1e-2)
    stream = char_gpt.batches(data, 16, 16, np.random.default_rng(0))
    losses = []
    for _ in range(60):
        x, y = next(stream)
        loss = F.cross_entropy(model(x).reshape(-1, len(chars)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    # 3.08 nats is guessing each character from its frequency alone
    assert losses[0] > 3.5 and np.mean(losses[-10:]) < 2.9
