"""Op database entries for the elementwise family (collected by ``tests/op_db.py``)."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import numpy as np

import microgradnet as mg
from tests.op_db import OpInfo
from tests.strategies import arrays, small_bshapes

_erf = np.vectorize(math.erf, otypes=[np.float64])
_KINK = ((-0.05, 0.05),)


def _gelu_ref(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def _gelu_tanh_ref(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def _on_grid(shape: tuple[int, ...], offset: float) -> st.SearchStrategy:
    """Values k/10 + offset in [-2, 2]: arrays on different offsets never come closer than the
    offsets' difference, which keeps kinks (ties, clip bounds) away from finite differences."""
    return arrays(shape, (-2.0, 2.0)).map(lambda a: np.round(a * 10.0) / 10.0 + offset)


def _separated(*offsets: float) -> st.SearchStrategy:
    return small_bshapes(len(offsets)).flatmap(
        lambda ss: st.tuples(*[_on_grid(s, o) for s, o in zip(ss, offsets)])
    ).map(lambda t: (list(t), {}))


OPS: list[OpInfo] = [
    OpInfo("sqrt", mg.sqrt, np.sqrt, domain=(0.2, 3.0)),
    OpInfo("rsqrt", mg.rsqrt, lambda x: 1.0 / np.sqrt(x), domain=(0.2, 3.0)),
    OpInfo("square", mg.square, np.square),
    OpInfo("reciprocal", mg.reciprocal, np.reciprocal, exclude=((-0.3, 0.3),)),
    OpInfo("sin", mg.sin, np.sin, domain=(-4.0, 4.0)),
    OpInfo("cos", mg.cos, np.cos, domain=(-4.0, 4.0)),
    OpInfo("tan", mg.tan, np.tan, domain=(-1.2, 1.2)),
    OpInfo("log1p", mg.log1p, np.log1p, domain=(-0.8, 3.0)),
    OpInfo("expm1", mg.expm1, np.expm1),
    OpInfo("log2", mg.log2, np.log2, domain=(0.2, 3.0)),
    OpInfo("log10", mg.log10, np.log10, domain=(0.2, 3.0)),
    OpInfo("erf", mg.erf, _erf, domain=(-3.0, 3.0)),
    OpInfo("leaky_relu", mg.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x), exclude=_KINK),
    OpInfo("leaky_relu_slope", lambda x: mg.leaky_relu(x, negative_slope=0.3),
           lambda x: np.where(x > 0, x, 0.3 * x), exclude=_KINK),
    OpInfo("elu", mg.elu, lambda x: np.where(x > 0, x, np.expm1(x)), exclude=_KINK),
    OpInfo("elu_alpha", lambda x: mg.elu(x, alpha=0.5),
           lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)), exclude=_KINK),
    OpInfo("gelu", mg.gelu, _gelu_ref, domain=(-4.0, 4.0)),
    OpInfo("gelu_tanh", lambda x: mg.gelu(x, approximate="tanh"), _gelu_tanh_ref,
           domain=(-4.0, 4.0)),
    OpInfo("softplus", mg.softplus, lambda x: np.log1p(np.exp(x)), domain=(-5.0, 5.0)),
    OpInfo("softplus_threshold", lambda x: mg.softplus(x, beta=2.0, threshold=1.0),
           lambda x: np.where(2 * x > 1.0, x, np.log1p(np.exp(2 * x)) / 2),
           exclude=((0.45, 0.55),)),
    OpInfo("clip", lambda x: mg.clip(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7),
           exclude=((-0.55, -0.45), (0.65, 0.75)), aliases=("clamp",)),
    OpInfo("clip_min", lambda x: mg.clamp(x, min=0.3), lambda x: np.maximum(x, 0.3),
           exclude=((0.25, 0.35),)),
    # Tensor bounds, broadcasting; lo > hi happens too (the output is then hi everywhere).
    OpInfo("clip_tensor", lambda x, lo, hi: mg.clip(x, lo, hi),
           lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi), gen=_separated(0.05, 0.0, 0.02)),
    OpInfo("clip_tensor_max", lambda x, hi: mg.clip(x, max=hi),
           lambda x, hi: np.minimum(x, hi), gen=_separated(0.05, 0.0)),
    OpInfo("maximum", mg.maximum, np.maximum, gen=_separated(0.0, 0.05)),
    OpInfo("minimum", mg.minimum, np.minimum, gen=_separated(0.0, 0.05)),
    OpInfo("maximum_scalar", lambda x: mg.maximum(x, 0.25), lambda x: np.maximum(x, 0.25),
           exclude=((0.2, 0.3),)),
]
