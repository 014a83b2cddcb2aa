"""Diagonals and triangles: ``diagonal``, ``trace``, ``diag``, ``tril``, ``triu``.

``diagonal`` and its adjoint ``diag_embed`` (write a vector onto a diagonal of zeros) are each
other's derivative, so derivatives of every order come from the pair: each rule is the other op,
written once for arrays and Tensors (``D.adjoint``). ``tril``/``triu`` keep a constant mask of
entries (their derivative keeps the same entries of the gradient).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet.autograd.function import Function, apply_op
from microgradnet.ops import _dual as D
from microgradnet.ops._util import as_tensor
from microgradnet.tensor import Tensor

__all__ = ["diagonal", "trace", "diag", "diag_embed", "tril", "triu"]


def _axes2(axis1: int, axis2: int, nd: int, op: str, shape: tuple[int, ...]) -> tuple[int, int]:
    for a in (axis1, axis2):
        if not -nd <= a < nd:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor of shape {shape}")
    a1, a2 = axis1 % nd, axis2 % nd
    if a1 == a2:
        raise ValueError(f"{op}: axis1 and axis2 must differ, got {axis1} and {axis2}")
    return a1, a2


def _diag_index(n1: int, n2: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the ``offset`` diagonal of an ``n1 × n2`` matrix."""
    if offset >= 0:
        k = max(min(n1, n2 - offset), 0)
        rows = np.arange(k)
        return rows, rows + offset
    k = max(min(n1 + offset, n2), 0)
    cols = np.arange(k)
    return cols - offset, cols


class Diagonal(Function):
    """The ``offset`` diagonal over axes ``axis1, axis2`` (appended as the last axis, as NumPy).

    Derivative: the gradient written back onto that diagonal of zeros (``DiagEmbed``).
    """

    __slots__ = ("in_shape", "offset", "axis1", "axis2")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, offset: int, axis1: int, axis2: int) -> np.ndarray:
        ctx.in_shape = x.data.shape
        ctx.offset, ctx.axis1, ctx.axis2 = offset, axis1, axis2
        return np.diagonal(x.data, offset, axis1, axis2).copy()

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        g = D.adjoint(DiagEmbed, grad, ctx.in_shape, ctx.offset, ctx.axis1, ctx.axis2)
        return g, None, None, None

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        return Diagonal.apply(t, ctx.offset, ctx.axis1, ctx.axis2)


class DiagEmbed(Function):
    """Zeros of ``shape`` with ``x`` (last axis) written on the ``offset`` diagonal over
    ``axis1, axis2``: the adjoint of ``Diagonal``, which is its derivative."""

    __slots__ = ("offset", "axis1", "axis2")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, shape: tuple[int, ...], offset: int, axis1: int,
                axis2: int) -> np.ndarray:
        ctx.offset, ctx.axis1, ctx.axis2 = offset, axis1, axis2
        out = np.zeros(shape, dtype=x.data.dtype)
        view = np.moveaxis(out, (axis1, axis2), (-2, -1))
        rows, cols = _diag_index(shape[axis1], shape[axis2], offset)
        view[..., rows, cols] = x.data
        return out

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        return D.adjoint(Diagonal, grad, ctx.offset, ctx.axis1, ctx.axis2), None, None, None, None

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        shape = _embed_shape(t.data.shape, ctx.offset, ctx.axis1, ctx.axis2)
        return DiagEmbed.apply(t, shape, ctx.offset, ctx.axis1, ctx.axis2)


