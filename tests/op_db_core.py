"""Op database entries for public ops that ``tests/op_db.py`` and the family modules leave out.

Found by the coverage test in ``test_op_db.py``: reshape/view, permute, transpose with two axes,
swapaxes, expand, dot, outer, sign, cast and ``getitem`` called by name. Collected by
``tests/op_db.py``; each entry gets forward-vs-NumPy, gradcheck and gradgradcheck tests.
"""

from __future__ import annotations

from typing import Any

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np

import microgradnet as mg
from tests.op_db import OpInfo
from tests.strategies import arrays, small_shapes

_nonscalar = small_shapes.filter(lambda s: len(s) > 0)


def _f(shape: tuple[int, ...]) -> st.SearchStrategy:
    return arrays(shape, (-2.0, 2.0))


@st.composite
def reshape_sample(draw: st.DrawFn) -> tuple[list, dict]:
    """A target with the same number of elements, sometimes with a -1 to infer."""
    shape = draw(small_shapes)
    n = int(np.prod(shape, dtype=np.int64))
    options = [shape[::-1], (n,), (n, 1), (1,) + shape + (1,)]
    if n == 1:
        options.append(())  # one element: a 0-d result
    target = draw(st.sampled_from(options))
    if target and draw(st.booleans()):
        i = draw(st.integers(0, len(target) - 1))
        target = target[:i] + (-1,) + target[i + 1:]
    return [draw(_f(shape)), tuple(target)], {}


@st.composite
def permute_sample(draw: st.DrawFn) -> tuple[list, dict]:
    shape = draw(small_shapes)
    dims = draw(st.permutations(range(len(shape))))
    return [draw(_f(shape)), tuple(dims)], {}


@st.composite
def two_axes_sample(draw: st.DrawFn) -> tuple[list, dict]:
    """Two axes (possibly equal, possibly negative) of a non-scalar array."""
    shape = draw(_nonscalar)
    nd = len(shape)
    a, b = draw(st.integers(-nd, nd - 1)), draw(st.integers(-nd, nd - 1))
    return [draw(_f(shape)), a, b], {}


@st.composite
def expand_sample(draw: st.DrawFn) -> tuple[list, dict]:
    """New leading axes, size-1 axes grown, and -1 keeping an axis's size (PyTorch)."""
    shape = draw(small_shapes)
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    rest = tuple(draw(st.sampled_from([-1, s, 2])) if s == 1 else draw(st.sampled_from([-1, s]))
                 for s in shape)
    return [draw(_f(shape)), lead + rest], {}


def np_expand(x: np.ndarray, target: tuple[int, ...]) -> np.ndarray:
    lead = len(target) - x.ndim
    return np.broadcast_to(x, tuple(x.shape[i - lead] if s == -1 else s
                                    for i, s in enumerate(target)))


_dot_sample = st.integers(1, 4).flatmap(lambda k: st.tuples(_f((k,)), _f((k,)))).map(
    lambda t: (list(t), {}))


_outer_sample = st.tuples(st.integers(1, 4), st.integers(1, 4)).flatmap(
    lambda km: st.tuples(_f((km[0],)), _f((km[1],)))).map(lambda t: (list(t), {}))


@st.composite
def basic_index_sample(draw: st.DrawFn) -> tuple[list, dict]:
    """Any basic index (ints, slices with steps, Ellipsis, None) valid for the shape."""
    shape = draw(small_shapes)
    index = draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True))
    return [draw(_f(shape)), index], {}


def _getitem_ref(x: np.ndarray, index: Any) -> np.ndarray:
    return np.asarray(x[index])


OPS: list[OpInfo] = [
    OpInfo("reshape", lambda x, shape: mg.reshape(x, *shape), np.reshape, gen=reshape_sample(),
           aliases=("view",)),
    OpInfo("reshape_tuple", lambda x, shape: mg.view(x, shape), np.reshape, gen=reshape_sample()),
    OpInfo("permute", lambda x, dims: mg.permute(x, *dims), np.transpose, gen=permute_sample()),
    OpInfo("transpose_dims", mg.transpose, np.swapaxes, gen=two_axes_sample()),
    OpInfo("swapaxes", mg.swapaxes, np.swapaxes, gen=two_axes_sample()),
    OpInfo("expand", lambda x, shape: mg.expand(x, *shape), np_expand, gen=expand_sample()),
    OpInfo("dot", mg.dot, np.dot, gen=_dot_sample),
    OpInfo("outer", mg.outer, np.outer, gen=_outer_sample),
    # sign's derivative is 0 away from 0 (the jump at 0 is excluded).
    OpInfo("sign", mg.sign, np.sign, exclude=((-0.05, 0.05),)),
    # float64 -> long double is exact, so finite differences see the derivative 1.
    OpInfo("cast", lambda x: mg.cast(x, np.longdouble), lambda x: x.astype(np.longdouble)),
    OpInfo("cast_float32", lambda x: mg.cast(x, np.float32), lambda x: x.astype(np.float32),
           differentiable=False),  # float32 rounding is far coarser than gradcheck's step
    OpInfo("getitem", mg.getitem, _getitem_ref, gen=basic_index_sample()),
]
