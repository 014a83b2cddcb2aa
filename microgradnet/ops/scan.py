"""Running sums and products along an axis, and differences: ``cumsum``, ``cumprod``, ``diff``.

``cumsum``'s derivative is a cumulative sum in the other direction (of the reversed
gradient). ``cumprod``'s is Σ_{i≥k} g_i·out_i / x_k where no x is zero; with zeros it is
computed without dividing, by a reverse recurrence. ``diff`` is a composition of slices.
Each rule is written once, for NumPy arrays (plain sweep) and Tensors (recorded; see
``ops/_dual.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet.autograd.function import Function
from microgradnet.ops import _dual as D
from microgradnet.ops._util import as_tensor
from microgradnet.tensor import Tensor, get_default_dtype

__all__ = ["cumsum", "cumprod", "diff"]


def _axis(x: Tensor, axis: Any, kw: dict[str, Any], op: str) -> tuple[Tensor, int]:
    """NumPy's rule: no axis means the flattened array; ``dim=`` (PyTorch) is accepted."""
    if "dim" in kw:
        if axis is not None:
            raise TypeError(f"{op}: give either axis= or dim=, not both")
        axis = kw.pop("dim")
    if kw:
        raise TypeError(f"{op}: unexpected keyword argument(s) {sorted(kw)}")
    if axis is None:
        return x.reshape(-1), 0
    nd = max(x.ndim, 1)
    if not -nd <= int(axis) < nd:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor of shape {x.shape}")
    return x, int(axis) % nd


def _scan(op: type[Function], x: Any, axis: Any, kw: dict[str, Any], name: str) -> Tensor:
    """``op`` along ``axis``; a 0-d tensor with axis 0 or -1 stays 0-d (PyTorch)."""
    x, ax = _axis(as_tensor(x), axis, kw, name)
    if x.ndim == 0:
        return op.apply(x.reshape(1), 0).reshape(())
    return op.apply(x, ax)


def _reverse_cumsum(g: Any, axis: int) -> Any:
    """Σ_{i≥k} g_i along ``axis`` (an array or a Tensor)."""
    return D.flip(D.cumsum(D.flip(g, axis), axis), axis)


class CumSum(Function):
    """Running sum along ``axis``. VJP: the reversed running sum of the gradient.
    JVP: the running sum of the tangent."""

    __slots__ = ("axis",)
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, axis: int) -> np.ndarray:
        ctx.axis = axis
        return np.cumsum(x.data, axis=axis)

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        return _reverse_cumsum(grad, ctx.axis), None

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        return CumSum.apply(t, ctx.axis)


def _take(x: Any, axis: int, i: Any) -> Any:
    return x[(slice(None),) * axis + (i,)]


class CumProd(Function):
    """Running product along ``axis``.

    VJP: Σ_{i≥k} g_i·out_i / x_k where x has no zeros; otherwise the exclusive product
    out_{k-1} times s_k, s_k = g_k + x_{k+1}·s_{k+1} (no division). JVP: Σ_{k≤i} t_k·∂out_i/∂x_k,
    the same two forms.
    """

    __slots__ = ("axis",)
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, axis: int) -> np.ndarray:
        ctx.axis = axis
        out = np.cumprod(x.data, axis=axis)
        ctx.save_for_backward(x)
        ctx.save_output(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        (x,) = ctx.saved_tensors
        out = ctx.saved_output
        axis = ctx.axis
        if np.all(D.value(x) != 0):
            return _reverse_cumsum(grad * out, axis) / x, None
        return _cumprod_grad_with_zeros(x, out, grad, axis), None

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        (x,) = ctx.saved_tensors
        out = ctx.saved_output
        axis = ctx.axis
        if np.all(x.data != 0):
            return out * CumSum.apply(t / x, axis)
        # out_i' = out_{i-1}' x_i + out_{i-1} t_i, a forward recurrence without division
        from microgradnet.ops.shape import stack

        n = x.shape[axis]
        res = [_take(t, axis, 0)]
        for i in range(1, n):
            res.append(res[-1] * _take(x, axis, i) + _take(out, axis, i - 1) * _take(t, axis, i))
        return stack(res, axis)


def _cumprod_grad_with_zeros(x: Any, out: Any, grad: Any, axis: int) -> Any:
    n = x.shape[axis]
    s = [_take(grad, axis, n - 1)]
    for k in range(n - 2, -1, -1):
        s.append(_take(grad, axis, k) + _take(x, axis, k + 1) * s[-1])
    s.reverse()
    parts = [s[0]] + [_take(out, axis, k - 1) * s[k] for k in range(1, n)]
    return D.stack(parts, axis)


def cumsum(x: Any, axis: Any = None, **kw: Any) -> Tensor:
    """Running sum along ``axis`` (of the flattened tensor when None, as NumPy; ``dim=`` too).

    >>> mg.cumsum(mg.tensor([1.0, 2.0, 3.0]))
    tensor([1., 3., 6.])
    """
    return _scan(CumSum, x, axis, kw, "cumsum")


def cumprod(x: Any, axis: Any = None, **kw: Any) -> Tensor:
    """Running product along ``axis`` (flattened when None; ``dim=`` too); its gradient is exact
    where inputs are zero.

    >>> mg.cumprod(mg.tensor([1.0, 2.0, 3.0]))
    tensor([1., 2., 6.])
    """
    return _scan(CumProd, x, axis, kw, "cumprod")


def diff(x: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None,
         **kw: Any) -> Tensor:
    """The ``n``-th discrete difference along ``axis`` (NumPy's ``diff``, with ``prepend`` /
    ``append`` values joined first; ``dim=`` too).

    >>> mg.diff(mg.tensor([1.0, 4.0, 9.0, 16.0]))
    tensor([3., 5., 7.])
    >>> mg.diff(mg.tensor([1.0, 4.0, 9.0, 16.0]), n=2)
    tensor([2., 2.])
    """
    from microgradnet.ops.shape import broadcast_to, cat

    if "dim" in kw:
        axis = kw.pop("dim")
    if kw:
        raise TypeError(f"diff: unexpected keyword argument(s) {sorted(kw)}")
    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError("diff: needs at least 1 dimension, got a 0-d tensor")
    if n < 0:
        raise ValueError(f"diff: order n must be non-negative, got {n}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"diff: axis {axis} is out of range for a tensor of shape {x.shape}")
    ax = axis % x.ndim
    if n == 0:
        return x  # NumPy ignores prepend/append then
    pieces: list[Any] = []
    for extra in (prepend, append):
        if extra is None:
            pieces.append(None)
            continue
        e = as_tensor(extra)
        if isinstance(extra, (int, float, np.number)):  # a number is weak: x's dtype decides,
            if x.data.dtype.kind not in "fc" and e.data.dtype.kind in "fc":  # or int x, 0.5:
                x = x.astype(get_default_dtype())  # the default float (PyTorch's promotion)
            e = e.astype(x.dtype)
        if e.ndim == 0:  # a scalar is repeated along the axis, as NumPy
            shape = x.shape[:ax] + (1,) + x.shape[ax + 1:]
            e = broadcast_to(e, shape)
        pieces.append(e)
    if pieces[0] is not None or pieces[1] is not None:
        x = cat([p for p in (pieces[0], x, pieces[1]) if p is not None], ax)
    lo = (slice(None),) * ax
    for _ in range(n):
        x = x[lo + (slice(1, None),)] - x[lo + (slice(None, -1),)]
    return x
