"""Indexing: basic slicing, integer-array and boolean-mask indexing, ``gather``,
``take_along_axis``, ``scatter_add``.

The derivative of reading elements is writing the gradient back to where they came from; where an
index repeats, the contributions add up (scatter-add).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet.autograd.forward_ad import _fw, _set_tangent, tangent_of
from microgradnet.autograd.function import Function, apply_op
from microgradnet.autograd.grad_mode import _state
from microgradnet.ops import _dual as D
from microgradnet.ops._util import as_tensor
from microgradnet.ops.shape import broadcast_to, reshape
from microgradnet.tensor import Tensor, _raw

__all__ = [
    "getitem",
    "setitem",
    "gather",
    "take_along_axis",
    "scatter_add",
]


def normalize_index(index: Any) -> Any:
    """Tensors and lists in an index become NumPy arrays; non-integer, non-bool arrays raise.

    >>> normalize_index((mg.tensor([True, False]), [0, 1]))
    (array([ True, False]), array([0, 1]))
    """
    if isinstance(index, tuple):
        return tuple(_norm_one(i) for i in index)
    return _norm_one(index)


def _norm_one(i: Any) -> Any:
    if isinstance(i, Tensor):
        i = i.data
    elif isinstance(i, list):
        # an empty list selects nothing (NumPy and PyTorch): int indices, not float64
        i = np.asarray(i) if i else np.empty(0, dtype=np.intp)
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
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, index: Any) -> np.ndarray:
        ctx.in_shape = x.data.shape
        ctx.index = index
        return x.data[index]

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        return GetItem.apply(t, ctx.index)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return D.adjoint(IndexAdd, grad, ctx.in_shape, ctx.index), None


class IndexAdd(Function):
    """zeros(shape) with ``grad`` added at ``index`` (repeats accumulate). Derivative: g[index]."""

    __slots__ = ("index", "shape")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, g: Tensor, shape: tuple[int, ...], index: Any) -> np.ndarray:
        ctx.index, ctx.shape = index, shape
        out = np.zeros(shape, dtype=g.data.dtype)
        if _is_basic(index):
            out[index] = g.data
        else:
            np.add.at(out, _bool_to_int(index), g.data)
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        return IndexAdd.apply(t, ctx.shape, ctx.index)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        return D.adjoint(GetItem, grad, ctx.index), None, None


def _bool_to_int(index: Any) -> Any:
    """``np.add.at`` wants integer arrays: a boolean mask becomes its nonzero() indices."""
    items = index if isinstance(index, tuple) else (index,)
    out: list[Any] = []
    for i in items:
        if isinstance(i, np.ndarray) and i.dtype == np.bool_ and i.ndim:
            out.extend(np.nonzero(i))  # (a 0-d mask stays: it adds an axis of length 1 or 0)
        else:
            out.append(i)
    return tuple(out)


def getitem(x: Any, index: Any) -> Tensor:
    """``x[index]`` with NumPy semantics (basic, integer-array and boolean-mask indexing).

    >>> x = mg.arange(6).reshape(2, 3)
    >>> mg.getitem(x, (1, [0, 2]))  # the same as x[1, [0, 2]]
    tensor([3, 5])
    """
    x = as_tensor(x)
    idx = normalize_index(index)
    basic = _is_basic(idx)
    if basic:
        # Basic indexing gives a view, even of one element: ``x[0]`` is a 0-d view of x (as in
        # PyTorch), so ``x[0].add_(1)`` changes x. An Ellipsis at the end changes nothing else.
        items = idx if isinstance(idx, tuple) else (idx,)
        if not any(i is Ellipsis for i in items):
            idx = items + (Ellipsis,)
    try:
        out = apply_op(GetItem, (x, idx))
    except IndexError as e:
        raise IndexError(f"getitem: index {index!r} is invalid for shape {x.shape}: {e}") from None
    if basic:
        # A view shares x's version counter, recorded or not (no_grad, integer tensors): an
        # in-place change through it is a change of x, detected where x was saved.
        out._vc = x._shared_version()
    return out


# -- gather, take_along_axis, scatter_add ----------------------------------------------------------
def _index_array(index: Any, op: str) -> np.ndarray:
    a = index.data if isinstance(index, Tensor) else np.asarray(index)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor or array, got dtype {a.dtype}")
    return a


def _check_dim(dim: Any, nd: int, op: str, shape: tuple[int, ...], word: str = "dim") -> int:
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: {word} must be an int, got {type(dim).__name__}")
    if not -nd <= dim < nd:
        raise ValueError(f"{op}: {word} {dim} is out of range for shape {shape} ({nd} dims)")
    return int(dim) % nd


def _check_range(index: np.ndarray, n: int, op: str, dim: int, shape: tuple[int, ...]) -> None:
    if index.size:
        hi, lo = index.max(), index.min()
        if hi >= n or lo < -n:
            raise IndexError(f"{op}: index {hi if hi >= n else lo} is out of range for dim "
                             f"{dim} of size {n} (shape {shape})")


def _along_index(index: np.ndarray, dim: int, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """The integer-array index reading ``x[..., index[i, j, k], ...]`` at position (i, j, k):
    ``index`` along ``dim``, and each position's own coordinate along the other axes."""
    nd = len(shape)
    out: list[Any] = []
    for d, n in enumerate(shape):
        if d == dim:
            out.append(index)
        else:
            out.append(np.arange(n).reshape((1,) * d + (n,) + (1,) * (nd - d - 1)))
    return tuple(out)


