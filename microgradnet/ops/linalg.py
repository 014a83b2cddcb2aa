"""Linear algebra: ``matmul`` (batched, broadcasting), ``dot``, ``outer``."""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet.autograd.forward_ad import tangent_sum
from microgradnet.autograd.function import Function, apply_op
from microgradnet.ops import _dual as D
from microgradnet.ops._util import as_tensor
from microgradnet.tensor import Tensor

__all__ = ["matmul", "dot", "outer"]


class MatMul(Function):
    """x @ y for x, y with at least 2 dims (batch dims broadcast).

    Derivative: d/dx = grad @ yᵀ, d/dy = xᵀ @ grad (batch broadcasting undone by the engine).
    """

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True  # one rule for arrays and Tensors (ops/_dual.py)

    @staticmethod
    def forward(ctx: Any, x: Tensor, y: Tensor) -> np.ndarray:
        ctx.save_for_backward(x, y)
        return np.matmul(x.data, y.data)

    @staticmethod
    def jvp(ctx: Any, tx: Any, ty: Any) -> Any:
        x, y = ctx.saved_tensors
        return tangent_sum(None if tx is None else matmul(tx, y),
                           None if ty is None else matmul(x, ty))

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        x, y = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        gx = D.matmul(grad, y.mT) if nx else None
        gy = D.matmul(x.mT, grad) if ny else None
        return gx, gy


def _matmul_error(x: Tensor, y: Tensor) -> ValueError:
    xs, ys = x.shape, y.shape
    if x.ndim == 0 or y.ndim == 0:
        why = "both operands must have at least 1 dimension (use * for scalars)"
    else:
        kx = xs[-1]
        ky = ys[-2] if y.ndim >= 2 else ys[0]
        if kx != ky:
            why = (f"not aligned: {kx} (dim {x.ndim - 1}) != {ky} "
                   f"(dim {max(y.ndim - 2, 0)})")
        else:
            why = f"batch dimensions {xs[:-2]} and {ys[:-2]} cannot be broadcast together"
    return ValueError(f"matmul: shapes {xs} and {ys} are {why}" if why.startswith("not") else
                      f"matmul: shapes {xs} and {ys}: {why}")


def matmul(x: Any, y: Any) -> Tensor:
    """Matrix product with NumPy's rules: 1-D operands are promoted, batch dims broadcast.

    >>> mg.matmul(mg.tensor([[1.0, 2.0], [3.0, 4.0]]), mg.tensor([1.0, 1.0]))
    tensor([3., 7.])
    >>> mg.matmul(mg.ones(5, 2, 3), mg.ones(3, 4)).shape
    (5, 2, 4)
    """
    x = as_tensor(x)
    y = as_tensor(y)
    xn, yn = x.data.ndim, y.data.ndim
    if xn == 0 or yn == 0:
        raise _matmul_error(x, y)
    try:
        if xn >= 2 and yn >= 2:
            return apply_op(MatMul, (x, y))
        # 1-D operands: promote to a matrix, multiply, drop the added axis (as NumPy does)
        if xn == 1 and yn == 1:
            if x.shape[0] != y.shape[0]:
                raise _matmul_error(x, y)
            return (x * y).sum()
        if xn == 1:
            return apply_op(MatMul, (x.reshape(1, -1), y)).squeeze(-2)
        return apply_op(MatMul, (x, y.reshape(-1, 1))).squeeze(-1)
    except ValueError as e:
        if str(e).startswith("matmul: shapes"):
            raise
        raise _matmul_error(x, y) from None


def dot(x: Any, y: Any) -> Tensor:
    """Inner product of two 1-D tensors.

    >>> mg.dot(mg.tensor([1.0, 2.0]), mg.tensor([3.0, 4.0]))
    tensor(11.)
    """
    x = as_tensor(x)
    y = as_tensor(y)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"dot: expects two 1-D tensors, got shapes {x.shape} and {y.shape}")
    if x.shape != y.shape:
        raise ValueError(f"dot: shapes {x.shape} and {y.shape} have different lengths")
    return (x * y).sum()


def outer(x: Any, y: Any) -> Tensor:
    """Outer product of two 1-D tensors: ``out[i, j] = x[i] * y[j]``.

    >>> mg.outer(mg.tensor([1.0, 2.0]), mg.tensor([3.0, 4.0, 5.0]))
    tensor([[ 3.,  4.,  5.],
            [ 6.,  8., 10.]])
    """
    x = as_tensor(x)
    y = as_tensor(y)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"outer: expects two 1-D tensors, got shapes {x.shape} and {y.shape}")
    return x.reshape(-1, 1) * y.reshape(1, -1)
