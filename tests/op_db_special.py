"""Op database entries for ops/special.py, ops/scan.py and ops/einsum.py (collected by
``tests/op_db.py``)."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import numpy as np

import microgradnet as mg
from tests.op_db import OpInfo
from tests.strategies import arrays, small_shapes

_erfc = np.vectorize(math.erfc, otypes=[np.float64])
_STEPS = ((-0.05, 0.05),)  # keep finite differences off the jumps at integers / halves


def _off_integers(shape: tuple[int, ...]) -> st.SearchStrategy:
    """Values at least 0.1 away from every integer and half-integer (rounding's jumps)."""
    return arrays(shape, (-3.0, 3.0)).map(lambda a: np.floor(a * 2) / 2 + 0.25)


def _rounding(name: str, op: object, ref: object) -> OpInfo:
    return OpInfo(name, op, ref, gen=small_shapes.flatmap(_off_integers).map(lambda a: ([a], {})))


@st.composite
def _axis_sample(draw: st.DrawFn, domain: tuple[float, float] = (-2.0, 2.0),
                 exclude: tuple[tuple[float, float], ...] = ()) -> tuple[list, dict]:
    shape = draw(small_shapes)
    a = draw(arrays(shape, domain, exclude=exclude))
    nd = len(shape)
    axis = draw(st.one_of(st.none(), st.integers(-nd, nd - 1))) if nd else None
    return [a], {"axis": axis}


@st.composite
def _cumprod_zero(draw: st.DrawFn) -> tuple[list, dict]:
    """cumprod with exact zeros: the derivative must not divide by them."""
    n = draw(st.integers(2, 4))
    a = draw(arrays((2, n), (-2.0, 2.0)))
    a[:, draw(st.integers(0, n - 1))] = 0.0
    if draw(st.booleans()):
        a[0, draw(st.integers(0, n - 1))] = 0.0
    return [a], {"axis": 1}


@st.composite
def _diff_sample(draw: st.DrawFn) -> tuple[list, dict]:
    shape = draw(st.sampled_from([(4,), (2, 4), (3, 2)]))
    a = draw(arrays(shape, (-2.0, 2.0)))
    kw = {"n": draw(st.integers(0, 2)), "axis": draw(st.sampled_from([-1, 0]))}
    if draw(st.booleans()):
        kw["prepend"] = 0.5
    return [a], kw


_EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 2)]),
    ("ij,jk", [(2, 3), (3, 2)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]),
    ("i,i->", [(3,), (3,)]),
    ("i,j->ij", [(2,), (3,)]),
    ("ij,kj,k->i", [(2, 3), (2, 3), (2,)]),
    ("iij->j", [(2, 2, 3)]),
    ("ab,b->a", [(1, 3), (3,)]),
]


@st.composite
def _einsum_sample(draw: st.DrawFn) -> tuple[list, dict]:
    spec, shapes = draw(st.sampled_from(_EINSUM))
    return [spec] + [draw(arrays(s, (-2.0, 2.0))) for s in shapes], {}


def _np_einsum(spec: str, *ops: np.ndarray) -> np.ndarray:
    return np.einsum(spec, *ops)


OPS: list[OpInfo] = [
    OpInfo("arcsin", mg.arcsin, np.arcsin, domain=(-0.9, 0.9)),
    OpInfo("arccos", mg.arccos, np.arccos, domain=(-0.9, 0.9)),
    OpInfo("arctan", mg.arctan, np.arctan, domain=(-3.0, 3.0)),
    OpInfo("sinh", mg.sinh, np.sinh),
    OpInfo("cosh", mg.cosh, np.cosh),
    OpInfo("arcsinh", mg.arcsinh, np.arcsinh, domain=(-3.0, 3.0)),
    OpInfo("arccosh", mg.arccosh, np.arccosh, domain=(1.1, 4.0)),
    OpInfo("arctanh", mg.arctanh, np.arctanh, domain=(-0.9, 0.9)),
    OpInfo("exp2", mg.exp2, np.exp2),
    OpInfo("erfc", mg.erfc, _erfc, domain=(-3.0, 3.0)),
    OpInfo("arctan2", mg.arctan2, np.arctan2, arity=2, exclude=((-0.2, 0.2),)),
    OpInfo("hypot", mg.hypot, np.hypot, arity=2, exclude=((-0.2, 0.2),)),
    OpInfo("logaddexp", mg.logaddexp, np.logaddexp, arity=2, domain=(-5.0, 5.0)),
    _rounding("floor", mg.floor, np.floor),
    _rounding("ceil", mg.ceil, np.ceil),
    _rounding("round", mg.round, np.round),
    _rounding("trunc", mg.trunc, np.trunc),
    OpInfo("round_decimals", lambda x: mg.round(x, decimals=1), lambda x: np.round(x, 1),
           gen=small_shapes.flatmap(_off_integers).map(lambda a: ([a / 10], {}))),
    OpInfo("cumsum", mg.cumsum, np.cumsum, gen=_axis_sample()),
    OpInfo("cumprod", mg.cumprod, np.cumprod, gen=_axis_sample(exclude=((-0.2, 0.2),))),
    OpInfo("cumprod_zeros", mg.cumprod, np.cumprod, gen=_cumprod_zero()),
    OpInfo("diff", mg.diff, np.diff, gen=_diff_sample()),
    OpInfo("einsum", mg.einsum, _np_einsum, gen=_einsum_sample()),
    # broadcasting of the two-argument ops against a scalar
    OpInfo("hypot_scalar", lambda x: mg.hypot(x, 1.5), lambda x: np.hypot(x, 1.5)),
    OpInfo("logaddexp_big", lambda x, y: mg.logaddexp(x * 400.0, y * 400.0),
           lambda x, y: np.logaddexp(x * 400.0, y * 400.0), arity=2, atol=1e-4),
]
