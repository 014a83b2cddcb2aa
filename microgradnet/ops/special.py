"""More elementwise math: inverse trigonometric and hyperbolic functions, ``exp2``, ``erfc``,
``arctan2``, ``hypot``, ``logaddexp``, and the rounding functions.

Each derivative is written once, in the numerically careful form: ``arcsin``'s
1/√((1 - x)(1 + x)) keeps its digits near ±1 where 1 - x² would not, ``arcsinh``'s 1/hypot(x, 1)
never overflows, ``logaddexp`` computes log(eˣ + eʸ) without overflow and its derivative
e^(x - out) never exceeds 1. The same expression gives the VJP (times the output gradient) and
the JVP (times the input tangent), and runs on NumPy arrays in a plain backward sweep and on
Tensors, recorded, with ``create_graph`` (``_dual_rules``, see ``ops/_dual.py``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from microgradnet.autograd.forward_ad import tangent_sum
from microgradnet.autograd.function import Function, apply_op
from microgradnet.ops import _dual as D
from microgradnet.ops._util import as_tensor, float_operand
from microgradnet.ops.elementwise import _erf_array, _pairwise
from microgradnet.tensor import Tensor

__all__ = [
    "arcsin",
    "arccos",
    "arctan",
    "arctan2",
    "sinh",
    "cosh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "exp2",
    "erfc",
    "logaddexp",
    "hypot",
    "floor",
    "ceil",
    "round",
    "trunc",
]

_LN2 = math.log(2.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else as_tensor(x)


def _floats(*xs: Any) -> list[Any]:
    """Operands of a floating binary op: integer/bool tensors and arrays in the default float
    dtype (numbers stay numbers; two numbers make a float tensor)."""
    out = [x if isinstance(x, (int, float)) else float_operand(x) for x in xs]
    if not any(isinstance(x, Tensor) for x in out):
        out[0] = float_operand(out[0])
    return out


def _d(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


class _Unary(Function):
    """f(x) whose derivative f'(x) is ``_deriv(x)``, written once for arrays and Tensors (the
    saved input is an array in a plain sweep, a Tensor in a recorded one or in forward mode).

    VJP: grad · f'(x); JVP: tangent · f'(x).
    """

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True
    _f: Any = None

    @classmethod
    def forward(cls, ctx: Any, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return cls._f(x.data)

    @staticmethod
    def _deriv(x: Any) -> Any:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    @classmethod
    def backward(cls, ctx: Any, grad: Any) -> Any:
        (x,) = ctx.saved_tensors
        return grad * cls._deriv(x)

    @classmethod
    def jvp(cls, ctx: Any, t: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return t * cls._deriv(x)


class Arcsin(_Unary):
    """arcsin(x). Derivative: 1/√((1 - x)(1 + x))."""

    __slots__ = ()
    _f = np.arcsin

    @staticmethod
    def _deriv(x: Any) -> Any:
        return 1.0 / D.sqrt((1.0 - x) * (1.0 + x))


class Arccos(_Unary):
    """arccos(x). Derivative: -1/√((1 - x)(1 + x))."""

    __slots__ = ()
    _f = np.arccos

    @staticmethod
    def _deriv(x: Any) -> Any:
        return -1.0 / D.sqrt((1.0 - x) * (1.0 + x))


class Arctan(_Unary):
    """arctan(x). Derivative: 1/(1 + x²)."""

    __slots__ = ()
    _f = np.arctan

    @staticmethod
    def _deriv(x: Any) -> Any:
        return 1.0 / (x * x + 1.0)


class Sinh(_Unary):
    """sinh(x). Derivative: cosh(x)."""

    __slots__ = ()
    _f = np.sinh

    @staticmethod
    def _deriv(x: Any) -> Any:
        return D.cosh(x)


class Cosh(_Unary):
    """cosh(x). Derivative: sinh(x)."""

    __slots__ = ()
    _f = np.cosh

    @staticmethod
    def _deriv(x: Any) -> Any:
        return D.sinh(x)


class Arcsinh(_Unary):
    """arcsinh(x). Derivative: 1/√(x² + 1), as 1/hypot(x, 1) (no overflow for large x)."""

    __slots__ = ()
    _f = np.arcsinh

    @staticmethod
    def _deriv(x: Any) -> Any:
        return 1.0 / D.hypot(x, 1.0)


class Arccosh(_Unary):
    """arccosh(x), x ≥ 1. Derivative: 1/(√(x - 1)·√(x + 1)) (accurate near 1, no overflow)."""

    __slots__ = ()
    _f = np.arccosh

    @staticmethod
    def _deriv(x: Any) -> Any:
        return 1.0 / (D.sqrt(x - 1.0) * D.sqrt(x + 1.0))


class Arctanh(_Unary):
    """arctanh(x), |x| < 1. Derivative: 1/((1 - x)(1 + x))."""

    __slots__ = ()
    _f = np.arctanh

    @staticmethod
    def _deriv(x: Any) -> Any:
        return 1.0 / ((1.0 - x) * (1.0 + x))


class Erfc(_Unary):
    """erfc(x) = 1 - erf(x), with full relative accuracy for large x. Derivative:
    -2/√π · e^(-x²)."""

    __slots__ = ()

    @staticmethod
    def _f(a: np.ndarray) -> np.ndarray:
        return _erf_array(a, complement=True)

    @staticmethod
    def _deriv(x: Any) -> Any:
        return D.exp(-(x * x)) * -_TWO_OVER_SQRT_PI


class Exp2(Function):
    """2ˣ. Derivative: 2ˣ·ln 2, from the output."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        out = np.exp2(x.data)
        ctx.save_output(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        return grad * (ctx.saved_output * _LN2)

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        return t * (ctx.saved_output * _LN2)


def arcsin(x: Any) -> Tensor:
    """Elementwise inverse sine (radians, in [-π/2, π/2]).

    >>> mg.arcsin(mg.tensor([0.0, 1.0]))
    tensor([0.    , 1.5708])
    """
    return apply_op(Arcsin, (float_operand(x),))


def arccos(x: Any) -> Tensor:
    """Elementwise inverse cosine (radians, in [0, π]).

    >>> mg.arccos(mg.tensor([1.0, 0.0]))
    tensor([0.    , 1.5708])
    """
    return apply_op(Arccos, (float_operand(x),))


def arctan(x: Any) -> Tensor:
    """Elementwise inverse tangent (radians, in (-π/2, π/2)).

    >>> mg.arctan(mg.tensor([0.0, 1.0]))
    tensor([0.    , 0.7854])
    """
    return apply_op(Arctan, (float_operand(x),))


def sinh(x: Any) -> Tensor:
    """Elementwise hyperbolic sine.

    >>> mg.sinh(mg.tensor([0.0, 1.0]))
    tensor([0.    , 1.1752])
    """
    return apply_op(Sinh, (float_operand(x),))


def cosh(x: Any) -> Tensor:
    """Elementwise hyperbolic cosine.

    >>> mg.cosh(mg.tensor([0.0, 1.0]))
    tensor([1.    , 1.5431])
    """
    return apply_op(Cosh, (float_operand(x),))


def arcsinh(x: Any) -> Tensor:
    """Elementwise inverse hyperbolic sine.

    >>> mg.arcsinh(mg.tensor([0.0, 1.0]))
    tensor([0.    , 0.8814])
    """
    return apply_op(Arcsinh, (float_operand(x),))


def arccosh(x: Any) -> Tensor:
    """Elementwise inverse hyperbolic cosine (x ≥ 1).

    >>> mg.arccosh(mg.tensor([1.0, 2.0]))
    tensor([0.   , 1.317])
    """
    return apply_op(Arccosh, (float_operand(x),))


def arctanh(x: Any) -> Tensor:
    """Elementwise inverse hyperbolic tangent (|x| < 1).

    >>> mg.arctanh(mg.tensor([0.0, 0.5]))
    tensor([0.    , 0.5493])
    """
    return apply_op(Arctanh, (float_operand(x),))


def exp2(x: Any) -> Tensor:
    """Elementwise 2 ** x.

    >>> mg.exp2(mg.tensor([0.0, 3.0]))
    tensor([1., 8.])
    """
    return apply_op(Exp2, (float_operand(x),))


def erfc(x: Any) -> Tensor:
    """Elementwise complementary error function 1 - erf(x), accurate where erf(x) is close to
    1 (no SciPy needed).

    >>> mg.erfc(mg.tensor([10.0], dtype=mg.float64))  # 1 - erf(10) would give 0
    tensor([2.0885e-45], dtype=float64)
    """
    return apply_op(Erfc, (float_operand(x),))


# -- two arguments (broadcasting) -------------------------------------------------------------

class _Binary(Function):
    """f(x, y) whose partial derivatives are ``_partials(ctx)`` (from the saved inputs and
    output), written once for arrays and Tensors.

    VJP: (grad · ∂f/∂x, grad · ∂f/∂y); JVP: tx · ∂f/∂x + ty · ∂f/∂y.
    """

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def _partials(ctx: Any) -> tuple[Any, Any]:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    @classmethod
    def backward(cls, ctx: Any, grad: Any) -> Any:
        dx, dy = cls._partials(ctx)
        nx, ny = ctx.needs_input_grad
        return (grad * dx if nx else None), (grad * dy if ny else None)

    @classmethod
    def jvp(cls, ctx: Any, tx: Any, ty: Any) -> Any:
        dx, dy = cls._partials(ctx)
        return tangent_sum(None if tx is None else tx * dx, None if ty is None else ty * dy)


class Arctan2(_Binary):
    """arctan2(y, x): the angle of the point (x, y). Derivatives: ∂/∂y = x/(x² + y²),
    ∂/∂x = -y/(x² + y²)."""

    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, y: Any, x: Any) -> np.ndarray:
        ctx.save_for_backward(y, x)
        return np.arctan2(_d(y), _d(x))

    @staticmethod
    def _partials(ctx: Any) -> tuple[Any, Any]:
        y, x = ctx.saved_tensors
        r2 = x * x + y * y
        return x / r2, -y / r2


