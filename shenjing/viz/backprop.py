"""Backpropagation with real numbers: ``explain_backprop`` walks a dense network through the
four equations for one batch (``gradient_flow.py`` watches the gradients over training).

The four equations, in the source material's column-vector notation (one sample; l = L is
the output layer, ⊙ the elementwise product):

    BP1  δᴸ = ∇ₐC ⊙ σ'(zᴸ)
    BP2  δˡ = ((Wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ'(zˡ)
    BP3  ∂C/∂bˡ = δˡ
    BP4  ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ

shenjing stores a batch as rows and W in PyTorch's layout (out, in), so zˡ = aˡ⁻¹ (Wˡ)ᵀ + bˡ
and, with δ the (N, out) matrix of all samples' δs, BP2 reads δˡ = (δˡ⁺¹ Wˡ⁺¹) ⊙ σ'(zˡ),
BP3 sums δˡ over the rows and BP4 is (δˡ)ᵀ aˡ⁻¹. Because the cost C is the *mean* over the
batch, ∇ₐC, and so every δ, carries the factor 1/N.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import shenjing.nn as nn
import shenjing.nn.functional as F
from shenjing.autograd import no_grad
from shenjing.tensor import Tensor

__all__ = ["LOSSES", "BackpropExplanation", "LayerBackprop", "explain_backprop"]

# Activations with a closed-form derivative, from z or from a = σ(z).
_DERIVATIVES: dict[str, Callable[[np.ndarray, np.ndarray, Any], np.ndarray]] = {
    "sigmoid": lambda z, a, _: a * (1.0 - a),
    "tanh": lambda z, a, _: 1.0 - a * a,
    "relu": lambda z, a, _: (z > 0).astype(z.dtype),
    "leaky_relu": lambda z, a, slope: np.where(z > 0, 1.0, slope),
    "identity": lambda z, a, _: np.ones_like(z),
}
_DERIVATIVE_TEXT = {
    "sigmoid": "σ'(z) = σ(z)(1 − σ(z))",
    "tanh": "σ'(z) = 1 − tanh²(z)",
    "relu": "σ'(z) = 1 if z > 0 else 0",
    "leaky_relu": "σ'(z) = 1 if z > 0 else the slope",
    "identity": "σ'(z) = 1 (no activation: a = z)",
}
_MODULE_ACTIVATIONS: dict[type, str] = {
    nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu",
    nn.ELU: "elu", nn.GELU: "gelu", nn.Softplus: "softplus",
}
_ELEMENTWISE_FUNCTIONS = {"sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "softplus"}

LOSSES = ("mse", "quadratic", "cross_entropy", "binary_cross_entropy")
"""The costs ``explain_backprop`` knows, each with its ∇ₐC (N samples, K outputs):
mse = mean of (a − y)² over all N·K entries (``F.mse_loss``): ∇ₐC = 2(a − y)/(N·K);
quadratic = Σ‖a − y‖²/(2N), the source material's: ∇ₐC = (a − y)/N;
cross_entropy on logits a with integer labels: ∇ₐC = (softmax(a) − onehot(y))/N;
binary_cross_entropy on probabilities a: ∇ₐC = (a − y)/(a(1 − a)·N·K)."""


@dataclass
class LayerBackprop:
    """One dense layer's numbers for the batch (arrays in float64, rows are samples).

    Attributes:
        index: l, counted from 1 as in the source material.
        name: the Linear/Dense module's name in the model.
        activation: the activation's name ("identity" for none).
        weight, bias: Wˡ (out, in) and bˡ (out,) (bias None if the layer has none).
        a_prev: aˡ⁻¹, the layer's input (N, in).
        z: zˡ = aˡ⁻¹ Wᵀ + b (N, out).
        a: aˡ = σ(zˡ).
        sigma_prime: σ'(zˡ).
        delta: δˡ = ∂C/∂zˡ (N, out).
        grad_weight: ∂C/∂Wˡ (out, in).
        grad_bias: ∂C/∂bˡ (out,) (None without a bias).
    """

    index: int
    name: str
    activation: str
    weight: np.ndarray
    bias: np.ndarray | None
    a_prev: np.ndarray
    z: np.ndarray
    a: np.ndarray
    sigma_prime: np.ndarray = field(repr=False)
    delta: np.ndarray | None = field(repr=False, default=None)
    grad_weight: np.ndarray | None = field(repr=False, default=None)
    grad_bias: np.ndarray | None = field(repr=False, default=None)


@dataclass
class BackpropExplanation:
    """What ``explain_backprop`` computed: the batch's cost, ∇ₐC, and every layer's
    numbers (``layers[0]`` is layer 1). ``str()`` gives the printed walk-through, and
    ``autograd_difference`` the largest gap to autograd's gradients."""

    loss: str
    cost: float
    target: np.ndarray
    grad_output: np.ndarray
    layers: list[LayerBackprop]
    autograd_difference: float
    text: str = field(repr=False, default="")

    def __str__(self) -> str:
        return self.text

    def gradients(self) -> dict[str, np.ndarray]:
        """∂C/∂θ by parameter name, as ``model.named_parameters()`` names them."""
        grads = {}
        for layer in self.layers:
            grads[f"{layer.name}.weight" if layer.name else "weight"] = layer.grad_weight
            if layer.grad_bias is not None:
                grads[f"{layer.name}.bias" if layer.name else "bias"] = layer.grad_bias
        return grads


