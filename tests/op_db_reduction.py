"""Op database entries for the reduction family (collected by ``tests/op_db.py``)."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import numpy as np

import microgradnet as mg
from tests.op_db import OpInfo, reduction_sample
from tests.strategies import arrays, axis_for, small_shapes


def _count(shape: tuple[int, ...], axis: object) -> int:
    if axis is None:
        return int(np.prod(shape, dtype=np.int64))
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


@st.composite
def _sample(draw: st.DrawFn, min_count: int = 1, distinct: bool = False,
            signed_abs: bool = False, exclude: tuple[tuple[float, float], ...] = (),
            allow_tuple: bool = True, zeros: bool = False) -> tuple[list, dict]:
    """Like ``reduction_sample``, plus: at least ``min_count`` elements per reduced slice;
    ``signed_abs``: distinct |values| >= 0.1 with random signs (for ops on |x| with ties);
    ``zeros``: some elements set to exactly 0 (the others drawn outside ``exclude``)."""
    shape = draw(small_shapes)
    axis = draw(axis_for(shape, allow_tuple=allow_tuple))
    if _count(shape, axis) < min_count:  # too few elements per slice: add an axis and use all
        shape, axis = shape + (min_count,), None
    if signed_abs:
        a = draw(arrays(shape, (0.1, 1.0)))
        a = a + np.arange(a.size).reshape(shape) * 0.37  # distinct magnitudes
        a = a * draw(arrays(shape, (-1.0, 1.0)).map(lambda s: np.where(s < 0, -1.0, 1.0)))
    else:
        a = draw(arrays(shape, (-2.0, 2.0), exclude=exclude))
        if distinct and a.size:
            a = a + np.arange(a.size).reshape(shape) * 0.37
        if zeros:
            a = a * draw(arrays(shape, (-1.0, 1.0)).map(lambda s: (s > -0.5).astype(float)))
    return [a], {"axis": axis, "keepdims": draw(st.booleans())}


def _T(x: object) -> mg.Tensor:
    """0-d samples arrive as NumPy scalars: make them tensors for the method forms."""
    return x if isinstance(x, mg.Tensor) else mg.tensor(x)


def _norm_ref(p: float):  # noqa: ANN202
    def ref(x: np.ndarray, axis: object = None, keepdims: bool = False) -> np.ndarray:
        ax = axis if axis is None or isinstance(axis, int) else tuple(axis)
        if x.ndim == 0:
            x, ax = x.reshape(1), None
            out = _norm_ref(p)(x, None, False)
            return out.reshape(()) if not keepdims else out.reshape(())
        a = np.abs(x)
        if p == math.inf:
            return np.max(a, axis=ax, keepdims=keepdims)
        if p == -math.inf:
            return np.min(a, axis=ax, keepdims=keepdims)
        return np.sum(a**p, axis=ax, keepdims=keepdims) ** (1.0 / p)
    return ref


_NEAR_ZERO = ((-0.1, 0.1),)

OPS: list[OpInfo] = [
    OpInfo("max", mg.max, np.max, gen=reduction_sample(distinct=True)),
    OpInfo("min", mg.min, np.min, gen=reduction_sample(distinct=True)),
    OpInfo("max_dim_keepdim", lambda x, axis, keepdims: _T(x).max(dim=axis, keepdim=keepdims),
           np.max, gen=reduction_sample(distinct=True)),
    OpInfo("var", mg.var, lambda x, axis, keepdims: np.var(x, axis=axis, keepdims=keepdims,
                                                             ddof=1),
           gen=_sample(min_count=2)),
    OpInfo("var_ddof0", lambda x, axis, keepdims: mg.var(x, axis=axis, keepdims=keepdims,
                                                         ddof=0), np.var, gen=_sample()),
    OpInfo("var_correction2", lambda x, axis, keepdims: _T(x).var(dim=axis, keepdim=keepdims,
                                                              correction=2),
           lambda x, axis, keepdims: np.var(x, axis=axis, keepdims=keepdims, ddof=2),
           gen=_sample(min_count=3)),
    OpInfo("std", mg.std, lambda x, axis, keepdims: np.std(x, axis=axis, keepdims=keepdims,
                                                             ddof=1),
           gen=_sample(min_count=2, distinct=True)),
    OpInfo("std_ddof0", lambda x, axis, keepdims: mg.std(x, axis, keepdims, ddof=0), np.std,
           gen=_sample(min_count=2, distinct=True)),
    # Exact zeros (one, several) in some slices; no tiny values, where out/x under- or overflows.
    OpInfo("prod", mg.prod, np.prod, gen=_sample(exclude=((-0.1, 0.1),), zeros=True)),
    OpInfo("argmax", mg.argmax, np.argmax, differentiable=False,
           gen=reduction_sample(distinct=True, allow_tuple=False)),
    OpInfo("argmin", mg.argmin, np.argmin, differentiable=False,
           gen=reduction_sample(distinct=True, allow_tuple=False)),
    OpInfo("norm", mg.norm, _norm_ref(2.0), gen=_sample(exclude=_NEAR_ZERO),
           aliases=("norm_fro",)),
    OpInfo("norm_fro", lambda x, axis, keepdims: mg.norm(x, "fro", axis, keepdims),
           _norm_ref(2.0), gen=_sample(exclude=_NEAR_ZERO)),
    OpInfo("norm_1", lambda x, axis, keepdims: mg.norm(x, 1, axis, keepdims), _norm_ref(1.0),
           gen=_sample(exclude=_NEAR_ZERO)),
    OpInfo("norm_3", lambda x, axis, keepdims: mg.norm(x, 3, axis, keepdims), _norm_ref(3.0),
           gen=_sample(exclude=_NEAR_ZERO)),
    OpInfo("norm_1_5", lambda x, axis, keepdims: _T(x).norm(1.5, dim=axis, keepdim=keepdims),
           _norm_ref(1.5), gen=_sample(exclude=_NEAR_ZERO)),
    OpInfo("norm_0_5", lambda x, axis, keepdims: mg.norm(x, 0.5, axis, keepdims),
           _norm_ref(0.5), gen=_sample(exclude=_NEAR_ZERO)),
    OpInfo("vector_norm_neg_1",
           lambda x, axis, keepdims: mg.linalg.vector_norm(x, -1, axis, keepdims),
           _norm_ref(-1.0), gen=_sample(exclude=_NEAR_ZERO)),
    OpInfo("norm_inf", lambda x, axis, keepdims: mg.norm(x, math.inf, axis, keepdims),
           _norm_ref(math.inf), gen=_sample(signed_abs=True)),
    OpInfo("norm_neg_inf", lambda x, axis, keepdims: mg.norm(x, -math.inf, axis, keepdims),
           _norm_ref(-math.inf), gen=_sample(signed_abs=True)),
]
