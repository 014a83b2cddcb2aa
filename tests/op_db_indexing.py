"""Op database entries for indexing: the forms of ``x[index]``, ``gather``, ``take_along_axis``
and ``scatter_add``.

Collected by ``tests/op_db.py``: each entry gets forward-vs-NumPy, gradcheck and gradgradcheck
tests on hypothesis inputs. Integer index arrays pass through unchanged (drawn with repeats, so
the scatter-add in the backward is exercised); float64 arrays become Tensors.
"""

from __future__ import annotations

from typing import Any

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np

import microgradnet as mg
from tests.op_db import OpInfo
from tests.strategies import arrays, small_shapes

_shape1 = st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple)
_shape2 = st.lists(st.integers(1, 3), min_size=2, max_size=3).map(tuple)
_shape3 = st.lists(st.integers(1, 3), min_size=3, max_size=3).map(tuple)


def _f(shape: tuple[int, ...]) -> st.SearchStrategy:
    return arrays(shape, (-2.0, 2.0))


def _ints(shape: Any, n: int) -> st.SearchStrategy:
    """Index arrays into an axis of length ``n`` (negative indices included, repeats likely)."""
    return hnp.arrays(np.int64, shape, elements=st.integers(-n, n - 1))


def _index_shape(max_dims: int = 2) -> st.SearchStrategy:
    return st.lists(st.integers(0, 3), min_size=0, max_size=max_dims).map(tuple)


# -- getitem ----------------------------------------------------------------------------------
def _with_index(shapes: st.SearchStrategy, index: Any) -> st.SearchStrategy:
    """(x, index) where ``index(draw, shape)`` draws an index for an array of that shape."""
    @st.composite
    def sample(draw: st.DrawFn) -> tuple[list, dict]:
        shape = draw(shapes)
        return [draw(_f(shape)), index(draw, shape)], {}
    return sample()


def _int_index(draw: st.DrawFn, shape: tuple[int, ...]) -> Any:
    return draw(st.integers(-shape[0], shape[0] - 1))


def _array_index(draw: st.DrawFn, shape: tuple[int, ...]) -> Any:
    return draw(_ints(_index_shape(), shape[0]))


def _separated_arrays(draw: st.DrawFn, shape: tuple[int, ...]) -> Any:
    # advanced indices separated by a slice: the broadcast index axes move to the front
    ishape = draw(_index_shape())
    return (draw(_ints(ishape, shape[0])), slice(None), draw(_ints(ishape, shape[2])))


def _mixed(draw: st.DrawFn, shape: tuple[int, ...]) -> Any:
    return (slice(None, None, -1), None, draw(_ints(_index_shape(1), shape[1])), Ellipsis)


def _mask(draw: st.DrawFn, shape: tuple[int, ...]) -> Any:
    return draw(hnp.arrays(np.bool_, shape[:1])), slice(None, None, 2)


OPS: list[OpInfo] = [
    OpInfo("getitem_int", lambda x, i: x[i], lambda x, i: x[i],
           gen=_with_index(_shape1, _int_index)),
    OpInfo("getitem_newaxis_ellipsis", lambda x: x[None, ..., -1], lambda x: x[None, ..., -1],
           gen=_shape1.flatmap(_f).map(lambda a: ([a], {}))),
    OpInfo("getitem_negative_step", lambda x: x[::-1, None, 1:], lambda x: x[::-1, None, 1:],
           gen=_shape2.flatmap(_f).map(lambda a: ([a], {}))),
    OpInfo("getitem_int_array", lambda x, i: x[i], lambda x, i: x[i],
           gen=_with_index(_shape1, _array_index)),
    OpInfo("getitem_int_tensor", lambda x, i: x[mg.tensor(i)], lambda x, i: x[i],
           gen=_with_index(_shape1, _array_index)),
    OpInfo("getitem_separated_arrays", lambda x, i: x[i], lambda x, i: x[i],
           gen=_with_index(_shape3, _separated_arrays)),
    OpInfo("getitem_mixed", lambda x, i: x[i], lambda x, i: x[i],
           gen=_with_index(_shape3, _mixed)),
    OpInfo("getitem_mask_slice", lambda x, i: x[i], lambda x, i: x[i],
           gen=_with_index(_shape3, _mask)),
    OpInfo("getitem_bool_tensor", lambda x, m: x[mg.tensor(m)], lambda x, m: x[m],
           gen=small_shapes.flatmap(lambda s: st.tuples(_f(s), hnp.arrays(np.bool_, s)))
           .map(lambda t: (list(t), {}))),
]