class Gather(GetItem):
    """out[i][j][k] = x[index[i][j][k]][j][k] (for dim 0). Derivative: the gradient scatter-added
    back to the positions it was read from (``IndexAdd``)."""

    __slots__ = ()


def gather(x: Any, dim: int, index: Any) -> Tensor:
    """Pick values of ``x`` along ``dim`` at ``index`` (PyTorch's ``gather``).

    ``index`` has as many dims as ``x``, is no larger than ``x`` outside ``dim``, and gives the
    output shape. Negative indices count from the end (NumPy).

    >>> mg.gather(mg.tensor([[1, 2], [3, 4]]), 1, mg.tensor([[0, 0], [1, 0]])).tolist()
    [[1, 1], [4, 3]]
    """
    x = as_tensor(x)
    idx = _index_array(index, "gather")
    shape = x.data.shape
    if not shape:  # a 0-d tensor acts as a 1-d tensor of one element (PyTorch)
        return reshape(gather(reshape(x, (1,)), dim, idx.reshape(-1)), idx.shape)
    d = _check_dim(dim, len(shape), "gather", shape)
    if idx.ndim != len(shape) or any(
            i > n for k, (i, n) in enumerate(zip(idx.shape, shape)) if k != d):
        raise ValueError(f"gather: index of shape {idx.shape} does not fit input of shape "
                         f"{shape} along dim {d}: it needs the same number of dims and no "
                         "larger size outside dim")
    _check_range(idx, shape[d], "gather", d, shape)
    return apply_op(Gather, (x, _along_index(idx, d, idx.shape)))


def take_along_axis(x: Any, indices: Any, axis: int | None) -> Tensor:
    """Pick values of ``x`` along ``axis`` at ``indices`` (NumPy's ``take_along_axis``: the other
    axes broadcast; ``axis=None`` works on the flattened ``x``).

    >>> x = mg.tensor([[10, 30, 20], [60, 40, 50]])
    >>> mg.take_along_axis(x, mg.tensor([[0], [2]]), axis=1).tolist()
    [[10], [50]]
    """
    x = as_tensor(x)
    idx = _index_array(indices, "take_along_axis")
    if axis is None:
        if idx.ndim != 1:
            raise ValueError(f"take_along_axis: with axis=None indices must be 1-d, got shape "
                             f"{idx.shape}")
        x, axis = reshape(x, -1), 0
    shape = x.data.shape
    a = _check_dim(axis, len(shape), "take_along_axis", shape, "axis")
    if idx.ndim != len(shape):
        raise ValueError(f"take_along_axis: indices of shape {idx.shape} and input of shape "
                         f"{shape} need the same number of dims")
    try:
        out = tuple(n if k == a else np.broadcast_shapes((n,), (i,))[0]
                    for k, (i, n) in enumerate(zip(idx.shape, shape)))
    except ValueError:
        raise ValueError(f"take_along_axis: indices of shape {idx.shape} do not broadcast "
                         f"against input of shape {shape} outside axis {a}") from None
    _check_range(idx, shape[a], "take_along_axis", a, shape)
    x = broadcast_to(x, out)  # no-op unless x has size-1 axes where indices do not
    full = tuple(i if k == a else n for k, (i, n) in enumerate(zip(idx.shape, out)))
    return apply_op(Gather, (x, _along_index(np.broadcast_to(idx, full), a, full)))


