"""Stochastic gradient descent with momentum: PyTorch's rule, and the classic delta rule."""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet.optim.optimizer import Optimizer, ParamsT, _check_nonneg
from microgradnet.tensor import Tensor

__all__ = ["SGD"]

_FORMS = ("pytorch", "classic")


class SGD(Optimizer):
    r"""Gradient descent, optionally with momentum, exactly as ``torch.optim.SGD``.

    With gradient g = ∂E/∂w (plus λw for ``weight_decay`` λ; negated for ``maximize``),
    momentum μ, dampening τ and learning rate η, each step does (PyTorch's order)::

        b(1) = g                          first step: the buffer starts at the gradient
        b(n) = μ b(n−1) + (1 − τ) g       later steps
        d    = g + μ b(n) if nesterov else b(n)
        w   ← w − η d

    With τ = 0 and a constant η this is the classic delta rule with momentum
    Δw(n) = −η ∂E/∂w + α Δw(n−1) (α = μ, Δw = −η b): the same trajectory. When η changes
    between steps (a scheduler), PyTorch's form rescales the remembered velocity by the new η,
    the classic one does not; ``momentum_form="classic"`` runs the delta rule itself, keeping
    Δw(n−1) in ``state["delta"]`` (no dampening or nesterov there). See docs/optim.md.

    Args:
        params: tensors, or dicts of tensors with per-group options.
        lr: η, the learning rate.
        momentum: μ (α in the classic equation).
        dampening: τ, scales the new gradient in the buffer (not on the first step).
        weight_decay: λ, adds λw to the gradient (L2 penalty).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: ascend instead of descend.
        momentum_form: ``"pytorch"`` (default) or ``"classic"``.
        nonfinite: ``"raise"`` or ``"skip"`` for NaN/inf gradients (see ``Optimizer``).

    >>> w = mg.tensor([1.0], requires_grad=True)
    >>> opt = mg.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (0.5 * w * w).sum().backward()       # dE/dw = w
    ...     opt.step()
    >>> round(w.item(), 4)                       # 1 - 0.1*1, then 0.9 - 0.1*(0.9*1 + 0.9)
    0.72
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        momentum_form: str = "pytorch",
        nonfinite: str = "raise",
    ) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        momentum_form=momentum_form)
        super().__init__(params, defaults, nonfinite=nonfinite)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_nonneg(group, "lr", "learning rate")
        _check_nonneg(group, "momentum", "momentum value")
        _check_nonneg(group, "weight_decay", "weight_decay value")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        form = group["momentum_form"]
        if form not in _FORMS:
            raise ValueError(f"momentum_form must be 'pytorch' or 'classic', got {form!r}")
        if form == "classic" and (group["nesterov"] or group["dampening"] != 0):
            raise ValueError(
                "momentum_form='classic' is the delta rule Δw(n) = −η ∂E/∂w + α Δw(n−1): it "
                "has no dampening and no nesterov; use momentum_form='pytorch' for those"
            )

    _state_names = frozenset({"momentum_buffer", "delta"})

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        w = p.data
        g = -grad if group["maximize"] else grad
        if wd != 0:
            g = g + wd * w
        if group["momentum_form"] == "classic" and mu != 0:
            # Δw(n) = −η ∂E/∂w + α Δw(n−1);  w(n) = w(n−1) + Δw(n)
            if "delta" not in state:
                state["delta"] = Tensor._make(np.zeros_like(w), False, None)
            delta = state["delta"].data
            delta *= mu
            np.subtract(delta, lr * g, out=delta, casting="unsafe")
            np.add(w, delta, out=w, casting="unsafe")
            return
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:  # b(1) = g, without dampening
                buf = state["momentum_buffer"] = Tensor._make(np.array(g, dtype=w.dtype),
                                                              False, None)
            else:  # b(n) = μ b(n−1) + (1 − τ) g
                b = buf.data
                b *= mu
                np.add(b, g if group["dampening"] == 0 else (1 - group["dampening"]) * g,
                       out=b, casting="unsafe")
            g = g + mu * buf.data if group["nesterov"] else buf.data
        np.subtract(w, lr * g, out=w, casting="unsafe")
