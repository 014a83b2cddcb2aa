"""Loss modules: thin wrappers that remember their settings and call ``mg.functional``.

``reduction`` is ``"mean"``, ``"sum"`` or ``"none"`` (per element, or per sample for the
cross-entropies), with PyTorch's meaning, except ``SSELoss`` whose default is ``"sum"``:
E = ½ Σ (t − o)² is the classic global error.

>>> loss = mg.nn.SSELoss()
>>> loss(mg.tensor([[1.0], [0.0]]), mg.tensor([[0.0], [0.0]]))
tensor(0.5)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from microgradnet import functional as F
from microgradnet.nn.module import Module
from microgradnet.tensor import Tensor

__all__ = [
    "MSELoss",
    "SSELoss",
    "L1Loss",
    "CrossEntropyLoss",
    "NLLLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
]


def _as_buffer(x: Any) -> Tensor | None:
    if x is None or isinstance(x, Tensor):
        return x
    return Tensor(np.asarray(x))


class _Loss(Module):
    """Stores ``reduction`` (validated) and shows it in ``repr``."""

    if TYPE_CHECKING:  # for type checkers: ``loss_fn(output, target)`` is a Tensor
        def __call__(self, input: Any, target: Any, /) -> Tensor: ...

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or "
                             f"'none', got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error: mean((o − t)²) over every element.

    >>> mg.nn.MSELoss()(mg.tensor([1.0, 2.0]), mg.tensor([1.0, 0.0]))
    tensor(2.)
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.mse_loss(input, target, self.reduction)


class SSELoss(_Loss):
    """Half the sum of squared errors, E = ½ Σ_p Σ_k (t_pk − o_pk)²: the global error the
    backpropagation literature minimises (Rumelhart, Hinton & Williams, 1986). The ½ makes its
    derivative ∂E/∂o = o − t.

    ``reduction="sum"`` (the default) is E; ``"mean"`` divides by the number of elements;
    ``"none"`` gives ½(t − o)² per element (sum over the last axis for the per-pattern E_p).

    >>> mg.nn.SSELoss()(mg.tensor([1.0, 2.0]), mg.tensor([1.0, 0.0]))  # ½·(0² + 2²)
    tensor(2.)
    """

    def __init__(self, reduction: str = "sum") -> None:
        super().__init__(reduction)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.sse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error: mean(|o − t|).

    >>> mg.nn.L1Loss()(mg.tensor([1.0, 2.0]), mg.tensor([1.0, 0.0]))
    tensor(1.)
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.l1_loss(input, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax and negative log-likelihood in one stable step, on raw scores (logits).

    Targets are class labels (integers) or class probabilities; ``weight`` (one per class),
    ``ignore_index`` and ``label_smoothing`` work as in PyTorch.

    >>> mg.nn.CrossEntropyLoss()(mg.tensor([[0.0, 0.0]]), mg.tensor([1]))  # log 2
    tensor(0.6931)
    """

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got "
                             f"{label_smoothing}")
        self.register_buffer("weight", _as_buffer(weight))
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)

    def extra_repr(self) -> str:
        extra = super().extra_repr()
        if self.ignore_index != -100:
            extra += f", ignore_index={self.ignore_index}"
        if self.label_smoothing:
            extra += f", label_smoothing={self.label_smoothing}"
        return extra


class NLLLoss(_Loss):
    """Negative log-likelihood of class labels given log-probabilities (after
    ``LogSoftmax``).

    >>> mg.nn.NLLLoss()(mg.tensor([[-0.5, -2.0]]), mg.tensor([0]))
    tensor(0.5)
    """

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean"
                 ) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", _as_buffer(weight))
        self.ignore_index = ignore_index

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (a sigmoid output) against 0/1 targets.

    >>> mg.nn.BCELoss()(mg.tensor([0.5, 0.5]), mg.tensor([1.0, 0.0]))  # log 2
    tensor(0.6931)
    """

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", _as_buffer(weight))

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid and binary cross-entropy in one numerically stable step, on raw scores.

    >>> mg.nn.BCEWithLogitsLoss()(mg.tensor([0.0]), mg.tensor([1.0]))  # log 2
    tensor(0.6931)
    """

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None
                 ) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", _as_buffer(weight))
        self.register_buffer("pos_weight", _as_buffer(pos_weight))

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                  self.pos_weight)
