"""Adagrad: each weight's step shrinks with the sum of its squared gradients so far."""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet.optim.optimizer import Optimizer, ParamsT, _check_nonneg
from microgradnet.tensor import Tensor

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer), exactly as ``torch.optim.Adagrad``.

    With g the gradient (negated for ``maximize``; plus λw for ``weight_decay`` λ), step t::

        η̃ = η / (1 + (t − 1) · lr_decay)
        s ← s + g²                       s starts at initial_accumulator_value
        w ← w − η̃ g / (√s + ε)

    >>> w = mg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = mg.optim.Adagrad([w], lr=0.5)
    >>> (w * w).sum().backward()         # g = (2, −4): s = g², so the step is 0.5 · sign(g)
    >>> opt.step()
    >>> w
    tensor([ 0.5, -1.5], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
        nonfinite: str = "raise",
    ) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        maximize=maximize)
        super().__init__(params, defaults, nonfinite=nonfinite)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_nonneg(group, "lr", "learning rate")
        _check_nonneg(group, "lr_decay", "lr_decay value")
        _check_nonneg(group, "weight_decay", "weight_decay value")
        _check_nonneg(group, "initial_accumulator_value", "initial_accumulator_value value")
        _check_nonneg(group, "eps", "epsilon value")

    _state_names = frozenset({"step", "sum"})

    def _required_state(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "sum")

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        w = p.data
        g = -grad if group["maximize"] else grad
        if not state:
            state["step"] = 0
            state["sum"] = Tensor._make(np.full_like(w, group["initial_accumulator_value"]),
                                        False, None)
        state["step"] += 1
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * w
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"].data
        s += g * g
        np.subtract(w, clr * (g / (np.sqrt(s) + group["eps"])), out=w, casting="unsafe")
