"""Arithmetic: ``+ - * / **``, negation and ``abs``.

Each rule returns one gradient per input, at the broadcast output shape; the engine sums each
back to its input's shape. Every rule is written once (``_dual_rules``, see ``ops/_dual.py``): it
runs on NumPy arrays in a plain backward sweep and on Tensors, recorded, with ``create_graph``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet import tensor as _tensor
from microgradnet.autograd.forward_ad import tangent_sum
from microgradnet.autograd.function import Function, apply_op
from microgradnet.ops import _dual as D
from microgradnet.ops._util import as_operand, broadcast_error, promote_weak
from microgradnet.tensor import Tensor

__all__ = [
    "add", "sub", "mul", "div", "true_divide", "divide", "subtract", "multiply", "pow", "power",
    "neg", "negative", "abs", "floor_divide", "remainder",
]
_NUMBERS = (int, float, np.number)


def _d(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _binary(cls: type[Function], name: str, x: Any, y: Any) -> Tensor:
    """The general path: operands of any kind (scalars stay weakly typed, arrays become tensors)."""
    x = as_operand(x)
    y = as_operand(y)
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        x = as_operand(np.asarray(x))
    try:
        return apply_op(cls, (x, y))
    except ValueError as e:
        raise _shape_error(e, name, x, y) from None


def _shape_error(e: ValueError, name: str, x: Any, y: Any) -> ValueError:
    """NumPy's broadcasting error, reworded to name the op and both shapes; other errors as is."""
    if "broadcast" in str(e) and not str(e).startswith(name):
        return broadcast_error(name, x, y)
    return e


# add, sub, mul and div are the hottest calls of the package (``a + b`` is ``add(a, b)``): a
# tensor and a tensor or Python number go straight to ``apply``, anything else takes _binary.
_PY_NUMBERS = (float, int)


class Add(Function):
    """x + y. Derivative: d/dx = 1, d/dy = 1."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> np.ndarray:
        out = (x.data if isinstance(x, Tensor) else x) + (y.data if isinstance(y, Tensor) else y)
        # int + 0.5 is in the default float dtype, as PyTorch (the check is inline: hot path)
        return out if out.dtype is _tensor._default_dtype else promote_weak(out, x, y)

    @staticmethod
    def jvp(ctx: Any, tx: Any, ty: Any) -> Any:
        return tangent_sum(tx, ty)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return grad, grad


def add(x: Any, y: Any) -> Tensor:
    """Elementwise ``x + y`` with NumPy broadcasting.

    >>> mg.add(mg.tensor([1.0, 2.0]), 10.0)
    tensor([11., 12.])
    """
    if isinstance(x, Tensor) and (isinstance(y, Tensor) or type(y) in _PY_NUMBERS):
        try:
            return apply_op(Add, (x, y))
        except ValueError as e:
            raise _shape_error(e, "add", x, y) from None
    return _binary(Add, "add", x, y)


class Sub(Function):
    """x - y. Derivative: d/dx = 1, d/dy = -1."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> np.ndarray:
        out = (x.data if isinstance(x, Tensor) else x) - (y.data if isinstance(y, Tensor) else y)
        return out if out.dtype is _tensor._default_dtype else promote_weak(out, x, y)

    @staticmethod
    def jvp(ctx: Any, tx: Any, ty: Any) -> Any:
        return tangent_sum(tx, None if ty is None else -ty)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return grad, (-grad if ctx.needs_input_grad[1] else None)


def sub(x: Any, y: Any) -> Tensor:
    """Elementwise ``x - y`` with NumPy broadcasting.

    >>> mg.sub(mg.tensor([[1.0], [2.0]]), mg.tensor([1.0, 2.0]))  # (2, 1) - (2,) -> (2, 2)
    tensor([[ 0., -1.],
            [ 1.,  0.]])
    """
    if isinstance(x, Tensor) and (isinstance(y, Tensor) or type(y) in _PY_NUMBERS):
        try:
            return apply_op(Sub, (x, y))
        except ValueError as e:
            raise _shape_error(e, "sub", x, y) from None
    return _binary(Sub, "sub", x, y)


subtract = sub


class Mul(Function):
    """x * y. Derivative: d/dx = y, d/dy = x."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> np.ndarray:
        # x is needed only for y's derivative or tangent: ``x * 0.5`` keeps no x alive
        # (PyTorch does the same), so a chain of such ops frees each step's tensor.
        ctx.save_for_backward(x if isinstance(y, Tensor) else None,
                              y if isinstance(x, Tensor) else None)
        out = (x.data if isinstance(x, Tensor) else x) * (y.data if isinstance(y, Tensor) else y)
        return out if out.dtype is _tensor._default_dtype else promote_weak(out, x, y)

    @staticmethod
    def jvp(ctx: Any, tx: Any, ty: Any) -> Any:
        x, y = ctx.saved_tensors
        return tangent_sum(None if tx is None else tx * y, None if ty is None else ty * x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        x, y = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        return (grad * y if nx else None), (grad * x if ny else None)


def mul(x: Any, y: Any) -> Tensor:
    """Elementwise ``x * y`` with NumPy broadcasting.

    >>> mg.mul(mg.tensor([1.0, 2.0]), mg.tensor([3.0, 4.0]))
    tensor([3., 8.])
    """
    if isinstance(x, Tensor) and (isinstance(y, Tensor) or type(y) in _PY_NUMBERS):
        try:
            return apply_op(Mul, (x, y))
        except ValueError as e:
            raise _shape_error(e, "mul", x, y) from None
    return _binary(Mul, "mul", x, y)


multiply = mul


class Div(Function):
    """x / y. Derivative: d/dx = 1/y, d/dy = -x/y²."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> np.ndarray:
        # x is needed only for y's derivative or tangent: ``x / 2.0`` keeps no x alive.
        ctx.save_for_backward(x if isinstance(y, Tensor) else None, y)
        out = (x.data if isinstance(x, Tensor) else x) / (y.data if isinstance(y, Tensor) else y)
        return promote_weak(out, x, y)  # int / int: true division in the default float dtype

    @staticmethod
    def jvp(ctx: Any, tx: Any, ty: Any) -> Any:
        x, y = ctx.saved_tensors
        return tangent_sum(None if tx is None else tx / y,
                           None if ty is None else -(ty * x) / (y * y))

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        x, y = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        gx = grad / y if nx else None
        gy = -grad * x / (y * y) if ny else None
        return gx, gy


