"""Neural-network building blocks: modules, layers, initialisation, the functional API.

Example:
    >>> import shenjing as sj
    >>> import shenjing.nn as nn
    >>> model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    >>> model(sj.randn(8, 4)).shape
    (8, 3)
"""

from shenjing.nn import functional, init, parallel, utils
from shenjing.nn.clip_grad import clip_grad_norm_, clip_grad_value_
from shenjing.nn.layers import *
from shenjing.nn.module import IncompatibleKeys, Module
from shenjing.nn.parallel import DataParallel
from shenjing.nn.parameter import Parameter
from shenjing.nn.saving import register_module
