"""Adam and AdamW: per-weight steps from running averages of the gradient and its square."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from microgradnet.optim.optimizer import Optimizer, ParamsT, _check_nonneg
from microgradnet.tensor import Tensor

__all__ = ["Adam", "AdamW"]


def _zeros(w: np.ndarray) -> Tensor:
    return Tensor._make(np.zeros_like(w), False, None)


class Adam(Optimizer):
    """Adam (Kingma & Ba), exactly as ``torch.optim.Adam``, with optional AMSGrad.

    With g the gradient (negated for ``maximize``; plus λw for ``weight_decay`` λ), step t::

        m ← β₁ m + (1 − β₁) g            first moment (running mean of g)
        v ← β₂ v + (1 − β₂) g²           second moment (running mean of g²)
        v_max ← max(v_max, v)            AMSGrad only; then v stands for v_max below
        w ← w − η · (m / (1 − β₁ᵗ)) / (√v / √(1 − β₂ᵗ) + ε)

    The divisions by 1 − βᵗ undo the bias of averages started at zero, so the first step
    moves each weight by about η against the sign of its gradient. AMSGrad keeps the maximum of
    the raw v and bias-corrects it afterwards, as PyTorch's implementation does.

    >>> w = mg.tensor([1.0, -3.0], requires_grad=True)
    >>> opt = mg.optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()                        # first step: about lr · sign(g)
    >>> w
    tensor([ 0.9, -2.9], requires_grad=True)
    """

    _decoupled = False

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        nonfinite: str = "raise",
    ) -> None:
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize)
        super().__init__(params, defaults, nonfinite=nonfinite)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_nonneg(group, "lr", "learning rate")
        _check_nonneg(group, "eps", "epsilon value")
        betas = group["betas"]
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        _check_nonneg(group, "weight_decay", "weight_decay value")

    _state_names = frozenset({"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"})

    def _required_state(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "exp_avg", "exp_avg_sq")

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        w = p.data
        g = -grad if group["maximize"] else grad
        if wd != 0:
            if self._decoupled:  # AdamW: w ← w − ηλw, kept out of the moments
                w *= 1 - lr * wd
            else:  # Adam: an L2 penalty folded into the gradient
                g = g + wd * w
        if not state:
            state["step"] = 0
            state["exp_avg"] = _zeros(w)
            state["exp_avg_sq"] = _zeros(w)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = _zeros(w)
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"].data, state["exp_avg_sq"].data
        m += (1 - beta1) * (g - m)  # m ← β₁ m + (1 − β₁) g (PyTorch's lerp)
        v *= beta2
        v += (1 - beta2) * (g * g)
        if group["amsgrad"]:
            v = state["max_exp_avg_sq"].data
            np.maximum(v, state["exp_avg_sq"].data, out=v)
        step_size = lr / (1 - beta1**t)
        denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps
        np.subtract(w, step_size * (m / denom), out=w, casting="unsafe")


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), exactly as ``torch.optim.AdamW``.

    Each step first shrinks the weights, w ← w − η λ w, then takes an Adam step whose moments
    never see the decay (in Adam, λw is added to the gradient and so is rescaled by √v).

    >>> w = mg.tensor([1.0], requires_grad=True)
    >>> opt = mg.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = mg.tensor([0.0])
    >>> opt.step()                         # zero gradient: only the decay, 1 − 0.1 · 0.5
    >>> w
    tensor([0.95], requires_grad=True)
    """

    _decoupled = True

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        nonfinite: str = "raise",
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         nonfinite=nonfinite)
