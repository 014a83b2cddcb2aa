"""Shape operations: reshape, transpose/permute, broadcasting, joining and splitting.

These move or copy elements without arithmetic, so each derivative is the inverse movement
applied to the gradient (reshape back, permute back, sum over broadcast axes, split what was
concatenated, add back what was copied, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import index as operator_index
from typing import Any

import numpy as np

from microgradnet._checks import as_size
from microgradnet.autograd.function import Function, apply_op
from microgradnet.ops import _dual as D
from microgradnet.ops._util import as_tensor, axis_args, normalize_axes
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
    "flatten",
    "concatenate",
    "cat",
    "stack",
    "split",
    "chunk",
    "flip",
    "pad",
    "repeat",
    "tile",
    "repeat_interleave",
]


def _shape_arg(shape: tuple[Any, ...], op: str = "reshape") -> tuple[int, ...]:
    """Accept ``f(2, 3)`` and ``f((2, 3))``; a float size is a TypeError (``int(3.7)`` is 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(as_size(s, op) for s in shape)


class Reshape(Function):
    """x with a new shape (same elements, C order). Derivative: reshape back."""

    __slots__ = ("in_shape", "shape")
    _forward_on_arrays = True
    _dual_rules = True
    _view_of = 0

    @staticmethod
    def forward(ctx: Any, x: Tensor, shape: tuple[int, ...]) -> np.ndarray:
        ctx.in_shape, ctx.shape = x.data.shape, shape
        return x.data.reshape(shape)

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        return Reshape.apply(t, ctx.shape)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return D.reshape(grad, ctx.in_shape), None


def reshape(x: Any, *shape: Any) -> Tensor:
    """The same elements in a new shape (one dimension may be -1).

    >>> mg.reshape(mg.arange(6), (2, 3))
    tensor([[0, 1, 2],
            [3, 4, 5]])
    >>> mg.reshape(mg.arange(6), (3, -1)).shape
    (3, 2)
    """
    x = as_tensor(x)
    shp = _shape_arg(shape)
    if shp == x.data.shape:
        return x
    try:
        return apply_op(Reshape, (x, shp))
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
    _dual_rules = True
    _view_of = 0

    @staticmethod
    def forward(ctx: Any, x: Tensor, perm: tuple[int, ...]) -> np.ndarray:
        ctx.perm = perm
        return np.transpose(x.data, perm)

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        return Permute.apply(t, ctx.perm)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return D.transpose(grad, tuple(int(i) for i in np.argsort(ctx.perm))), None


def permute(x: Any, *dims: Any) -> Tensor:
    """Reorder the axes: ``out.shape[i] == x.shape[dims[i]]``.

    >>> mg.permute(mg.zeros(2, 3, 4), (2, 0, 1)).shape
    (4, 2, 3)
    """
    x = as_tensor(x)
    perm = _shape_arg(dims)
    nd = x.data.ndim
    if sorted(p % max(nd, 1) for p in perm) != list(range(nd)) or len(perm) != nd:
        raise ValueError(f"permute: {perm} is not a permutation of the {nd} axes of shape "
                         f"{x.shape}")
    perm = tuple(p % nd for p in perm)
    if perm == tuple(range(nd)):
        return x
    return apply_op(Permute, (x, perm))


def transpose(x: Any, *axes: Any) -> Tensor:
    """No arguments: reverse the axes (``.T``). Two axes: swap them (PyTorch).

    >>> mg.transpose(mg.tensor([[1.0, 2.0, 3.0]]))
    tensor([[1.],
            [2.],
            [3.]])
    >>> mg.transpose(mg.zeros(2, 3, 4), 0, 1).shape
    (3, 2, 4)
    """
    x = as_tensor(x)
    nd = x.data.ndim
    if not axes:
        return permute(x, *range(nd - 1, -1, -1)) if nd > 1 else x
    if len(axes) == 2 and all(isinstance(a, (int, np.integer)) for a in axes):
        return swapaxes(x, axes[0], axes[1])
    return permute(x, *axes)


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """Swap two axes.

    >>> mg.swapaxes(mg.zeros(2, 3, 4), 0, 2).shape
    (4, 3, 2)
    """
    x = as_tensor(x)
    nd = x.data.ndim
    for a in (axis1, axis2):  # a 0-d tensor takes axis 0 and -1 (PyTorch): nothing to swap
        if not -max(nd, 1) <= a < max(nd, 1):
            raise ValueError(f"swapaxes: axis {a} is out of range for shape {x.shape}")
    if nd == 0:
        return permute(x)
    perm = list(range(nd))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return permute(x, *perm)


class BroadcastTo(Function):
    """x broadcast to a larger shape. Derivative: sum over the broadcast axes."""

    __slots__ = ("in_shape", "shape")
    _forward_on_arrays = True
    _dual_rules = True
    _view_of = 0

    @staticmethod
    def forward(ctx: Any, x: Tensor, shape: tuple[int, ...]) -> np.ndarray:
        ctx.in_shape, ctx.shape = x.data.shape, shape
        return np.broadcast_to(x.data, shape)

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        return BroadcastTo.apply(t, ctx.shape)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return D.sum_to_shape(grad, ctx.in_shape), None


def broadcast_to(x: Any, shape: Any) -> Tensor:
    """A read-only view of ``x`` broadcast to ``shape`` (NumPy rules).

    >>> mg.broadcast_to(mg.tensor([1.0, 2.0]), (2, 2))
    tensor([[1., 2.],
            [1., 2.]])
    """
    x = as_tensor(x)
    shp = _shape_arg((shape,)) if not isinstance(shape, int) else (int(shape),)
    if shp == x.data.shape:
        return x
    try:
        return apply_op(BroadcastTo, (x, shp))
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shp}") from None


