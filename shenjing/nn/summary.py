"""``model.summary()``: each layer with its output shape and parameter count."""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing.autograd.grad_mode import no_grad
from shenjing.tensor import Tensor


def _output_shapes(model: Any, input_shape: tuple[int, ...]) -> dict[int, tuple[int, ...]]:
    """Run one sample through ``model``, noting each submodule's output shape."""
    shapes: dict[int, tuple[int, ...]] = {}
    wrapped = []
    for module in model.modules():
        if module is model:
            continue
        forward = module.forward

        def recording(*args: Any, _forward: Any = forward, _id: int = id(module)) -> Any:
            out = _forward(*args)
            first = out[0] if isinstance(out, tuple) else out
            if isinstance(first, Tensor):
                shapes[_id] = (None, *first.shape[1:])
            return out

        object.__setattr__(module, "forward", recording)
        wrapped.append(module)
    was_training = model.training
    try:
        model.eval()
        with no_grad():
            model(Tensor(np.zeros((1, *input_shape), dtype=np.float32)))
    finally:
        model.train(was_training)
        for module in wrapped:
            object.__delattr__(module, "forward")
    return shapes


def summary(model: Any, input_shape: tuple[int, ...] | None = None) -> str:
    """A table of the model's layers, output shapes (when ``input_shape`` is known, one
    sample's shape without the batch axis) and parameter counts; also printed."""
    shapes = _output_shapes(model, tuple(input_shape)) if input_shape is not None else {}
    rows = [("Layer (type)", "Output shape", "Param #")]
    for name, module in model.named_modules():
        if module is model or any(True for _ in module.children()):
            continue
        count = sum(p.numel() for p in module.parameters())
        shape = shapes.get(id(module))
        rows.append((f"{name} ({type(module).__name__})", str(shape) if shape else "?",
                     f"{count:,}"))
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    widths = [max(len(row[i]) for row in rows) + 2 for i in range(3)]
    rule = "-" * sum(widths)
    lines = [type(model).__name__, rule]
    for i, row in enumerate(rows):
        lines.append("".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if i == 0:
            lines.append(rule)
    lines += [rule, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}"]
    text = "\n".join(lines)
    print(text)
    return text
