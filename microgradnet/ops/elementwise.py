"""Elementwise functions: exp, log, the activations, clip, maximum/minimum, where, sign.

Rules that need the op's own output (exp, tanh, sigmoid, relu) save the output array and read it
back with ``ctx.saved_output``: a Tensor attached to this very node, so that second derivatives
flow through it correctly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet.autograd.function import Function
from microgradnet.ops._util import as_operand, as_tensor, broadcast_error
from microgradnet.tensor import Tensor

__all__ = [
    "exp",
    "log",
    "tanh",
    "sigmoid",
    "relu",
    "where",
    "sign",
    "clone",
    "cast",
]


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else as_tensor(x)


class Exp(Function):
    """exp(x). Derivative: exp(x), the output itself."""

    __slots__ = ()
    _forward_on_arrays = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        out = np.exp(x.data)
        ctx.save_output(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad * ctx.saved_output


def exp(x: Any) -> Tensor:
    """Elementwise exponential."""
    return Exp.apply(_t(x))


class Log(Function):
    """Natural logarithm log(x). Derivative: 1/x."""

    __slots__ = ()
    _forward_on_arrays = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.log(x.data)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad / x


def log(x: Any) -> Tensor:
    """Elementwise natural logarithm."""
    return Log.apply(_t(x))


class Tanh(Function):
    """tanh(x). Derivative: 1 - tanh(x)², from the output."""

    __slots__ = ()
    _forward_on_arrays = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        out = np.tanh(x.data)
        ctx.save_output(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        y = ctx.saved_output
        return grad * (1.0 - y * y)


def tanh(x: Any) -> Tensor:
    """Elementwise hyperbolic tangent."""
    return Tanh.apply(_t(x))


class Sigmoid(Function):
    """The logistic function σ(x) = 1 / (1 + e^-x). Derivative: σ(x)(1 - σ(x)), i.e. o(1 - o)."""

    __slots__ = ()
    _forward_on_arrays = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        out = _sigmoid_array(x.data)
        ctx.save_output(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        o = ctx.saved_output
        return grad * (o * (1.0 - o))


def _sigmoid_array(a: np.ndarray) -> np.ndarray:
    """σ without overflow: e^-|x| never exceeds 1."""
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(a.dtype, copy=False)


def sigmoid(x: Any) -> Tensor:
    """Elementwise logistic sigmoid, stable for large |x|."""
    return Sigmoid.apply(_t(x))


class Relu(Function):
    """max(x, 0). Derivative: 1 where x > 0, else 0 (0 at x = 0, as PyTorch)."""

    __slots__ = ()
    _forward_on_arrays = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        out = np.maximum(x.data, 0)
        ctx.save_output(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad * (ctx.saved_output > 0)


def relu(x: Any) -> Tensor:
    """Rectified linear unit, elementwise max(x, 0)."""
    return Relu.apply(_t(x))


class Where(Function):
    """cond ? x : y. Derivative: to x where cond holds, to y elsewhere."""

    __slots__ = ()
    _forward_on_arrays = True

    @staticmethod
    def forward(ctx: Any, cond: np.ndarray, x: Any, y: Any) -> np.ndarray:
        ctx.save_for_backward(cond)
        return np.where(cond, x.data if isinstance(x, Tensor) else x,
                        y.data if isinstance(y, Tensor) else y)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        (cond,) = ctx.saved_tensors
        _, nx, ny = ctx.needs_input_grad
        zero = grad * 0.0 if (nx or ny) else None
        gx = Where.apply(cond, grad, zero) if nx else None
        gy = Where.apply(cond, zero, grad) if ny else None
        return None, gx, gy


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """Elementwise choice: ``x`` where ``condition`` is true, else ``y`` (broadcasting)."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    x = as_operand(x)
    y = as_operand(y)
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        x = as_tensor(x)
    try:
        return Where.apply(cond, x, y)
    except ValueError as e:
        if "broadcast" in str(e):
            raise broadcast_error("where", cond, x, y) from None
        raise


class Sign(Function):
    """sign(x). Derivative: 0 (piecewise constant)."""

    __slots__ = ()
    _forward_on_arrays = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        return np.sign(x.data)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad * 0.0


def sign(x: Any) -> Tensor:
    """Elementwise sign: -1, 0 or 1."""
    return Sign.apply(_t(x))


class Clone(Function):
    """A copy of x. Derivative: 1."""

    __slots__ = ()
    _forward_on_arrays = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        return x.data.copy()

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad


def clone(x: Any) -> Tensor:
    """A copy that stays in the graph."""
    return Clone.apply(_t(x))


class Cast(Function):
    """x converted to another dtype. Derivative: 1, cast back to x's dtype."""

    __slots__ = ("in_dtype",)
    _forward_on_arrays = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, dtype: np.dtype) -> np.ndarray:
        ctx.in_dtype = x.data.dtype
        return x.data.astype(dtype)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return Cast.apply(grad, ctx.in_dtype), None


def cast(x: Any, dtype: Any) -> Tensor:
    """``x`` as ``dtype``; differentiable between floating dtypes."""
    x = _t(x)
    if x.data.dtype == dtype:
        return x
    return Cast.apply(x, dtype)
