"""Op database entries for ``mg.linalg`` and the diagonal ops (collected by ``tests/op_db.py``).

Inputs are built so that finite differences are meaningful: well-conditioned matrices (random
plus a multiple of the identity), and for ``eigh``/``svd`` matrices with well-separated
eigen/singular values. Decompositions whose vectors are only defined up to sign are checked
through sign-invariant functions of them (V * V, U @ Vh), as PyTorch's OpInfo does.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import numpy as np

import microgradnet as mg
from tests.op_db import OpInfo
from tests.strategies import arrays

L = mg.linalg
_batch = st.sampled_from([(), (2,)])
_n = st.integers(1, 3)


def _well(shape: tuple[int, ...]) -> st.SearchStrategy:
    """Random entries in [-1, 1] plus (n + 1.5)·I: diagonally dominant, far from singular."""
    n = shape[-1]
    return arrays(shape, (-1.0, 1.0)).map(lambda a: a + (n + 1.5) * np.eye(n))


@st.composite
def square(draw: st.DrawFn, well: bool = True) -> tuple[list, dict]:
    shape = draw(_batch) + (draw(_n),) * 2
    return [draw(_well(shape) if well else arrays(shape, (-2.0, 2.0)))], {}


@st.composite
def singular(draw: st.DrawFn) -> tuple[list, dict]:
    """Rank-deficient matrices: the last column a combination of the others (or zero)."""
    (a,), _ = draw(square(well=False))
    w = draw(arrays(a.shape[-1:], (-1.0, 1.0)))
    a = a.copy()
    a[..., :, -1] = a[..., :, :-1] @ w[:-1]
    return [a], {}


@st.composite
def solve_sample(draw: st.DrawFn) -> tuple[list, dict]:
    b, n = draw(_batch), draw(_n)
    a = draw(_well(b + (n, n)))
    kind = draw(st.sampled_from(["vector", "matrix", "broadcast"]))
    if kind == "vector":
        rhs = draw(arrays((n,), (-2.0, 2.0)))
    elif kind == "matrix":
        rhs = draw(arrays(b + (n, draw(st.integers(1, 2))), (-2.0, 2.0)))
    else:  # B has batch axes A lacks
        rhs = draw(arrays((2, n, 1), (-2.0, 2.0)))
    return [a, rhs], {}


@st.composite
def rect(draw: st.DrawFn, kind: str = "any") -> tuple[list, dict]:
    b = draw(_batch)
    m, n = draw(_n), draw(_n)
    if kind == "tall":
        m = max(m, n)
    return [draw(arrays(b + (m, n), (-2.0, 2.0)))], {}


@st.composite
def separated(draw: st.DrawFn, symmetric: bool) -> tuple[list, dict]:
    """Q diag(d) Pᵀ with |d| spaced at least 0.5 apart (and from 0): a well-posed eigh/svd."""
    b = draw(_batch)
    m = draw(_n)
    n = m if symmetric else draw(_n)
    k = min(m, n)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    d = np.sort(rng.permutation(np.arange(1, 5))[:k] * 0.6 + rng.uniform(0, 0.1, k))
    if symmetric:
        d = d * rng.choice([-1.0, 1.0], k)
    q = np.linalg.qr(rng.normal(size=b + (m, m)))[0]
    p = q if symmetric else np.linalg.qr(rng.normal(size=b + (n, n)))[0]
    mid = np.zeros(b + (m, n))
    mid[..., range(k), range(k)] = d
    return [q @ mid @ np.swapaxes(p, -1, -2)], {}


@st.composite
def full_rank(draw: st.DrawFn, tall: bool = False) -> tuple[list, dict]:
    """Rectangular matrices with singular values in [1, 2] (constant rank near them)."""
    b = draw(_batch)
    m, n = draw(_n), draw(_n)
    if tall:
        m, n = max(m, n), min(m, n)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    k = min(m, n)
    u = np.linalg.qr(rng.normal(size=b + (m, m)))[0][..., :k]
    v = np.linalg.qr(rng.normal(size=b + (n, n)))[0][..., :k]
    s = rng.uniform(1.0, 2.0, b + (k,))
    return [(u * s[..., None, :]) @ np.swapaxes(v, -1, -2)], {}


@st.composite
def lstsq_sample(draw: st.DrawFn) -> tuple[list, dict]:
    (a,), _ = draw(full_rank(tall=True))
    rhs = draw(arrays(a.shape[:-1] if draw(st.booleans()) else a.shape[:-1] + (2,),
                      (-2.0, 2.0)))
    if a.ndim == 3 and rhs.ndim == 2:
        rhs = rhs[..., None]
    return [a, rhs], {}


@st.composite
def power_sample(draw: st.DrawFn) -> tuple[list, dict]:
    (a,), _ = draw(square())
    return [a / a.shape[-1], draw(st.integers(-2, 3))], {}


@st.composite
def cross_sample(draw: st.DrawFn) -> tuple[list, dict]:
    lead = draw(st.sampled_from([(), (2,), (1,)]))
    other = draw(st.sampled_from([(), (2,)]))
    axis = draw(st.sampled_from([-1, 0]))
    sa, sb = lead + (3,), other + (3,)
    if axis == 0:
        sa = sb = (3,) + lead
    return [draw(arrays(sa, (-2.0, 2.0))), draw(arrays(sb, (-2.0, 2.0)))], {"axis": axis}


@st.composite
def vnorm_sample(draw: st.DrawFn) -> tuple[list, dict]:
    shape = draw(st.sampled_from([(3,), (2, 3), (2, 2, 2)]))
    a = draw(arrays(shape, (-2.0, 2.0), exclude=((-0.1, 0.1),)))
    ord_ = draw(st.sampled_from([2, 1, 3, 0.5, -1.5, np.inf, -np.inf]))
    if abs(ord_) == np.inf:  # no ties for max/min
        a = a + np.arange(a.size).reshape(shape) * 0.37 * np.sign(a)
    axis = draw(st.sampled_from([None, -1, (0, -1)] if a.ndim > 1 else [None, -1, 0]))
    return [a], {"ord": ord_, "axis": axis, "keepdims": draw(st.booleans())}


@st.composite
def mnorm_sample(draw: st.DrawFn) -> tuple[list, dict]:
    ord_ = draw(st.sampled_from(["fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf]))
    if ord_ in ("nuc", 2, -2):
        (a,), _ = draw(separated(False))
    else:
        b = draw(_batch)
        a = draw(arrays(b + (3, 3), (-2.0, 2.0), exclude=((-0.1, 0.1),)))
        a = a + np.arange(9).reshape(3, 3) * 0.41 * np.sign(a)  # no ties between sums
    axis = (-2, -1) if a.ndim == 2 or draw(st.booleans()) else (0, 2)
    return [a], {"ord": ord_, "axis": axis, "keepdims": draw(st.booleans())}


def _np_mnorm(a: np.ndarray, ord: Any, axis: Any, keepdims: bool) -> np.ndarray:
    return np.linalg.norm(a, ord=ord, axis=axis, keepdims=keepdims)


def _np_vnorm(a: np.ndarray, ord: Any, axis: Any, keepdims: bool) -> np.ndarray:
    if axis is None:
        out = np.linalg.norm(a.ravel(), ord=ord)
        return np.reshape(out, (1,) * a.ndim) if keepdims else out
    if isinstance(axis, tuple):
        ax = tuple(x % a.ndim for x in axis)
        rest = [i for i in range(a.ndim) if i not in ax]
        moved = np.transpose(a, rest + list(ax)).reshape([a.shape[i] for i in rest] + [-1])
        out = np.linalg.norm(moved, ord=ord, axis=-1)
        if keepdims:
            out = np.expand_dims(out, ax)
        return out
    return np.linalg.norm(a, ord=ord, axis=axis, keepdims=keepdims)


def _sym(x: Any) -> Any:
    return x + np.swapaxes(x, -1, -2) if isinstance(x, np.ndarray) else x + x.mT


def _chol_in(x: Any) -> Any:
    n = x.shape[-1]
    if isinstance(x, np.ndarray):
        return x @ np.swapaxes(x, -1, -2) + n * np.eye(n)
    return x @ x.mT + mg.tensor(n * np.eye(n))


def _eigh(x: Any) -> tuple[Any, Any]:
    w, v = L.eigh(_sym(x))
    return w, v * v


def _np_eigh(x: np.ndarray) -> tuple[Any, Any]:
    w, v = np.linalg.eigh(_sym(x))
    return w, v * v


def _svd(x: Any) -> tuple[Any, Any, Any]:
    u, s, vh = L.svd(x, full_matrices=False)
    return u * u, s, u @ vh


def _np_svd(x: np.ndarray) -> tuple[Any, Any, Any]:
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    return u * u, s, u @ vh


def _np_lstsq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.pinv(a) @ b if b.ndim == a.ndim else (np.linalg.pinv(a) @ b[..., None])[..., 0]


OPS: list[OpInfo] = [
    # -- diagonals and triangles -----------------------------------------------------------
    OpInfo("diagonal", lambda x, off, a1, a2: mg.diagonal(x, off, a1, a2), np.diagonal,
           gen=st.sampled_from([(2, 3), (3, 3), (2, 3, 2)]).flatmap(
               lambda s: st.tuples(arrays(s, (-2.0, 2.0)), st.integers(-2, 2),
                                   st.sampled_from([(0, 1), (1, 0), (-1, 0)]))).map(
               lambda t: ([t[0], t[1], *t[2]], {}))),
    OpInfo("trace", mg.trace, np.trace, gen=st.sampled_from([(2, 3), (3, 3), (2, 2, 3)]).flatmap(
        lambda s: arrays(s, (-2.0, 2.0))).map(lambda a: ([a], {}))),
    OpInfo("diag", mg.diag, np.diag, gen=st.sampled_from([(3,), (2, 3), (3, 3)]).flatmap(
        lambda s: st.tuples(arrays(s, (-2.0, 2.0)), st.integers(-1, 1))).map(
        lambda t: (list(t), {}))),
    OpInfo("diag_embed", mg.diag_embed, lambda x: np.apply_along_axis(np.diag, -1, x),
           gen=st.sampled_from([(3,), (2, 3)]).flatmap(lambda s: arrays(s, (-2.0, 2.0))).map(
               lambda a: ([a], {}))),
    OpInfo("tril", mg.tril, np.tril, gen=st.sampled_from([(2, 3), (3, 3), (2, 3, 2)]).flatmap(
        lambda s: st.tuples(arrays(s, (-2.0, 2.0)), st.integers(-1, 1))).map(
        lambda t: (list(t), {}))),
    OpInfo("triu", mg.triu, np.triu, gen=st.sampled_from([(2, 3), (3, 3), (2, 3, 2)]).flatmap(
        lambda s: st.tuples(arrays(s, (-2.0, 2.0)), st.integers(-1, 1))).map(
        lambda t: (list(t), {}))),
    # -- mg.linalg --------------------------------------------------------------------------
    OpInfo("linalg.solve", L.solve, np.linalg.solve, gen=solve_sample()),
    OpInfo("linalg.inv", L.inv, np.linalg.inv, gen=square()),
    OpInfo("linalg.det", L.det, np.linalg.det, gen=square()),
    # At singular matrices the gradient is the cofactor matrix, through the SVD (first order).
    OpInfo("linalg.det_singular", L.det, np.linalg.det, gen=singular(), second_order=False),
    OpInfo("linalg.slogdet", lambda x: tuple(L.slogdet(x)), lambda x: tuple(np.linalg.slogdet(x)),
           gen=square()),
    OpInfo("linalg.cholesky", lambda x: L.cholesky(_chol_in(x)),
           lambda x: np.linalg.cholesky(_chol_in(x)), gen=square(False)),
    OpInfo("linalg.cholesky_upper", lambda x: L.cholesky(_chol_in(x), upper=True),
           lambda x: np.swapaxes(np.linalg.cholesky(_chol_in(x)), -1, -2), gen=square(False)),
    OpInfo("linalg.qr", lambda x: tuple(L.qr(x)), lambda x: tuple(np.linalg.qr(x)),
           gen=full_rank()),
    OpInfo("linalg.qr_r", lambda x: L.qr(x, mode="r"), lambda x: np.linalg.qr(x, mode="r"),
           gen=full_rank(tall=True)),
    OpInfo("linalg.eigh", _eigh, _np_eigh, gen=separated(True).map(
        lambda s: ([s[0][0] / 2], {}))),
    OpInfo("linalg.eigvalsh", lambda x: L.eigvalsh(_sym(x)), lambda x: np.linalg.eigvalsh(_sym(x)),
           gen=separated(True)),
    OpInfo("linalg.svd", _svd, _np_svd, gen=separated(False)),
    OpInfo("linalg.svdvals", L.svdvals, lambda x: np.linalg.svd(x, compute_uv=False),
           gen=separated(False)),
    OpInfo("linalg.pinv", L.pinv, np.linalg.pinv, gen=full_rank()),
    OpInfo("linalg.lstsq", lambda a, b: L.lstsq(a, b).solution, _np_lstsq, gen=lstsq_sample()),
    OpInfo("linalg.matrix_power", L.matrix_power, np.linalg.matrix_power, gen=power_sample()),
    OpInfo("linalg.vector_norm", L.vector_norm, _np_vnorm, gen=vnorm_sample()),
    OpInfo("linalg.matrix_norm", L.matrix_norm, _np_mnorm, gen=mnorm_sample()),
    OpInfo("linalg.norm", lambda x, axis: L.norm(x, axis=axis),
           lambda x, axis: np.linalg.norm(x, axis=axis),
           gen=st.sampled_from([((3,), None), ((2, 3), None), ((2, 3), 1), ((2, 3, 2), (0, 2))]
                               ).flatmap(lambda sa: st.tuples(
                                   arrays(sa[0], (-2.0, 2.0), exclude=((-0.1, 0.1),)),
                                   st.just(sa[1]))).map(lambda t: (list(t), {}))),
    OpInfo("linalg.cross", L.cross, lambda a, b, axis: np.cross(a, b, axis=axis),
           gen=cross_sample()),
]