# -- setitem (x[index] = value, recorded) ---------------------------------------------------------
@st.composite
def setitem_sample(draw: st.DrawFn) -> tuple[list, dict]:
    """(x, value, index): every index form getitem takes, repeats included (last write wins);
    value has the written block's shape or a shape that broadcasts to it."""
    shape = draw(_shape3)
    index = draw(st.sampled_from([_int_index, _array_index, _separated_arrays, _mixed, _mask,
                                  lambda d, s: (slice(None, None, 2), Ellipsis, 0)]))(draw, shape)
    block = np.empty(shape)[index].shape
    vshape = block[1:] if block and draw(st.booleans()) else block  # broadcast over axis 0
    return [draw(_f(shape)), draw(_f(vshape)), index], {}


def _setitem(x: Any, v: Any, index: Any) -> Any:
    h = x * 1.0  # a non-leaf: x's gradient flows where v did not overwrite
    mg.setitem(h, index, v)
    return h


def _np_setitem(x: np.ndarray, v: np.ndarray, index: Any) -> np.ndarray:
    h = x.copy()
    h[index] = v
    return h


OPS += [
    OpInfo("setitem", _setitem, _np_setitem, gen=setitem_sample()),
]


# -- gather, take_along_axis, scatter_add --------------------------------------------------------
@st.composite
def gather_sample(draw: st.DrawFn) -> tuple[list, dict]:
    shape = draw(_shape1)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    ishape = tuple(draw(st.integers(0, 3)) if k == dim % len(shape) else draw(st.integers(0, n))
                   for k, n in enumerate(shape))
    return [draw(_f(shape)), dim, draw(_ints(ishape, shape[dim]))], {}


def np_gather(x: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
    """PyTorch's gather with NumPy: the leading block of x that index covers, then
    take_along_axis."""
    d = dim % x.ndim
    block = tuple(slice(None) if k == d else slice(0, i) for k, i in enumerate(index.shape))
    return np.take_along_axis(x[block], index, d)


@st.composite
def take_along_axis_sample(draw: st.DrawFn) -> tuple[list, dict]:
    shape = draw(_shape1)
    if draw(st.booleans()):  # axis=None: 1-d indices into the flattened input
        return [draw(_f(shape)), draw(_ints(st.integers(0, 4).map(lambda k: (k,)),
                                           int(np.prod(shape)))), None], {}
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    a = axis % len(shape)
    xshape, ishape = [], []
    for k, n in enumerate(shape):  # outside axis: equal sizes, or either side of size 1
        if k == a:
            xshape.append(n)
            ishape.append(draw(st.integers(0, 3)))
        else:
            kind = draw(st.sampled_from(["same", "x1", "i1"]))
            xshape.append(1 if kind == "x1" else n)
            ishape.append(1 if kind == "i1" else n)
    return [draw(_f(tuple(xshape))), draw(_ints(tuple(ishape), shape[a])), axis], {}


@st.composite
def scatter_add_sample(draw: st.DrawFn) -> tuple[list, dict]:
    shape = draw(_shape1)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    d = dim % len(shape)
    ishape = tuple(draw(st.integers(0, 3)) if k == d else draw(st.integers(0, n))
                   for k, n in enumerate(shape))
    sshape = tuple(i + draw(st.integers(0, 1)) for i in ishape)  # src may be larger than index
    return [draw(_f(shape)), dim, draw(_ints(ishape, shape[d])), draw(_f(sshape))], {}


def np_scatter_add(x: np.ndarray, dim: int, index: np.ndarray, src: np.ndarray) -> np.ndarray:
    d = dim % x.ndim
    out = x.copy()
    pos = [np.arange(n).reshape((1,) * k + (n,) + (1,) * (index.ndim - k - 1))
           for k, n in enumerate(index.shape)]
    pos[d] = index
    np.add.at(out, tuple(pos), src[tuple(slice(0, i) for i in index.shape)])
    return out


OPS += [
    OpInfo("gather", mg.gather, np_gather, gen=gather_sample()),
    OpInfo("gather_method", lambda x, d, i: x.gather(d, mg.tensor(i)), np_gather,
           gen=gather_sample()),
    OpInfo("take_along_axis", mg.take_along_axis, np.take_along_axis,
           gen=take_along_axis_sample()),
    OpInfo("scatter_add", mg.scatter_add, np_scatter_add, gen=scatter_add_sample()),
]
