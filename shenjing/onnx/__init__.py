"""ONNX: export a shenjing model (``export``) and run an ONNX model as a Module (``load``).

Both need the optional extra: ``pip install shenjing[onnx]`` (onnx and onnxruntime);
they import it only when called.
"""

from shenjing.onnx.context import ExportError
from shenjing.onnx.export import MAPPING, export
from shenjing.onnx.load import RUNNERS, OnnxModule, load

__all__ = ["MAPPING", "RUNNERS", "ExportError", "OnnxModule", "export", "load"]
