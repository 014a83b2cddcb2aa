"""Shape operations: reshape, transpose/permute, broadcasting, joining and splitting.

These move or copy elements without arithmetic, so each derivative is the inverse movement
applied to the gradient (reshape back, permute back, sum over broadcast axes, ...).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet.autograd.function import Function
from microgradnet.ops._util import as_tensor, sum_to_shape
from microgradnet.tensor import Tensor

__all__ = [
    "reshape",
    "view",
    "transpose",
    "permute",
    "swapaxes",
    "squeeze",
    "unsqueeze",
    "expand_dims",
    "expand",
    "broadcast_to",
]


def _shape_arg(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """Accept ``f(2, 3)`` and ``f((2, 3))``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


class Reshape(Function):
    """x with a new shape (same elements, C order). Derivative: reshape back."""

    __slots__ = ("in_shape",)
    _forward_on_arrays = True
    _view_of = 0

    @staticmethod
    def forward(ctx: Any, x: Tensor, shape: tuple[int, ...]) -> np.ndarray:
        ctx.in_shape = x.data.shape
        return x.data.reshape(shape)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return Reshape.apply(grad, ctx.in_shape), None


def reshape(x: Any, *shape: Any) -> Tensor:
    """The same elements in a new shape (one dimension may be -1)."""
    x = as_tensor(x)
    shp = _shape_arg(shape)
    if shp == x.data.shape:
        return x
    try:
        return Reshape.apply(x, shp)
    except ValueError:
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) into "
            f"shape {shp}"
        ) from None


view = reshape


class Permute(Function):
    """x with its axes reordered. Derivative: the inverse permutation."""

    __slots__ = ("perm",)
    _forward_on_arrays = True
    _view_of = 0

    @staticmethod
    def forward(ctx: Any, x: Tensor, perm: tuple[int, ...]) -> np.ndarray:
        ctx.perm = perm
        return np.transpose(x.data, perm)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return Permute.apply(grad, tuple(np.argsort(ctx.perm))), None


def permute(x: Any, *dims: Any) -> Tensor:
    """Reorder the axes: ``out.shape[i] == x.shape[dims[i]]``."""
    x = as_tensor(x)
    perm = _shape_arg(dims)
    nd = x.data.ndim
    if sorted(p % max(nd, 1) for p in perm) != list(range(nd)) or len(perm) != nd:
        raise ValueError(f"permute: {perm} is not a permutation of the {nd} axes of shape "
                         f"{x.shape}")
    perm = tuple(p % nd for p in perm)
    if perm == tuple(range(nd)):
        return x
    return Permute.apply(x, perm)


def transpose(x: Any, *axes: Any) -> Tensor:
    """No arguments: reverse the axes (``.T``). Two axes: swap them (PyTorch)."""
    x = as_tensor(x)
    nd = x.data.ndim
    if not axes:
        return permute(x, *range(nd - 1, -1, -1)) if nd > 1 else x
    if len(axes) == 2 and all(isinstance(a, (int, np.integer)) for a in axes):
        return swapaxes(x, axes[0], axes[1])
    return permute(x, *axes)


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """Swap two axes."""
    x = as_tensor(x)
    nd = x.data.ndim
    for a in (axis1, axis2):
        if not -nd <= a < nd:
            raise ValueError(f"swapaxes: axis {a} is out of range for shape {x.shape}")
    perm = list(range(nd))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return permute(x, *perm)


class BroadcastTo(Function):
    """x broadcast to a larger shape. Derivative: sum over the broadcast axes."""

    __slots__ = ("in_shape",)
    _forward_on_arrays = True
    _view_of = 0

    @staticmethod
    def forward(ctx: Any, x: Tensor, shape: tuple[int, ...]) -> np.ndarray:
        ctx.in_shape = x.data.shape
        return np.broadcast_to(x.data, shape)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return sum_to_shape(grad, ctx.in_shape), None


def broadcast_to(x: Any, shape: Any) -> Tensor:
    """A read-only view of ``x`` broadcast to ``shape`` (NumPy rules)."""
    x = as_tensor(x)
    shp = _shape_arg((shape,)) if not isinstance(shape, int) else (int(shape),)
    if shp == x.data.shape:
        return x
    try:
        return BroadcastTo.apply(x, shp)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shp}") from None


def expand(x: Any, *shape: Any) -> Tensor:
    """Broadcast to ``shape``; -1 keeps that axis's size (PyTorch)."""
    x = as_tensor(x)
    shp = _shape_arg(shape)
    lead = len(shp) - x.data.ndim
    if lead < 0:
        raise ValueError(f"expand: target shape {shp} has fewer axes than {x.shape}")
    shp = tuple(x.data.shape[i - lead] if s == -1 else s for i, s in enumerate(shp))
    return broadcast_to(x, shp)


def squeeze(x: Any, axis: Any = None, **kw: Any) -> Tensor:
    """Remove axes of size 1 (all of them, or the given ones)."""
    if "dim" in kw:
        axis = kw.pop("dim")
    x = as_tensor(x)
    shape = x.data.shape
    nd = len(shape)
    if axis is None:
        new = tuple(s for s in shape if s != 1)
    else:
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        axes = {int(a) % max(nd, 1) for a in axes}
        new = tuple(s for i, s in enumerate(shape) if not (i in axes and s == 1))
    return reshape(x, new)


def unsqueeze(x: Any, axis: Any = None, **kw: Any) -> Tensor:
    """Insert an axis of size 1 at ``axis``."""
    if "dim" in kw:
        axis = kw.pop("dim")
    if axis is None:
        raise TypeError("unsqueeze: missing the axis argument")
    x = as_tensor(x)
    nd = x.data.ndim + 1
    a = int(axis)
    if not -nd <= a < nd:
        raise ValueError(f"unsqueeze: axis {a} is out of range for shape {x.shape}")
    a %= nd
    shape = list(x.data.shape)
    shape.insert(a, 1)
    return reshape(x, tuple(shape))


expand_dims = unsqueeze
