"""Neural-net functions (``mg.functional``, also ``mg.nn.functional``, imported as ``F``).

Activations, the softmax family, ``linear``, ``dropout``, ``one_hot`` and the losses, with
PyTorch's signatures and numbers. The hot ones are fused into a single graph node each
(``linear``, ``softmax``, ``log_softmax``, ``cross_entropy``, ``mse_loss``/``sse_loss``, the
binary cross-entropies): small networks spend most of their time in per-op Python overhead, so
one node instead of five matters. Those nodes, forward and derivative, are the Functions of
``microgradnet/ops/nn.py``; the functions here check the arguments, build the targets and choose
between the fused node and the elementary ops (``fused(False)``).

The autograd functional API (``jacobian``, ``jacfwd``, ``jacrev``, ``hessian``, ``vjp``,
``jvp``, ``hvp``, ``vhp``) is re-exported here too, as in ``torch.autograd.functional``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from microgradnet.autograd.forward_ad import _fw
from microgradnet.autograd.forward_ad import tangent_of as _tangent_of
from microgradnet.autograd.function import apply_op
from microgradnet.ops.elementwise import (
    elu,
    gelu,
    leaky_relu,
    relu,
    sigmoid,
    softplus,
    tanh,
)
from microgradnet.ops.nn import (
    BCEWithLogits,
    BinaryCrossEntropy,
    CrossEntropy,
    Linear,
    LogSoftmax,
    Softmax,
    SquaredError,
)
from microgradnet.random import get_generator
from microgradnet.tensor import Tensor, _to_array, get_default_dtype

__all__ = [
    "fused",
    "relu",
    "sigmoid",
    "tanh",
    "leaky_relu",
    "elu",
    "gelu",
    "softplus",
    "softmax",
    "log_softmax",
    "linear",
    "dropout",
    "one_hot",
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "sse_loss",
    "l1_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "jacobian",
    "jacfwd",
    "jacrev",
    "hessian",
    "vjp",
    "jvp",
    "hvp",
    "vhp",
]

_REDUCTIONS = ("mean", "sum", "none")


def _tensor(x: Any, op: str, what: str = "input") -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, list, tuple, int, float, np.number)):
        return Tensor._make(_to_array(x, copy=False), False, None)
    raise TypeError(f"{op}: {what} must be a Tensor or an array, got {type(x).__name__}")


def _floating(x: Tensor) -> Tensor:
    """Integer and bool tensors become the default floating dtype (softmax of labels, ...)."""
    return x if x.data.dtype.kind in "fc" else x.astype(get_default_dtype())


def _axis(axis: int | None, dim: int | None, ndim: int, op: str) -> int:
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{op}: give either axis= or dim=, not both")
        axis = dim
    if axis is None:
        axis = -1
    n = max(ndim, 1)
    if not -n <= axis < n:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor with {ndim} dims")
    return axis % n


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
        )


# --------------------------------------------------------------------------- softmax family


def softmax(x: Any, axis: int | None = None, dtype: Any = None, *, dim: int | None = None
            ) -> Tensor:
    """Softmax along ``axis`` (or ``dim``; default the last axis): outputs are positive and sum
    to 1 along it.

    >>> F.softmax(mg.tensor([0.0, 0.0]))
    tensor([0.5, 0.5])
    """
    x = _tensor(x, "softmax")
    x = _floating(x) if dtype is None else x.astype(dtype)
    return apply_op(Softmax, (x, _axis(axis, dim, x.data.ndim, "softmax")))


def log_softmax(x: Any, axis: int | None = None, dtype: Any = None, *, dim: int | None = None
                ) -> Tensor:
    """Logarithm of the softmax along ``axis`` (default the last), without overflow.

    >>> F.log_softmax(mg.tensor([0.0, 0.0])).exp()
    tensor([0.5, 0.5])
    """
    x = _tensor(x, "log_softmax")
    x = _floating(x) if dtype is None else x.astype(dtype)
    return apply_op(LogSoftmax, (x, _axis(axis, dim, x.data.ndim, "log_softmax")))


# --------------------------------------------------------------------------- linear


_FUSED = [True]  # False inside ``fused(False)``: linear and the losses record elementary ops


class fused:
    """Context manager: ``fused(False)`` makes ``linear`` (so ``nn.Linear``) and the losses
    record their elementary ops instead of one fused node each, so a graph picture shows the
    net input Σ w·x + θ, the error t − o and so on as nodes of their own (the values and
    gradients are the same; the fused nodes are only faster).

    >>> with F.fused(False):
    ...     y = F.linear(mg.tensor([[1.0, 2.0]]), mg.tensor([[1.0, 1.0]], requires_grad=True))
    >>> y.grad_fn.op_name, y.name
    ('matmul', 'net')
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = bool(enabled)

    def __enter__(self) -> fused:
        self._prev = _FUSED[0]
        _FUSED[0] = self.enabled
        return self

    def __exit__(self, *exc: object) -> None:
        _FUSED[0] = self._prev


