"""autocast: each op's dtype against PyTorch's CPU autocast, regions, gradients."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
from shenjing.amp import autocast_mode

pytest.importorskip("ml_dtypes")
torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)
X = rng.normal(size=(4, 8)).astype(np.float32)
W = rng.normal(size=(8, 8)).astype(np.float32)
IMG = rng.normal(size=(2, 3, 8, 8)).astype(np.float32)
K = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
T = np.array([1, 0, 7, 3])
P = (rng.random(size=(4, 8)) * 0.8 + 0.1).astype(np.float32)


def _ops(lib, F, make):
    """name -> a call on the library's tensors (the same call for both libraries)."""
    x, w, img, k, p = make(X), make(W), make(IMG), make(K), make(P)
    t = lib.tensor(T)
    return {
        "matmul": lambda: x @ w,
        "mm": lambda: lib.mm(x, w),
        "bmm": lambda: lib.bmm(x[None], w[None]),
        "linear": lambda: F.linear(x, w),
        "conv1d": lambda: F.conv1d(img[:, :, 0], k[:, :, 0]),
        "conv2d": lambda: F.conv2d(img, k),
        "conv_transpose2d": lambda: F.conv_transpose2d(img, k.transpose(0, 1)),
        "prelu": lambda: F.prelu(x, lib.tensor([0.2])),
        "einsum": lambda: lib.einsum("ij,jk->ik", x, w),
        "sdpa": lambda: F.scaled_dot_product_attention(x[None], x[None], x[None]),
        "cross_entropy": lambda: F.cross_entropy(x, t),
        "nll_loss": lambda: F.nll_loss(x, t),
        "mse_loss": lambda: F.mse_loss(x, w[:4]),
        "l1_loss": lambda: F.l1_loss(x, w[:4]),
        "huber_loss": lambda: F.huber_loss(x, w[:4]),
        "smooth_l1_loss": lambda: F.smooth_l1_loss(x, w[:4]),
        "binary_cross_entropy": lambda: F.binary_cross_entropy(p, p),
        "bce_with_logits": lambda: F.binary_cross_entropy_with_logits(x, p),
        "kl_div": lambda: F.kl_div(x, p, reduction="batchmean"),
        "prod": lambda: x.prod(),
        "softmax": lambda: F.softmax(x, dim=-1),
        "log_softmax": lambda: F.log_softmax(x, dim=-1),
        "layer_norm": lambda: F.layer_norm(x, (8,)),
        "relu": lambda: F.relu(x),
        "exp": lambda: x.exp(),
        "sum": lambda: x.sum(),
        "max_pool2d": lambda: F.max_pool2d(img, 2),
        "cat": lambda: lib.cat([x, x]),
        "embedding": lambda: F.embedding(t, w),
    }


def _dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


@pytest.mark.parametrize("low", ["bfloat16", "float16"])
@pytest.mark.parametrize("inputs", ["float32", "low"])
def test_each_op_runs_in_pytorchs_dtype(low, inputs):
    """The op table: the output dtype of every listed op (and of some unlisted ones) is
    what PyTorch's CPU autocast gives, from float32 inputs and from low-precision ones."""
    in_low = inputs == "low"
    ours_ops = _ops(sj, sj.nn.functional,
                    lambda a: sj.tensor(a).to(low) if in_low else sj.tensor(a))
    theirs_ops = _ops(torch, torch.nn.functional,
                      lambda a: torch.from_numpy(a).to(getattr(torch, low)) if in_low
                      else torch.from_numpy(a))
    ours, theirs = {}, {}
    with sj.autocast("cpu", dtype=getattr(sj, low)):
        for name, fn in ours_ops.items():
            ours[name] = _dtype_name(fn().dtype)
    with torch.autocast("cpu", dtype=getattr(torch, low)):
        for name, fn in theirs_ops.items():
            theirs[name] = _dtype_name(fn().dtype)
    assert ours == theirs


