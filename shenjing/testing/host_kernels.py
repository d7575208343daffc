"""CuPy ElementwiseKernels compiled as C++ on the host, for tests without a GPU.

A fused GPU kernel is a few lines of CUDA C++ (``ops/_cuda_kernels.py``,
``optim/_cuda_kernels.py``). Without a GPU the strict CuPy stand-in cannot run them,
and the code around them (the recurrent ops' GPU path) would go untested. This module
builds the same kernel text as a C++ function with the host's compiler, looping over
the flat index ``i`` the way an ElementwiseKernel's threads cover it, and calls it on the
stand-in's arrays through ``ctypes``:

- a plain parameter ``T x`` is the element ``x[i]`` of its argument broadcast to the
  kernel's shape (``const`` for inputs, a reference for outputs), or a scalar;
- a ``raw T x`` parameter is a pointer to the C-ordered array, indexed by the body;
- ``atomicAdd`` is a plain add (the loop is sequential);
- ``T`` is the dtype of the first array declared ``T``; ``int32``, ``int64``,
  ``float32``, ``float64`` and ``bool`` are themselves; ``size=`` sets the loop's
  length when no plain array does.

Arrays are copied into C-ordered buffers and the outputs copied back, so views and
broadcast inputs behave as CuPy's do. What this cannot show: CUDA-only syntax
(``__syncthreads``, ``_ind``, CArray's multi-index ``[]``), and the GPU's own math
library rounding (``tanhf`` on the device differs from glibc's by an ulp or so).

``install()`` registers it for ``strict_numpy`` (``shenjing._cuda.host_kernels``);
compiled libraries are cached under the temporary directory by a hash of their source.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from shenjing import _cuda

_C_TYPES = {"int32": "int", "int64": "long long", "float32": "float", "float64": "double",
            "bool": "bool"}
_NP_TYPES = {"int32": np.int32, "int64": np.int64, "float32": np.float32,
             "float64": np.float64, "bool": np.bool_}
_HEADER = """#include <cmath>
#include <cstddef>
using std::exp; using std::tanh; using std::sqrt; using std::log; using std::erf;
using std::expm1; using std::fmin; using std::fmax; using std::fabs; using std::abs;
typedef int int32; typedef long long int64; typedef float float32; typedef double float64;
template <class V> V atomicAdd(V* at, V v) { V old = *at; *at += v; return old; }
"""


def compiler() -> str | None:
    """The host's C++ compiler, or None."""
    return shutil.which("g++") or shutil.which("clang++")


def _parse(params: str) -> list[tuple[bool, str, str]]:
    """``"raw T a, int32 n"`` as [(raw, type, name), ...]."""
    out = []
    for part in params.split(","):
        words = part.split()
        if not words:
            continue
        raw = words[0] == "raw"
        out.append((raw, *words[-2:]))
    return out


def _unwrap(value: Any) -> Any:
    return value._a if type(value).__name__ == "StrictArray" else value