# ------------------------------------------------------------------- model reading
@dataclass
class _Dense:
    name: str
    module: Any
    activation: str = "identity"
    activation_fn: Callable[[Tensor], Tensor] | None = None
    slope: float = 0.0


def _activation_of(value: Any, where: str) -> tuple[str, Callable[[Tensor], Tensor] | None, float]:
    """(name, function, leaky slope) of an activation module or function."""
    for kind, name in _MODULE_ACTIVATIONS.items():
        if type(value) is kind:
            return name, value, float(getattr(value, "negative_slope", 0.0))
    name = getattr(value, "__name__", None)
    if callable(value) and not isinstance(value, nn.Module) and name in _ELEMENTWISE_FUNCTIONS:
        return name, value, 0.01 if name == "leaky_relu" else 0.0
    raise ValueError(
        f"explain_backprop: {where} is not an elementwise activation it knows "
        f"({', '.join(sorted(_ELEMENTWISE_FUNCTIONS))}). Received: {value!r}"
    )


def _dense_layers(model: Any) -> list[_Dense]:
    """Read a Sequential of Linear/Dense layers and activations into dense layers."""
    children = list(model.named_children()) if isinstance(model, nn.Sequential) else [("", model)]
    layers: list[_Dense] = []
    for name, module in children:
        if isinstance(module, (nn.Linear, nn.Dense)):
            if isinstance(module, nn.Dense) and not module.built:
                raise ValueError(
                    f"explain_backprop: Dense layer {name!r} has no weights yet; call the "
                    "model once (or model.build(input_shape)) first"
                )
            layer = _Dense(name, module)
            if isinstance(module, nn.Dense) and module.activation is not None:
                layer.activation, layer.activation_fn, layer.slope = _activation_of(
                    module.activation, f"the activation of layer {name!r}")
            layers.append(layer)
        elif isinstance(module, nn.Identity) or (isinstance(module, nn.Flatten) and not layers):
            continue  # a Flatten before the first layer: the input is flattened anyway
        elif layers and layers[-1].activation == "identity" and not isinstance(module, nn.Flatten):
            layers[-1].activation, layers[-1].activation_fn, layers[-1].slope = _activation_of(
                module, f"layer {name!r}")
        else:
            raise ValueError(
                "explain_backprop: needs a dense network, a Sequential of Linear/Dense layers "
                f"each followed by at most one elementwise activation. Received: "
                f"{type(module).__name__} at {name!r}"
            )
    if not layers:
        raise ValueError(
            f"explain_backprop: no Linear or Dense layer in the model. Received: "
            f"{type(model).__name__}"
        )
    return layers