def test_lower_op_values_match_pytorch():
    x, w = sj.tensor(X), sj.tensor(W)
    xt, wt = torch.from_numpy(X), torch.from_numpy(W)
    with sj.autocast("cpu"):
        ours = sj.nn.functional.linear(x, w)
    with torch.autocast("cpu"):
        theirs = torch.nn.functional.linear(xt, wt)
    np.testing.assert_allclose(ours.float().numpy(), theirs.float().numpy(), rtol=2**-7,
                               atol=1e-2)


def test_outside_autocast_nothing_changes():
    assert not sj.is_autocast_enabled("cpu")
    assert (sj.tensor(X) @ sj.tensor(W)).dtype == np.float32


def test_nested_regions_and_enabled_false():
    x, w = sj.tensor(X), sj.tensor(W)
    with sj.autocast("cpu", dtype=sj.bfloat16):
        assert sj.is_autocast_enabled("cpu")
        assert sj.get_autocast_dtype("cpu") == sj.bfloat16
        with sj.autocast("cpu", enabled=False):
            assert not sj.is_autocast_enabled("cpu")
            assert (x @ w).dtype == np.float32
        with sj.autocast("cpu", dtype=sj.float16):
            assert (x @ w).dtype == np.float16
        assert (x @ w).dtype == sj.bfloat16
    assert not sj.is_autocast_enabled("cpu")


def test_other_device_types_region_leaves_cpu_ops_alone():
    with sj.autocast("cuda"):
        assert sj.get_autocast_dtype("cuda") == np.float16
        assert (sj.tensor(X) @ sj.tensor(W)).dtype == np.float32


def test_decorator_and_amp_alias():
    assert sj.amp.autocast is sj.autocast

    @sj.amp.autocast("cpu")
    def forward(a, b):
        return a @ b

    assert forward(sj.tensor(X), sj.tensor(W)).dtype == sj.bfloat16
    assert not sj.is_autocast_enabled("cpu")


def test_float64_and_integers_are_not_cast():
    with sj.autocast("cpu"):
        assert (sj.tensor(X, dtype="float64") @ sj.tensor(W, dtype="float64")).dtype == \
            np.float64
        assert (sj.tensor([[1, 2]]) @ sj.tensor([[3], [4]])).dtype == np.int64


def test_bad_dtype_is_refused():
    with pytest.raises(ValueError, match="autocast: dtype must be bfloat16 or float16"):
        sj.autocast("cpu", dtype=sj.float64)
    with pytest.raises(TypeError, match="device_type"):
        sj.autocast(sj.float16)


def test_gradients_reach_float32_weights_as_in_pytorch():
    """Forward in bf16 under autocast, loss in float32; the parameters' gradients are
    float32 and match PyTorch's (both round the same bf16 values)."""
    x, w = sj.tensor(X), sj.tensor(W, requires_grad=True)
    xt, wt = torch.from_numpy(X), torch.from_numpy(W).requires_grad_()
    target = np.zeros((4, 8), np.float32)
    with sj.autocast("cpu"):
        loss = sj.nn.functional.mse_loss((x @ w).tanh(), sj.tensor(target))
    with torch.autocast("cpu"):
        loss_t = torch.nn.functional.mse_loss((xt @ wt).tanh(), torch.from_numpy(target))
    assert loss.dtype == np.float32
    loss.backward()
    loss_t.backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=0.02, atol=1e-3)


def _casts_of(out, leaf):
    """The tensors in ``out``'s graph that are a recorded cast of ``leaf``."""
    found, stack, seen = [], [out], set()
    while stack:
        t = stack.pop()
        fn = t.grad_fn
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        for i in fn.inputs:
            if i is leaf:
                found.append(t)
            stack.append(i)
    return found


def test_weight_cast_is_cached_within_a_region():
    w = sj.tensor(W, requires_grad=True)
    x = sj.tensor(X)
    with sj.autocast("cpu"):
        a, b = x @ w, x @ w
        casts = _casts_of(a, w)
        assert len(casts) == 1 and casts == _casts_of(b, w)  # one cast feeds both
        (a + b).float().sum().backward()
    assert w.grad is not None
    assert not autocast_mode._State.cache  # cleared when the outermost region ends
    with sj.autocast("cpu", cache_enabled=False):
        a, b = x @ w, x @ w
        (ca,), (cb,) = _casts_of(a, w), _casts_of(b, w)
        assert ca is not cb
