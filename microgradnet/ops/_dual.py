"""The vocabulary of derivative rules: each function works on NumPy arrays *and* on Tensors.

Every internal op states its derivative once, in ``backward(ctx, *grads)`` of a Function class
with ``_dual_rules = True``. The engine runs that one rule in two modes:

- the plain sweep (``backward()`` / ``mg.grad`` without ``create_graph``): the gradients, the
  values from ``ctx.saved_tensors`` and ``ctx.saved_output`` are NumPy arrays (or scalars), so the
  rule is straight NumPy, with no Tensor or graph bookkeeping;
- the recorded sweep (``create_graph=True``): they are Tensors, the same rule runs through
  microgradnet ops and is recorded, so it can be differentiated again.

Python's operators (``+ - * / ** @``, unary ``-``, comparisons) already work on both kinds;
the functions here cover the rest. Each picks the Tensor op when any argument is a Tensor and
NumPy otherwise (a constant array mixed with a Tensor is fine: it is a constant in the graph).

>>> import numpy as np
>>> from microgradnet.ops import _dual
>>> _dual.exp(np.zeros(2))           # plain sweep: NumPy
array([1., 1.])
>>> _dual.exp(mg.zeros(2))           # recorded sweep: a microgradnet op
tensor([1., 1.])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from microgradnet.tensor import Tensor

__all__ = [
    "is_tensor", "value", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "where",
    "sign", "abs", "maximum", "minimum", "sum", "mean", "reshape", "transpose", "permute",
    "swapaxes", "broadcast_to", "matmul", "getitem", "zeros_like", "cast", "sum_to_shape",
    "expand_dims", "erf", "square", "stop", "concatenate", "adjoint", "log_sigmoid",
    "sinh", "cosh", "hypot", "flip", "cumsum", "stack", "tril", "diagonal", "diag_embed",
]


def is_tensor(x: Any) -> bool:
    """True in the recorded sweep (the rule got Tensors)."""
    return isinstance(x, Tensor)


def value(x: Any) -> Any:
    """The array under ``x`` (for masks and constants computed from saved inputs: a mask's own
    derivative is zero, so it never needs to be recorded)."""
    return x.data if isinstance(x, Tensor) else x


def stop(x: Any) -> Any:
    """``x`` as a constant: detached in the recorded sweep, unchanged on arrays."""
    return x.detach() if isinstance(x, Tensor) else x


def _any_tensor(*xs: Any) -> bool:
    for x in xs:
        if isinstance(x, Tensor):
            return True
    return False


# -- elementwise ---------------------------------------------------------------------------------

def exp(x: Any) -> Any:
    return _el.exp(x) if isinstance(x, Tensor) else np.exp(x)


def log(x: Any) -> Any:
    return _el.log(x) if isinstance(x, Tensor) else np.log(x)


def sqrt(x: Any) -> Any:
    return _el.sqrt(x) if isinstance(x, Tensor) else np.sqrt(x)


def sin(x: Any) -> Any:
    return _el.sin(x) if isinstance(x, Tensor) else np.sin(x)


def cos(x: Any) -> Any:
    return _el.cos(x) if isinstance(x, Tensor) else np.cos(x)


def tanh(x: Any) -> Any:
    return _el.tanh(x) if isinstance(x, Tensor) else np.tanh(x)


def sigmoid(x: Any) -> Any:
    return _el.sigmoid(x) if isinstance(x, Tensor) else _el._sigmoid_array(np.asarray(x))


def log_sigmoid(x: Any) -> Any:
    """log σ(x) = −log(1 + e^−x), without overflow for any x (and with the derivative
    σ(−x) everywhere, x = 0 included)."""
    if isinstance(x, Tensor):
        return -_el.Softplus.apply(-x, 1.0, math.inf)
    return -np.logaddexp(0.0, -np.asarray(x))


def erf(x: Any) -> Any:
    return _el.erf(x) if isinstance(x, Tensor) else _el._erf_array(np.asarray(x))


def sinh(x: Any) -> Any:
    return _sp.sinh(x) if isinstance(x, Tensor) else np.sinh(x)


def cosh(x: Any) -> Any:
    return _sp.cosh(x) if isinstance(x, Tensor) else np.cosh(x)


def hypot(x: Any, y: Any) -> Any:
    """√(x² + y²) without overflow."""
    return _sp.hypot(x, y) if _any_tensor(x, y) else np.hypot(x, y)


def square(x: Any) -> Any:
    return x * x


def sign(x: Any) -> Any:
    return _el.sign(x) if isinstance(x, Tensor) else np.sign(x)


def abs(x: Any) -> Any:
    return _ar.abs(x) if isinstance(x, Tensor) else np.abs(x)


def where(cond: Any, x: Any, y: Any) -> Any:
    """``x`` where ``cond`` holds, else ``y``; ``cond`` is a constant (array or Tensor)."""
    if _any_tensor(x, y):
        return _el.where(value(cond), x, y)
    return np.where(value(cond), x, y)


def maximum(x: Any, y: Any) -> Any:
    return _el.maximum(x, y) if _any_tensor(x, y) else np.maximum(x, y)


def minimum(x: Any, y: Any) -> Any:
    return _el.minimum(x, y) if _any_tensor(x, y) else np.minimum(x, y)


def cast(x: Any, dtype: Any) -> Any:
    if isinstance(x, Tensor):
        return _el.cast(x, dtype)
    x = np.asarray(x)
    return x if x.dtype == dtype else x.astype(dtype)


def zeros_like(x: Any) -> Any:
    """Zeros of ``x``'s shape and dtype, a constant."""
    if isinstance(x, Tensor):
        return Tensor._make(np.zeros_like(x.data), False, None)
    return np.zeros_like(x)


