"""Helpers shared by the op families: operand conversion, axis handling, shape errors."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from microgradnet.autograd.function import Function, apply_op
from microgradnet.tensor import Tensor, _to_array, get_default_dtype

_SCALARS = (int, float, bool, np.number, np.bool_)
# the module (``microgradnet.tensor`` as an attribute is the function): its current default dtype
_tensor = importlib.import_module("microgradnet.tensor")


def as_operand(x: Any) -> Any:
    """A Tensor stays; a scalar stays a scalar (weak dtype); anything else becomes a Tensor."""
    if isinstance(x, Tensor) or isinstance(x, _SCALARS):
        return x
    if isinstance(x, (np.ndarray, list, tuple)):
        return Tensor._make(_to_array(x, copy=False), False, None)
    raise TypeError(
        f"unsupported operand of type {type(x).__name__}: expected a Tensor, a number or an "
        "array"
    )


def const(a: Any) -> Tensor:
    """A constant (no grad) Tensor over an array result. ``np.asarray`` because NumPy returns
    scalars, not 0-d arrays, from operations on 0-d arrays; a Tensor's data is always an array.

    >>> type(const(np.float64(2.0)).data).__name__
    'ndarray'
    """
    return Tensor._make(np.asarray(a), False, None)


def as_tensor(x: Any) -> Tensor:
    """Any operand as a Tensor (scalars become 0-d constants)."""
    if isinstance(x, Tensor):
        return x
    return Tensor._make(_to_array(x, copy=False), False, None)


def float_operand(x: Any) -> Tensor:
    """``x`` as a Tensor of a floating dtype, for ops whose result is floating (exp, log, /,
    mean, ...): integer and bool input computes in the default float dtype (float32 unless
    ``mg.set_default_dtype`` says otherwise), as in PyTorch; NumPy would pick float16 for
    int8 (losing digits) and float64 for int64.

    >>> float_operand(mg.tensor([1, 2], dtype="int8")).dtype
    dtype('float32')
    """
    if not isinstance(x, Tensor):
        x = as_tensor(x)
    if x.data.dtype.kind in "biu":
        return Tensor._make(x.data.astype(get_default_dtype()), False, None)
    return x


def promote_weak(out: Any, *operands: Any) -> Any:
    """``out`` in the default float dtype when it is floating although no Tensor operand is
    (``int / int``, ``int ** 0.5``, ``clip(int, 0.5)``): numbers are weak, as in PyTorch's
    type promotion, where NumPy would return float64.

    >>> promote_weak(np.array([0.5]), mg.tensor([1]), 2).dtype
    dtype('float32')
    """
    dt = out.dtype
    if dt is _tensor._default_dtype or dt.kind != "f":  # the common case first: one lookup
        return out
    for v in operands:
        if isinstance(v, Tensor) and v.data.dtype.kind in "fc":
            return out
    return out.astype(get_default_dtype())


def raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def shape_of(x: Any) -> tuple[int, ...]:
    return x.data.shape if isinstance(x, Tensor) else np.shape(x)


def broadcast_error(op: str, *operands: Any) -> ValueError:
    shapes = " and ".join(str(tuple(shape_of(o))) for o in operands)
    return ValueError(
        f"{op}: shapes {shapes} cannot be broadcast together (NumPy broadcasting: trailing "
        "axes must be equal or 1)"
    )


def axis_args(axis: Any, keepdims: bool, kw: dict[str, Any], op: str) -> tuple[Any, bool]:
    """Accept NumPy's ``axis``/``keepdims`` and PyTorch's ``dim``/``keepdim``."""
    if kw:
        if "dim" in kw:
            if axis is not None:
                raise TypeError(f"{op}: give either axis= or dim=, not both")
            axis = kw.pop("dim")
        if "keepdim" in kw:
            keepdims = kw.pop("keepdim")
        if kw:
            raise TypeError(f"{op}: unexpected keyword argument(s) {sorted(kw)}")
    return axis, bool(keepdims)


def normalize_axes(axis: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """``axis`` (None, int or sequence) as a sorted tuple of non-negative ints."""
    if axis is None:
        return None
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        axes: tuple[Any, ...] = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got "
                        f"{type(axis).__name__} {axis!r:.40}")
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got "
                            f"{type(a).__name__} {a!r:.40} in {axis!r:.40}")
        a = int(a)
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dims")
        out.append(a % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))


def reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    """``shape`` with the reduced axes kept as size 1 (the keepdims shape)."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class SumToShape(Function):
    """Sum a broadcast array back to ``shape``. Derivative: broadcast the gradient again."""

    __slots__ = ("in_shape", "shape")
    _forward_on_arrays = True
    _dual_rules = True  # one rule for arrays and Tensors (ops/_dual.py)

    @staticmethod
    def forward(ctx: Any, x: Tensor, shape: tuple[int, ...]) -> np.ndarray:
        ctx.in_shape = x.data.shape
        ctx.shape = shape
        return _sum_to_shape_array(x.data, shape)

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        return SumToShape.apply(t, ctx.shape)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        from microgradnet.ops import _dual

        return _dual.broadcast_to(grad, ctx.in_shape), None


def _sum_to_shape_array(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    lead = a.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"cannot sum shape {a.shape} to {shape}")
    axes = list(range(lead))
    for i, s in enumerate(shape):
        n = a.shape[lead + i]
        if s == 1 and n != 1:
            axes.append(lead + i)
        elif s != n:
            raise ValueError(f"cannot sum shape {a.shape} to {shape}")
    out = a.sum(axis=tuple(axes), keepdims=True) if axes else a
    return out.reshape(shape)


def sum_to_shape(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Reduce a gradient of a broadcast result to the shape of the input that was broadcast.

    >>> sum_to_shape(mg.ones(2, 3), (1, 3))  # summed over the axis that was broadcast
    tensor([[2., 2., 2.]])
    """
    if g.data.shape == tuple(shape):
        return g
    return apply_op(SumToShape, (g, tuple(shape)))