def _sigma_prime(layer: _Dense, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    if layer.activation in _DERIVATIVES:
        return _DERIVATIVES[layer.activation](z, a, layer.slope)
    # Any other elementwise activation: its derivative is the gradient of Σ σ(z).
    zt = Tensor(z, dtype=np.float64, requires_grad=True)
    layer.activation_fn(zt).sum().backward()
    return zt.grad.numpy()


def _activate(layer: _Dense, z: np.ndarray) -> np.ndarray:
    if layer.activation == "identity":
        return z
    with no_grad():
        return layer.activation_fn(Tensor(z, dtype=np.float64)).numpy()


# -------------------------------------------------------------------------- costs
def _cost(loss: str, a: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The batch's cost C and ∇ₐC."""
    n = len(a)
    if loss == "cross_entropy":
        shifted = a - a.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        labels = y.astype(np.int64).reshape(-1)
        onehot = np.zeros_like(a)
        onehot[np.arange(n), labels] = 1.0
        return float(-log_p[np.arange(n), labels].mean()), (np.exp(log_p) - onehot) / n
    y = y.reshape(a.shape)
    if loss == "mse":
        return float(((a - y) ** 2).mean()), 2.0 * (a - y) / a.size
    if loss == "quadratic":
        return float(((a - y) ** 2).sum() / (2 * n)), (a - y) / n
    bce = -(y * np.log(a) + (1 - y) * np.log(1 - a))
    return float(bce.mean()), (a - y) / (a * (1 - a) * a.size)


def _autograd_loss(loss: str) -> Callable[[Tensor, Tensor], Tensor]:
    if loss == "quadratic":
        return lambda a, y: ((a - y) ** 2).sum() / (2 * a.shape[0])
    return {"mse": F.mse_loss, "cross_entropy": F.cross_entropy,
            "binary_cross_entropy": F.binary_cross_entropy}[loss]


# ------------------------------------------------------------------------ explain
def explain_backprop(
    model: Any,
    x: Any,
    y: Any,
    loss: str | None = None,
    max_entries: int = 8,
    verbose: bool = True,
) -> BackpropExplanation:
    """Print, layer by layer, the four backpropagation equations with this batch's numbers.

    The forward pass gives every layer's z and a; the cost gives ∇ₐC; then, from the last
    layer back, BP1/BP2 give δ and BP3/BP4 the gradients ∂C/∂b and ∂C/∂W (see the module
    docstring for the equations in shenjing's row layout). The numbers are computed here
    in float64 NumPy from the equations alone, then compared with autograd's gradients of
    a float64 copy of the model (the model itself is not changed).

    Args:
        model: a dense network: a ``Sequential`` of ``Linear``/``Dense`` layers, each
            followed by at most one elementwise activation (sigmoid, tanh, relu,
            leaky_relu, elu, gelu, softplus), or a single ``Linear``.
        x: a batch of inputs (N, in) (images are flattened).
        y: targets: (N, K) values for "mse", "quadratic" and "binary_cross_entropy";
            (N,) integer labels for "cross_entropy" (on the logits the last layer outputs).
        loss: one of ``LOSSES``; by default "cross_entropy" when ``y`` holds one integer
            class label per sample and the model has several outputs, "mse" otherwise.
        max_entries: tensors with more entries are shown as shape, norm and a few entries.
        verbose: print the walk-through.

    Returns:
        A ``BackpropExplanation`` holding every z, a, σ'(z), δ, ∂C/∂W and ∂C/∂b.

    Example:
        >>> import numpy as np, shenjing.nn as nn
        >>> model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid())
        >>> e = explain_backprop(model, np.ones((4, 2)), np.zeros((4, 1)), verbose=False)
        >>> [layer.delta.shape for layer in e.layers], e.autograd_difference < 1e-12
        ([(4, 3), (4, 1)], True)
    """
    x_data = x.numpy() if isinstance(x, Tensor) else np.asarray(x)
    y_data = y.numpy() if isinstance(y, Tensor) else np.asarray(y)
    labels = y_data.dtype.kind in "iu" and y_data.ndim == 1
    layers = _dense_layers(model)
    outputs = layers[-1].module.weight.shape[0] if layers else 0
    if loss is None:
        loss = "cross_entropy" if labels and outputs > 1 else "mse"
    if loss not in LOSSES:
        raise ValueError(f"explain_backprop: loss must be one of {', '.join(LOSSES)}. "
                         f"Received: {loss!r}")
    if labels and outputs > 1 and loss != "cross_entropy":
        raise ValueError(
            f"explain_backprop: y holds class labels (integers of shape {y_data.shape}) but "
            f"loss={loss!r} needs one target per output; give loss='cross_entropy' (or "
            "one-hot float targets)"
        )
    a = x_data.reshape(len(x_data), -1).astype(np.float64)
    y64 = y_data.astype(np.float64)

    traces: list[LayerBackprop] = []
    for index, layer in enumerate(layers, start=1):
        weight = layer.module.weight.numpy().astype(np.float64)
        bias = None if layer.module.bias is None else layer.module.bias.numpy().astype(np.float64)
        if a.shape[1] != weight.shape[1]:
            raise ValueError(
                f"explain_backprop: layer {index} ({layer.name!r}) expects {weight.shape[1]} "
                f"inputs. Received: a batch of shape {a.shape}"
            )
        z = a @ weight.T
        if bias is not None:
            z += bias
        activated = _activate(layer, z)
        traces.append(LayerBackprop(index, layer.name, layer.activation, weight, bias, a, z,
                                    activated, _sigma_prime(layer, z, activated)))
        a = activated

    if loss == "cross_entropy":
        if y64.size != len(a):
            raise ValueError(
                f"explain_backprop: cross_entropy needs one integer label per sample. "
                f"Received: y of shape {y_data.shape}"
            )
    elif y64.size != a.size:
        raise ValueError(
            f"explain_backprop: the targets must match the output's shape {a.shape}. "
            f"Received: y of shape {y_data.shape}"
        )
    cost, grad_a = _cost(loss, a, y64)

    delta = grad_a * traces[-1].sigma_prime  # BP1
    for position in range(len(traces) - 1, -1, -1):
        trace = traces[position]
        if position < len(traces) - 1:
            above = traces[position + 1]
            delta = (above.delta @ above.weight) * trace.sigma_prime  # BP2
        trace.delta = delta
        trace.grad_bias = None if trace.bias is None else delta.sum(axis=0)  # BP3
        trace.grad_weight = delta.T @ trace.a_prev  # BP4

    explanation = BackpropExplanation(loss, cost, y64, grad_a, traces,
                                      _autograd_difference(model, x_data, y_data, loss, traces))
    explanation.text = _describe(explanation, max_entries)
    if verbose:
        print(explanation.text)
    return explanation


def _autograd_difference(model: Any, x: np.ndarray, y: np.ndarray, loss: str,
                         traces: list[LayerBackprop]) -> float:
    """The largest |equations − autograd| over every weight and bias gradient."""
    from shenjing.training.gradcheck import _float64_copy

    copy = _float64_copy(model, x)
    if loss == "cross_entropy":
        target = Tensor(y.astype(np.int64).reshape(-1))
    else:
        target = Tensor(y.reshape(len(x), -1), dtype=np.float64)
    output = copy(Tensor(x.reshape(len(x), -1), dtype=np.float64))
    _autograd_loss(loss)(output, target).backward()
    layers = _dense_layers(copy)
    worst = 0.0
    for layer, trace in zip(layers, traces, strict=True):
        worst = max(worst, float(np.abs(layer.module.weight.grad.numpy()
                                        - trace.grad_weight).max()))
        if trace.grad_bias is not None:
            worst = max(worst, float(np.abs(layer.module.bias.grad.numpy()
                                            - trace.grad_bias).max()))
    return worst


# ----------------------------------------------------------------------- printing
def _show(values: np.ndarray, max_entries: int) -> str:
    """Small arrays in full; large ones as shape, norm and their first few entries."""
    if values.size <= max_entries:
        text = np.array2string(values, precision=4, suppress_small=True, separator=", ")
        return text.replace("\n", "\n" + " " * 12)
    head = np.array2string(values.reshape(-1)[:min(4, max_entries)], precision=4,
                           suppress_small=True, separator=", ")
    return (f"shape {values.shape}, ‖·‖ = {np.linalg.norm(values):.4g}, "
            f"first entries {head[:-1]}, ...]")


def _describe(e: BackpropExplanation, max_entries: int) -> str:
    n = len(e.layers[0].a_prev)
    last = len(e.layers)
    lines = [
        f"Backpropagation through {last} dense layer(s), batch of N = {n} (rows are "
        "samples; W is (out, in))",
        "",
        "Forward pass: zˡ = aˡ⁻¹ Wˡᵀ + bˡ,  aˡ = σ(zˡ)",
        f"  a⁰ (input) = {_show(e.layers[0].a_prev, max_entries)}",
    ]
    for t in e.layers:
        lines.append(f"  layer {t.index} ({t.name or 'model'}: W {t.weight.shape}, "
                     f"σ = {t.activation})")
        lines.append(f"    z{_sup(t.index)} = {_show(t.z, max_entries)}")
        lines.append(f"    a{_sup(t.index)} = {_show(t.a, max_entries)}")
    formula = {
        "mse": "C = mean((aᴸ − y)²),  ∇ₐC = 2(aᴸ − y)/(N·K)",
        "quadratic": "C = Σ‖aᴸ − y‖²/(2N),  ∇ₐC = (aᴸ − y)/N",
        "cross_entropy": "C = mean(−log softmax(aᴸ)_y),  ∇ₐC = (softmax(aᴸ) − onehot(y))/N",
        "binary_cross_entropy": "C = mean(−y log aᴸ − (1 − y) log(1 − aᴸ)),  "
                                "∇ₐC = (aᴸ − y)/(aᴸ(1 − aᴸ)·N·K)",
    }[e.loss]
    lines += ["", f"Cost ({e.loss}): {formula}", f"  C = {e.cost:.6g}",
              f"  ∇ₐC = {_show(e.grad_output, max_entries)}", "",
              "Backward pass, from the last layer to the first:"]
    for t in reversed(e.layers):
        l_ = _sup(t.index)
        lines.append(f"  layer {t.index} ({t.name or 'model'}), "
                     f"{_DERIVATIVE_TEXT.get(t.activation, f'σ = {t.activation}')}")
        lines.append(f"    σ'(z{l_}) = {_show(t.sigma_prime, max_entries)}")
        if t.index == last:
            lines.append(f"    BP1  δ{l_} = ∇ₐC ⊙ σ'(z{l_}) = {_show(t.delta, max_entries)}")
        else:
            up = _sup(t.index + 1)
            lines.append(f"    BP2  δ{l_} = (δ{up} W{up}) ⊙ σ'(z{l_}) "
                         f"= {_show(t.delta, max_entries)}")
        if t.grad_bias is not None:
            lines.append(f"    BP3  ∂C/∂b{l_} = Σₙ δ{l_} = {_show(t.grad_bias, max_entries)}")
        lines.append(f"    BP4  ∂C/∂W{l_} = (δ{l_})ᵀ a{_sup(t.index - 1)} "
                     f"= {_show(t.grad_weight, max_entries)}")
    lines += ["", f"autograd agrees: the largest difference from its gradients is "
              f"{e.autograd_difference:.2g}"]
    return "\n".join(lines)


_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _sup(number: int) -> str:
    return str(number).translate(_SUPERSCRIPTS)
