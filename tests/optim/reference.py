"""Straight NumPy transcriptions of PyTorch's documented optimizer algorithms (float64).

Each function takes the current weights, the gradient and a state dict, and returns the new
weights; it is written line by line from the pseudo-code in PyTorch's documentation, independently
of microgradnet's implementation. Where the documented pseudo-code and torch's implementation
differ, the implementation wins (we promise the same trajectory as torch.optim), and a comment
says so: ``maximize`` negates the gradient first, before weight decay; AMSGrad keeps the maximum of
the raw second moment and bias-corrects it afterwards.
"""

from __future__ import annotations

import numpy as np


def sgd(w, g, s, *, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
        maximize=False):
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * w
    if momentum != 0:
        if "b" in s:
            s["b"] = momentum * s["b"] + (1 - dampening) * g
        else:
            s["b"] = g.copy()
        g = g + momentum * s["b"] if nesterov else s["b"]
    return w - lr * g


def classic_momentum(w, g, s, *, lr, momentum):
    """The delta rule with momentum: Δw(n) = −η ∂E/∂w + α Δw(n−1)."""
    s["dw"] = -lr * g + momentum * s.get("dw", 0.0)
    return w + s["dw"]


def adam(w, g, s, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
         maximize=False, decoupled=False):
    b1, b2 = betas
    if maximize:
        g = -g
    if decoupled:  # AdamW: θ ← θ − γλθ
        w = w - lr * weight_decay * w
    elif weight_decay != 0:
        g = g + weight_decay * w
    t = s["t"] = s.get("t", 0) + 1
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
    m_hat = s["m"] / (1 - b1**t)
    if amsgrad:
        s["vmax"] = np.maximum(s.get("vmax", 0.0), s["v"])
        v_hat = s["vmax"] / (1 - b2**t)
    else:
        v_hat = s["v"] / (1 - b2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps)


def rmsprop(w, g, s, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
            centered=False, maximize=False):
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * w
    s["v"] = alpha * s.get("v", 0.0) + (1 - alpha) * g * g
    v_tilde = s["v"]
    if centered:
        s["gave"] = alpha * s.get("gave", 0.0) + (1 - alpha) * g
        v_tilde = v_tilde - s["gave"] ** 2
    if momentum > 0:
        s["b"] = momentum * s.get("b", 0.0) + g / (np.sqrt(v_tilde) + eps)
        return w - lr * s["b"]
    return w - lr * g / (np.sqrt(v_tilde) + eps)


def adagrad(w, g, s, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
            eps=1e-10, maximize=False):
    if maximize:
        g = -g
    t = s["t"] = s.get("t", 0) + 1
    clr = lr / (1 + (t - 1) * lr_decay)
    if weight_decay != 0:
        g = g + weight_decay * w
    s["sum"] = s.get("sum", initial_accumulator_value) + g * g
    return w - clr * g / (np.sqrt(s["sum"]) + eps)
