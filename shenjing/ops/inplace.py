"""The two ops behind in-place writes that have no out-of-place twin: overwriting a
tensor's values (``copy_``, ``fill_``, ``zero_``, ``normal_``, ``uniform_``) and
writing into part of it (``t[index] = v``).

They are ordinary out-of-place ops; the in-place tensor methods (``shenjing/
_tensor_inplace.py``) run them on the old values and write the result into the
tensor's memory, so that autograd records the write.
"""

from __future__ import annotations

from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops._util import unbroadcast

__all__: list[str] = []  # reached through Tensor methods only


class Overwrite(Function):
    """y = v broadcast to x's shape, in x's dtype;  gx = 0;  gv = gy summed to v's shape."""

    def forward(self, x: Any, v: Any) -> Any:
        xp = get_array_module(x)
        self.x_shape, self.x_dtype, self.v_shape, self.v_dtype = x.shape, x.dtype, v.shape, v.dtype
        return xp.broadcast_to(v, x.shape).astype(x.dtype)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        gx = xp.zeros(self.x_shape, dtype=self.x_dtype) if self.needs_input_grad[0] else None
        gv = None
        if self.needs_input_grad[1]:
            gv = unbroadcast(gy, self.v_shape).astype(self.v_dtype, copy=False)
        return gx, gv


class SetItem(Function):
    """y = x with y[index] = v (v broadcast to the selection);
    gx = gy with zeros at index;  gv = gy[index] summed to v's shape."""

    def forward(self, x: Any, v: Any, index: Any) -> Any:
        self.index, self.v_shape, self.v_dtype = index, v.shape, v.dtype
        y = x.copy()
        y[index] = v
        return y

    def backward(self, gy: Any) -> Any:
        gx = gv = None
        if self.needs_input_grad[0]:
            gx = gy.copy()
            gx[self.index] = 0
        if self.needs_input_grad[1]:
            g = gy[self.index]
            if g.ndim < len(self.v_shape):  # v had leading size-1 axes the selection lacks
                g = g.reshape((1,) * (len(self.v_shape) - g.ndim) + g.shape)
            gv = unbroadcast(g, self.v_shape).astype(self.v_dtype, copy=False)
        return gx, gv
