"""Lazy imports of the optional ``onnx`` extra, with an error that names the extra."""

from __future__ import annotations

from types import ModuleType


def require(module: str) -> ModuleType:
    """Import ``module`` ("onnx" or "onnxruntime"), or explain how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"shenjing.onnx needs the package {module!r}: install the extra with "
            f"`pip install shenjing[onnx]`. Received: {err}"
        ) from err
