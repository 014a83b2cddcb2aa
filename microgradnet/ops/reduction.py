"""Reductions over axes: sum, mean, max, min, var, std, prod, norm, logsumexp, argmax, argmin.

``axis``/``dim`` may be an int, a tuple or None (all axes); ``keepdims``/``keepdim`` keeps the
reduced axes as size 1. Backward rules broadcast the gradient back over the reduced axes; each
is written once for arrays and Tensors (``_dual_rules``, see ``ops/_dual.py``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from microgradnet.autograd.function import Function, apply_op
from microgradnet.ops import _dual as D
from microgradnet.ops._util import (
    as_tensor,
    axis_args,
    float_operand,
    normalize_axes,
    reduced_shape,
)
from microgradnet.tensor import Tensor

__all__ = [
    "sum",
    "mean",
    "max",
    "min",
    "var",
    "std",
    "prod",
    "norm",
    "logsumexp",
    "argmax",
    "argmin",
]


def _axes(axis: Any, x: Tensor, op: str) -> tuple[int, ...] | None:
    """Normalized axes (None: all); a 0-d tensor's axis 0 or -1 is the whole tensor (PyTorch)."""
    axes = normalize_axes(axis, x.data.ndim, op)
    return None if axes is not None and x.data.ndim == 0 else axes


def _spread(grad: Any, shape: tuple[int, ...], axes: tuple[int, ...] | None,
            keepdims: bool) -> Any:
    """Broadcast a reduced gradient (array or Tensor) back to the input's ``shape``."""
    if not keepdims:
        grad = D.reshape(grad, reduced_shape(shape, axes))
    return D.broadcast_to(grad, shape)


class Sum(Function):
    """Sum over axes. Derivative: 1 for every summed element (the gradient is broadcast back)."""

    __slots__ = ("shape", "axes", "keepdims")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, axes: Any, keepdims: bool) -> np.ndarray:
        ctx.shape, ctx.axes, ctx.keepdims = x.data.shape, axes, keepdims
        return np.sum(x.data, axis=axes, keepdims=keepdims)

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        return Sum.apply(t, ctx.axes, ctx.keepdims)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return _spread(grad, ctx.shape, ctx.axes, ctx.keepdims), None, None


def sum(x: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """Sum of elements over ``axis`` (all axes by default).

    >>> mg.sum(mg.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=1)
    tensor([3., 7.])
    >>> mg.sum(mg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor(10.)
    """
    axis, keepdims = axis_args(axis, keepdims, kw, "sum")
    x = as_tensor(x)
    return apply_op(Sum, (x, _axes(axis, x, "sum"), keepdims))


class Mean(Function):
    """Mean over axes. Derivative: 1/n for every element, n the number averaged."""

    __slots__ = ("shape", "axes", "keepdims")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, axes: Any, keepdims: bool) -> np.ndarray:
        ctx.shape, ctx.axes, ctx.keepdims = x.data.shape, axes, keepdims
        return np.mean(x.data, axis=axes, keepdims=keepdims)

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        return Mean.apply(t, ctx.axes, ctx.keepdims)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        n = _count(ctx.shape, ctx.axes)
        return _spread(grad / n if n else grad, ctx.shape, ctx.axes, ctx.keepdims), None, None


