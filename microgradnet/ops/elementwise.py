"""Elementwise functions: exp, log, sqrt, trigonometry, the activations, clip, maximum/minimum,
where, sign, erf.

Every rule is written once (``_dual_rules``, see ``ops/_dual.py``): on NumPy arrays in a plain
backward sweep, on Tensors (recorded) with ``create_graph``. Rules that need the op's own output
(exp, tanh, sigmoid, relu) save the output array and read it back with ``ctx.saved_output``: in
the recorded sweep a Tensor attached to this very node, so that second derivatives flow through
it correctly. Piecewise rules (leaky_relu, clip, maximum) multiply the gradient by a constant
mask computed from the saved inputs: the mask's own derivative is zero almost everywhere.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from microgradnet.autograd.forward_ad import tangent_sum
from microgradnet.autograd.function import Function, apply_op
from microgradnet.ops import _dual as D
from microgradnet.ops._util import (
    as_operand,
    as_tensor,
    broadcast_error,
    const,
    float_operand,
    promote_weak,
)
from microgradnet.tensor import Tensor

__all__ = [
    "exp",
    "log",
    "log2",
    "log10",
    "log1p",
    "expm1",
    "sqrt",
    "rsqrt",
    "square",
    "reciprocal",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sigmoid",
    "relu",
    "leaky_relu",
    "elu",
    "erf",
    "gelu",
    "softplus",
    "clip",
    "clamp",
    "maximum",
    "minimum",
    "where",
    "sign",
    "clone",
    "cast",
]


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else as_tensor(x)


def _f(x: Any) -> Tensor:
    """A floating op's input: integer and bool tensors compute in the default float dtype."""
    return x if isinstance(x, Tensor) and x.data.dtype.kind == "f" else float_operand(x)


class Exp(Function):
    """exp(x). Derivative: exp(x), the output itself."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        out = np.exp(x.data)
        ctx.save_output(out)
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        return t * ctx.saved_output

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad * ctx.saved_output


def exp(x: Any) -> Tensor:
    """Elementwise exponential.

    >>> mg.exp(mg.tensor([0.0, 1.0]))
    tensor([1.    , 2.7183])
    """
    return apply_op(Exp, (_f(x),))


class Log(Function):
    """Natural logarithm log(x). Derivative: 1/x."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.log(x.data)

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return t / x

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad / x


def log(x: Any) -> Tensor:
    """Elementwise natural logarithm.

    >>> mg.log(mg.tensor([1.0, np.e]))
    tensor([0., 1.])
    """
    return apply_op(Log, (_f(x),))


class Tanh(Function):
    """tanh(x). Derivative: 1 - tanh(x)², from the output."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        out = np.tanh(x.data)
        ctx.save_output(out)
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        y = ctx.saved_output
        return t * (1.0 - y * y)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        y = ctx.saved_output
        return grad * (1.0 - y * y)


def tanh(x: Any) -> Tensor:
    """Elementwise hyperbolic tangent.

    >>> mg.tanh(mg.tensor([0.0, 1.0]))
    tensor([0.    , 0.7616])
    """
    return apply_op(Tanh, (_f(x),))


class Sigmoid(Function):
    """The logistic function σ(x) = 1 / (1 + e^-x). Derivative: σ(x)(1 - σ(x)), i.e. o(1 - o)."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        out = _sigmoid_array(x.data)
        ctx.save_output(out)
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        o = ctx.saved_output
        return t * (o * (1.0 - o))

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        o = ctx.saved_output
        return grad * (o * (1.0 - o))


def _sigmoid_array(a: np.ndarray) -> np.ndarray:
    """σ without overflow: e^-|x| never exceeds 1."""
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    if a.ndim == 0:  # NumPy turns 0-d results into scalars, which cannot take out=
        return _sigmoid_array(a.reshape(1)).reshape(())
    e = np.abs(a)
    np.negative(e, out=e)
    np.exp(e, out=e)
    d = e + 1.0
    # x >= 0: 1 / (1 + e^-x);  x < 0: e^x / (1 + e^x)
    return np.divide(np.where(a >= 0, 1.0, e), d, out=d)