class HostKernel:
    """One ElementwiseKernel built with the host's C++ compiler (see the module text)."""

    def __init__(self, in_params: str, out_params: str, operation: str, name: str,
                 preamble: str = "", **_: Any) -> None:
        self.inputs, self.outputs = _parse(in_params), _parse(out_params)
        self.operation, self.name, self.preamble = operation, name, preamble
        self._libraries: dict[str, Any] = {}

    def _source(self, kind: str) -> str:
        params = self.inputs + self.outputs
        before, per_element = [], []
        for k, (raw, type_, name) in enumerate(params):
            c_type = kind if type_ == "T" else _C_TYPES[type_]
            is_output = k >= len(self.inputs)
            if raw:
                before.append(f"{c_type}* {name} = ({c_type}*)a[{k}];")
                continue
            before.append(f"{c_type}* p_{name} = ({c_type}*)a[{k}];")
            before.append(f"const long long s_{name} = strides[{k}];")
            ref = f"{c_type}&" if is_output else f"const {c_type}"
            per_element.append(f"{ref} {name} = p_{name}[i * s_{name}];")
        return (f"{_HEADER}typedef {kind} T;\n{self.preamble}\n"
                f'extern "C" void run(long long n, void** a, const long long* strides) {{\n'
                + "\n".join(before)
                + "\nfor (long long i_ = 0; i_ < n; ++i_) {\nconst std::ptrdiff_t i = i_;\n"
                + "\n".join(per_element) + f"\n{{\n{self.operation}\n}}\n}}\n}}\n")

    def _library(self, kind: str) -> Any:
        library = self._libraries.get(kind)
        if library is not None:
            return library
        cxx = compiler()
        if cxx is None:
            raise RuntimeError(f"{self.name}: no C++ compiler to build the kernel on the host")
        source = self._source(kind)
        digest = hashlib.sha1((cxx + source).encode()).hexdigest()[:16]
        cache = Path(tempfile.gettempdir()) / "shenjing-host-kernels"
        cache.mkdir(exist_ok=True)
        path = cache / f"{self.name}_{digest}.so"
        if not path.exists():
            fd, partial = tempfile.mkstemp(suffix=".so", dir=cache)
            os.close(fd)
            done = subprocess.run(
                [cxx, "-std=c++14", "-O1", "-shared", "-fPIC", "-Werror=return-type",
                 "-x", "c++", "-", "-o", partial],
                input=source, capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                os.unlink(partial)
                raise RuntimeError(f"{self.name}: the kernel does not compile:\n"
                                   f"{done.stderr[:3000]}\n--- source ---\n{source}")
            os.replace(partial, path)  # atomic: a parallel test run may build it too
        library = self._libraries[kind] = ctypes.CDLL(str(path))
        return library

    def __call__(self, *args: Any, size: int | None = None) -> None:
        params = self.inputs + self.outputs
        if len(args) != len(params):
            raise TypeError(f"{self.name}: takes {len(params)} arguments, got {len(args)}")
        values = [_unwrap(a) for a in args]
        dtype = next((v.dtype for v, (_, t, _) in zip(values, params, strict=True)
                      if t == "T" and isinstance(v, np.ndarray)), None)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"{self.name}: T must be float32 or float64, got {dtype}")
        plain = [v for v, (raw, _, _) in zip(values, params, strict=True)
                 if not raw and isinstance(v, np.ndarray)]
        shape = np.broadcast_shapes(*(v.shape for v in plain)) if plain else (size,)
        n = int(np.prod(shape)) if plain else int(size or 0)
        buffers, strides, back = [], [], []
        for k, (value, (raw, type_, name)) in enumerate(zip(values, params, strict=True)):
            np_type = dtype.type if type_ == "T" else _NP_TYPES[type_]
            is_output = k >= len(self.inputs)
            if isinstance(value, np.ndarray):
                if value.dtype != np_type:
                    raise TypeError(f"{self.name}: {name} is {value.dtype}, declared "
                                    f"{type_} ({np.dtype(np_type)})")
                if raw:
                    buffer = np.ascontiguousarray(value)
                    stride = 1
                elif is_output:
                    if value.shape != shape:
                        raise ValueError(f"{self.name}: output {name} has shape "
                                         f"{value.shape}, the kernel's is {shape}")
                    buffer, stride = np.ascontiguousarray(value), 1
                else:
                    buffer, stride = np.ascontiguousarray(np.broadcast_to(value, shape)), 1
                if buffer is not value:
                    back.append((value, buffer))
            else:  # a scalar: one element, read at every index
                buffer, stride = np.array([value], dtype=np_type), 0
            buffers.append(buffer)
            strides.append(stride)
        pointers = (ctypes.c_void_p * len(buffers))(*(b.ctypes.data for b in buffers))
        stride_array = (ctypes.c_longlong * len(strides))(*strides)
        kind = "float" if dtype == np.float32 else "double"
        self._library(kind).run(ctypes.c_longlong(n), pointers, stride_array)
        for value, buffer in back:  # outputs, and raw arrays the body may have written
            if value.flags.writeable and value.shape == buffer.shape:
                value[...] = buffer


def install() -> None:
    """Build ``strict_numpy``'s kernels on the host (the strict stand-in runs the GPU
    paths that need them)."""
    _cuda.host_kernels("strict_numpy", HostKernel)


def uninstall() -> None:
    """Undo ``install()``."""
    _cuda.host_kernels("strict_numpy", None)
