"""Layer and loss ops: the fused Functions behind ``F.linear``, ``F.softmax``,
``F.log_softmax``, ``F.cross_entropy``, ``F.mse_loss``/``F.sse_loss`` and the binary
cross-entropies.

Small networks spend most of their time in per-op Python overhead, so each of these is one
graph node instead of five. ``microgradnet/functional.py`` holds the public functions: they
check the arguments, build the targets and choose between these nodes and the elementary ops
(``F.fused(False)``). Every rule is written once (``_dual_rules``, see ``ops/_dual.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet.autograd.forward_ad import tangent_sum
from microgradnet.autograd.function import Function
from microgradnet.ops import _dual as D
from microgradnet.ops.elementwise import sigmoid
from microgradnet.tensor import Tensor

__all__ = ["Linear", "Softmax", "LogSoftmax", "CrossEntropy", "SquaredError",
           "BinaryCrossEntropy", "BCEWithLogits"]


def _const(a: Any) -> Tensor:
    """A constant Tensor over an array (JVP rules multiply tangents by such factors)."""
    return Tensor._make(np.asarray(a), False, None)


# --------------------------------------------------------------------------- linear


class Linear(Function):
    """x @ Wᵀ + b for x of shape (..., in), W of shape (out, in) and b of shape (out,).

    Derivative: dx = g @ W, dW = gᵀ @ x and db = Σ g, both summed over the batch dims (the
    classic weight change Δw_ji ∝ δ_j·o_i summed over the patterns of a batch).

    The Function behind ``F.linear`` (arguments: x, weight, bias or None):

    >>> Linear.apply(mg.ones(1, 2), mg.tensor([[1.0, 2.0]]), mg.tensor([0.5]))
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
        return tangent_sum(None if tx is None else D.matmul(tx, w.mT),
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


# --------------------------------------------------------------------------- softmax family


class Softmax(Function):
    """softmax(x) = exp(x) / Σ exp(x) along an axis, computed stably.

    Derivative: y·(g − Σ g·y) with y the output (the softmax Jacobian diag(y) − y yᵀ applied
    to g).

    The Function behind ``F.softmax`` (arguments: input, axis):

    >>> Softmax.apply(mg.tensor([[0.0, 0.0]], requires_grad=True), 1)
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

    >>> LogSoftmax.apply(mg.tensor([[0.0, 0.0]], requires_grad=True), 1)
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


# --------------------------------------------------------------------------- cross-entropy


class CrossEntropy(Function):
    """Cross-entropy of softmax(x) against weighted targets q: −Σ_c q·log_softmax(x), summed
    and scaled (``reduce``) or per sample.

    Derivative: (softmax(x)·Σ_c q − q)·g for x (softmax − one-hot for plain labels), and
    −log_softmax(x)·g for q.

    The Function behind ``F.cross_entropy`` (arguments: logits, target distribution,
    class axis, scale, reduce):

    >>> CrossEntropy.apply(mg.tensor([[0.0, 0.0]]), mg.tensor([[0.0, 1.0]]), 1, 1.0, True)
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
            per = tangent_sum(per, -(tq * _const(logp)).sum(axis))
        return per.sum() * ctx.scale if ctx.reduce else per  # type: ignore[union-attr]

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        x, q, p, logp = ctx.saved_tensors
        axis = ctx.axis
        nx, nq = ctx.needs_input_grad[:2]
        if D.is_tensor(grad):  # recorded: the saved arrays again, as functions of x
            logp = LogSoftmax.apply(x, axis)
            p = D.exp(logp)
        g = grad * ctx.scale if ctx.reduce else D.expand_dims(grad, axis)
        gx = g * (p * D.sum(q, axis, keepdims=True) - q) if nx else None
        gq = -g * logp if nq else None
        return gx, gq, None, None, None


# --------------------------------------------------------------------------- regression losses


class SquaredError(Function):
    """k·(x − t)², summed (times ``scale``: 1/n for the mean) or elementwise.

    Derivative: 2k·(x − t)·g·scale for x, the negative for t.

    The Function behind ``F.mse_loss`` and ``F.sse_loss`` (arguments: x, t, k, scale,
    reduce):

    >>> SquaredError.apply(mg.tensor([1.0, 2.0]), mg.tensor([1.0, 0.0]), 0.5, 1.0, True)
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
        diff = tangent_sum(tx, None if tt is None else -tt)
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


# --------------------------------------------------------------------------- binary cross-entropy


_LOG_MIN = -100.0  # PyTorch clamps log(p) and log(1 − p) here so that p = 0 or 1 stays finite
_EPS = 1e-12


class BinaryCrossEntropy(Function):
    """−w·(t·log p + (1 − t)·log(1 − p)), logs clamped at −100 (PyTorch).

    Derivative: w·(p − t)/max(p(1 − p), 1e-12)·g for p; w·(log(1 − p) − log p)·g for t.

    The Function behind ``F.binary_cross_entropy`` (arguments: p, t, weight or None,
    scale, reduce):

    >>> BinaryCrossEntropy.apply(mg.tensor([0.5]), mg.tensor([1.0]), None, 1.0, True)
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
            per = tangent_sum(per, tt * _const(l1p - lp))
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


class BCEWithLogits(Function):
    """Binary cross-entropy of σ(x) in one stable step: (1 − t)·x − l·log σ(x), times w, where
    l = 1 + (pos_weight − 1)·t.

    Derivative: w·(l·σ(x) − pos_weight·t)·g for x; w·(−x − (pos_weight − 1)·log σ(x))·g for t.

    The Function behind ``F.binary_cross_entropy_with_logits`` (arguments: x, t, weight,
    pos_weight (each or None), scale, reduce):

    >>> BCEWithLogits.apply(mg.tensor([0.0]), mg.tensor([1.0]), None, None, 1.0, True)
    tensor(0.6931)
    """

    __slots__ = ("scale", "reduce")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, t: Tensor, w: Any, pw: Any, scale: float, reduce: bool
                ) -> np.ndarray:
        a, ta = x.data, t.data
        ls = D.log_sigmoid(a)
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
                per = tangent_sum(per, -(tt * x))
            else:
                per = tangent_sum(per, tt * (-x - (pw - 1.0) * D.log_sigmoid(x)))
        if w is not None:
            per = per * w
        return per.sum() * ctx.scale if ctx.reduce else per  # type: ignore[union-attr]

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        x, t, w, pw, ls = ctx.saved_tensors
        nx, nt = ctx.needs_input_grad[:2]
        if D.is_tensor(grad):  # recorded: log σ(x) again, as a function of x
            ls = D.log_sigmoid(x)
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
