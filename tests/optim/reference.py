"""Straight NumPy transcriptions of each optimizer's published update, for the tests.

Each ``ref_*`` function takes a parameter array, its raw gradient, a state dict it may
fill, and the optimizer's keyword arguments (with the documented defaults), and returns
the new parameter array. They allocate freely: the point is to read like the formulas.
"""

from __future__ import annotations

import numpy as np


def ref_sgd(theta, grad, s, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
            nesterov=False, maximize=False):
    g = (-grad if maximize else grad) + weight_decay * theta
    if momentum:
        s["b"] = g.copy() if "b" not in s else momentum * s["b"] + (1 - dampening) * g
        g = g + momentum * s["b"] if nesterov else s["b"]
    return theta - lr * g


def ref_adagrad(theta, grad, s, lr=1e-2, lr_decay=0, weight_decay=0,
                initial_accumulator_value=0, eps=1e-10, maximize=False):
    t = s["t"] = s.get("t", 0) + 1
    g = (-grad if maximize else grad) + weight_decay * theta
    s["sum"] = s.get("sum", np.full_like(theta, initial_accumulator_value)) + g * g
    return theta - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s["sum"]) + eps)


def ref_adadelta(theta, grad, s, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False):
    g = (-grad if maximize else grad) + weight_decay * theta
    s["Eg2"] = rho * s.get("Eg2", 0 * theta) + (1 - rho) * g * g
    delta = np.sqrt(s.get("Ed2", 0 * theta) + eps) / np.sqrt(s["Eg2"] + eps) * g
    s["Ed2"] = rho * s.get("Ed2", 0 * theta) + (1 - rho) * delta * delta
    return theta - lr * delta


def ref_rmsprop(theta, grad, s, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                centered=False, maximize=False):
    g = (-grad if maximize else grad) + weight_decay * theta
    s["v"] = alpha * s.get("v", 0 * theta) + (1 - alpha) * g * g
    if centered:
        s["gbar"] = alpha * s.get("gbar", 0 * theta) + (1 - alpha) * g
        d = np.sqrt(s["v"] - s["gbar"] ** 2) + eps
    else:
        d = np.sqrt(s["v"]) + eps
    if momentum > 0:
        s["b"] = momentum * s.get("b", 0 * theta) + g / d
        return theta - lr * s["b"]
    return theta - lr * g / d


def ref_adam(theta, grad, s, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
             amsgrad=False, maximize=False, decoupled=False):
    beta1, beta2 = betas
    t = s["t"] = s.get("t", 0) + 1
    g = -grad if maximize else grad
    if decoupled:
        theta = theta * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * theta
    s["m"] = beta1 * s.get("m", 0 * theta) + (1 - beta1) * g
    s["v"] = beta2 * s.get("v", 0 * theta) + (1 - beta2) * g * g
    if amsgrad:
        s["vmax"] = np.maximum(s.get("vmax", 0 * theta), s["v"])
    v = s["vmax"] if amsgrad else s["v"]
    m_hat = s["m"] / (1 - beta1**t)
    return theta - lr * m_hat / (np.sqrt(v) / np.sqrt(1 - beta2**t) + eps)


def ref_adamw(theta, grad, s, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
              amsgrad=False, maximize=False):
    return ref_adam(theta, grad, s, lr, betas, eps, weight_decay, amsgrad, maximize,
                    decoupled=True)


def ref_adamax(theta, grad, s, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
               maximize=False):
    beta1, beta2 = betas
    t = s["t"] = s.get("t", 0) + 1
    g = (-grad if maximize else grad) + weight_decay * theta
    s["m"] = beta1 * s.get("m", 0 * theta) + (1 - beta1) * g
    s["u"] = np.maximum(beta2 * s.get("u", 0 * theta), np.abs(g) + eps)
    return theta - lr / (1 - beta1**t) * s["m"] / s["u"]


def ref_nadam(theta, grad, s, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
              momentum_decay=4e-3, maximize=False):
    beta1, beta2 = betas
    t = s["t"] = s.get("t", 0) + 1
    g = (-grad if maximize else grad) + weight_decay * theta
    mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    s["prod"] = s.get("prod", 1.0) * mu
    s["m"] = beta1 * s.get("m", 0 * theta) + (1 - beta1) * g
    s["v"] = beta2 * s.get("v", 0 * theta) + (1 - beta2) * g * g
    d = np.sqrt(s["v"] / (1 - beta2**t)) + eps
    return (theta - lr * (1 - mu) / (1 - s["prod"]) * g / d
            - lr * mu_next / (1 - s["prod"] * mu_next) * s["m"] / d)


def ref_radam(theta, grad, s, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
              decoupled_weight_decay=False, maximize=False):
    beta1, beta2 = betas
    t = s["t"] = s.get("t", 0) + 1
    if decoupled_weight_decay:
        theta = theta * (1 - lr * weight_decay)
        weight_decay = 0
    g = (-grad if maximize else grad) + weight_decay * theta
    s["m"] = beta1 * s.get("m", 0 * theta) + (1 - beta1) * g
    s["v"] = beta2 * s.get("v", 0 * theta) + (1 - beta2) * g * g
    m_hat = s["m"] / (1 - beta1**t)
    rho_inf = 2 / (1 - beta2) - 1
    rho = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
    if rho <= 5:
        return theta - lr * m_hat
    r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
    return theta - lr * m_hat * r * np.sqrt(1 - beta2**t) / (np.sqrt(s["v"]) + eps)


REFERENCES = {
    "SGD": ref_sgd, "Adagrad": ref_adagrad, "Adadelta": ref_adadelta, "RMSprop": ref_rmsprop,
    "Adam": ref_adam, "AdamW": ref_adamw, "Adamax": ref_adamax, "NAdam": ref_nadam,
    "RAdam": ref_radam,
}
