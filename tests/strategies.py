"""Hypothesis strategies shared by the tests (built on the public ``microgradnet.testing``)."""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np

from microgradnet.testing import arrays, broadcastable_shapes, shapes

__all__ = ["arrays", "broadcastable_shapes", "shapes", "small_shapes", "small_bshapes",
           "axis_for"]

# Small on purpose: gradcheck cost grows with the number of elements; spend the budget on variety
# (0-d, size-1 axes, broadcasting) rather than size.
small_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)


def small_bshapes(n: int) -> st.SearchStrategy:
    return broadcastable_shapes(n, min_dims=0, max_dims=3, min_side=1, max_side=3)


@st.composite
def axis_for(draw: st.DrawFn, shape: tuple[int, ...], allow_none: bool = True,
             allow_tuple: bool = True) -> object:
    """None, an int (possibly negative) or a tuple of distinct axes valid for ``shape``."""
    nd = len(shape)
    options = []
    if allow_none:
        options.append(st.none())
    if nd:
        options.append(st.integers(-nd, nd - 1))
        if allow_tuple:
            options.append(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd,
                                    unique=True).map(tuple))
    if not options:
        return None
    return draw(st.one_of(*options))


def float_arrays(shape: tuple[int, ...], lo: float = -2.0, hi: float = 2.0) -> st.SearchStrategy:
    return arrays(shape, (lo, hi), np.float64)