def _count(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> int:
    if axes is None:
        return int(np.prod(shape, dtype=np.int64))
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


def mean(x: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """Arithmetic mean over ``axis`` (all axes by default).

    >>> mg.mean(mg.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0)
    tensor([2., 3.])
    """
    axis, keepdims = axis_args(axis, keepdims, kw, "mean")
    x = float_operand(x)  # integers: the default float dtype
    return apply_op(Mean, (x, _axes(axis, x, "mean"), keepdims))


class LogSumExp(Function):
    """log Σ exp(x) over axes, computed stably. Derivative: softmax(x) = exp(x - out)."""

    __slots__ = ("shape", "axes", "keepdims")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, axes: Any, keepdims: bool) -> np.ndarray:
        ctx.shape, ctx.axes, ctx.keepdims = x.data.shape, axes, keepdims
        a = x.data
        m = np.max(a, axis=axes, keepdims=True) if a.size else np.zeros(
            reduced_shape(a.shape, axes), a.dtype)
        m = np.where(np.isfinite(m), m, 0)
        out = np.log(np.sum(np.exp(a - m), axis=axes, keepdims=True)) + m
        if not keepdims:
            out = out.reshape(_drop(out.shape, axes))
        ctx.save_for_backward(x)
        # Saved in the shape returned: a gradient reaching this node through saved_output must
        # match the output's shape (it is added to the one coming through the output itself).
        ctx.save_output(out)
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        from microgradnet.ops.elementwise import exp

        (x,) = ctx.saved_tensors
        out = ctx.saved_output
        if not ctx.keepdims:
            out = out.reshape(reduced_shape(ctx.shape, ctx.axes))
        return Sum.apply(t * exp(x - out), ctx.axes, ctx.keepdims)  # softmax-weighted

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        (x,) = ctx.saved_tensors
        out = ctx.saved_output
        if not ctx.keepdims:
            shape = reduced_shape(ctx.shape, ctx.axes)
            grad, out = D.reshape(grad, shape), D.reshape(out, shape)
        return grad * D.exp(x - out), None, None


def _drop(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    if axes is None:
        return ()
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """``log(sum(exp(x), axis))`` without overflow.

    >>> mg.logsumexp(mg.tensor([0.0, 0.0]))  # log 2
    tensor(0.6931)
    >>> mg.logsumexp(mg.tensor([1000.0, 1000.0]))  # exp(1000) would overflow
    tensor(1000.6932)
    """
    axis, keepdims = axis_args(axis, keepdims, kw, "logsumexp")
    x = float_operand(x)
    return apply_op(LogSumExp, (x, _axes(axis, x, "logsumexp"), keepdims))


def _check_nonempty(x: Tensor, axes: tuple[int, ...] | None, op: str) -> None:
    """max/min/argmax have no identity: reducing an empty axis is an error (named)."""
    shape = x.data.shape
    if x.data.size == 0 and (axes is None or any(shape[a] == 0 for a in axes)):
        raise ValueError(
            f"{op}: cannot reduce over an empty axis (shape {shape}, axis "
            f"{'None' if axes is None else axes}): the operation has no identity"
        )


class _Extremum(Function):
    """Shared rule of max/min: the gradient goes to the elements equal to the result, split
    equally among ties (as PyTorch's amax/amin). NaN propagates (the result of a slice with a
    NaN is NaN) and the slice's NaNs share its gradient, as PyTorch's ``max()``
    (``evenly_distribute_backward``)."""

    __slots__ = ("axes", "keepdims")
    _forward_on_arrays = True
    _dual_rules = True
    _reduce: Any = None  # np.max or np.min

    @classmethod
    def forward(cls, ctx: Any, x: Tensor, axes: Any, keepdims: bool) -> np.ndarray:
        out = cls._reduce(x.data, axis=axes, keepdims=keepdims)
        ctx.axes, ctx.keepdims = axes, keepdims
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        x, out = ctx.saved_tensors
        a, axes = x.data, ctx.axes
        w = _winners(a, out, axes)  # ties share equally, as the VJP
        return Sum.apply(t * Tensor._make(w.astype(t.data.dtype, copy=False), False, None),
                         axes, ctx.keepdims)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        x, out = ctx.saved_tensors
        a, axes = D.value(x), ctx.axes
        w = _winners(a, D.value(out), axes)  # ties share the gradient equally
        w = w.astype(D.value(grad).dtype, copy=False)  # a constant: the winners don't move
        return _spread(grad, a.shape, axes, ctx.keepdims) * w, None, None


def _winners(a: np.ndarray, out: Any, axes: Any) -> np.ndarray:
    """1/k at each of the k elements equal to their slice's result (its NaNs if it is NaN)."""
    out = np.reshape(out, reduced_shape(a.shape, axes))
    hit = a == out
    if a.dtype.kind in "fc":
        nan = np.isnan(out)
        if nan.any():
            hit |= nan & np.isnan(a)
    return hit / np.sum(hit, axis=axes, keepdims=True)


class Max(_Extremum):
    """Maximum over axes. Derivative: 1 at the maximum, 1/k to each of k tied maxima."""

    __slots__ = ()
    _reduce = np.max


class Min(_Extremum):
    """Minimum over axes. Derivative: 1 at the minimum, 1/k to each of k tied minima."""

    __slots__ = ()
    _reduce = np.min


def max(x: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """Largest value over ``axis`` (all axes by default); values only, like NumPy's ``max``.

    Tied maxima share the gradient equally. NaN propagates: a slice containing NaN has
    maximum NaN, and its NaNs share the gradient (PyTorch's ``max()``). Use ``argmax`` for
    the position.

    >>> import microgradnet as mg
    >>> mg.max(mg.tensor([[1.0, 5.0], [7.0, 2.0]]), axis=1)
    tensor([5., 7.])
    """
    axis, keepdims = axis_args(axis, keepdims, kw, "max")
    x = as_tensor(x)
    axes = _axes(axis, x, "max")
    _check_nonempty(x, axes, "max")
    return apply_op(Max, (x, axes, keepdims))


def min(x: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """Smallest value over ``axis`` (all axes by default); values only, like NumPy's ``min``.

    Tied minima share the gradient equally; NaN propagates as in ``max``. Use ``argmin`` for
    the position.

    >>> mg.min(mg.tensor([[3.0, 1.0], [0.0, 2.0]]), axis=1)
    tensor([1., 0.])
    """
    axis, keepdims = axis_args(axis, keepdims, kw, "min")
    x = as_tensor(x)
    axes = _axes(axis, x, "min")
    _check_nonempty(x, axes, "min")
    return apply_op(Min, (x, axes, keepdims))


class Var(Function):
    """Variance Σ(x - x̄)² / (n - correction) over axes.

    Derivative: 2(x - x̄) / (n - correction) (the x̄ term's own derivative sums to zero).
    """

    __slots__ = ("axes", "keepdims", "correction")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, axes: Any, keepdims: bool, correction: float) -> np.ndarray:
        ctx.axes, ctx.keepdims, ctx.correction = axes, keepdims, correction
        ctx.save_for_backward(x)
        return np.var(x.data, axis=axes, ddof=correction, keepdims=keepdims)

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        (x,) = ctx.saved_tensors
        scale, centred = _var_terms(x, ctx.axes, ctx.correction)
        return Sum.apply(t * centred, ctx.axes, ctx.keepdims) * scale

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        (x,) = ctx.saved_tensors
        return _var_rule(grad, x, ctx.axes, ctx.keepdims, ctx.correction), None, None, None


def _var_terms(x: Any, axes: Any, correction: float) -> tuple[float, Any]:
    """2 / (n - correction) and x - x̄: the pieces of var's derivative (its VJP and its JVP)."""
    dof = _count(D.value(x).shape, axes) - correction
    scale = 2.0 / dof if dof > 0 else math.inf  # NumPy and PyTorch divide by max(dof, 0)
    return scale, x - D.mean(x, axis=axes, keepdims=True)


def _var_rule(grad: Any, x: Any, axes: Any, keepdims: bool, correction: float) -> Any:
    """∂var/∂x · grad = grad · 2(x - x̄) / (n - correction), the rule var and std share."""
    scale, centred = _var_terms(x, axes, correction)
    return _spread(grad, D.value(x).shape, axes, keepdims) * centred * scale


def _mask_zero(num: Any, out: Any) -> tuple[Any, Any]:
    """``num`` and ``out`` for ``num / out`` where ``out`` (a std or norm) may be 0: there the
    derivative is 0 (PyTorch's subgradient), so ``num`` becomes 0 and ``out`` 1 before dividing,
    and no 0 · inf appears at any order."""
    zero = D.value(out) == 0
    if zero.any():
        return D.where(zero, 0.0, num), D.where(zero, 1.0, out)
    return num, out


class Std(Function):
    """Standard deviation √var over axes. Derivative: var's, times 1 / (2 std); 0 where the
    std is 0 (a constant slice), as PyTorch's ``std_backward``, so training does not stop on
    NaN. Second order is 0 there as well: the rule divides by std only where it is non-zero.
    """

    __slots__ = ("axes", "keepdims", "correction")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, axes: Any, keepdims: bool, correction: float) -> np.ndarray:
        ctx.axes, ctx.keepdims, ctx.correction = axes, keepdims, correction
        out = np.sqrt(np.asarray(np.var(x.data, axis=axes, ddof=correction, keepdims=keepdims)))
        ctx.save_for_backward(x)
        ctx.save_output(out)
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        dvar, out = _mask_zero(Var.jvp(ctx, t), ctx.saved_output)
        return dvar / (2.0 * out)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        (x,) = ctx.saved_tensors
        grad, out = _mask_zero(grad, ctx.saved_output)  # masked first: no 0 · inf at any order
        return (_var_rule(grad / (2.0 * out), x, ctx.axes, ctx.keepdims, ctx.correction),
                None, None, None)


def _correction(correction: Any, ddof: Any, unbiased: Any, op: str) -> float:
    given = [v for v in (correction, ddof, unbiased) if v is not None]
    if len(given) > 1:
        raise TypeError(f"{op}: give only one of correction=, ddof= and unbiased=")
    if unbiased is not None:
        return 1 if unbiased else 0
    return 1 if not given else given[0]


def var(x: Any, axis: Any = None, keepdims: bool = False, correction: Any = None,
        ddof: Any = None, unbiased: Any = None, **kw: Any) -> Tensor:
    """Variance over ``axis``, divided by ``n - correction`` (default 1, unbiased, as PyTorch;
    ``ddof=`` is NumPy's name for the same thing).

    >>> import microgradnet as mg
    >>> mg.var(mg.tensor([1.0, 2.0, 3.0, 4.0]))
    tensor(1.6667)
    >>> mg.var(mg.tensor([1.0, 2.0, 3.0, 4.0]), ddof=0)
    tensor(1.25)
    """
    return _var(x, axis, keepdims, correction, ddof, unbiased, kw, "var")


def _var(x: Any, axis: Any, keepdims: bool, correction: Any, ddof: Any, unbiased: Any,
         kw: dict[str, Any], op: str) -> Tensor:
    axis, keepdims = axis_args(axis, keepdims, kw, op)
    c = _correction(correction, ddof, unbiased, op)
    x = float_operand(x)  # integers: the default float dtype
    return (Std if op == "std" else Var).apply(x, _axes(axis, x, op), keepdims, c)


def std(x: Any, axis: Any = None, keepdims: bool = False, correction: Any = None,
        ddof: Any = None, unbiased: Any = None, **kw: Any) -> Tensor:
    """Standard deviation ``sqrt(var(x, ...))``; same arguments as ``var``.

    >>> mg.std(mg.tensor([1.0, 2.0, 3.0, 4.0]))  # sample std (correction=1)
    tensor(1.291)
    >>> mg.std(mg.tensor([1.0, 2.0, 3.0, 4.0]), correction=0)
    tensor(1.118)
    """
    return _var(x, axis, keepdims, correction, ddof, unbiased, kw, "std")


class Prod(Function):
    """Product over axes. Derivative: the product of the other elements, out / x when no
    element is zero (see ``_prod_grad_weights`` for zeros)."""

    __slots__ = ("axes", "keepdims")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, axes: Any, keepdims: bool) -> np.ndarray:
        out = np.asarray(np.prod(x.data, axis=axes, keepdims=keepdims))
        ctx.axes, ctx.keepdims = axes, keepdims
        ctx.save_for_backward(x)
        ctx.save_output(out)
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        (x,) = ctx.saved_tensors
        shape, axes = x.data.shape, ctx.axes
        zero = x.data == 0
        if zero.any():
            w = _prod_grad_weights(x, zero, axes)
        else:
            out = ctx.saved_output
            w = (out if ctx.keepdims else out.reshape(reduced_shape(shape, axes))) / x
        return Sum.apply(t * w, axes, ctx.keepdims)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        (x,) = ctx.saved_tensors
        shape, axes = D.value(x).shape, ctx.axes
        g = _spread(grad, shape, axes, ctx.keepdims)
        zero = D.value(x) == 0
        if not zero.any():
            out = ctx.saved_output
            if not ctx.keepdims:
                out = D.reshape(out, reduced_shape(shape, axes))
            return g * out / x, None, None
        return g * _prod_grad_weights(x, zero, axes), None, None


def _prod_grad_weights(x: Any, zero: np.ndarray, axes: Any) -> Any:
    """∂prod/∂xᵢ (the product of the others) for slices with zeros, exact to second order.

    With P' the product of the non-zero entries of a slice, s the (zero-valued but
    differentiable) sum of its zero entries and c their count:
    c = 0: P'/xᵢ;  c = 1: P' at the zero, P'/xᵢ · s elsewhere (s is that zero);
    c = 2: at each zero, P' times the other zero (s - xᵢ), elsewhere 0;  c ≥ 3: 0.
    Every weight, and its derivative, equals the true one (the Hessian too).
    """
    dt = D.value(x).dtype
    ones = D.where(zero, 1.0, x)  # x with its zeros replaced by 1
    # product of the non-zero entries: no zeros, so the P/x rule applies to it
    p = (apply_op(Prod, (ones, axes, True)) if D.is_tensor(ones) else
         np.prod(ones, axes, keepdims=True))
    s = D.sum(D.where(zero, x, 0.0), axes, keepdims=True)
    count = np.sum(zero, axis=axes, keepdims=True)
    plain = (count == 0) | ((count == 1) & zero)
    times_s = (count == 1) & ~zero
    pair = (count == 2) & zero

    def c(m: np.ndarray) -> np.ndarray:
        return m.astype(dt)

    return p / ones * (c(plain) + c(times_s) * s + c(pair) * (s - x))


def prod(x: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """Product of elements over ``axis`` (all axes by default); gradients are exact with zeros.

    >>> import microgradnet as mg
    >>> mg.prod(mg.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0)
    tensor([3., 8.])
    """
    axis, keepdims = axis_args(axis, keepdims, kw, "prod")
    x = as_tensor(x)
    return apply_op(Prod, (x, _axes(axis, x, "prod"), keepdims))


def _arg(fn: Any, op: str, x: Any, axis: Any, keepdims: bool, kw: dict[str, Any]) -> Tensor:
    axis, keepdims = axis_args(axis, keepdims, kw, op)
    x = as_tensor(x)
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int or None, got {axis!r}")
    axes = _axes(axis, x, op)
    _check_nonempty(x, axes, op)
    a = x.data
    if a.ndim == 0:
        return Tensor._make(np.zeros((), np.int64), False, None)
    out = fn(a, axis=None if axes is None else axes[0], keepdims=keepdims)
    return Tensor._make(np.asarray(out, dtype=np.int64), False, None)


def argmax(x: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """Index of the largest value along ``axis`` (of the flattened tensor when None); int64,
    no gradient. The first one wins on ties (NumPy, PyTorch).

    >>> import microgradnet as mg
    >>> mg.argmax(mg.tensor([[1.0, 5.0], [7.0, 2.0]]), axis=1)
    tensor([1, 0])
    """
    return _arg(np.argmax, "argmax", x, axis, keepdims, kw)


def argmin(x: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """Index of the smallest value along ``axis`` (of the flattened tensor when None); int64,
    no gradient.

    >>> mg.argmin(mg.tensor([[3.0, 1.0], [0.0, 2.0]]), axis=1)
    tensor([1, 0])
    >>> mg.argmin(mg.tensor([[3.0, 1.0], [0.0, 2.0]]))  # flattened index
    tensor(2)
    """
    return _arg(np.argmin, "argmin", x, axis, keepdims, kw)


class Norm2(Function):
    """Euclidean norm √Σx² over axes. Derivative: x / ‖x‖, and 0 where ‖x‖ = 0 (PyTorch's
    subgradient)."""

    __slots__ = ("axes", "keepdims")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, axes: Any, keepdims: bool) -> np.ndarray:
        a = x.data
        out = np.sqrt(np.asarray(np.sum(a * a, axis=axes, keepdims=keepdims)))
        ctx.axes, ctx.keepdims = axes, keepdims
        ctx.save_for_backward(x)
        ctx.save_output(out)
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        from microgradnet.ops.elementwise import where

        (x,) = ctx.saved_tensors
        out = ctx.saved_output
        zero = out.data == 0
        if zero.any():
            out = where(zero, 1.0, out)  # there x = 0 too: the tangent is 0 (subgradient)
        return Sum.apply(t * x, ctx.axes, ctx.keepdims) / out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        (x,) = ctx.saved_tensors
        shape, axes = D.value(x).shape, ctx.axes
        out = ctx.saved_output
        if not ctx.keepdims:
            out = D.reshape(out, reduced_shape(shape, axes))
        # where ‖x‖ = 0, x = 0 too: 0, and 0 at second order (PyTorch masks x / ‖x‖)
        g, out = _mask_zero(_spread(grad, shape, axes, ctx.keepdims), out)
        return g * x / out, None, None


class NormP(Function):
    """The p-norm (Σ|x|ᵖ)^(1/p) over axes, for p other than 1, 2 and ±inf (those have their
    own rules). Derivative: sign(x)|x|ᵖ⁻¹ · ‖x‖¹⁻ᵖ, and 0 where x = 0 (PyTorch's
    ``norm_backward`` masks the same places) instead of 0 · inf = NaN.
    """

    __slots__ = ("axes", "keepdims", "p")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, axes: Any, keepdims: bool, p: float) -> np.ndarray:
        with np.errstate(divide="ignore"):  # p < 0: |0|ᵖ = inf, and the norm is 0
            s = np.sum(np.abs(x.data) ** p, axis=axes, keepdims=keepdims)
        out = np.asarray(s ** (1.0 / p))
        ctx.axes, ctx.keepdims, ctx.p = axes, keepdims, p
        ctx.save_for_backward(x)
        ctx.save_output(out)
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        (x,) = ctx.saved_tensors
        w = _normp_weights(x, ctx.saved_output, ctx.axes, ctx.keepdims, ctx.p)
        return Sum.apply(t * w, ctx.axes, ctx.keepdims)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        (x,) = ctx.saved_tensors
        w = _normp_weights(x, ctx.saved_output, ctx.axes, ctx.keepdims, ctx.p)
        return _spread(grad, D.value(x).shape, ctx.axes, ctx.keepdims) * w, None, None, None


def _normp_weights(x: Any, out: Any, axes: Any, keepdims: bool, p: float) -> Any:
    """∂‖x‖ₚ/∂x = sign(x)|x|ᵖ⁻¹ · ‖x‖¹⁻ᵖ, with 0 at x = 0 and no inf · 0 at any order."""
    shape = D.value(x).shape
    if not keepdims:
        out = D.reshape(out, reduced_shape(shape, axes))
    xzero = D.value(x) == 0
    mag = D.abs(x)
    if xzero.any():
        mag = D.where(xzero, 1.0, mag)
    w = D.sign(x) * mag ** (p - 1.0)  # sign(0) = 0: the weight is 0 at x = 0
    if p > 0:
        ozero = D.value(out) == 0  # the whole slice is 0, and so is w
        if ozero.any():
            out = D.where(ozero, 1.0, out)
    return w * out ** (1.0 - p)


def norm(x: Any, p: Any = 2, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """Vector p-norm over ``axis`` (all elements by default): ``p`` = 2 (or ``'fro'``), 1,
    ``inf`` (max |x|), ``-inf`` (min |x|) or any other p > 0, (Σ|x|ᵖ)^(1/p).

    The gradient at a zero norm is 0, as PyTorch's (a subgradient), so training continues.

    >>> import microgradnet as mg
    >>> mg.norm(mg.tensor([3.0, -4.0]))
    tensor(5.)
    >>> mg.norm(mg.tensor([3.0, -4.0]), p=1)
    tensor(7.)
    """
    from microgradnet.ops.arithmetic import abs as abs_

    axis, keepdims = axis_args(axis, keepdims, kw, "norm")
    x = float_operand(x)  # integers: the default float dtype
    if isinstance(p, str):
        if p != "fro":
            raise ValueError(f"norm: unsupported p={p!r}; use 'fro', 1, 2, inf, -inf or p > 0")
        p = 2
    elif not isinstance(p, (int, float, np.integer, np.floating)) or isinstance(p, bool):
        raise TypeError(f"norm: p must be a number or 'fro', got {type(p).__name__}")
    axes = _axes(axis, x, "norm")
    if p == 2:
        return apply_op(Norm2, (x, axes, keepdims))
    if p == 1:
        return apply_op(Sum, (abs_(x), axes, keepdims))
    if p == math.inf:
        _check_nonempty(x, axes, "norm")
        return apply_op(Max, (abs_(x), axes, keepdims))
    if p == -math.inf:
        _check_nonempty(x, axes, "norm")
        return apply_op(Min, (abs_(x), axes, keepdims))
    if p > 0:
        return apply_op(NormP, (x, axes, keepdims, float(p)))
    raise ValueError(f"norm: unsupported p={p!r}; use 'fro', 1, 2, inf, -inf or p > 0")