def expand(x: Any, *shape: Any) -> Tensor:
    """Broadcast to ``shape``; -1 keeps that axis's size (PyTorch).

    >>> mg.expand(mg.tensor([[1.0], [2.0]]), -1, 3)
    tensor([[1., 1., 1.],
            [2., 2., 2.]])
    """
    x = as_tensor(x)
    shp = _shape_arg(shape)
    lead = len(shp) - x.data.ndim
    if lead < 0:
        raise ValueError(f"expand: target shape {shp} has fewer axes than {x.shape}")
    shp = tuple(x.data.shape[i - lead] if s == -1 else s for i, s in enumerate(shp))
    return broadcast_to(x, shp)


def squeeze(x: Any, axis: Any = None, **kw: Any) -> Tensor:
    """Remove axes of size 1 (all of them, or the given ones).

    >>> mg.squeeze(mg.zeros(1, 3, 1)).shape
    (3,)
    >>> mg.squeeze(mg.zeros(1, 3, 1), 0).shape
    (3, 1)
    """
    if "dim" in kw:
        axis = kw.pop("dim")
    x = as_tensor(x)
    shape = x.data.shape
    nd = len(shape)
    if axis is None:
        new = tuple(s for s in shape if s != 1)
    else:
        given = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        axes = {_check_axis(a, max(nd, 1), "squeeze", shape) for a in given}
        new = tuple(s for i, s in enumerate(shape) if not (i in axes and s == 1))
    return reshape(x, new)


def unsqueeze(x: Any, axis: Any = None, **kw: Any) -> Tensor:
    """Insert an axis of size 1 at ``axis``.

    >>> mg.unsqueeze(mg.tensor([1.0, 2.0]), 0).shape
    (1, 2)
    >>> mg.unsqueeze(mg.tensor([1.0, 2.0]), -1).shape
    (2, 1)
    """
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


