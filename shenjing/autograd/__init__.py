"""Reverse-mode automatic differentiation: graph nodes, the backward pass, grad modes."""

from shenjing.autograd.function import Function
from shenjing.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from shenjing.autograd.gradcheck import GradcheckError, gradcheck
from shenjing.autograd.variable import Variable

__all__ = ["Function", "GradcheckError", "enable_grad", "gradcheck", "is_grad_enabled", "no_grad",
           "set_grad_enabled", "inference_mode", "is_inference_mode_enabled",
           "Variable"]