def _named(t: Tensor, name: str) -> Tensor:
    if t.name is None:
        t.name = name
    return t


def _elementary_linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    net = x @ weight.T
    return _named(net if bias is None else net + bias, "net")


def _elementary_reduce(per: Tensor, scale: float, reduce: bool, name: str = "E") -> Tensor:
    return _named(per.sum() * scale, name) if reduce else per


def linear(x: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """The affine map of a fully connected layer: ``x @ weight.T + bias``.

    ``x`` has shape ``(..., in)`` (any batch dims, or none), ``weight`` ``(out, in)``, ``bias``
    ``(out,)``. One graph node, whatever the batch shape.

    >>> F.linear(mg.tensor([1.0, 2.0]), mg.tensor([[1.0, 1.0]]), mg.tensor([0.5]))
    tensor([3.5])
    """
    x = _tensor(x, "linear")
    weight = _tensor(weight, "linear", "weight")
    if weight.data.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out, in), got shape {weight.shape}")
    if x.data.ndim == 0 or x.data.shape[-1] != weight.data.shape[1]:
        raise ValueError(
            f"linear: input shape {x.shape} does not match weight shape {weight.shape}: the "
            f"input's last axis must have size {weight.shape[1]} (in_features)"
        )
    if bias is not None:
        bias = _tensor(bias, "linear", "bias")
        if bias.data.shape != (weight.data.shape[0],):
            raise ValueError(
                f"linear: bias shape {bias.shape} does not match weight shape {weight.shape}; "
                f"expected ({weight.shape[0]},)"
            )
    if not _FUSED[0]:
        return _elementary_linear(x, weight, bias)
    return apply_op(Linear, (x, weight, bias))


# --------------------------------------------------------------------------- dropout, one_hot


def dropout(x: Any, p: float = 0.5, training: bool = True,
            generator: np.random.Generator | None = None) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1−p) (inverted
    dropout, so evaluation needs no rescaling). Identity when ``training`` is False.

    >>> F.dropout(mg.ones(3), p=0.5, training=False)
    tensor([1., 1., 1.])
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    x = _tensor(x, "dropout")
    if not training or p == 0.0:
        return x
    dt = x.data.dtype if x.data.dtype.kind in "fc" else get_default_dtype()
    if p == 1.0:
        return x * np.zeros(x.data.shape, dtype=dt)
    keep = get_generator(generator).random(x.data.shape) >= p
    return x * (keep.astype(dt) / dt.type(1.0 - p))