def flatten(x: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge the axes ``start_dim..end_dim`` (inclusive) into one; a 0-d tensor becomes (1,).

    >>> mg.flatten(mg.zeros((2, 3, 4)), 1).shape
    (2, 12)
    """
    x = as_tensor(x)
    shape = x.data.shape
    nd = len(shape)
    if nd == 0:
        return reshape(x, (1,))
    for d in (start_dim, end_dim):
        if not -nd <= d < nd:
            raise ValueError(f"flatten: dim {d} is out of range for shape {shape}")
    s, e = start_dim % nd, end_dim % nd
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for "
                         f"shape {shape}")
    merged = int(np.prod(shape[s:e + 1]))
    return reshape(x, shape[:s] + (merged,) + shape[e + 1:])


# -- joining and splitting --------------------------------------------------------------------
def _one_axis(axis: Any, kw: dict[str, Any], op: str) -> Any:
    """``axis`` or PyTorch's ``dim=``. Tensor methods pass the default axis 0 positionally, so a
    ``dim=`` overrides 0; any other axis together with ``dim=`` is an error."""
    if kw:
        if "dim" in kw:
            dim = kw.pop("dim")
            if axis is not None and axis != 0:
                raise TypeError(f"{op}: give either axis= or dim=, not both")
            axis = dim
        if kw:
            raise TypeError(f"{op}: unexpected keyword argument(s) {sorted(kw)}")
    return 0 if axis is None else axis


def _check_axis(axis: Any, nd: int, op: str, shape: tuple[int, ...]) -> int:
    """A single axis as a non-negative int, or a ValueError naming the op and the shape."""
    if type(axis) is int and -nd <= axis < nd:  # the common case, checked cheaply
        return axis % nd
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be an int, got {type(axis).__name__}")
    if not -nd <= axis < nd:
        raise ValueError(f"{op}: axis {axis} is out of range for shape {shape} ({nd} dims)")
    return int(axis) % nd


def _tensor_list(tensors: Any, op: str) -> list[Tensor]:
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expected a list or tuple of tensors, got "
                        f"{type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of tensors")
    return [t if type(t) is Tensor else as_tensor(t) for t in tensors]


class Cat(Function):
    """Tensors joined along an existing axis. Derivative: the gradient split back into pieces."""

    __slots__ = ("axis", "sizes")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, *xs: Tensor, axis: int) -> np.ndarray:
        if ctx.next_functions is not None:  # only a recorded node needs the sizes
            ctx.axis = axis
            ctx.sizes = tuple(x.data.shape[axis] for x in xs)
        return np.concatenate([x.data for x in xs], axis=axis)

    @staticmethod
    def jvp(ctx: Any, *ts: Any) -> Tensor:
        t0 = next(t for t in ts if t is not None)  # inputs without a tangent: zeros
        ax, shape = ctx.axis, t0.data.shape
        return Cat.apply(*[t if t is not None else Tensor._make(
            np.zeros(shape[:ax] + (n,) + shape[ax + 1:], t0.data.dtype), False, None)
            for t, n in zip(ts, ctx.sizes)], axis=ax)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        pieces = D.adjoint(Split, grad, ctx.sizes, ctx.axis)
        return tuple(p if need else None for p, need in zip(pieces, ctx.needs_input_grad))


def cat(tensors: Sequence[Any], axis: int = 0, **kw: Any) -> Tensor:
    """Join tensors along an existing axis (``dim=`` also accepted).

    >>> mg.cat([mg.zeros((2, 3)), mg.ones((1, 3))]).shape
    (3, 3)

    Raises:
        ValueError: when the shapes differ outside ``axis`` (the message names both shapes).
    """
    axis = _one_axis(axis, kw, "cat")
    ts = _tensor_list(tensors, "cat")
    first = ts[0].data.shape
    nd = len(first)
    if nd == 0:
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated; use stack")
    ax = _check_axis(axis, nd, "cat", first)
    for t in ts[1:]:
        s = t.data.shape
        if len(s) != nd or s[:ax] != first[:ax] or s[ax + 1:] != first[ax + 1:]:
            raise ValueError(f"cat: tensors must have the same shape except in axis {ax}; got "
                             f"{first} and {s}")
    return Cat.apply(*ts, axis=ax)


concatenate = cat


def stack(tensors: Sequence[Any], axis: int = 0, **kw: Any) -> Tensor:
    """Join same-shaped tensors along a new axis (``dim=`` also accepted).

    >>> mg.stack([mg.zeros(3), mg.ones(3)], axis=1).shape
    (3, 2)
    """
    axis = _one_axis(axis, kw, "stack")
    ts = _tensor_list(tensors, "stack")
    first = ts[0].data.shape
    for t in ts[1:]:
        if t.data.shape != first:
            raise ValueError(f"stack: expected all tensors to have the same shape; got {first} "
                             f"and {t.data.shape}")
    ax = _check_axis(axis, len(first) + 1, "stack", first + (1,))
    return Stack.apply(*ts, axis=ax)


class Stack(Function):
    """Tensors joined along a new axis. Derivative: the gradient cut into slices along that
    axis, each reshaped back to its input's shape."""

    __slots__ = ("axis",)
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, *xs: Tensor, axis: int) -> np.ndarray:
        ctx.axis = axis
        return np.stack([x.data for x in xs], axis=axis)

    @staticmethod
    def jvp(ctx: Any, *ts: Any) -> Tensor:
        t0 = next(t for t in ts if t is not None)  # inputs without a tangent: zeros
        zero = Tensor._make(np.zeros_like(t0.data), False, None)
        return Stack.apply(*[zero if t is None else t for t in ts], axis=ctx.axis)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        needs = ctx.needs_input_grad
        shape = grad.shape[:ctx.axis] + grad.shape[ctx.axis + 1:]
        pieces = D.adjoint(Split, grad, (1,) * len(needs), ctx.axis)
        return tuple(D.reshape(p, shape) if need else None for p, need in zip(pieces, needs))