def sigmoid(x: Any) -> Tensor:
    """Elementwise logistic sigmoid, stable for large |x|.

    >>> mg.sigmoid(mg.tensor([-1000.0, 0.0, 1000.0]))  # no overflow warning
    tensor([0. , 0.5, 1. ])
    """
    return apply_op(Sigmoid, (_f(x),))


class Relu(Function):
    """max(x, 0). Derivative: 1 where x > 0, else 0 (0 at x = 0, as PyTorch). NaN gives NaN,
    with derivative 0 there (PyTorch's ``threshold_backward``: grad where out > 0)."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        out = np.maximum(x.data, 0)
        ctx.save_output(out)
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        return t * (ctx.saved_output.data > 0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad * (D.value(ctx.saved_output) > 0)


def relu(x: Any) -> Tensor:
    """Rectified linear unit, elementwise max(x, 0).

    >>> x = mg.tensor([-1.0, 2.0], requires_grad=True)
    >>> mg.relu(x).sum().backward()
    >>> x.grad  # 0 where x < 0, 1 where x > 0
    tensor([0., 1.])
    """
    return apply_op(Relu, (_t(x),))


class Where(Function):
    """cond ? x : y. Derivative: to x where cond holds, to y elsewhere."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, cond: np.ndarray, x: Any, y: Any) -> np.ndarray:
        ctx.save_for_backward(cond)
        return np.where(cond, x.data if isinstance(x, Tensor) else x,
                        y.data if isinstance(y, Tensor) else y)

    @staticmethod
    def jvp(ctx: Any, _tc: Any, tx: Any, ty: Any) -> Any:
        (cond,) = ctx.saved_tensors
        if tx is None and ty is None:
            return None
        return Where.apply(cond, 0.0 if tx is None else tx, 0.0 if ty is None else ty)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        (cond,) = ctx.saved_tensors
        _, nx, ny = ctx.needs_input_grad
        gx = D.where(cond, grad, 0.0) if nx else None
        gy = D.where(cond, 0.0, grad) if ny else None
        return None, gx, gy


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """Elementwise choice: ``x`` where ``condition`` is true, else ``y`` (broadcasting).

    >>> x = mg.tensor([1.0, -2.0])
    >>> mg.where(x > 0, x, 0.0)
    tensor([1., 0.])
    """
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    x = as_operand(x)
    y = as_operand(y)
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        x = as_tensor(x)
    try:
        return apply_op(Where, (cond, x, y))
    except ValueError as e:
        if "broadcast" in str(e):
            raise broadcast_error("where", cond, x, y) from None
        raise


class Sign(Function):
    """sign(x). Derivative: 0 (piecewise constant)."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        return np.sign(x.data)

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> None:
        return None  # piecewise constant: a zero tangent

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad * 0.0


def sign(x: Any) -> Tensor:
    """Elementwise sign: -1, 0 or 1.

    >>> mg.sign(mg.tensor([-2.0, 0.0, 3.0]))
    tensor([-1.,  0.,  1.])
    """
    return apply_op(Sign, (_t(x),))


class Clone(Function):
    """A copy of x. Derivative: 1."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        return x.data.copy()

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        return t

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad


def clone(x: Any) -> Tensor:
    """A copy that stays in the graph.

    >>> x = mg.tensor([1.0, 2.0], requires_grad=True)
    >>> mg.clone(x)  # a new node: gradients flow back to x
    tensor([1., 2.], grad_fn=<Clone>)
    """
    return apply_op(Clone, (_t(x),))


class Cast(Function):
    """x converted to another dtype. Derivative: 1, cast back to x's dtype."""

    __slots__ = ("in_dtype",)
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, dtype: np.dtype) -> np.ndarray:
        ctx.in_dtype = x.data.dtype
        return x.data.astype(dtype)

    @staticmethod
    def jvp(ctx: Any, t: Tensor, _dtype: Any) -> Tensor:
        return t  # (the tangent is cast to the output's dtype when attached)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return D.cast(grad, ctx.in_dtype), None


def cast(x: Any, dtype: Any) -> Tensor:
    """``x`` as ``dtype``; differentiable between floating dtypes.

    >>> mg.cast(mg.tensor([1.5, 2.5]), mg.float64)
    tensor([1.5, 2.5], dtype=float64)
    >>> mg.cast(mg.tensor([1.5, 2.5]), "int64")
    tensor([1, 2])
    """
    x = _t(x)
    if x.data.dtype == dtype:
        return x
    return apply_op(Cast, (x, dtype))


