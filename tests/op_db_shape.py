"""Op database entries for the joining, splitting, flipping, padding and repeating shape ops.

Collected by ``tests/op_db.py``: each entry gets forward-vs-NumPy, gradcheck and gradgradcheck
tests on hypothesis inputs. Samples are ``(args, kwargs)``; float64 arrays become Tensors.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import numpy as np

import microgradnet as mg
from tests.op_db import OpInfo
from tests.strategies import arrays, small_shapes

_nonscalar = small_shapes.filter(lambda s: len(s) > 0)


def _f(shape: tuple[int, ...]) -> st.SearchStrategy:
    return arrays(shape, (-2.0, 2.0))


def _one(shapes: st.SearchStrategy = small_shapes) -> st.SearchStrategy:
    """One float array, no options."""
    return shapes.flatmap(_f).map(lambda a: ([a], {}))


# -- flatten ----------------------------------------------------------------------------------
@st.composite
def flatten_sample(draw: st.DrawFn) -> tuple[list, dict]:
    shape = draw(small_shapes)
    nd = max(len(shape), 1)
    s = draw(st.integers(-nd, nd - 1))
    e = draw(st.integers(s % nd, nd - 1))
    if draw(st.booleans()):
        e -= nd  # the same axis, counted from the end
    return [draw(_f(shape))], {"start_dim": s, "end_dim": e}


def np_flatten(x: np.ndarray, start_dim: int, end_dim: int) -> np.ndarray:
    if x.ndim == 0:
        return x.reshape(1)
    s, e = start_dim % x.ndim, end_dim % x.ndim
    return x.reshape(x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:])


# -- cat / stack --------------------------------------------------------------------------------
@st.composite
def cat_sample(draw: st.DrawFn) -> tuple[list, dict]:
    shape = draw(_nonscalar)
    nd = len(shape)
    axis = draw(st.integers(-nd, nd - 1))
    n = draw(st.integers(1, 3))
    parts = []
    for _ in range(n):
        s = list(shape)
        s[axis] = draw(st.integers(0, 3))  # size-0 pieces included
        parts.append(draw(_f(tuple(s))))
    kw = draw(st.sampled_from(["axis", "dim"]))
    return parts, {kw: axis}


@st.composite
def stack_sample(draw: st.DrawFn) -> tuple[list, dict]:
    shape = draw(small_shapes)
    nd = len(shape) + 1
    n = draw(st.integers(1, 3))
    return ([draw(_f(shape)) for _ in range(n)],
            {draw(st.sampled_from(["axis", "dim"])): draw(st.integers(-nd, nd - 1))})


def _axis(kw: dict[str, Any]) -> Any:
    return kw.get("axis", kw.get("dim"))


# -- split / chunk ----------------------------------------------------------------------------
@st.composite
def split_sample(draw: st.DrawFn, sections: bool) -> tuple[list, dict]:
    shape = list(draw(_nonscalar))
    nd = len(shape)
    axis = draw(st.integers(-nd, nd - 1))
    shape[axis] = draw(st.integers(0, 5))
    n = shape[axis]
    if sections:
        cuts = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
        arg: Any = [b - a for a, b in zip([0, *cuts], [*cuts, n])]
    else:
        arg = draw(st.integers(1, 4))
    return [draw(_f(tuple(shape))), arg], {"axis": axis}


@st.composite
def chunk_sample(draw: st.DrawFn) -> tuple[list, dict]:
    shape = list(draw(_nonscalar))
    nd = len(shape)
    axis = draw(st.integers(-nd, nd - 1))
    shape[axis] = draw(st.integers(0, 5))
    return [draw(_f(tuple(shape))), draw(st.integers(1, 4))], {"dim": axis}


def np_split(x: np.ndarray, size_or_sizes: Any, axis: int) -> list[np.ndarray]:
    """PyTorch's split written with NumPy (an int is a piece size)."""
    n = x.shape[axis]
    if isinstance(size_or_sizes, int):
        sizes = [size_or_sizes] * (n // size_or_sizes) + ([n % size_or_sizes] if
                                                           n % size_or_sizes else [])
        sizes = sizes or [0]
    else:
        sizes = size_or_sizes
    return np.split(x, np.cumsum(sizes)[:-1], axis=axis)


