"""RMSprop: divide each weight's step by a running root mean square of its gradient."""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet.optim.optimizer import Optimizer, ParamsT, _check_nonneg
from microgradnet.tensor import Tensor

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton), exactly as ``torch.optim.RMSprop``, optionally centered and with momentum.

    With g the gradient (negated for ``maximize``; plus λw for ``weight_decay`` λ)::

        v ← α v + (1 − α) g²                 running mean of g²
        centered: ḡ ← α ḡ + (1 − α) g;  v' = v − ḡ²  (an estimate of the variance of g)
        d = g / (√v' + ε)
        momentum μ > 0: b ← μ b + d;  w ← w − η b       else: w ← w − η d

    >>> w = mg.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = mg.optim.RMSprop([w], lr=0.01, alpha=0.99)
    >>> (w * w).sum().backward()             # g = ±2, v = 0.01 · 4, √v = 0.2
    >>> opt.step()                           # w − 0.01 · 2 / 0.2
    >>> w
    tensor([ 0.9, -0.9], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
        nonfinite: str = "raise",
    ) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults, nonfinite=nonfinite)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_nonneg(group, "lr", "learning rate")
        _check_nonneg(group, "eps", "epsilon value")
        _check_nonneg(group, "momentum", "momentum value")
        _check_nonneg(group, "weight_decay", "weight_decay value")
        _check_nonneg(group, "alpha", "alpha value")

    _state_names = frozenset({"step", "square_avg", "grad_avg", "momentum_buffer"})

    def _required_state(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "square_avg")

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        lr, alpha, mu = group["lr"], group["alpha"], group["momentum"]
        w = p.data
        g = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * w
        if not state:
            state["step"] = 0
            state["square_avg"] = Tensor._make(np.zeros_like(w), False, None)
        state["step"] += 1
        v = state["square_avg"].data
        v *= alpha
        v += (1 - alpha) * (g * g)
        if group["centered"]:
            if "grad_avg" not in state:
                state["grad_avg"] = Tensor._make(np.zeros_like(w), False, None)
            gbar = state["grad_avg"].data
            gbar += (1 - alpha) * (g - gbar)
            # v − ḡ² ≥ 0 in exact arithmetic; clamp the rounding that would give √(−tiny) = NaN
            avg = np.sqrt(np.maximum(v - gbar * gbar, 0.0))
        else:
            avg = np.sqrt(v)
        avg += group["eps"]
        if mu > 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = Tensor._make(np.zeros_like(w), False, None)
            buf = state["momentum_buffer"].data
            buf *= mu
            buf += g / avg
            np.subtract(w, lr * buf, out=w, casting="unsafe")
        else:
            np.subtract(w, lr * (g / avg), out=w, casting="unsafe")
