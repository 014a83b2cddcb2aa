"""Neural-net functions (``mg.functional``, also ``mg.nn.functional``, imported as ``F``).

Activations, the softmax family, ``linear``, ``dropout``, ``one_hot`` and the losses, with
PyTorch's signatures and numbers. The hot ones are fused into a single graph node each
(``linear``, ``softmax``, ``log_softmax``, ``cross_entropy``, ``mse_loss``/``sse_loss``, the
binary cross-entropies): small networks spend most of their time in per-op Python overhead, so
one node instead of five matters.

Every fused backward is written twice, on purpose: in microgradnet ops when the sweep is being
recorded (``create_graph=True``, so derivatives of any order work) and directly in NumPy for the
ordinary first-order sweep, which records nothing. Tests check that both agree.

The autograd functional API (``jacobian``, ``jacfwd``, ``jacrev``, ``hessian``, ``vjp``,
``jvp``, ``hvp``, ``vhp``) is re-exported here too, as in ``torch.autograd.functional``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from microgradnet.autograd.forward_ad import _fw
from microgradnet.autograd.forward_ad import tangent_of as _tangent_of
from microgradnet.autograd.forward_ad import tangent_sum as _tangent_sum
from microgradnet.autograd.function import Function
from microgradnet.ops import _dual as D
from microgradnet.ops.elementwise import (
    elu,
    gelu,
    leaky_relu,
    relu,
    sigmoid,
    softplus,
    tanh,
)
from microgradnet.random import get_generator
from microgradnet.tensor import Tensor, _to_array, get_default_dtype


def _const(a: Any) -> Tensor:
    """A constant Tensor over an array (JVP rules multiply tangents by such factors)."""
    return Tensor._make(np.asarray(a), False, None)

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


class Softmax(Function):
    """softmax(x) = exp(x) / Σ exp(x) along an axis, computed stably.

    Derivative: y·(g − Σ g·y) with y the output (the softmax Jacobian diag(y) − y yᵀ applied
    to g).

    The Function behind ``F.softmax`` (arguments: input, axis):

    >>> F.Softmax.apply(mg.tensor([[0.0, 0.0]], requires_grad=True), 1)
    tensor([[0.5, 0.5]], grad_fn=<Softmax>)
    """

    __slots__ = ("axis",)
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, axis: int) -> np.ndarray:
        a = x.data
        ctx.axis = axis
        if a.size == 0:
            out = a.copy()
        else:
            e = np.exp(a - a.max(axis=axis, keepdims=True))
            out = e / e.sum(axis=axis, keepdims=True)
        ctx.save_output(out)
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        y = ctx.saved_output
        return y * (t - (t * y).sum(ctx.axis, keepdims=True))

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        y = ctx.saved_output
        return y * (grad - D.sum(grad * y, ctx.axis, keepdims=True)), None


class LogSoftmax(Function):
    """log softmax(x) = x − logsumexp(x) along an axis, computed stably.

    Derivative: g − softmax(x)·Σ g, where softmax(x) = exp(output).

    The Function behind ``F.log_softmax`` (arguments: input, axis):

    >>> F.LogSoftmax.apply(mg.tensor([[0.0, 0.0]], requires_grad=True), 1)
    tensor([[-0.6931, -0.6931]], grad_fn=<LogSoftmax>)
    """

    __slots__ = ("axis",)
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, axis: int) -> np.ndarray:
        a = x.data
        ctx.axis = axis
        if a.size == 0:
            out = a.copy()
        else:
            s = a - a.max(axis=axis, keepdims=True)
            out = s - np.log(np.exp(s).sum(axis=axis, keepdims=True))
        ctx.save_output(out)
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        return t - (D.exp(ctx.saved_output) * t).sum(ctx.axis, keepdims=True)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return grad - D.exp(ctx.saved_output) * D.sum(grad, ctx.axis, keepdims=True), None


def softmax(x: Any, axis: int | None = None, dtype: Any = None, *, dim: int | None = None
            ) -> Tensor:
    """Softmax along ``axis`` (or ``dim``; default the last axis): outputs are positive and sum
    to 1 along it.

    >>> F.softmax(mg.tensor([0.0, 0.0]))
    tensor([0.5, 0.5])
    """
    x = _tensor(x, "softmax")
    x = _floating(x) if dtype is None else x.astype(dtype)
    return Softmax.apply(x, _axis(axis, dim, x.data.ndim, "softmax"))


def log_softmax(x: Any, axis: int | None = None, dtype: Any = None, *, dim: int | None = None
                ) -> Tensor:
    """Logarithm of the softmax along ``axis`` (default the last), without overflow.

    >>> F.log_softmax(mg.tensor([0.0, 0.0])).exp()
    tensor([0.5, 0.5])
    """
    x = _tensor(x, "log_softmax")
    x = _floating(x) if dtype is None else x.astype(dtype)
    return LogSoftmax.apply(x, _axis(axis, dim, x.data.ndim, "log_softmax"))


# --------------------------------------------------------------------------- linear


class Linear(Function):
    """x @ Wᵀ + b for x of shape (..., in), W of shape (out, in) and b of shape (out,).

    Derivative: dx = g @ W, dW = gᵀ @ x and db = Σ g, both summed over the batch dims (the
    classic weight change Δw_ji ∝ δ_j·o_i summed over the patterns of a batch).

    The Function behind ``F.linear`` (arguments: x, weight, bias or None):

    >>> F.Linear.apply(mg.ones(1, 2), mg.tensor([[1.0, 2.0]]), mg.tensor([0.5]))
    tensor([[3.5]])
    """

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, w: Tensor, b: Tensor | None) -> np.ndarray:
        ctx.save_for_backward(x, w)
        out = np.matmul(x.data, w.data.T)
        if b is not None:
            if b.data.dtype == out.dtype:
                out += b.data
            else:
                out = out + b.data
        return out

    @staticmethod
    def jvp(ctx: Any, tx: Any, tw: Any, tb: Any) -> Any:
        x, w = ctx.saved_tensors
        return _tangent_sum(None if tx is None else D.matmul(tx, w.mT),
                           None if tw is None else D.matmul(x, tw.mT), tb)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad
        g2 = D.reshape(grad, (-1, w.shape[0]))  # the batch dims flattened
        gx = D.matmul(grad, w) if nx else None
        gw = D.matmul(g2.T, D.reshape(x, (-1, x.shape[-1]))) if nw else None
        gb = D.sum(g2, 0) if nb else None
        return gx, gw, gb


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
    return Linear.apply(x, weight, bias)


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


class CrossEntropy(Function):
    """Cross-entropy of softmax(x) against weighted targets q: −Σ_c q·log_softmax(x), summed
    and scaled (``reduce``) or per sample.

    Derivative: (softmax(x)·Σ_c q − q)·g for x (softmax − one-hot for plain labels), and
    −log_softmax(x)·g for q.

    The Function behind ``F.cross_entropy`` (arguments: logits, target distribution,
    class axis, scale, reduce):

    >>> F.CrossEntropy.apply(mg.tensor([[0.0, 0.0]]), mg.tensor([[0.0, 1.0]]), 1, 1.0, True)
    tensor(0.6931)
    """

    __slots__ = ("axis", "scale", "reduce")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, q: Any, axis: int, scale: float, reduce: bool
                ) -> np.ndarray:
        a = x.data
        qa = q.data if isinstance(q, Tensor) else q
        s = a - a.max(axis=axis, keepdims=True)
        e = np.exp(s)
        se = e.sum(axis=axis, keepdims=True)
        logp = s - np.log(se)
        per = -(qa * logp).sum(axis=axis)
        ctx.axis, ctx.scale, ctx.reduce = axis, scale, reduce
        ctx.save_for_backward(x, q, e / se, logp)
        if reduce:
            return np.asarray(per.sum() * scale, dtype=a.dtype)
        return per

    @staticmethod
    def jvp(ctx: Any, tx: Any, tq: Any, *_: Any) -> Any:
        x, q, p, logp = ctx.saved_tensors
        axis = ctx.axis
        per = None
        if tx is not None:  # d(-Σ q·log p) = -Σ q·tx + (Σ q)·Σ p·tx
            qs = q.sum(axis) if isinstance(q, Tensor) else np.sum(q, axis)
            per = (tx * _const(p)).sum(axis) * qs - (tx * q).sum(axis)
        if tq is not None:
            per = _tangent_sum(per, -(tq * _const(logp)).sum(axis))
        return per.sum() * ctx.scale if ctx.reduce else per  # type: ignore[union-attr]

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        x, q, p, logp = ctx.saved_tensors
        axis = ctx.axis
        nx, nq = ctx.needs_input_grad[:2]
        if D.is_tensor(grad):  # recorded: the saved arrays again, as functions of x
            logp = log_softmax(x, axis)
            p = D.exp(logp)
        g = grad * ctx.scale if ctx.reduce else D.expand_dims(grad, axis)
        gx = g * (p * D.sum(q, axis, keepdims=True) - q) if nx else None
        gq = -g * logp if nq else None
        return gx, gq, None, None, None


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
    if weight is not None:
        w_t = weight[labels] if all_valid else weight[labels] * valid
    else:
        w_t = np.ones(labels.shape, dt) if all_valid else valid.astype(dt)
    q = np.zeros(expected + (n_classes,), dtype=dt)
    flat = q.reshape(-1, n_classes)  # a view: writes land in q
    flat[np.arange(flat.shape[0]), labels.ravel()] = ((1.0 - smoothing) * w_t).ravel()
    if smoothing:
        w_c = weight if weight is not None else np.ones(n_classes, dt)
        q += (smoothing / n_classes) * w_c * valid[..., None].astype(dt)
    return np.moveaxis(q, -1, axis), float(w_t.sum())


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
        return CrossEntropy.apply(x, q, axis, 1.0, False)
    return CrossEntropy.apply(x, q, axis, scale, True)


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


class SquaredError(Function):
    """k·(x − t)², summed (times ``scale``: 1/n for the mean) or elementwise.

    Derivative: 2k·(x − t)·g·scale for x, the negative for t.

    The Function behind ``F.mse_loss`` and ``F.sse_loss`` (arguments: x, t, k, scale,
    reduce):

    >>> F.SquaredError.apply(mg.tensor([1.0, 2.0]), mg.tensor([1.0, 0.0]), 0.5, 1.0, True)
    tensor(2.)
    """

    __slots__ = ("k", "scale", "reduce")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, t: Tensor, k: float, scale: float, reduce: bool
                ) -> np.ndarray:
        d = x.data - t.data
        sq = d * d
        if k != 1.0:
            sq *= k
        ctx.k, ctx.scale, ctx.reduce = k, scale, reduce
        ctx.save_for_backward(x, t, d)
        if reduce:
            return np.asarray(sq.sum() * scale, dtype=sq.dtype)
        return sq

    @staticmethod
    def jvp(ctx: Any, tx: Any, tt: Any, *_: Any) -> Any:
        x, t, _d = ctx.saved_tensors
        diff = _tangent_sum(tx, None if tt is None else -tt)
        per = (x - t) * diff * (2.0 * ctx.k)
        return per.sum() * ctx.scale if ctx.reduce else per

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        x, t, d = ctx.saved_tensors
        nx, nt = ctx.needs_input_grad[:2]
        if D.is_tensor(grad):  # recorded: the saved difference again, as a function of x and t
            d = x - t
        gd = grad * (2.0 * ctx.k * ctx.scale) * d
        return (gd if nx else None), (-gd if nt else None), None, None, None


def _squared_error(input: Any, target: Any, k: float, reduction: str, op: str) -> Tensor:
    _check_reduction(reduction, op)
    x, t = _pair(input, target, op)
    if not _FUSED[0]:  # k·(o − t)², then reduced
        err = _named(x - t, "error")
        return _elementary_reduce(err * err * k, _scale(reduction, x.data.size),
                                  reduction != "none")
    if reduction == "none":
        return SquaredError.apply(x, t, k, 1.0, False)
    return SquaredError.apply(x, t, k, _scale(reduction, x.data.size), True)


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


_LOG_MIN = -100.0  # PyTorch clamps log(p) and log(1 − p) here so that p = 0 or 1 stays finite
_EPS = 1e-12


class BinaryCrossEntropy(Function):
    """−w·(t·log p + (1 − t)·log(1 − p)), logs clamped at −100 (PyTorch).

    Derivative: w·(p − t)/max(p(1 − p), 1e-12)·g for p; w·(log(1 − p) − log p)·g for t.

    The Function behind ``F.binary_cross_entropy`` (arguments: p, t, weight or None,
    scale, reduce):

    >>> F.BinaryCrossEntropy.apply(mg.tensor([0.5]), mg.tensor([1.0]), None, 1.0, True)
    tensor(0.6931)
    """

    __slots__ = ("scale", "reduce")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, p: Tensor, t: Tensor, w: Any, scale: float, reduce: bool
                ) -> np.ndarray:
        pa, ta = p.data, t.data
        with np.errstate(divide="ignore"):
            lp = np.maximum(np.log(pa), _LOG_MIN)
            l1p = np.maximum(np.log1p(-pa), _LOG_MIN)
        loss = (ta - 1.0) * l1p - ta * lp
        if w is not None:
            loss = loss * w
        ctx.scale, ctx.reduce = scale, reduce
        ctx.save_for_backward(p, t, w, lp, l1p)
        if reduce:
            return np.asarray(loss.sum() * scale, dtype=loss.dtype)
        return loss

    @staticmethod
    def jvp(ctx: Any, tp: Any, tt: Any, *_: Any) -> Any:
        p, t, w, lp, l1p = ctx.saved_tensors
        per = None
        if tp is not None:
            den = p * (1.0 - p)
            per = tp * (p - t) / D.where(den.data > _EPS, den, _EPS)
        if tt is not None:
            per = _tangent_sum(per, tt * _const(l1p - lp))
        if w is not None:
            per = per * w
        return per.sum() * ctx.scale if ctx.reduce else per  # type: ignore[union-attr]

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        p, t, w, lp, l1p = ctx.saved_tensors
        np_, nt = ctx.needs_input_grad[:2]
        g = grad * ctx.scale
        if w is not None:
            g = g * w
        gp = gt = None
        if np_:
            den = p * (1.0 - p)
            gp = g * (p - t) / D.where(D.value(den) > _EPS, den, _EPS)
        if nt:
            if D.is_tensor(grad):  # recorded: the clamped logs again, as functions of p
                lp, l1p = D.log(p), D.log(1.0 - p)
                lp = D.where(D.value(lp) > _LOG_MIN, lp, _LOG_MIN)
                l1p = D.where(D.value(l1p) > _LOG_MIN, l1p, _LOG_MIN)
            gt = g * (l1p - lp)
        return gp, gt, None, None, None


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
        return BinaryCrossEntropy.apply(x, t, w, 1.0, False)
    return BinaryCrossEntropy.apply(x, t, w, _scale(reduction, x.data.size), True)


def _log_sigmoid_array(a: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -a)


class BCEWithLogits(Function):
    """Binary cross-entropy of σ(x) in one stable step: (1 − t)·x − l·log σ(x), times w, where
    l = 1 + (pos_weight − 1)·t.

    Derivative: w·(l·σ(x) − pos_weight·t)·g for x; w·(−x − (pos_weight − 1)·log σ(x))·g for t.

    The Function behind ``F.binary_cross_entropy_with_logits`` (arguments: x, t, weight,
    pos_weight (each or None), scale, reduce):

    >>> F.BCEWithLogits.apply(mg.tensor([0.0]), mg.tensor([1.0]), None, None, 1.0, True)
    tensor(0.6931)
    """

    __slots__ = ("scale", "reduce")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, t: Tensor, w: Any, pw: Any, scale: float, reduce: bool
                ) -> np.ndarray:
        a, ta = x.data, t.data
        ls = _log_sigmoid_array(a)
        lw = 1.0 if pw is None else 1.0 + (pw - 1.0) * ta
        loss = (1.0 - ta) * a - lw * ls
        if w is not None:
            loss = loss * w
        ctx.scale, ctx.reduce = scale, reduce
        ctx.save_for_backward(x, t, w, pw, ls)
        if reduce:
            return np.asarray(loss.sum() * scale, dtype=loss.dtype)
        return loss.astype(a.dtype, copy=False)

    @staticmethod
    def jvp(ctx: Any, tx: Any, tt: Any, *_: Any) -> Any:
        x, t, w, pw, ls = ctx.saved_tensors
        per = None
        if tx is not None:
            s = sigmoid(x)
            per = tx * (s - t if pw is None else (1.0 + (pw - 1.0) * t) * s - pw * t)
        if tt is not None:
            if pw is None:
                per = _tangent_sum(per, -(tt * x))
            else:
                log_sig = D.where(x.data < 0, x, 0.0) - D.log(1.0 + D.exp(-x.abs()))
                per = _tangent_sum(per, tt * (-x - (pw - 1.0) * log_sig))
        if w is not None:
            per = per * w
        return per.sum() * ctx.scale if ctx.reduce else per  # type: ignore[union-attr]

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        x, t, w, pw, ls = ctx.saved_tensors
        nx, nt = ctx.needs_input_grad[:2]
        if D.is_tensor(grad):  # recorded: log σ(x) = min(x, 0) − log(1 + e^−|x|), from x
            ls = D.where(D.value(x) < 0, x, 0.0) - D.log(1.0 + D.exp(-D.abs(x)))
        g = grad * ctx.scale
        if w is not None:
            g = g * w
        gx = gt = None
        if nx:
            s = D.exp(ls)  # σ(x)
            gx = g * (s - t if pw is None else (1.0 + (pw - 1.0) * t) * s - pw * t)
        if nt:
            gt = g * (-x if pw is None else -x - (pw - 1.0) * ls)
        return gx, gt, None, None, None, None


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
        return BCEWithLogits.apply(x, t, w, pw, 1.0, False)
    return BCEWithLogits.apply(x, t, w, pw, _scale(reduction, x.data.size), True)


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