class ScatterAdd(Function):
    """x with ``src`` added at the positions ``index`` names (repeats accumulate).
    Derivative: d/dx = the gradient; d/dsrc = the gradient read back at those positions."""

    __slots__ = ("index", "shape")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, index: tuple[Any, ...], src: Tensor) -> np.ndarray:
        ctx.index, ctx.shape = index, x.data.shape
        out = x.data.astype(np.result_type(x.data, src.data), copy=True)
        np.add.at(out, index, src.data)
        return out

    @staticmethod
    def jvp(ctx: Any, tx: Any, _index: Any, tsrc: Any) -> Any:
        if tsrc is None:
            return tx
        base = tx if tx is not None else Tensor._make(np.zeros(ctx.shape, tsrc.data.dtype),
                                                      False, None)
        return ScatterAdd.apply(base, ctx.index, tsrc)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        gsrc = D.adjoint(GetItem, grad, ctx.index) if ctx.needs_input_grad[2] else None
        return grad, None, gsrc


def scatter_add(x: Any, dim: int, index: Any, src: Any) -> Tensor:
    """A copy of ``x`` with ``src[i][j][k]`` added at ``[index[i][j][k]][j][k]`` (for dim 0);
    contributions to the same place accumulate (PyTorch's ``scatter_add``).

    Differentiable in ``x`` and in ``src``. ``index`` has as many dims as ``x``, is no larger
    than ``src`` anywhere and no larger than ``x`` outside ``dim``.

    >>> mg.scatter_add(mg.zeros(3), 0, mg.tensor([0, 2, 0]), mg.tensor([1.0, 2.0, 3.0])).tolist()
    [4.0, 0.0, 2.0]
    """
    x, src = as_tensor(x), as_tensor(src)
    idx = _index_array(index, "scatter_add")
    shape = x.data.shape
    if not shape:
        out = scatter_add(reshape(x, (1,)), dim, idx.reshape(-1), reshape(src, (-1,)))
        return reshape(out, ())
    d = _check_dim(dim, len(shape), "scatter_add", shape)
    sshape = src.data.shape
    if (idx.ndim != len(shape) or len(sshape) != len(shape)
            or any(i > s for i, s in zip(idx.shape, sshape))
            or any(i > n for k, (i, n) in enumerate(zip(idx.shape, shape)) if k != d)):
        raise ValueError(f"scatter_add: index of shape {idx.shape} does not fit input of shape "
                         f"{shape} and src of shape {sshape} along dim {d}: all need the same "
                         "number of dims, and index may be no larger than src, nor than the "
                         "input outside dim")
    _check_range(idx, shape[d], "scatter_add", d, shape)
    if sshape != idx.shape:  # only the leading block of src that index covers is used
        src = src[tuple(slice(0, i) for i in idx.shape)]
    return apply_op(ScatterAdd, (x, _along_index(idx, d, idx.shape), src))



# -- writing: x[index] = value -------------------------------------------------------------------
class SetItem(Function):
    """``x[index] = value``, recorded (PyTorch's CopySlices): x's array with the indexed part
    replaced, written in place. Derivative: for x, the gradient with zeros where value was
    written (``MaskOut``); for value, the gradient read back at the written positions (summed
    over broadcasting; a position that a repeated index wrote again gets nothing: last write
    wins, as in NumPy)."""

    __slots__ = ("index", "v_shape", "winners", "shape", "dtype")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, value: Tensor, index: Any) -> np.ndarray:
        ctx.index = index
        ctx.v_shape = value.data.shape
        ctx.shape = x.data.shape
        ctx.dtype = x.data.dtype
        ctx.winners = None
        if not _is_basic(index) and value.requires_grad:
            ctx.winners = _last_writes(x.data.shape, index)
        x.data[index] = value.data
        return x.data

    @staticmethod
    def jvp(ctx: Any, tx: Any, tv: Any, *_: Any) -> Any:
        # The tangent of x with the written part replaced by value's tangent (a fresh array:
        # MaskOut copies, then the write goes into that copy).
        if tx is not None:
            base = MaskOut.apply(tx, ctx.index)
        else:
            base = Tensor._make(np.zeros(ctx.shape, ctx.dtype), False, None)
        if tv is None:
            return base
        return SetItem.apply(base, tv, ctx.index)

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        gx = D.adjoint(MaskOut, grad, ctx.index) if ctx.needs_input_grad[0] else None
        gv = None
        if ctx.needs_input_grad[1]:
            gv = D.adjoint(GetItem, grad, ctx.index)
            shape = D.value(gv).shape
            if ctx.winners is not None:
                gv = gv * ctx.winners.astype(D.value(grad).dtype)
            extra = len(ctx.v_shape) - len(shape)
            if extra > 0:  # NumPy lets value have leading axes of length 1 beyond the target's
                gv = D.reshape(gv, (1,) * extra + shape)
            gv = D.sum_to_shape(gv, ctx.v_shape)
        return gx, gv, None