def _embed_shape(shape: tuple[int, ...], offset: int, axis1: int, axis2: int) -> tuple[int, ...]:
    """The shape whose ``offset`` diagonal over (axis1, axis2) holds vectors of shape ``shape``."""
    n = shape[-1] + abs(offset)
    out = list(shape[:-1])
    for a in sorted((axis1, axis2)):
        out.insert(a, n)
    return tuple(out)


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, **kw: Any) -> Tensor:
    """The ``offset`` diagonal over ``axis1`` and ``axis2`` (NumPy; ``dim1``/``dim2`` too).

    The diagonal becomes the last axis of the result.

    >>> mg.diagonal(mg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([1., 4.])
    >>> mg.diagonal(mg.ones(2, 3, 3), axis1=-2, axis2=-1).shape
    (2, 3)
    """
    axis1 = kw.pop("dim1", axis1)
    axis2 = kw.pop("dim2", axis2)
    if kw:
        raise TypeError(f"diagonal: unexpected keyword argument(s) {sorted(kw)}")
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"diagonal: needs at least 2 dimensions, got shape {x.shape}")
    a1, a2 = _axes2(axis1, axis2, x.ndim, "diagonal", x.shape)
    return apply_op(Diagonal, (x, int(offset), a1, a2))


def diag_embed(x: Any, offset: int = 0, axis1: int = -2, axis2: int = -1) -> Tensor:
    """Matrices with the last axis of ``x`` on their ``offset`` diagonal (PyTorch's
    ``diag_embed``): shape ``x.shape[:-1] + (n, n)``, n = ``x.shape[-1] + |offset|``.

    >>> mg.diag_embed(mg.tensor([[1.0, 2.0]]))
    tensor([[[1., 0.],
             [0., 2.]]])
    """
    x = as_tensor(x)
    if x.ndim < 1:
        raise ValueError(f"diag_embed: needs at least 1 dimension, got shape {x.shape}")
    nd = x.ndim + 1
    a1, a2 = _axes2(axis1, axis2, nd, "diag_embed", x.shape)
    shape = _embed_shape(x.shape, int(offset), a1, a2)
    return apply_op(DiagEmbed, (x, shape, int(offset), a1, a2))


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """Sum of the ``offset`` diagonal (NumPy's ``trace``; other axes are kept).

    >>> mg.trace(mg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor(5.)
    """
    return diagonal(x, offset, axis1, axis2).sum(-1)


def diag(x: Any, k: int = 0) -> Tensor:
    """NumPy's ``diag``: a 1-D ``x`` becomes a square matrix with ``x`` on diagonal ``k``; of a
    2-D ``x`` the ``k``-th diagonal is taken.

    >>> mg.diag(mg.tensor([1.0, 2.0]))
    tensor([[1., 0.],
            [0., 2.]])
    >>> mg.diag(mg.tensor([[1.0, 2.0], [3.0, 4.0]]), 1)
    tensor([2.])
    """
    x = as_tensor(x)
    if x.ndim == 1:
        n = x.shape[0] + abs(int(k))
        return apply_op(DiagEmbed, (x, (n, n), int(k), 0, 1))
    if x.ndim == 2:
        return apply_op(Diagonal, (x, int(k), 0, 1))
    raise ValueError(f"diag: expects a 1-D or 2-D tensor, got shape {x.shape}")


def _triangle(x: Any, k: int, lower: bool, op: str) -> Tensor:
    from microgradnet.ops.elementwise import Where

    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"{op}: needs at least 2 dimensions, got shape {x.shape}")
    n, m = x.shape[-2:]
    mask = np.tri(n, m, int(k), dtype=bool)
    if not lower:
        mask = ~np.tri(n, m, int(k) - 1, dtype=bool)
    return apply_op(Where, (mask, x, np.zeros((), x.dtype)))


def tril(x: Any, k: int = 0) -> Tensor:
    """The lower triangle (on and below diagonal ``k``) of the last two axes; zeros elsewhere.

    >>> mg.tril(mg.ones(2, 2))
    tensor([[1., 0.],
            [1., 1.]])
    """
    return _triangle(x, k, True, "tril")


def triu(x: Any, k: int = 0) -> Tensor:
    """The upper triangle (on and above diagonal ``k``) of the last two axes; zeros elsewhere.

    >>> mg.triu(mg.ones(2, 2))
    tensor([[1., 1.],
            [0., 1.]])
    """
    return _triangle(x, k, False, "triu")
