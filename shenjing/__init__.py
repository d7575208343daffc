"""shenjing (神经, "neural"): a deep-learning library on NumPy, readable and fast.

Example:
    >>> import shenjing as sj
    >>> x = sj.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x ** 2).sum().backward()
    >>> x.grad.numpy().tolist()
    [2.0, 4.0, 6.0]
"""

from shenjing import dtypes
from shenjing._legacy_tensor_types import (  # PyTorch's legacy tensor classes
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
)
from shenjing._tensor_interop import from_dlpack, is_tensor, numel
from shenjing.autograd import (
    Function,
    GradcheckError,
    enable_grad,
    gradcheck,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from shenjing.backend import Device as device  # a class, as torch.device
from shenjing.backend import Generator, get_rng_state, manual_seed, set_rng_state
from shenjing.backends.switches import (
    are_deterministic_algorithms_enabled,
    get_float32_matmul_precision,
    set_float32_matmul_precision,
    use_deterministic_algorithms,
)
from shenjing.creation import (
    arange,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from shenjing.dtypes import (  # PyTorch's dtype names
    bool,
    double,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    set_default_dtype,
    short,
    uint8,
)
from shenjing.graph import (  # graph mode, sessions and the compiled path
    Graph,
    Session,
    Variable,
    compile,
    constant,
    get_default_graph,
    placeholder,
)
from shenjing.ops import *
from shenjing.tensor import Tensor

# isort: off
# The layers above the engine, in the order they build on each other.
from shenjing import amp
from shenjing.amp import autocast, get_autocast_dtype, is_autocast_enabled
from shenjing import accelerator, backends, cuda, data, losses, nn, optim, utils, viz
# As ``import torch`` does: torch.distributed and nn.parallel.DistributedDataParallel are
# there without a further import (outside an MPI launcher this joins nothing).
from shenjing import distributed
from shenjing.diagnostics import gradcheck_model
from shenjing.io import load, save
from shenjing.nn.saving import load_model
from shenjing import training  # registers the trainer behind every Module's compile()
from shenjing.threads import get_num_threads, set_num_threads
from shenjing import onnx

# isort: on

from shenjing._version import __version__


def __getattr__(name: str) -> object:
    """``sj.bfloat16``, loaded on first use from ml_dtypes (kept out of ``import shenjing``)."""
    if name == "bfloat16":
        return dtypes.bfloat16
    raise AttributeError(f"module 'shenjing' has no attribute {name!r}")