def _masked(grad: Any, mask: np.ndarray) -> Any:
    """``grad`` where ``mask`` holds, else 0 (a constant mask: its own derivative is zero)."""
    return D.where(mask, grad, 0.0)


# -- more math --------------------------------------------------------------------------------

class Sqrt(Function):
    """√x. Derivative: 1 / (2√x), from the output."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        out = np.sqrt(x.data)
        ctx.save_output(out)
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        return t * 0.5 / ctx.saved_output

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad * 0.5 / ctx.saved_output


def sqrt(x: Any) -> Tensor:
    """Elementwise square root.

    >>> import microgradnet as mg

    >>> mg.sqrt(mg.tensor([4.0, 9.0]))
    tensor([2., 3.])
    """
    return apply_op(Sqrt, (_f(x),))


def rsqrt(x: Any) -> Tensor:
    """Elementwise ``1 / sqrt(x)``.

    >>> mg.rsqrt(mg.tensor([1.0, 4.0]))
    tensor([1. , 0.5])
    """
    return 1.0 / apply_op(Sqrt, (_f(x),))


def square(x: Any) -> Tensor:
    """Elementwise ``x * x``.

    >>> mg.square(mg.tensor([-2.0, 3.0]))
    tensor([4., 9.])
    """
    x = _t(x)
    return x * x


def reciprocal(x: Any) -> Tensor:
    """Elementwise ``1 / x``.

    >>> mg.reciprocal(mg.tensor([2.0, 4.0]))
    tensor([0.5 , 0.25])
    """
    return 1.0 / _f(x)


class Sin(Function):
    """sin(x). Derivative: cos(x)."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.sin(x.data)

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return t * Cos.apply(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad * D.cos(x)


def sin(x: Any) -> Tensor:
    """Elementwise sine (radians).

    >>> import microgradnet as mg

    >>> mg.sin(mg.tensor([0.0]))
    tensor([0.])
    """
    return apply_op(Sin, (_f(x),))


class Cos(Function):
    """cos(x). Derivative: -sin(x)."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.cos(x.data)

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return -(t * Sin.apply(x))

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return -(grad * D.sin(x))


def cos(x: Any) -> Tensor:
    """Elementwise cosine (radians).

    >>> mg.cos(mg.tensor([0.0, np.pi]))
    tensor([ 1., -1.])
    """
    return apply_op(Cos, (_f(x),))


class Tan(Function):
    """tan(x). Derivative: 1 + tan(x)², from the output."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        out = np.tan(x.data)
        ctx.save_output(out)
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        y = ctx.saved_output
        return t * (1.0 + y * y)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        y = ctx.saved_output
        return grad * (1.0 + y * y)


def tan(x: Any) -> Tensor:
    """Elementwise tangent (radians).

    >>> mg.tan(mg.tensor([0.0, np.pi / 4]))
    tensor([0., 1.])
    """
    return apply_op(Tan, (_f(x),))


class Log1p(Function):
    """log(1 + x), accurate for small x. Derivative: 1 / (1 + x)."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.log1p(x.data)

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return t / (x + 1.0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad / (x + 1.0)


def log1p(x: Any) -> Tensor:
    """Elementwise ``log(1 + x)``, accurate when ``x`` is tiny.

    >>> mg.log1p(mg.tensor([0.0, 1e-10], dtype=mg.float64))  # log(1 + 1e-10) loses digits
    tensor([0.e+00, 1.e-10], dtype=float64)
    """
    return apply_op(Log1p, (_f(x),))


class Expm1(Function):
    """exp(x) - 1, accurate for small x. Derivative: exp(x) = output + 1."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        out = np.expm1(x.data)
        ctx.save_output(out)
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        return t * (ctx.saved_output + 1.0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad * (ctx.saved_output + 1.0)


def expm1(x: Any) -> Tensor:
    """Elementwise ``exp(x) - 1``, accurate when ``x`` is tiny.

    >>> mg.expm1(mg.tensor([0.0, 1e-10], dtype=mg.float64))
    tensor([0.e+00, 1.e-10], dtype=float64)
    """
    return apply_op(Expm1, (_f(x),))


_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def log2(x: Any) -> Tensor:
    """Elementwise base-2 logarithm.

    >>> mg.log2(mg.tensor([1.0, 8.0]))
    tensor([0., 3.])
    """
    return apply_op(Log, (_f(x),)) * (1.0 / _LN2)


def log10(x: Any) -> Tensor:
    """Elementwise base-10 logarithm.

    >>> mg.log10(mg.tensor([1.0, 100.0]))
    tensor([0., 2.])
    """
    return apply_op(Log, (_f(x),)) * (1.0 / _LN10)


# -- erf: W. J. Cody's rational Chebyshev approximations (Math. Comp. 1969, netlib specfun) ----
# Near-minimax on three intervals of |x|; relative error ~1e-16 in float64.

_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERF_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)
_SQRT_1_PI = 0.56418958354775628695  # 1/√π


def _ratio(z: np.ndarray, num_c: tuple[float, ...], den_c: tuple[float, ...]) -> np.ndarray:
    """Cody's rational form: Horner in z for numerator and denominator, in place (no temporaries
    per step). ``num_c[-1]`` is the leading numerator coefficient; the denominator is monic."""
    k = len(den_c)
    num = z * num_c[-1]
    den = z.copy()
    for i in range(k - 1):
        num += num_c[i]
        num *= z
        den += den_c[i]
        den *= z
    num += num_c[k - 1]
    den += den_c[k - 1]
    num /= den
    return num


def _exp_neg_sq(y: np.ndarray) -> np.ndarray:
    """exp(-y²) with y² split as y16² + (y - y16)(y + y16), y16 = y rounded down to 1/16: the
    rounding error of y² would otherwise cost erfc its relative accuracy (Cody)."""
    y16 = np.trunc(y * 16.0)
    y16 /= 16.0
    return np.exp(-(y16 * y16)) * np.exp(-(y - y16) * (y + y16))


def _erfc_pos(y: np.ndarray) -> np.ndarray:
    """erfc(y) for y > 0.46875 (NaN stays NaN)."""
    y = np.minimum(y, 27.0)  # erfc underflows to 0 beyond ~26.5; keeps inf out of the algebra
    mid = y <= 4.0
    if mid.all():
        return _ratio(y, _ERF_C, _ERF_D) * _exp_neg_sq(y)
    out = np.empty_like(y)
    ym = y[mid]
    out[mid] = _ratio(ym, _ERF_C, _ERF_D) * _exp_neg_sq(ym)
    far = ~mid
    yf = y[far]
    z = 1.0 / (yf * yf)
    r = z * _ratio(z, _ERF_P, _ERF_Q)
    out[far] = (_SQRT_1_PI - r) / yf * _exp_neg_sq(yf)
    return out


def _erf_array(a: np.ndarray, complement: bool = False) -> np.ndarray:
    """erf(a), or erfc(a) with ``complement``, in float64 (float32 comes back as float32)."""
    x = np.asarray(a, dtype=np.float64).reshape(-1)
    y = np.abs(x)
    small = y <= 0.46875
    if small.all():  # common for small arrays of small values: no indexing at all
        out = x * _ratio(x * x, _ERF_A, _ERF_B)
        if complement:
            out = 1.0 - out
    else:
        out = np.empty_like(x)
        xs = x[small]
        out[small] = xs * _ratio(xs * xs, _ERF_A, _ERF_B)
        if complement:
            out[small] = 1.0 - out[small]
        big = ~small
        xb = x[big]
        e = _erfc_pos(y[big])  # erfc(|x|)
        if complement:
            out[big] = np.where(xb > 0, e, 2.0 - e)
        else:
            out[big] = np.copysign((0.5 - e) + 0.5, xb)
    out = out.reshape(np.shape(a))
    kind = getattr(a, "dtype", np.dtype(np.float64)).kind  # a 0-d result is a NumPy scalar
    dtype = a.dtype if kind == "f" else np.float64
    return out.astype(dtype, copy=False)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class Erf(Function):
    """The error function erf(x) = 2/√π ∫₀ˣ e^(-t²) dt. Derivative: 2/√π · e^(-x²)."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return _erf_array(x.data)

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return t * (exp(-(x * x)) * _TWO_OVER_SQRT_PI)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad * (D.exp(-(x * x)) * _TWO_OVER_SQRT_PI)


def erf(x: Any) -> Tensor:
    """Elementwise error function (no SciPy needed; ~1e-16 relative accuracy in float64).

    >>> import microgradnet as mg

    >>> round(mg.erf(mg.tensor(1.0, dtype="float64")).item(), 12)
    0.84270079295
    """
    return apply_op(Erf, (_f(x),))


# -- activations ------------------------------------------------------------------------------

class LeakyRelu(Function):
    """x if x > 0 else slope·x. Derivative: 1 where x > 0, else slope (slope at 0, as PyTorch)."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, negative_slope: float) -> np.ndarray:
        a = x.data
        ctx.save_for_backward(x, negative_slope)
        # one comparison pass: for slope <= 1 the larger of x and slope·x is the right branch
        pick = np.maximum if negative_slope <= 1 else np.minimum
        return pick(a, a * negative_slope)

    @staticmethod
    def jvp(ctx: Any, t: Tensor, _slope: Any) -> Tensor:
        x, slope = ctx.saved_tensors
        return t * const(np.where(x.data > 0, 1.0, slope).astype(t.data.dtype, copy=False))

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        x, slope = ctx.saved_tensors
        w = np.where(D.value(x) > 0, 1.0, slope).astype(D.value(grad).dtype, copy=False)
        return grad * w, None


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    """Leaky ReLU: ``x`` for positive inputs, ``negative_slope * x`` otherwise.

    >>> import microgradnet as mg

    >>> mg.leaky_relu(mg.tensor([-2.0, 3.0]), 0.5)
    tensor([-1.,  3.])
    """
    return apply_op(LeakyRelu, (_f(x), negative_slope))


class Elu(Function):
    """x if x > 0 else α(eˣ - 1). Derivative: 1 where x > 0, else αeˣ = output + α."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, alpha: float) -> np.ndarray:
        a = x.data
        # expm1 of min(x, 0): the unused branch never overflows for large positive x
        out = np.where(a > 0, a, alpha * np.expm1(np.minimum(a, 0)))
        ctx.save_for_backward(x, alpha)
        ctx.save_output(out)
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor, _alpha: Any) -> Tensor:
        x, alpha = ctx.saved_tensors
        return Where.apply(x.data <= 0, t * (ctx.saved_output + alpha), t)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        # tested as x <= 0 like PyTorch's elu_backward, so NaN takes the linear branch's 1
        x, alpha = ctx.saved_tensors
        return D.where(D.value(x) <= 0, grad * (ctx.saved_output + alpha), grad), None


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit: ``x`` for positive inputs, ``alpha * (exp(x) - 1)`` otherwise.

    >>> import microgradnet as mg

    >>> mg.elu(mg.tensor([0.0, 2.0]))
    tensor([0., 2.])
    """
    return apply_op(Elu, (_f(x), alpha))


_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_K = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715


class Gelu(Function):
    """x·Φ(x), Φ the standard normal CDF (or its tanh approximation).

    Derivative: Φ(x) + x·φ(x), φ the normal pdf; for ``approximate="tanh"`` with
    t = tanh(k(x + c·x³)): ½(1 + t) + ½x(1 - t²)·k(1 + 3c·x²).
    """

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, approximate: str) -> np.ndarray:
        a = x.data
        ctx.save_for_backward(x, approximate)
        if approximate == "tanh":
            return 0.5 * a * (1.0 + np.tanh(_GELU_K * (a + _GELU_C * a * a * a)))
        # Φ(x) = ½·erfc(-x/√2): no cancellation for large negative x
        return a * (0.5 * _erf_array(a * -_SQRT1_2, complement=True))

    @staticmethod
    def jvp(ctx: Any, t: Tensor, _approximate: Any) -> Tensor:
        return Gelu.backward(ctx, t)[0]  # elementwise: the same factor d(x) times the tangent

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        x, approximate = ctx.saved_tensors
        if approximate == "tanh":
            t = D.tanh((x + x * x * x * _GELU_C) * _GELU_K)
            d = (t + 1.0) * 0.5 + x * (1.0 - t * t) * (x * x * (3.0 * _GELU_C) + 1.0) * (
                0.5 * _GELU_K)
        else:
            d = D.erf(x * _SQRT1_2) * 0.5 + 0.5 + x * D.exp(x * x * -0.5) * _INV_SQRT_2PI
        return grad * d, None