# -- reductions and shapes -----------------------------------------------------------------------

def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    try:  # the method: ndarrays, NumPy scalars and Tensors all have it (and it is the fastest)
        return x.sum(axis=axis, keepdims=keepdims)
    except AttributeError:
        return np.sum(x, axis=axis, keepdims=keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    try:
        return x.mean(axis=axis, keepdims=keepdims)
    except AttributeError:
        return np.mean(x, axis=axis, keepdims=keepdims)


def reshape(x: Any, shape: tuple[int, ...]) -> Any:
    try:
        return x.reshape(shape)
    except AttributeError:
        return np.reshape(x, shape)


def expand_dims(x: Any, axes: Any) -> Any:
    """Insert size-1 axes at ``axes`` (an int or a tuple of ints of the result)."""
    if isinstance(x, Tensor):
        axes_t = (axes,) if isinstance(axes, int) else tuple(axes)
        nd = x.ndim + len(axes_t)
        norm = sorted(a % nd for a in axes_t)
        shape = list(x.shape)
        for a in norm:
            shape.insert(a, 1)
        return _sh.reshape(x, tuple(shape))
    return np.expand_dims(x, axes)


def transpose(x: Any, axes: Any = None) -> Any:
    if isinstance(x, Tensor):
        return _sh.permute(x, *(range(x.ndim)[::-1] if axes is None else axes))
    return np.transpose(x, axes)


permute = transpose


def swapaxes(x: Any, a: int, b: int) -> Any:
    return _sh.swapaxes(x, a, b) if isinstance(x, Tensor) else np.swapaxes(x, a, b)


def broadcast_to(x: Any, shape: tuple[int, ...]) -> Any:
    return _sh.broadcast_to(x, shape) if isinstance(x, Tensor) else np.broadcast_to(x, shape)


def sum_to_shape(x: Any, shape: tuple[int, ...]) -> Any:
    """Sum a broadcast value back to ``shape`` (the chain rule for broadcasting)."""
    if isinstance(x, Tensor):
        return _util.sum_to_shape(x, shape)
    x = np.asarray(x)
    return x if x.shape == tuple(shape) else _util._sum_to_shape_array(x, tuple(shape))


def matmul(x: Any, y: Any) -> Any:
    return x @ y  # ndarray @ Tensor defers to Tensor.__rmatmul__


def getitem(x: Any, index: Any) -> Any:
    return _ix.getitem(x, index) if isinstance(x, Tensor) else x[index]


def flip(x: Any, axis: int) -> Any:
    return _sh.flip(x, axis) if isinstance(x, Tensor) else np.flip(x, axis)


def cumsum(x: Any, axis: int) -> Any:
    return _scan.CumSum.apply(x, axis) if isinstance(x, Tensor) else np.cumsum(x, axis)


def stack(xs: Any, axis: int) -> Any:
    return _sh.stack(xs, axis) if _any_tensor(*xs) else np.stack(xs, axis)


def tril(x: Any, k: int = 0) -> Any:
    """The lower triangle (on and below diagonal ``k``) of the last two axes."""
    return _diag.tril(x, k) if isinstance(x, Tensor) else np.tril(x, k)


def diagonal(x: Any, offset: int = 0, axis1: int = -2, axis2: int = -1) -> Any:
    """The ``offset`` diagonal over ``axis1, axis2`` (as the last axis)."""
    if isinstance(x, Tensor):
        return _diag.diagonal(x, offset, axis1, axis2)
    return np.diagonal(x, offset, axis1, axis2)


def diag_embed(x: Any) -> Any:
    """Square matrices with the last axis of ``x`` on their diagonal."""
    if isinstance(x, Tensor):
        return _diag.diag_embed(x)
    return _diag.diag_embed(np.asarray(x)).data  # the op's own forward, nothing recorded


def concatenate(xs: Any, axis: int) -> Any:
    if _any_tensor(*xs):
        return _sh.Cat.apply(*xs, axis=axis % xs[0].ndim)  # Cat takes the axis from 0
    return np.concatenate(xs, axis=axis)


def adjoint(op: Any, x: Any, *args: Any, **kwargs: Any) -> Any:
    """Another internal op (a Function class) applied to ``x`` with constant ``args``: recorded
    on a Tensor; on an array, its forward run on a constant wrapper (nothing is recorded in a
    plain sweep). For rules whose derivative is another op, such as getitem's (index_add).

    >>> from microgradnet.ops.indexing import GetItem
    >>> adjoint(GetItem, np.arange(4.0), slice(1, 3))
    array([1., 2.])
    """
    if isinstance(x, Tensor):
        return op.apply(x, *args, **kwargs)
    out = op.apply(Tensor._make(np.asarray(x), False, None), *args, **kwargs)
    return tuple(o.data for o in out) if type(out) is tuple else out.data


from microgradnet.ops import _util  # noqa: E402  (the op modules import this one)
from microgradnet.ops import arithmetic as _ar  # noqa: E402
from microgradnet.ops import diagonal as _diag  # noqa: E402
from microgradnet.ops import elementwise as _el  # noqa: E402
from microgradnet.ops import indexing as _ix  # noqa: E402
from microgradnet.ops import scan as _scan  # noqa: E402
from microgradnet.ops import shape as _sh  # noqa: E402
from microgradnet.ops import special as _sp  # noqa: E402
