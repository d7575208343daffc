"""The differentiable primitives, grouped by the math they do.

Each op is a ``Function`` subclass (forward and backward side by side) plus a plain
function, named as in PyTorch, that checks its arguments, lifts Python numbers and calls
``apply``. Every module lists its public functions in ``__all__``.
"""

from shenjing.ops.activation import *  # noqa: F403
from shenjing.ops.activation_extra import *  # noqa: F403
from shenjing.ops.adaptive_max import *  # noqa: F403
from shenjing.ops.attention import *  # noqa: F403
from shenjing.ops.compare import *  # noqa: F403
from shenjing.ops.conv import *  # noqa: F403
from shenjing.ops.conv_transpose import *  # noqa: F403
from shenjing.ops.dropout import *  # noqa: F403
from shenjing.ops.elementwise import *  # noqa: F403
from shenjing.ops.embedding import *  # noqa: F403
from shenjing.ops.indexing import *  # noqa: F403
from shenjing.ops.linalg import *  # noqa: F403
from shenjing.ops.loss import *  # noqa: F403
from shenjing.ops.loss_class import *  # noqa: F403
from shenjing.ops.norm_layers import *  # noqa: F403
from shenjing.ops.normalization import *  # noqa: F403
from shenjing.ops.padding import *  # noqa: F403
from shenjing.ops.pool import *  # noqa: F403
from shenjing.ops.recurrent import *  # noqa: F403
from shenjing.ops.reduce import *  # noqa: F403
from shenjing.ops.resize import *  # noqa: F403
from shenjing.ops.shape import *  # noqa: F403

# isort: off
# The ops PyTorch users reach for beyond the core (issue 12), each module one idea.
from shenjing.ops.bitwise import *  # noqa: F403
from shenjing.ops.blend import *  # noqa: F403
from shenjing.ops.einsum import *  # noqa: F403
from shenjing.ops.explog import *  # noqa: F403
from shenjing.ops.gather_scatter import *  # noqa: F403
from shenjing.ops.logical import *  # noqa: F403
from shenjing.ops.product import *  # noqa: F403
from shenjing.ops.reorder import *  # noqa: F403
from shenjing.ops.rounding import *  # noqa: F403
from shenjing.ops.scan import *  # noqa: F403
from shenjing.ops.sorting import *  # noqa: F403
from shenjing.ops.triangle import *  # noqa: F403
from shenjing.ops.trig import *  # noqa: F403

# Names published PyTorch programs reach for (issue 20): 3-D convolution and pooling,
# max unpooling, repeat_interleave, multinomial, norm.
from shenjing.ops.conv3d import *  # noqa: F403
from shenjing.ops.pool3d import *  # noqa: F403
from shenjing.ops.interleave import *  # noqa: F403
from shenjing.ops.sampling import *  # noqa: F403
from shenjing.ops.unpool import *  # noqa: F403
from shenjing.ops.vector_norm import *  # noqa: F403

# isort: on
