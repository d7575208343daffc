"""ONNX: export a shenjing model (``export``) and run an ONNX model as a Module (``load``).

Both need the optional extra: ``pip install shenjing[onnx]`` (onnx and onnxruntime);
they import it only when called.
"""

from shenjing.onnx.context import ExportError
from shenjing.onnx.export import MAPPING, export

__all__ = ["MAPPING", "ExportError", "export"]
