"""Comparisons and logical functions: bool tensors that never require grad."""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet.ops._util import axis_args, broadcast_error, normalize_axes
from microgradnet.tensor import Tensor

__all__ = [
    "lt", "le", "gt", "ge", "eq", "ne", "logical_and", "logical_or", "logical_not", "isfinite",
    "isnan", "any", "all",
]


def _d(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else np.asarray(x) if isinstance(x, list) else x


def _cmp(fn: Any, name: str, x: Any, y: Any) -> Tensor:
    try:
        out = fn(_d(x), _d(y))
    except ValueError as e:
        if "broadcast" in str(e):
            raise broadcast_error(name, x, y) from None
        raise
    return Tensor._make(np.asarray(out), False, None)


def lt(x: Any, y: Any) -> Tensor:
    """Elementwise ``x < y`` as a bool tensor.

    >>> mg.lt(mg.tensor([1.0, 2.0]), 2.0)
    tensor([ True, False])
    """
    return _cmp(np.less, "lt", x, y)


def le(x: Any, y: Any) -> Tensor:
    """Elementwise ``x <= y`` as a bool tensor.

    >>> mg.le(mg.tensor([1.0, 2.0]), 2.0)
    tensor([ True,  True])
    """
    return _cmp(np.less_equal, "le", x, y)


def gt(x: Any, y: Any) -> Tensor:
    """Elementwise ``x > y`` as a bool tensor.

    >>> mg.gt(mg.tensor([1.0, 2.0]), 1.0)
    tensor([False,  True])
    """
    return _cmp(np.greater, "gt", x, y)


def ge(x: Any, y: Any) -> Tensor:
    """Elementwise ``x >= y`` as a bool tensor.

    >>> mg.ge(mg.tensor([1.0, 2.0]), 2.0)
    tensor([False,  True])
    """
    return _cmp(np.greater_equal, "ge", x, y)


def eq(x: Any, y: Any) -> Tensor:
    """Elementwise ``x == y`` as a bool tensor.

    >>> mg.eq(mg.tensor([1.0, 2.0]), 2.0)
    tensor([False,  True])
    """
    return _cmp(np.equal, "eq", x, y)


def ne(x: Any, y: Any) -> Tensor:
    """Elementwise ``x != y`` as a bool tensor.

    >>> mg.ne(mg.tensor([1.0, 2.0]), 2.0)
    tensor([ True, False])
    """
    return _cmp(np.not_equal, "ne", x, y)


def logical_and(x: Any, y: Any) -> Tensor:
    """Elementwise logical AND of two bool (or truthy) tensors, as a bool tensor.

    >>> mg.logical_and(mg.tensor([True, True, False]), mg.tensor([True, False, False]))
    tensor([ True, False, False])
    """
    return _cmp(np.logical_and, "logical_and", x, y)


def logical_or(x: Any, y: Any) -> Tensor:
    """Elementwise logical OR of two bool (or truthy) tensors, as a bool tensor.

    >>> mg.logical_or(mg.tensor([True, True, False]), mg.tensor([True, False, False]))
    tensor([ True,  True, False])
    """
    return _cmp(np.logical_or, "logical_or", x, y)


def logical_not(x: Any) -> Tensor:
    """Elementwise logical NOT, as a bool tensor.

    >>> mg.logical_not(mg.tensor([True, False]))
    tensor([False,  True])
    """
    return Tensor._make(np.asarray(np.logical_not(_d(x))), False, None)


def isfinite(x: Any) -> Tensor:
    """True where ``x`` is neither infinite nor NaN.

    >>> mg.isfinite(mg.tensor([1.0, float("inf"), float("nan")]))
    tensor([ True, False, False])
    """
    return Tensor._make(np.asarray(np.isfinite(_d(x))), False, None)


def isnan(x: Any) -> Tensor:
    """True where ``x`` is NaN (not a number).

    >>> mg.isnan(mg.tensor([1.0, float("inf"), float("nan")]))
    tensor([False, False,  True])
    """
    return Tensor._make(np.asarray(np.isnan(_d(x))), False, None)


def _axes_0d(axis: Any, a: np.ndarray, op: str) -> tuple[int, ...] | None:
    """Normalized axes; on a 0-d array axis 0 or -1 means the whole (PyTorch)."""
    axes = normalize_axes(axis, a.ndim, op)
    return None if a.ndim == 0 else axes


def any(x: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """True if any element over ``axis`` (all axes by default) is true.

    >>> mg.any(mg.tensor([[True, False], [False, False]]), axis=1)
    tensor([ True, False])
    """
    axis, keepdims = axis_args(axis, keepdims, kw, "any")
    a = np.asarray(_d(x))
    return Tensor._make(np.asarray(np.any(a, axis=_axes_0d(axis, a, "any"), keepdims=keepdims)),
                        False, None)


def all(x: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """True if every element over ``axis`` (all axes by default) is true.

    >>> mg.all(mg.tensor([[True, False], [True, True]]), axis=1)
    tensor([False,  True])
    >>> mg.all(mg.isfinite(mg.tensor([1.0, 2.0])))
    tensor(True)
    """
    axis, keepdims = axis_args(axis, keepdims, kw, "all")
    a = np.asarray(_d(x))
    return Tensor._make(np.asarray(np.all(a, axis=_axes_0d(axis, a, "all"), keepdims=keepdims)),
                        False, None)