class Hypot(_Binary):
    """√(x² + y²) without overflow. Derivatives: x/out and y/out (0 where out = 0, the
    subgradient PyTorch uses for norms)."""

    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> np.ndarray:
        out = np.hypot(_d(x), _d(y))
        ctx.save_for_backward(x, y)
        ctx.save_output(out)
        return out

    @staticmethod
    def _partials(ctx: Any) -> tuple[Any, Any]:
        x, y = ctx.saved_tensors
        out = ctx.saved_output
        zero = D.value(out) == 0
        if zero.any():
            out = D.where(zero, 1.0, out)  # there x = y = 0: 0 / 1 = 0
        return x / out, y / out


class LogAddExp(_Binary):
    """log(eˣ + eʸ) without overflow. Derivatives: e^(x - out) and e^(y - out) (each in
    [0, 1]: the softmax weights of x and y)."""

    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> np.ndarray:
        out = np.logaddexp(_d(x), _d(y))
        ctx.save_for_backward(x, y)
        ctx.save_output(out)
        return out

    @staticmethod
    def _partials(ctx: Any) -> tuple[Any, Any]:
        x, y = ctx.saved_tensors
        out = ctx.saved_output
        return D.exp(x - out), D.exp(y - out)


def arctan2(y: Any, x: Any) -> Tensor:
    """Elementwise angle of the point (x, y) in (-π, π], quadrant-aware (broadcasting).

    >>> mg.arctan2(mg.tensor([1.0, -1.0]), mg.tensor([0.0, 0.0]))
    tensor([ 1.5708, -1.5708])
    """
    return _pairwise(Arctan2, "arctan2", *_floats(y, x))