def one_hot(x: Any, num_classes: int = -1) -> Tensor:
    """Class indices as one-hot rows: shape ``x.shape + (num_classes,)``, dtype int64.

    >>> F.one_hot(mg.tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    a = x.data if isinstance(x, Tensor) else np.asarray(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"one_hot: class indices must be integers, got dtype {a.dtype}")
    if num_classes == -1:
        num_classes = int(a.max()) + 1 if a.size else 0
    if a.size and (a.min() < 0 or a.max() >= num_classes):
        raise ValueError(
            f"one_hot: class values must be in [0, {num_classes}), got values in "
            f"[{a.min()}, {a.max()}]"
        )
    out = np.zeros(a.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, a[..., None].astype(np.intp), 1, axis=-1)
    return Tensor._make(out, False, None)


# --------------------------------------------------------------------------- cross-entropy


def _class_axis(x: Tensor, op: str) -> int:
    if x.data.ndim == 0:
        raise ValueError(f"{op}: input must have a class axis, got a 0-d tensor")
    return 0 if x.data.ndim == 1 else 1


def _class_weights(weight: Any, n_classes: int, dtype: np.dtype, op: str) -> np.ndarray | None:
    if weight is None:
        return None
    w = weight.data if isinstance(weight, Tensor) else np.asarray(weight)
    if w.shape != (n_classes,):
        raise ValueError(f"{op}: weight must have shape ({n_classes},) (one per class), got "
                         f"shape {w.shape}")
    return w.astype(dtype, copy=False)


def _label_targets(x: Tensor, target: np.ndarray, axis: int, weight: np.ndarray | None,
                   ignore_index: int, smoothing: float, op: str) -> tuple[np.ndarray, float]:
    """The dense target q for class labels, and the mean's denominator (PyTorch's rules):
    q = (1−ε)·w[t] at the label plus ε/C·w[c] everywhere, zero rows for ignored samples;
    the denominator is Σ w[t] over the samples that are not ignored."""
    shape, dt = x.data.shape, x.data.dtype
    n_classes = shape[axis]
    expected = shape[:axis] + shape[axis + 1:]
    if target.shape != expected:
        raise ValueError(
            f"{op}: input shape {shape} and target shape {target.shape} do not match: class "
            f"labels need shape {expected} (the input without its class axis {axis})"
        )
    valid = target != ignore_index
    all_valid = bool(valid.all())
    labels = (target if all_valid else np.where(valid, target, 0)).astype(np.intp, copy=False)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        bad = target[valid & ((target < 0) | (target >= n_classes))]
        raise IndexError(f"{op}: target {int(bad.flat[0])} is out of bounds for "
                         f"{n_classes} classes (ignore_index={ignore_index})")
    w_t: Any
    if weight is None and all_valid:  # the common case: every sample counts once
        w_t, denom = 1.0 - smoothing, float(labels.size)
    else:
        if weight is not None:
            w_t = weight[labels] if all_valid else weight[labels] * valid
        else:
            w_t = valid.astype(dt)
        denom = float(w_t.sum())
        w_t = (w_t * (1.0 - smoothing) if smoothing else w_t).ravel()
    q = np.zeros(expected + (n_classes,), dtype=dt)
    flat = q.reshape(-1, n_classes)  # a view: writes land in q
    flat[np.arange(flat.shape[0]), labels.ravel()] = w_t
    if smoothing:
        w_c = weight if weight is not None else np.ones(n_classes, dt)
        q += (smoothing / n_classes) * w_c * valid[..., None].astype(dt)
    return (q if axis == q.ndim - 1 else np.moveaxis(q, -1, axis)), denom


def _prob_targets(x: Tensor, target: Tensor, axis: int, weight: np.ndarray | None,
                  smoothing: float, op: str) -> Any:
    if target.data.shape != x.data.shape:
        raise ValueError(
            f"{op}: input shape {x.shape} and target shape {target.shape} do not match: class "
            "probabilities need the input's shape"
        )
    n_classes = x.data.shape[axis]
    wshape = [1] * x.data.ndim
    wshape[axis] = n_classes
    if target.requires_grad or _fw.level and _tangent_of(target) is not None:
        # differentiable soft targets (reverse or forward mode): build q from tensor ops
        q: Any = target
        if smoothing:
            q = q * (1.0 - smoothing) + smoothing / n_classes
        return q if weight is None else q * weight.reshape(wshape)
    q = target.data.astype(x.data.dtype, copy=smoothing == 0 and weight is None)
    if smoothing:
        q = q * (1.0 - smoothing) + smoothing / n_classes
    return q if weight is None else q * weight.reshape(wshape)


def cross_entropy(input: Any, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between the softmax of ``input`` (unnormalised scores, the class axis is 1,
    or 0 for a single sample) and ``target``: class labels (integers, shape without the class
    axis) or class probabilities (floats, the input's shape). One graph node.

    As PyTorch: ``weight`` rescales each class, samples whose label is ``ignore_index`` count
    for nothing, ``label_smoothing`` ε mixes the target with the uniform distribution, and
    ``"mean"`` divides by the summed weights of the counted samples (by the number of samples
    for probability targets).

    >>> round(F.cross_entropy(mg.tensor([[0.0, 0.0]]), mg.tensor([1])).item(), 4)
    0.6931
    """
    op = "cross_entropy"
    _check_reduction(reduction, op)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    x = _floating(_tensor(input, op))
    t = _tensor(target, op, "target")
    axis = _class_axis(x, op)
    n_classes = x.data.shape[axis]
    w = _class_weights(weight, n_classes, x.data.dtype, op)
    if t.data.dtype.kind in "iub":
        q, denom = _label_targets(x, t.data, axis, w, ignore_index, label_smoothing, op)
    else:
        q = _prob_targets(x, t, axis, w, label_smoothing, op)
        denom = float(x.data.size // n_classes) if n_classes else 0.0
    scale = 1.0 if reduction == "sum" else (1.0 / denom if denom else math.nan)
    if not _FUSED[0]:  # −Σ_c q·log_softmax(x), then reduced
        qt = q if isinstance(q, Tensor) else _named(Tensor(q), "target")
        per = -(qt * log_softmax(x, axis)).sum(axis)
        return _elementary_reduce(per, scale, reduction != "none")
    if reduction == "none":
        return apply_op(CrossEntropy, (x, q, axis, 1.0, False))
    return apply_op(CrossEntropy, (x, q, axis, scale, True))


def nll_loss(input: Any, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class labels given log-probabilities (``log_softmax``
    outputs): −w[t]·input[t] per sample, with PyTorch's ``weight``/``ignore_index`` rules.

    >>> F.nll_loss(mg.tensor([[-1.0, -2.0]]), mg.tensor([1]))
    tensor(2.)
    """
    op = "nll_loss"
    _check_reduction(reduction, op)
    x = _tensor(input, op)
    t = _tensor(target, op, "target")
    if t.data.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class labels, got dtype {t.dtype}")
    axis = _class_axis(x, op)
    w = _class_weights(weight, x.data.shape[axis], x.data.dtype, op)
    q, denom = _label_targets(x, t.data, axis, w, ignore_index, 0.0, op)
    per = -(x * q).sum(axis)
    if reduction == "none":
        return per
    total = per.sum()
    return total if reduction == "sum" else total * (1.0 / denom if denom else math.nan)


# --------------------------------------------------------------------------- regression losses


def _pair(input: Any, target: Any, op: str) -> tuple[Tensor, Tensor]:
    """Input and target with equal shapes (never broadcast: (N, 1) against (N,) is a bug)."""
    x = _floating(_tensor(input, op))
    t = _tensor(target, op, "target")
    if t.data.shape != x.data.shape:
        raise ValueError(
            f"{op}: input shape {x.shape} and target shape {t.shape} differ; they must be "
            "equal (reshape the target, e.g. y.reshape(-1, 1) for a single output column)"
        )
    differentiable = t.requires_grad or _fw.level and _tangent_of(t) is not None
    if t.data.dtype != x.data.dtype and not differentiable:
        t = Tensor._make(t.data.astype(x.data.dtype), False, None)
    return x, t


def _scale(reduction: str, n: int) -> float:
    if reduction == "mean":
        return 1.0 / n if n else math.nan
    return 1.0


def _squared_error(input: Any, target: Any, k: float, reduction: str, op: str) -> Tensor:
    _check_reduction(reduction, op)
    x, t = _pair(input, target, op)
    if not _FUSED[0]:  # k·(o − t)², then reduced
        err = _named(x - t, "error")
        return _elementary_reduce(err * err * k, _scale(reduction, x.data.size),
                                  reduction != "none")
    if reduction == "none":
        return apply_op(SquaredError, (x, t, k, 1.0, False))
    return apply_op(SquaredError, (x, t, k, _scale(reduction, x.data.size), True))


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error (t − o)² (``reduction`` "mean", "sum" or "none"). One graph node.

    >>> F.mse_loss(mg.tensor([1.0, 3.0]), mg.tensor([0.0, 0.0]))
    tensor(5.)
    """
    return _squared_error(input, target, 1.0, reduction, "mse_loss")


def sse_loss(input: Any, target: Any, reduction: str = "sum") -> Tensor:
    """Half the sum of squared errors, E = ½ Σ (t − o)²: the classic global error of the
    backpropagation literature, whose derivative is simply o − t. ``"mean"`` gives
    ½·mean((t − o)²), ``"none"`` the elementwise ½(t − o)². One graph node.

    >>> F.sse_loss(mg.tensor([1.0, 3.0]), mg.tensor([0.0, 0.0]))
    tensor(5.)
    """
    return _squared_error(input, target, 0.5, reduction, "sse_loss")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error |t − o| (subgradient 0 where they are equal, as PyTorch).

    >>> F.l1_loss(mg.tensor([1.0, -3.0]), mg.tensor([0.0, 0.0]))
    tensor(2.)
    """
    _check_reduction(reduction, "l1_loss")
    x, t = _pair(input, target, "l1_loss")
    return _reduce((x - t).abs(), reduction)


# --------------------------------------------------------------------------- binary cross-entropy


def _elementwise_weight(weight: Any, x: Tensor, op: str, what: str = "weight"
                        ) -> np.ndarray | None:
    if weight is None:
        return None
    w = weight.data if isinstance(weight, Tensor) else np.asarray(weight)
    try:
        np.broadcast_shapes(w.shape, x.data.shape)
    except ValueError:
        raise ValueError(f"{op}: {what} shape {w.shape} cannot be broadcast to the input shape "
                         f"{x.data.shape}") from None
    return w.astype(x.data.dtype, copy=False)


def binary_cross_entropy(input: Any, target: Any, weight: Any = None, reduction: str = "mean"
                         ) -> Tensor:
    """Binary cross-entropy of probabilities ``input`` (e.g. a sigmoid output) against 0/1
    (or soft) targets of the same shape. Logs are clamped at −100 as PyTorch does.

    >>> round(F.binary_cross_entropy(mg.tensor([0.5]), mg.tensor([1.0])).item(), 4)
    0.6931
    """
    op = "binary_cross_entropy"
    _check_reduction(reduction, op)
    x, t = _pair(input, target, op)
    if x.data.size and not (x.data.min() >= 0.0 and x.data.max() <= 1.0):
        raise ValueError(f"{op}: input values must be probabilities in [0, 1], got values in "
                         f"[{x.data.min()}, {x.data.max()}] (use "
                         "binary_cross_entropy_with_logits for unnormalised scores)")
    w = _elementwise_weight(weight, x, op)
    if not _FUSED[0]:  # −w·(t·log p + (1 − t)·log(1 − p)), logs clamped at −100
        per = -(t * x.log().clip(-100.0, None) + (1.0 - t) * (1.0 - x).log().clip(-100.0, None))
        per = per if w is None else per * w
        return _elementary_reduce(per, _scale(reduction, x.data.size), reduction != "none")
    if reduction == "none":
        return apply_op(BinaryCrossEntropy, (x, t, w, 1.0, False))
    return apply_op(BinaryCrossEntropy, (x, t, w, _scale(reduction, x.data.size), True))


def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Any = None,
                                     reduction: str = "mean", pos_weight: Any = None
                                     ) -> Tensor:
    """Binary cross-entropy of ``sigmoid(input)``, computed from the logits without overflow
    (log σ(x) = −log(1 + e^−x) evaluated stably). ``pos_weight`` (broadcast along the last
    axis, one per output) multiplies the positive term, trading recall against precision.

    >>> round(F.binary_cross_entropy_with_logits(mg.tensor([0.0]), mg.tensor([1.0])).item(), 4)
    0.6931
    """
    op = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, op)
    x, t = _pair(input, target, op)
    w = _elementwise_weight(weight, x, op)
    pw = _elementwise_weight(pos_weight, x, op, "pos_weight")
    if not _FUSED[0]:  # (1 − t)·x + l·softplus(−x) with l = 1 + (pos_weight − 1)·t
        lw = 1.0 if pw is None else 1.0 + (pw - 1.0) * t
        per = (1.0 - t) * x + lw * softplus(-x)
        per = per if w is None else per * w
        return _elementary_reduce(per, _scale(reduction, x.data.size), reduction != "none")
    if reduction == "none":
        return apply_op(BCEWithLogits, (x, t, w, pw, 1.0, False))
    return apply_op(BCEWithLogits, (x, t, w, pw, _scale(reduction, x.data.size), True))


from microgradnet.autograd.functional import (  # noqa: E402
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    vhp,
    vjp,
)


def __dir__() -> list[str]:  # dir() and tab completion show the API, not the imports
    return sorted(__all__)
