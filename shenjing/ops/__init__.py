"""The differentiable primitives, grouped by the math they do.

Each op is a ``Function`` subclass (forward and backward side by side) plus a plain
function, named as in PyTorch, that checks its arguments, lifts Python numbers and calls
``apply``. Every module lists its public functions in ``__all__``.
"""

from shenjing.ops.activation import *  # noqa: F403
from shenjing.ops.conv import *  # noqa: F403
from shenjing.ops.dropout import *  # noqa: F403
from shenjing.ops.elementwise import *  # noqa: F403
from shenjing.ops.embedding import *  # noqa: F403
from shenjing.ops.linalg import *  # noqa: F403
from shenjing.ops.loss import *  # noqa: F403
from shenjing.ops.normalization import *  # noqa: F403
from shenjing.ops.pool import *  # noqa: F403
from shenjing.ops.recurrent import *  # noqa: F403
from shenjing.ops.reduce import *  # noqa: F403
from shenjing.ops.shape import *  # noqa: F403
from shenjing.ops.special import *  # noqa: F403
