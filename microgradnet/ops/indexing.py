"""Indexing: basic slicing, integer-array and boolean-mask indexing, ``gather``.

The derivative of reading elements is writing the gradient back to where they came from; where an
index repeats, the contributions add up (scatter-add).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet.autograd.function import Function
from microgradnet.ops._util import as_tensor
from microgradnet.tensor import Tensor

__all__ = [
    "getitem",
]


def normalize_index(index: Any) -> Any:
    """Tensors and lists in an index become arrays; boolean masks become integer arrays."""
    if isinstance(index, tuple):
        return tuple(_norm_one(i) for i in index)
    return _norm_one(index)


def _norm_one(i: Any) -> Any:
    if isinstance(i, Tensor):
        i = i.data
    elif isinstance(i, list):
        i = np.asarray(i)
    if isinstance(i, np.ndarray) and i.dtype.kind not in "iub":
        raise IndexError(f"indices must be integers or booleans, got an array of {i.dtype}")
    return i


def _is_basic(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(not isinstance(i, np.ndarray) for i in items)


class GetItem(Function):
    """x[index]. Derivative: the gradient scattered (added) back into x's shape."""

    __slots__ = ("in_shape", "index")
    _forward_on_arrays = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, index: Any) -> np.ndarray:
        ctx.in_shape = x.data.shape
        ctx.index = index
        return x.data[index]

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return IndexAdd.apply(grad, ctx.in_shape, ctx.index), None


class IndexAdd(Function):
    """zeros(shape) with ``grad`` added at ``index`` (repeats accumulate). Derivative: g[index]."""

    __slots__ = ("index",)
    _forward_on_arrays = True

    @staticmethod
    def forward(ctx: Any, g: Tensor, shape: tuple[int, ...], index: Any) -> np.ndarray:
        ctx.index = index
        out = np.zeros(shape, dtype=g.data.dtype)
        if _is_basic(index):
            out[index] = g.data
        else:
            np.add.at(out, _bool_to_int(index), g.data)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return GetItem.apply(grad, ctx.index), None, None


def _bool_to_int(index: Any) -> Any:
    """``np.add.at`` wants integer arrays: a boolean mask becomes its nonzero() indices."""
    items = index if isinstance(index, tuple) else (index,)
    out: list[Any] = []
    for i in items:
        if isinstance(i, np.ndarray) and i.dtype == np.bool_:
            out.extend(np.nonzero(i))
        else:
            out.append(i)
    return tuple(out)


def getitem(x: Any, index: Any) -> Tensor:
    """``x[index]`` with NumPy semantics (basic, integer-array and boolean-mask indexing)."""
    x = as_tensor(x)
    idx = normalize_index(index)
    try:
        out = GetItem.apply(x, idx)
    except IndexError as e:
        raise IndexError(f"getitem: index {index!r} is invalid for shape {x.shape}: {e}") from None
    if _is_basic(idx) and out.data.base is not None and out.grad_fn is not None:
        out._vc = x._shared_version()
    return out