def hypot(x: Any, y: Any) -> Tensor:
    """Elementwise √(x² + y²) without overflow (broadcasting).

    >>> mg.hypot(mg.tensor([3.0, 1e200], dtype=mg.float64), 4.0)
    tensor([5.e+000, 1.e+200], dtype=float64)
    """
    return _pairwise(Hypot, "hypot", *_floats(x, y))


def logaddexp(x: Any, y: Any) -> Tensor:
    """Elementwise log(exp(x) + exp(y)) without overflow (broadcasting).

    >>> mg.logaddexp(mg.tensor([1000.0]), mg.tensor([1000.0]))  # exp(1000) overflows
    tensor([1000.6932])
    """
    return _pairwise(LogAddExp, "logaddexp", *_floats(x, y))


# -- rounding: piecewise constant, zero derivative ----------------------------------------------

class _Rounding(Function):
    """A piecewise-constant function: derivative 0 (PyTorch's convention at the jumps too)."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True
    _f: Any = None

    @classmethod
    def forward(cls, ctx: Any, x: Tensor, *args: Any) -> np.ndarray:
        if x.data.dtype.kind in "biu" and (not args or args[0] >= 0):
            return x.data.copy()  # integers are already whole: kept, in their dtype (PyTorch)
        return cls._f(x.data, *args)

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        return D.zeros_like(grad), None

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> None:
        return None  # a zero tangent


class Floor(_Rounding):
    """floor(x). Derivative: 0."""

    __slots__ = ()
    _f = np.floor


class Ceil(_Rounding):
    """ceil(x). Derivative: 0."""

    __slots__ = ()
    _f = np.ceil


class Round(_Rounding):
    """x rounded to ``decimals`` digits, halves to even (NumPy, PyTorch). Derivative: 0."""

    __slots__ = ()
    _f = np.round


class Trunc(_Rounding):
    """x rounded towards zero. Derivative: 0."""

    __slots__ = ()
    _f = np.trunc


def floor(x: Any) -> Tensor:
    """Elementwise floor (largest integer ≤ x); zero gradient.

    >>> mg.floor(mg.tensor([-1.5, 1.5]))
    tensor([-2.,  1.])
    """
    return apply_op(Floor, (_t(x),))


def ceil(x: Any) -> Tensor:
    """Elementwise ceiling (smallest integer ≥ x); zero gradient.

    >>> mg.ceil(mg.tensor([-1.5, 1.5]))
    tensor([-1.,  2.])
    """
    return apply_op(Ceil, (_t(x),))


def round(x: Any, decimals: int = 0) -> Tensor:
    """Elementwise rounding to ``decimals`` digits, halves to even (NumPy, PyTorch); zero
    gradient.

    >>> mg.round(mg.tensor([0.5, 1.5, 2.567]))
    tensor([0., 2., 3.])
    >>> mg.round(mg.tensor([2.567]), decimals=1)
    tensor([2.6])
    """
    return apply_op(Round, (_t(x), int(decimals)))


def trunc(x: Any) -> Tensor:
    """Elementwise truncation towards zero; zero gradient.

    >>> mg.trunc(mg.tensor([-1.5, 1.5]))
    tensor([-1.,  1.])
    """
    return apply_op(Trunc, (_t(x),))
