"""The layers: each a ``Module`` with PyTorch's parameter names and shapes."""

from shenjing.nn.layers.activation import *
from shenjing.nn.layers.activation_extra import *
from shenjing.nn.layers.adaptive_pool import *
from shenjing.nn.layers.attention import *
from shenjing.nn.layers.batchnorm import *
from shenjing.nn.layers.container import *
from shenjing.nn.layers.conv import *
from shenjing.nn.layers.conv_transpose import *
from shenjing.nn.layers.dicts import *
from shenjing.nn.layers.dropout import *
from shenjing.nn.layers.embedding import *
from shenjing.nn.layers.linear import *
from shenjing.nn.layers.loss import *
from shenjing.nn.layers.norm import *
from shenjing.nn.layers.perceptron import *
from shenjing.nn.layers.pooling import *
from shenjing.nn.layers.recurrent import *
from shenjing.nn.layers.recurrent_cells import *
from shenjing.nn.layers.sync_batchnorm import *
from shenjing.nn.layers.transformer import *
from shenjing.nn.layers.volumetric import *