def np_chunk(x: np.ndarray, chunks: int, dim: int) -> list[np.ndarray]:
    n = x.shape[dim]
    if n == 0:
        return np.split(x, [0] * (chunks - 1), axis=dim)
    return np_split(x, -(-n // chunks), dim)


# -- flip, pad, repeat ------------------------------------------------------------------------
@st.composite
def flip_sample(draw: st.DrawFn) -> tuple[list, dict]:
    shape = draw(small_shapes)
    nd = len(shape)
    options: list[st.SearchStrategy] = [st.none()]
    if nd:
        options += [st.integers(-nd, nd - 1),
                    st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True)
                    .map(tuple)]
    return [draw(_f(shape))], {"axis": draw(st.one_of(*options))}


def np_flip(x: np.ndarray, axis: Any) -> np.ndarray:
    return np.flip(x, axis) if x.ndim else x


@st.composite
def pad_sample(draw: st.DrawFn, mode: str) -> tuple[list, dict]:
    shape = draw(small_shapes)
    nd = len(shape)
    width = st.integers(0, 3 if mode in ("reflect", "symmetric", "wrap") else 2)
    form = draw(st.sampled_from(["int", "pair", "per_axis"] if nd else ["int", "pair"]))
    if form == "int":
        pw: Any = draw(width)
    elif form == "pair":
        pw = (draw(width), draw(width))
    else:
        pw = tuple((draw(width), draw(width)) for _ in range(nd))
    kw: dict[str, Any] = {"pad_width": pw, "mode": mode}
    if mode == "constant":
        kw["value"] = draw(st.sampled_from([0.0, 1.5]))
    return [draw(_f(shape))], kw


def np_pad(x: np.ndarray, pad_width: Any, mode: str, value: float = 0.0) -> np.ndarray:
    if mode == "constant":
        return np.pad(x, pad_width, mode, constant_values=value)
    return np.pad(x, pad_width, {"replicate": "edge", "circular": "wrap"}.get(mode, mode))


@st.composite
def repeat_sample(draw: st.DrawFn) -> tuple[list, dict]:
    shape = draw(small_shapes)
    extra = draw(st.integers(0, 1))
    sizes = tuple(draw(st.integers(0, 2)) for _ in range(len(shape) + extra))
    return [draw(_f(shape)), *sizes], {}


@st.composite
def tile_sample(draw: st.DrawFn) -> tuple[list, dict]:
    shape = draw(small_shapes)
    reps = draw(st.one_of(st.integers(0, 2),
                          st.lists(st.integers(0, 2), max_size=len(shape) + 1).map(tuple)))
    return [draw(_f(shape)), reps], {}


@st.composite
def repeat_interleave_sample(draw: st.DrawFn, per_element: bool) -> tuple[list, dict]:
    shape = draw(small_shapes)
    nd = len(shape)
    axis = draw(st.one_of(st.none(), st.integers(-nd, nd - 1))) if nd else None
    n = int(np.prod(shape)) if axis is None else shape[axis]
    if per_element:
        reps: Any = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)),
                             dtype=np.int64)
    else:
        reps = draw(st.integers(0, 3))
    return [draw(_f(shape)), reps], {"axis": axis}


OPS: list[OpInfo] = [
    OpInfo("flatten", mg.flatten, np_flatten, gen=flatten_sample()),
    OpInfo("cat", lambda *xs, **kw: mg.cat(list(xs), **kw),
           lambda *xs, **kw: np.concatenate(xs, axis=_axis(kw)), gen=cat_sample(),
           aliases=("concatenate",)),
    OpInfo("stack", lambda *xs, **kw: mg.stack(xs, **kw),
           lambda *xs, **kw: np.stack(xs, axis=_axis(kw)), gen=stack_sample()),
    OpInfo("split_size", mg.split, np_split, gen=split_sample(False), aliases=("split",)),
    OpInfo("split_sections", mg.split, np_split, gen=split_sample(True)),
    # only the first piece is used: the unused pieces must contribute zero gradient
    OpInfo("split_first_piece", lambda x, s, axis: mg.split(x, s, axis)[0],
           lambda x, s, axis: np_split(x, s, axis)[0], gen=split_sample(False)),
    OpInfo("chunk", mg.chunk, np_chunk, gen=chunk_sample()),
    OpInfo("flip", mg.flip, np_flip, gen=flip_sample()),
    OpInfo("pad_constant", mg.pad, np_pad, gen=pad_sample("constant"), aliases=("pad",)),
    OpInfo("pad_reflect", mg.pad, np_pad, gen=pad_sample("reflect")),
    OpInfo("pad_edge", mg.pad, np_pad, gen=pad_sample("edge")),
    OpInfo("pad_replicate", mg.pad, np_pad, gen=pad_sample("replicate")),
    OpInfo("pad_symmetric", mg.pad, np_pad, gen=pad_sample("symmetric")),
    OpInfo("pad_wrap", mg.pad, np_pad, gen=pad_sample("wrap")),
    OpInfo("repeat", mg.repeat, lambda x, *sizes: np.tile(x, sizes), gen=repeat_sample()),
    OpInfo("tile", mg.tile, np.tile, gen=tile_sample()),
    OpInfo("repeat_interleave", mg.repeat_interleave, np.repeat,
           gen=repeat_interleave_sample(False)),
    OpInfo("repeat_interleave_per_element", mg.repeat_interleave, np.repeat,
           gen=repeat_interleave_sample(True)),
]