def div(x: Any, y: Any) -> Tensor:
    """Elementwise true division ``x / y`` with NumPy broadcasting.

    >>> mg.div(mg.tensor([1.0, 3.0]), 2.0)
    tensor([0.5, 1.5])
    """
    if isinstance(x, Tensor) and (isinstance(y, Tensor) or type(y) in _PY_NUMBERS):
        try:
            return apply_op(Div, (x, y))
        except ValueError as e:
            raise _shape_error(e, "div", x, y) from None
    return _binary(Div, "div", x, y)


true_divide = divide = div


class Neg(Function):
    """-x. Derivative: -1."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        return np.negative(x.data)

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        return -t

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return -grad


def neg(x: Any) -> Tensor:
    """Elementwise negation ``-x``.

    >>> mg.neg(mg.tensor([1.0, -2.0]))
    tensor([-1.,  2.])
    """
    return apply_op(Neg, (as_operand(x) if isinstance(x, Tensor) else as_operand(np.asarray(x)),))


negative = neg


class Pow(Function):
    """x ** y. Derivative: d/dx = y·x^(y-1), d/dy = x^y·log(x)."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> np.ndarray:
        ctx.save_for_backward(x, y)
        return promote_weak(np.power(_d(x), _d(y)), x, y)  # int ** 0.5: the default float

    @staticmethod
    def jvp(ctx: Any, tx: Any, ty: Any) -> Any:
        from microgradnet.ops.elementwise import log, where

        x, y = ctx.saved_tensors
        dx = dy = None
        if tx is not None:
            if isinstance(y, Tensor):
                dx = where(y == 0, 0.0, tx * y * x ** (y - 1))
            elif y == 1:
                dx = tx
            elif y != 0:
                dx = tx * y * x ** (y - 1)
        if ty is not None:
            xt = x if isinstance(x, Tensor) else Tensor._make(np.asarray(x), False, None)
            dy = ty * where(xt == 0, 0.0, (x ** y) * log(where(xt == 0, 1.0, xt)))
        return tangent_sum(dx, dy)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        x, y = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        gx = gy = None
        if nx:
            if not isinstance(y, _NUMBERS):
                # y == 0 gives 0·x^-1, which is nan at x == 0; the derivative there is 0.
                gx = D.where(D.value(y) == 0, 0.0, grad * y * x ** (y - 1))
            elif y == 0:
                gx = grad * 0.0
            elif y == 1:
                gx = grad
            elif y == 2:
                gx = grad * x * 2.0
            else:
                gx = grad * y * x ** (y - 1)
        if ny:
            # x^y·log(x), taken as 0 where x == 0 (the limit for y > 0, as PyTorch does)
            zero = np.asarray(D.value(x) == 0)
            gy = grad * D.where(zero, 0.0, (x ** y) * D.log(D.where(zero, 1.0, x)))
        return gx, gy


def pow(x: Any, y: Any) -> Tensor:
    """Elementwise power ``x ** y`` (either may be a tensor).

    >>> mg.pow(mg.tensor([1.0, 2.0, 3.0]), 2)
    tensor([1., 4., 9.])
    >>> mg.pow(2.0, mg.tensor([0.0, 1.0, 2.0]))
    tensor([1., 2., 4.])
    """
    return _binary(Pow, "pow", x, y)


power = pow


class Abs(Function):
    """|x|. Derivative: sign(x) (0 at x = 0, as PyTorch)."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.abs(x.data)

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        from microgradnet.ops.elementwise import sign

        (x,) = ctx.saved_tensors
        return t * sign(x).detach()

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        (x,) = ctx.saved_tensors
        return grad * np.sign(D.value(x))  # a constant: sign's derivative is 0


def abs(x: Any) -> Tensor:
    """Elementwise absolute value.

    >>> mg.abs(mg.tensor([-1.5, 0.0, 2.0]))
    tensor([1.5, 0. , 2. ])
    """
    x = x if isinstance(x, Tensor) else as_operand(np.asarray(x))
    return apply_op(Abs, (x,))


def floor_divide(x: Any, y: Any) -> Tensor:
    """Elementwise floor division (piecewise constant: no gradient).

    >>> mg.floor_divide(mg.tensor([7, -7]), 2)
    tensor([ 3, -4])
    """
    return Tensor._make(np.asarray(np.floor_divide(_d(as_operand(x)), _d(as_operand(y)))),
                        False, None)


def remainder(x: Any, y: Any) -> Tensor:
    """Elementwise remainder with the sign of the divisor, as NumPy (no gradient).

    >>> mg.remainder(mg.tensor([7, -7]), 3)
    tensor([1, 2])
    """
    return Tensor._make(np.asarray(np.remainder(_d(as_operand(x)), _d(as_operand(y)))),
                        False, None)