def _last_writes(shape: tuple[int, ...], index: Any) -> np.ndarray | None:
    """Where ``x[index] = v`` writes one place twice (a repeated integer index), which of the
    written elements survive (the last, as in NumPy); None when every write survives."""
    target = np.full(shape, -1, dtype=np.intp)
    n = np.empty(shape, dtype=np.int8)[index].shape
    ids = np.arange(int(np.prod(n)), dtype=np.intp).reshape(n)
    target[index] = ids
    won = target[index] == ids
    return None if won.all() else won


class MaskOut(Function):
    """The gradient with zeros at ``index`` (what reaches x's old value after
    ``x[index] = value``). Linear and its own adjoint: the derivative is MaskOut again."""

    __slots__ = ("index",)
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, g: Tensor, index: Any) -> np.ndarray:
        ctx.index = index
        out = g.data.copy()
        out[index] = 0
        return out

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        return MaskOut.apply(t, ctx.index)

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        return D.adjoint(MaskOut, grad, ctx.index), None


def setitem(x: Tensor, index: Any, value: Any) -> None:
    """``x[index] = value`` in place (what ``Tensor.__setitem__`` does).

    Recorded, as PyTorch's ``copy_slices``, when grad mode is on and ``value`` requires grad or
    ``x`` is a non-leaf that requires grad: x then gets a new ``grad_fn`` (``setitem``) and the
    gradient flows to ``value`` for the written part and to x's earlier value elsewhere.
    Refused while recording: writing into a leaf that requires grad (its ``.grad`` could not
    mean anything), into a view of another tensor (the other tensor's history would not know
    about the write; index in one step, ``x[0, 1] = w``, or clone the view), and a value that
    requires grad into an integer tensor.

    >>> w = mg.tensor([1.0, 2.0], requires_grad=True)
    >>> z = mg.zeros(2)
    >>> z[0] = w[0] * 2
    >>> (z + w).sum().backward()
    >>> w.grad
    tensor([3., 1.])
    """
    idx = normalize_index(index)
    v = value if isinstance(value, Tensor) else None
    tx = tv = None
    if _fw.level:  # forward mode: the write changes x's tangent as it changes x
        tx = tangent_of(x)
        tv = tangent_of(v) if v is not None else None
    _write(x, idx, index, value, v)
    if tx is not None or tv is not None:
        base = (apply_op(MaskOut, (tx, idx)) if tx is not None
                else Tensor._make(np.zeros(x.data.shape, x.data.dtype), False, None))
        _set_tangent(x, base if tv is None else apply_op(SetItem, (base, tv, idx)))


def _write(x: Tensor, idx: Any, index: Any, value: Any, v: Tensor | None) -> None:
    if not (_state.enabled and (x.requires_grad or (v is not None and v.requires_grad))):
        vd = value.data if v is not None else value
        x._inplace("__setitem__", lambda a: a.__setitem__(idx, vd))
        return
    if x.grad_fn is None and x.requires_grad:
        raise RuntimeError(
            "setitem: in-place write into a leaf tensor that requires grad while grad mode is "
            "on. Wrap it in `with mg.no_grad():` (e.g. to initialise a parameter) or write into "
            "a copy: y = x.clone(); y[index] = value."
        )
    if x._is_view():
        raise RuntimeError(
            "setitem: recording a write into a view of another tensor (x[0][1] = w, or "
            "v = x[:2]; v[0] = w) is not supported: the other tensor's recorded history would "
            "not see the write. Index the tensor in one step (x[0, 1] = w) or write into "
            "v.clone()."
        )
    if x.data.dtype.kind not in "fc":
        raise RuntimeError(
            f"setitem: writing a value that requires grad into a tensor of dtype "
            f"{x.data.dtype}, which cannot carry gradients; convert it first "
            "(x = x.to(mg.float32))."
        )
    old = Tensor._make(x.data, x.requires_grad, x.grad_fn)  # x as it was: the node's input
    old._output_nr = x._output_nr
    try:
        out = apply_op(SetItem, (old, v if v is not None else as_tensor(value), idx))
    except (IndexError, ValueError) as e:
        raise type(e)(f"setitem: cannot write a value of shape {np.shape(_raw(value))} at index "
                      f"{index!r} of a tensor of shape {x.shape}: {e}") from None
    x._bump()  # before taking the new history: the old node's output was overwritten
    x.grad_fn = out.grad_fn
    x.requires_grad = True  # type: ignore[misc]  # a property beside __slots__
    x._output_nr = 0
