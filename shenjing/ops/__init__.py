"""The differentiable primitives, grouped by the math they do.

Each op is a ``Function`` subclass (forward and backward side by side) plus a plain
function, named as in PyTorch, that checks its arguments, lifts Python numbers and calls
``apply``. Every module lists its public functions in ``__all__``.
"""

from shenjing.ops.activation import *
from shenjing.ops.activation_extra import *
from shenjing.ops.adaptive_max import *
from shenjing.ops.attention import *
from shenjing.ops.compare import *
from shenjing.ops.conv import *
from shenjing.ops.conv_transpose import *
from shenjing.ops.dropout import *
from shenjing.ops.elementwise import *
from shenjing.ops.embedding import *
from shenjing.ops.indexing import *
from shenjing.ops.linalg import *
from shenjing.ops.loss import *
from shenjing.ops.loss_class import *
from shenjing.ops.norm_layers import *
from shenjing.ops.normalization import *
from shenjing.ops.padding import *
from shenjing.ops.pool import *
from shenjing.ops.recurrent import *
from shenjing.ops.reduce import *
from shenjing.ops.resize import *
from shenjing.ops.shape import *

# isort: off
# The ops PyTorch users reach for beyond the core (issue 12), each module one idea.
from shenjing.ops.bitwise import *
from shenjing.ops.blend import *
from shenjing.ops.einsum import *
from shenjing.ops.explog import *
from shenjing.ops.gather_scatter import *
from shenjing.ops.logical import *
from shenjing.ops.product import *
from shenjing.ops.reorder import *
from shenjing.ops.rounding import *
from shenjing.ops.scan import *
from shenjing.ops.sorting import *
from shenjing.ops.triangle import *
from shenjing.ops.trig import *

# Names published PyTorch programs reach for (issue 20): 3-D convolution and pooling,
# max unpooling, repeat_interleave, multinomial, norm.
from shenjing.ops.conv3d import *
from shenjing.ops.pool3d import *
from shenjing.ops.interleave import *
from shenjing.ops.sampling import *
from shenjing.ops.unpool import *
from shenjing.ops.vector_norm import *

# isort: on