class Split(Function):
    """x cut into consecutive pieces along an axis, one output per piece.
    Derivative: the pieces' gradients concatenated (zeros for pieces that were not used)."""

    __slots__ = ("_n_out", "_out_meta", "axis", "sizes")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, sizes: tuple[int, ...], axis: int) -> tuple[Any, ...]:
        ctx.axis, ctx.sizes = axis, sizes
        lead = (slice(None),) * axis
        out = []
        start = 0
        for n in sizes:
            out.append(x.data[lead + (slice(start, start + n),)])  # views, no copies
            start += n
        return tuple(out)

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> tuple[Tensor, ...]:
        return Split.apply(t, ctx.sizes, ctx.axis)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> Any:
        return D.concatenate(grads, ctx.axis), None, None


def _split(x: Tensor, sizes: tuple[int, ...], axis: int) -> tuple[Tensor, ...]:
    pieces = apply_op(Split, (x, sizes, axis))
    vc = x._shared_version()  # the pieces are views: writing to one changes x
    for p in pieces:
        p._vc = vc
    return pieces


def _sizes_of(size: int, n: int) -> tuple[int, ...]:
    """Pieces of ``size`` covering ``n`` (the last may be smaller); an empty axis gives one."""
    sizes = (size,) * (n // size) + ((n % size,) if n % size else ())
    return sizes or (0,)


def split(x: Any, split_size_or_sections: Any, axis: int = 0, **kw: Any) -> tuple[Tensor, ...]:
    """Cut ``x`` into pieces along ``axis`` (PyTorch): an int is the size of every piece (the last
    may be smaller); a list gives each piece's size and must sum to the axis length.

    >>> [p.shape for p in mg.split(mg.arange(5), 2)]
    [(2,), (2,), (1,)]
    >>> [p.shape for p in mg.split(mg.zeros((2, 5)), [1, 4], dim=1)]
    [(2, 1), (2, 4)]
    """
    axis = _one_axis(axis, kw, "split")
    x = as_tensor(x)
    shape = x.data.shape
    ax = _check_axis(axis, len(shape), "split", shape)
    n = shape[ax]
    s = split_size_or_sections
    if isinstance(s, (int, np.integer)):
        if s <= 0:
            raise ValueError(f"split: split_size must be a positive integer, got {s}")
        return _split(x, _sizes_of(int(s), n), ax)
    if isinstance(s, Tensor):
        s = s.data
    try:
        sizes = tuple(operator_index(v) for v in s)
    except TypeError:
        raise TypeError("split: split_size_or_sections must be an int or a sequence of ints, "
                        f"got {s!r}") from None
    if any(v < 0 for v in sizes) or sum(sizes) != n:
        raise ValueError(f"split: split sizes {list(sizes)} must be non-negative and sum to "
                         f"{n}, the length of axis {ax} of shape {shape}")
    return _split(x, sizes, ax)


def chunk(x: Any, chunks: int, axis: int = 0, **kw: Any) -> tuple[Tensor, ...]:
    """Cut ``x`` into ``chunks`` pieces of equal size ceil(n / chunks) along ``axis`` (PyTorch: the
    last may be smaller, and fewer pieces come back when the sizes do not allow ``chunks``).

    >>> [p.shape for p in mg.chunk(mg.arange(5), 3)]
    [(2,), (2,), (1,)]
    """
    axis = _one_axis(axis, kw, "chunk")
    x = as_tensor(x)
    shape = x.data.shape
    ax = _check_axis(axis, len(shape), "chunk", shape)
    chunks = operator_index(chunks)
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive integer, got {chunks}")
    n = shape[ax]
    if n == 0:  # PyTorch: an empty axis gives ``chunks`` empty pieces
        return _split(x, (0,) * chunks, ax)
    return _split(x, _sizes_of(-(-n // chunks), n), ax)


# -- reversing, padding, repeating -------------------------------------------------------------
class Flip(Function):
    """x with its elements in reverse order along ``axes``. Derivative: flip the gradient back."""

    __slots__ = ("axes",)
    _forward_on_arrays = True
    _dual_rules = True
    _view_of = 0

    @staticmethod
    def forward(ctx: Any, x: Tensor, axes: tuple[int, ...]) -> np.ndarray:
        ctx.axes = axes
        return np.flip(x.data, axes)

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        return Flip.apply(t, ctx.axes)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return D.adjoint(Flip, grad, ctx.axes), None


def flip(x: Any, axis: Any = None, **kw: Any) -> Tensor:
    """Reverse the order of elements along ``axis`` (an int, a tuple, or None for all axes).

    >>> mg.flip(mg.arange(3)).tolist()
    [2, 1, 0]
    """
    axis, _ = axis_args(axis, False, kw, "flip")
    x = as_tensor(x)
    nd = x.data.ndim
    axes = normalize_axes(axis, nd, "flip")
    if axes is None or nd == 0:
        axes = tuple(range(nd))
    return apply_op(Flip, (x, axes))


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "edge", "replicate": "edge",
              "symmetric": "symmetric", "wrap": "wrap", "circular": "wrap"}


def _pad_pairs(pad_width: Any, shape: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """NumPy's ``pad_width`` forms (int, (n,), (before, after), one pair per axis) as pairs."""
    pw = np.asarray(pad_width.data if isinstance(pad_width, Tensor) else pad_width)
    if pw.dtype.kind not in "iu" and pw.size:
        raise TypeError(f"pad: pad_width must contain integers, got {pad_width!r}")
    if not shape:
        return ()
    try:
        pairs = np.broadcast_to(pw.astype(np.int64), (len(shape), 2))
    except ValueError:
        raise ValueError(
            f"pad: pad_width {pad_width!r} does not fit shape {shape}: give an int, "
            f"(before, after), or one (before, after) pair for each of the {len(shape)} axes"
        ) from None
    if (pairs < 0).any():
        raise ValueError(f"pad: pad_width must be non-negative, got {pad_width!r}")
    return tuple((int(b), int(a)) for b, a in pairs)


def _along(axis: int, i: Any) -> tuple[Any, ...]:
    """The index selecting ``i`` along ``axis`` (everything along the other axes)."""
    return (slice(None),) * axis + (i,)


class Pad(Function):
    """x padded as ``np.pad`` does. Derivative: the padded gradient folded back onto x (constant
    mode: the centre; the other modes also add each copy's gradient to the element it copied)."""

    __slots__ = ("pairs", "mode")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, pairs: tuple[tuple[int, int], ...], mode: str,
                value: Any) -> np.ndarray:
        ctx.pairs, ctx.mode = pairs, mode
        a = x.data
        if mode != "constant":
            return np.pad(a, pairs or 0, mode)  # type: ignore[call-overload]  # 0-d: no pairs
        out = np.full([n + b + e for n, (b, e) in zip(a.shape, pairs)], value, dtype=a.dtype)
        out[tuple(slice(b, b + n) for n, (b, _) in zip(a.shape, pairs))] = a
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        return Pad.apply(t, ctx.pairs, ctx.mode, 0)  # the padding value is a constant

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        if ctx.mode == "constant":
            centre = tuple(slice(b, n - e) for n, (b, e) in zip(grad.shape, ctx.pairs))
            return grad[centre], None, None, None
        return D.adjoint(PadBack, grad, ctx.pairs, ctx.mode), None, None, None


class PadBack(Function):
    """The adjoint of a non-constant ``pad``: every padded entry's gradient added to the element
    it copied. Derivative: pad the gradient again (the adjoint of the adjoint)."""

    __slots__ = ("pairs", "mode")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, g: Tensor, pairs: tuple[tuple[int, int], ...], mode: str) -> np.ndarray:
        ctx.pairs, ctx.mode = pairs, mode
        out = g.data
        for axis, (b, e) in enumerate(pairs):
            if b == 0 and e == 0:
                continue
            n = out.shape[axis] - b - e
            src = np.pad(np.arange(n), (b, e), mode)  # type: ignore[call-overload]  # which element of x each position copies
            res = out[_along(axis, slice(b, b + n))].copy()
            for p in (*range(b), *range(b + n, b + n + e)):  # pads are usually a few entries
                res[_along(axis, src[p])] += out[_along(axis, p)]
            out = res
        return out if out is not g.data else out.copy()  # never alias the incoming gradient

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        return PadBack.apply(t, ctx.pairs, ctx.mode)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return D.adjoint(Pad, grad, ctx.pairs, ctx.mode, 0), None, None


def pad(x: Any, pad_width: Any, mode: str = "constant", value: float = 0) -> Tensor:
    """Pad ``x`` with NumPy's ``pad_width`` (int, (before, after), or a pair per axis).

    Modes: ``constant`` (fill with ``value``), ``reflect``, ``edge`` (alias ``replicate``),
    ``symmetric``, ``wrap`` (alias ``circular``); each copies as ``np.pad`` does.

    >>> mg.pad(mg.tensor([1.0, 2.0, 3.0]), (2, 1), mode="reflect").tolist()
    [3.0, 2.0, 1.0, 2.0, 3.0, 2.0]
    """
    x = as_tensor(x)
    np_mode = _PAD_MODES.get(mode)
    if np_mode is None:
        raise ValueError(f"pad: unknown mode {mode!r}; use one of {sorted(_PAD_MODES)}")
    if np_mode != "constant" and value != 0:
        raise ValueError(f"pad: value= only applies to mode='constant', not {mode!r}")
    shape = x.data.shape
    pairs = _pad_pairs(pad_width, shape)
    if np_mode != "constant":
        for axis, (n, (b, e)) in enumerate(zip(shape, pairs)):
            if n == 0 and b + e > 0:
                raise ValueError(f"pad: cannot pad the empty axis {axis} of shape {shape} with "
                                 f"mode={mode!r}; only mode='constant' can")
    return apply_op(Pad, (x, pairs, np_mode, value))


class Tile(Function):
    """x tiled ``reps[i]`` times along each axis (``np.tile``; ``len(reps) >= x.ndim``).
    Derivative: the sum of the gradient over the tiles."""

    __slots__ = ("in_shape", "reps")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, reps: tuple[int, ...]) -> np.ndarray:
        ctx.in_shape, ctx.reps = x.data.shape, reps
        return np.tile(x.data, reps)

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        return Tile.apply(t, ctx.reps)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        reps, in_shape = ctx.reps, ctx.in_shape
        full = (1,) * (len(reps) - len(in_shape)) + in_shape
        tiles = tuple(v for r, n in zip(reps, full) for v in (r, n))  # (r0, n0, r1, n1, ...)
        g = D.sum(D.reshape(grad, tiles), axis=tuple(range(0, len(tiles), 2)))
        return D.reshape(g, in_shape), None


def _reps(reps: tuple[Any, ...], op: str) -> tuple[int, ...]:
    out = _shape_arg(reps, op)
    if any(r < 0 for r in out):
        raise ValueError(f"{op}: repetitions must be non-negative, got {out}")
    return out


def repeat(x: Any, *sizes: Any) -> Tensor:
    """Tile ``x`` ``sizes[i]`` times along each axis (PyTorch's ``repeat``); extra leading sizes
    add new axes.

    >>> mg.tensor([1, 2]).repeat(2, 2).tolist()
    [[1, 2, 1, 2], [1, 2, 1, 2]]
    """
    x = as_tensor(x)
    reps = _reps(sizes, "repeat")
    if len(reps) < x.data.ndim:
        raise ValueError(f"repeat: got {len(reps)} sizes {reps} for shape {x.shape}; give at "
                         f"least one per axis ({x.data.ndim}), or use tile")
    return apply_op(Tile, (x, reps))


def tile(x: Any, reps: Any) -> Tensor:
    """Tile ``x`` ``reps`` times (NumPy's ``tile``: fewer reps than axes apply to the last axes).

    >>> mg.tile(mg.tensor([1, 2]), 2).tolist()
    [1, 2, 1, 2]
    """
    x = as_tensor(x)
    if not isinstance(reps, (int, np.integer, tuple, list)) or isinstance(reps, bool):
        raise TypeError(f"tile: reps must be an int or a tuple of ints, got "
                        f"{type(reps).__name__} {reps!r:.40}")
    r = _reps((reps,) if isinstance(reps, (int, np.integer)) else (tuple(reps),), "tile")
    r = (1,) * (x.data.ndim - len(r)) + r
    return apply_op(Tile, (x, r))


class RepeatInterleave(Function):
    """Each element of x repeated along ``axis`` (``np.repeat``; int or per-element repeats).
    Derivative: the gradients of an element's copies summed."""

    __slots__ = ("in_shape", "repeats", "axis")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, repeats: Any, axis: int) -> np.ndarray:
        ctx.in_shape, ctx.repeats, ctx.axis = x.data.shape, repeats, axis
        return np.repeat(x.data, repeats, axis)

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        return RepeatInterleave.apply(t, ctx.repeats, ctx.axis)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        shape, r, ax = ctx.in_shape, ctx.repeats, ctx.axis
        if isinstance(r, int):  # the copies of an element are adjacent: reshape and sum them
            g = D.sum(D.reshape(grad, shape[:ax] + (shape[ax], r) + shape[ax + 1:]), ax + 1)
            return g, None, None
        from microgradnet.ops.indexing import IndexAdd

        src = np.repeat(np.arange(shape[ax]), r)  # output position -> element it copies
        return D.adjoint(IndexAdd, grad, shape, _along(ax, src)), None, None


