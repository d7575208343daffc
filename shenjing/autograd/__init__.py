"""Reverse-mode automatic differentiation: graph nodes, the backward pass, grad modes."""

from shenjing.autograd.function import Function
from shenjing.autograd.grad_mode import (
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from shenjing.autograd.gradcheck import GradcheckError, gradcheck

__all__ = ["Function", "GradcheckError", "enable_grad", "gradcheck", "is_grad_enabled", "no_grad",
           "set_grad_enabled"]
