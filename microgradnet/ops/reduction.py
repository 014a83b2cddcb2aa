"""Reductions over axes: sum, mean, max, min, var, std, prod, logsumexp, argmax, argmin.

``axis``/``dim`` may be an int, a tuple or None (all axes); ``keepdims``/``keepdim`` keeps the
reduced axes as size 1. Backward rules broadcast the gradient back over the reduced axes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet.autograd.function import Function
from microgradnet.ops._util import as_tensor, axis_args, normalize_axes, reduced_shape
from microgradnet.tensor import Tensor

__all__ = [
    "sum",
    "mean",
    "logsumexp",
]


def _spread(grad: Tensor, shape: tuple[int, ...], axes: tuple[int, ...] | None,
            keepdims: bool) -> Tensor:
    """Broadcast a reduced gradient back to the input's ``shape``."""
    from microgradnet.ops.shape import broadcast_to

    if not keepdims:
        grad = grad.reshape(reduced_shape(shape, axes))
    return broadcast_to(grad, shape)


class Sum(Function):
    """Sum over axes. Derivative: 1 for every summed element (the gradient is broadcast back)."""

    __slots__ = ("shape", "axes", "keepdims")
    _forward_on_arrays = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, axes: Any, keepdims: bool) -> np.ndarray:
        ctx.shape, ctx.axes, ctx.keepdims = x.data.shape, axes, keepdims
        return np.sum(x.data, axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return _spread(grad, ctx.shape, ctx.axes, ctx.keepdims), None, None


def sum(x: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """Sum of elements over ``axis`` (all axes by default)."""
    axis, keepdims = axis_args(axis, keepdims, kw, "sum")
    x = as_tensor(x)
    return Sum.apply(x, normalize_axes(axis, x.data.ndim, "sum"), keepdims)


class Mean(Function):
    """Mean over axes. Derivative: 1/n for every element, n the number averaged."""

    __slots__ = ("shape", "axes", "keepdims")
    _forward_on_arrays = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, axes: Any, keepdims: bool) -> np.ndarray:
        ctx.shape, ctx.axes, ctx.keepdims = x.data.shape, axes, keepdims
        return np.mean(x.data, axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        n = _count(ctx.shape, ctx.axes)
        return _spread(grad / n if n else grad, ctx.shape, ctx.axes, ctx.keepdims), None, None


def _count(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> int:
    if axes is None:
        return int(np.prod(shape, dtype=np.int64))
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


def mean(x: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """Arithmetic mean over ``axis`` (all axes by default)."""
    axis, keepdims = axis_args(axis, keepdims, kw, "mean")
    x = as_tensor(x)
    if x.data.dtype.kind not in "fc":
        x = x.astype(np.float64)
    return Mean.apply(x, normalize_axes(axis, x.data.ndim, "mean"), keepdims)


class LogSumExp(Function):
    """log Σ exp(x) over axes, computed stably. Derivative: softmax(x) = exp(x - out)."""

    __slots__ = ("shape", "axes", "keepdims")
    _forward_on_arrays = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, axes: Any, keepdims: bool) -> np.ndarray:
        ctx.shape, ctx.axes, ctx.keepdims = x.data.shape, axes, keepdims
        a = x.data
        m = np.max(a, axis=axes, keepdims=True) if a.size else np.zeros(
            reduced_shape(a.shape, axes), a.dtype)
        m = np.where(np.isfinite(m), m, 0)
        out = np.log(np.sum(np.exp(a - m), axis=axes, keepdims=True)) + m
        ctx.save_for_backward(x)
        ctx.save_output(out)  # kept with keepdims so that it broadcasts against x
        return out if keepdims else out.reshape(_drop(out.shape, axes))

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        from microgradnet.ops.elementwise import exp

        (x,) = ctx.saved_tensors
        out = ctx.saved_output
        if not ctx.keepdims:
            grad = grad.reshape(reduced_shape(ctx.shape, ctx.axes))
            out = out  # already keepdims-shaped
        return grad * exp(x - out), None, None


def _drop(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    if axes is None:
        return ()
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """``log(sum(exp(x), axis))`` without overflow."""
    axis, keepdims = axis_args(axis, keepdims, kw, "logsumexp")
    x = as_tensor(x)
    return LogSumExp.apply(x, normalize_axes(axis, x.data.ndim, "logsumexp"), keepdims)