def gelu(x: Any, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit ``x * Φ(x)``; exact (erf) by default, ``approximate="tanh"``.

    >>> import microgradnet as mg

    >>> mg.gelu(mg.tensor([0.0, 1.0], dtype="float64"))
    tensor([0.    , 0.8413], dtype=float64)
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return apply_op(Gelu, (_f(x), approximate))


class Softplus(Function):
    """log(1 + e^(βx)) / β, and x where βx > threshold. Derivative: σ(βx), 1 above threshold."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, beta: float, threshold: float) -> np.ndarray:
        a = x.data
        ctx.save_for_backward(x, beta, threshold)
        if beta == 1:
            return np.where(a > threshold, a, np.logaddexp(0, a))
        bx = a * beta
        return np.where(bx > threshold, a, np.logaddexp(0, bx) / beta)

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        return Softplus.backward(ctx, t)[0]  # elementwise: the same factor times the tangent

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        x, beta, threshold = ctx.saved_tensors
        s = D.sigmoid(x) if beta == 1 else D.sigmoid(x * beta)
        return D.where(D.value(x) * beta > threshold, grad, grad * s), None, None


def softplus(x: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Smooth ReLU ``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``
    (PyTorch semantics); computed without overflow.

    >>> import microgradnet as mg

    >>> mg.softplus(mg.tensor([0.0, 30.0], dtype="float64"))
    tensor([ 0.6931, 30.    ], dtype=float64)
    """
    return apply_op(Softplus, (_f(x), beta, threshold))


# -- clip, maximum, minimum -------------------------------------------------------------------

def _d(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


class Clip(Function):
    """min(max(x, lo), hi). Derivative: to x where lo <= x <= hi, to lo where x < lo (and
    lo < hi), to hi where x > hi (or hi < lo, when the output is hi everywhere); as PyTorch."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, lo: Any, hi: Any) -> np.ndarray:
        out = x.data
        if lo is not None:
            out = np.maximum(out, _d(lo))
        if hi is not None:
            out = np.minimum(out, _d(hi))
        ctx.save_for_backward(x, lo, hi)
        return promote_weak(out, x, lo, hi)  # clip(int, 0.5): the default float dtype

    @staticmethod
    def jvp(ctx: Any, tx: Any, tlo: Any, thi: Any) -> Any:
        x, lo, hi = ctx.saved_tensors
        a, lo_a, hi_a = x.data, _d(lo), _d(hi)
        terms = []
        if tx is not None:
            if lo is None:
                inside = a <= hi_a
            elif hi is None:
                inside = a >= lo_a
            else:
                inside = (a >= lo_a) & (a <= hi_a)
            terms.append(_masked(tx, inside))
        if tlo is not None:
            below = a < lo_a
            terms.append(_masked(tlo, below if hi is None else below & (lo_a < hi_a)))
        if thi is not None:
            above = a > hi_a
            terms.append(_masked(thi, above if lo is None else above | (hi_a < lo_a)))
        return tangent_sum(*terms)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        x, lo, hi = ctx.saved_tensors
        nx, nlo, nhi = ctx.needs_input_grad
        a, lo_a, hi_a = D.value(x), D.value(lo), D.value(hi)
        gx = glo = ghi = None
        if nx:
            if lo is None:
                inside = a <= hi_a
            elif hi is None:
                inside = a >= lo_a
            else:
                inside = (a >= lo_a) & (a <= hi_a)
            gx = _masked(grad, inside)
        if nlo:
            below = a < lo_a
            glo = _masked(grad, below if hi is None else below & (lo_a < hi_a))
        if nhi:
            above = a > hi_a
            ghi = _masked(grad, above if lo is None else above | (hi_a < lo_a))
        return gx, glo, ghi


def clip(x: Any, min: Any = None, max: Any = None) -> Tensor:
    """Limit values to ``[min, max]`` (either may be None, a number or a tensor, broadcasting).

    The gradient is 1 inside the interval and 0 outside; a tensor bound receives the gradient
    where it is the value taken.

    >>> import microgradnet as mg

    >>> mg.clip(mg.tensor([-2.0, 0.5, 3.0]), -1.0, 1.0)
    tensor([-1. ,  0.5,  1. ])
    """
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    x = _t(x)
    lo = None if min is None else as_operand(min)
    hi = None if max is None else as_operand(max)
    try:
        return apply_op(Clip, (x, lo, hi))
    except ValueError as e:
        if "broadcast" in str(e):
            raise broadcast_error("clip", *(o for o in (x, lo, hi) if o is not None)) from None
        raise


clamp = clip


class _Extremum(Function):
    """Shared rule of maximum/minimum, PyTorch's: the gradient goes to the winner, ties split
    it equally, and where an input is NaN (the output is NaN) *both* inputs get all of it
    (PyTorch masks only the loser, and nothing loses to NaN)."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True
    _pick: Any = None  # np.maximum or np.minimum: NaN in either input gives NaN
    _wins: Any = None  # np.greater or np.less

    @classmethod
    def forward(cls, ctx: Any, x: Any, y: Any) -> np.ndarray:
        ctx.save_for_backward(x, y)
        return promote_weak(cls._pick(_d(x), _d(y)), x, y)  # maximum(int, 0.5): default float

    @classmethod
    def jvp(cls, ctx: Any, tx: Any, ty: Any) -> Any:
        # PyTorch's forward rule ty + w (tx - ty), w = ½ on ties, else [x wins]: ty at NaN
        x, y = ctx.saved_tensors
        a, b = _d(x), _d(y)
        w = np.where(a == b, 0.5, cls._wins(a, b))
        dx = dy = None
        if tx is not None:
            dx = tx * const(w.astype(tx.data.dtype, copy=False))
        if ty is not None:
            dy = ty * const((1.0 - w).astype(ty.data.dtype, copy=False))
        return tangent_sum(dx, dy)

    @classmethod
    def backward(cls, ctx: Any, grad: Tensor) -> Any:
        x, y = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        a, b = D.value(x), D.value(y)
        dt = D.value(grad).dtype
        tie = 0.5 * (a == b)
        # 1 minus what the input loses: 0 where the other wins, ½ on a tie, 1 otherwise (NaN)
        gx = grad * (1.0 - cls._wins(b, a) - tie).astype(dt, copy=False) if nx else None
        gy = grad * (1.0 - cls._wins(a, b) - tie).astype(dt, copy=False) if ny else None
        return gx, gy


class Maximum(_Extremum):
    """Elementwise max(x, y). Derivative: 1 to the larger input, ½ to each on a tie, 1 to
    both where either is NaN (PyTorch)."""

    __slots__ = ()
    _pick = np.maximum
    _wins = np.greater


class Minimum(_Extremum):
    """Elementwise min(x, y). Derivative: 1 to the smaller input, ½ to each on a tie, 1 to
    both where either is NaN (PyTorch)."""

    __slots__ = ()
    _pick = np.minimum
    _wins = np.less


def _pairwise(cls: type[Function], name: str, x: Any, y: Any) -> Tensor:
    if not (isinstance(x, Tensor) and isinstance(y, Tensor)):
        x, y = as_operand(x), as_operand(y)
        if not isinstance(x, Tensor) and not isinstance(y, Tensor):
            x = as_tensor(x)
    try:
        return apply_op(cls, (x, y))
    except ValueError as e:
        if "broadcast" in str(e):
            raise broadcast_error(name, x, y) from None
        raise


def maximum(x: Any, y: Any) -> Tensor:
    """Elementwise maximum with broadcasting; ties share the gradient equally (as PyTorch).

    NaN propagates, as in ``torch.maximum``: the result is NaN where either input is, and
    there both inputs receive the whole gradient (``fmax``-style NaN skipping is not offered).

    >>> import microgradnet as mg

    >>> mg.maximum(mg.tensor([1.0, 5.0]), 2.0)
    tensor([2., 5.])
    """
    return _pairwise(Maximum, "maximum", x, y)


def minimum(x: Any, y: Any) -> Tensor:
    """Elementwise minimum with broadcasting; ties share the gradient equally (as PyTorch).
    NaN propagates as in ``maximum``.

    >>> mg.minimum(mg.tensor([1.0, 5.0]), mg.tensor([3.0, 2.0]))
    tensor([1., 2.])
    """
    return _pairwise(Minimum, "minimum", x, y)