def repeat_interleave(x: Any, repeats: Any, axis: Any = None, **kw: Any) -> Tensor:
    """Repeat each element ``repeats`` times along ``axis`` (NumPy's ``repeat``; ``axis=None``
    flattens first). ``repeats`` is an int or one count per element.

    >>> mg.repeat_interleave(mg.tensor([1, 2]), 2).tolist()
    [1, 1, 2, 2]
    >>> mg.repeat_interleave(mg.tensor([[1, 2]]), [1, 2], dim=1).tolist()
    [[1, 2, 2]]
    """
    axis, _ = axis_args(axis, False, kw, "repeat_interleave")
    x = as_tensor(x)
    if axis is None:
        x, axis = reshape(x, -1), 0
    shape = x.data.shape
    ax = _check_axis(axis, len(shape), "repeat_interleave", shape)
    r = np.asarray(repeats.data if isinstance(repeats, Tensor) else repeats)
    if r.dtype.kind not in "iu":
        raise TypeError(f"repeat_interleave: repeats must be integers, got {repeats!r}")
    if (r < 0).any():
        raise ValueError(f"repeat_interleave: repeats must be non-negative, got {repeats!r}")
    if r.ndim == 0 or r.shape == (1,):
        return apply_op(RepeatInterleave, (x, int(r.reshape(-1)[0]), ax))
    if r.shape != (shape[ax],):
        raise ValueError(f"repeat_interleave: repeats of shape {r.shape} do not match axis {ax} "
                         f"of shape {shape} (give an int or {shape[ax]} counts)")
    return apply_op(RepeatInterleave, (x, r, ax))
