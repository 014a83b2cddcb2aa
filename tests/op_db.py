"""The op database: one entry per public differentiable op.

Each entry gets, for free, a forward-versus-NumPy test, a first-order gradcheck and a second-order
gradgradcheck on hypothesis-generated inputs (see ``test_op_db.py``). Adding an op means adding
one entry here (or in an ``op_db_*.py`` module listed at the bottom).

An entry's ``gen`` strategy draws one sample: ``(args, kwargs)`` where float64 arrays in ``args``
become Tensors that require grad; other args (ints, index arrays, axes) pass through unchanged.
Without ``gen`` the sample is ``arity`` float arrays of mutually broadcastable shapes in ``domain``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import hypothesis.strategies as st
import numpy as np

import microgradnet as mg
from tests.strategies import arrays, axis_for, small_bshapes, small_shapes


@dataclass
class OpInfo:
    name: str
    op: Callable[..., Any]
    ref: Callable[..., Any] | None
    arity: int = 1
    domain: tuple[float, float] = (-2.0, 2.0)
    exclude: tuple[tuple[float, float], ...] = ()  # value bands to avoid (kinks, poles)
    gen: st.SearchStrategy | None = None
    differentiable: bool = True
    second_order: bool = True
    atol: float = 1e-5
    rtol: float = 1e-3
    max_examples: int = 12
    aliases: tuple[str, ...] = field(default_factory=tuple)
    # the internal Function the op records, for ops without a function of their own in ``mg``
    # (the fused layer and loss ops of ops/nn.py, called through ``mg.functional``)
    function: type | None = None

    def sample(self) -> st.SearchStrategy:
        if self.gen is not None:
            return self.gen
        shapes = small_shapes.map(lambda s: (s,)) if self.arity == 1 else small_bshapes(self.arity)
        return shapes.flatmap(
            lambda ss: st.tuples(*[arrays(s, self.domain, exclude=self.exclude) for s in ss])
        ).map(lambda arrs: (list(arrs), {}))


def _floats(shape: tuple[int, ...], domain: tuple[float, float] = (-2.0, 2.0),
            exclude: tuple[tuple[float, float], ...] = ()) -> st.SearchStrategy:
    return arrays(shape, domain, exclude=exclude)


@st.composite
def reduction_sample(draw: st.DrawFn, domain: tuple[float, float] = (-2.0, 2.0),
                     allow_tuple: bool = True, distinct: bool = False) -> tuple[list, dict]:
    shape = draw(small_shapes)
    a = draw(_floats(shape, domain))
    if distinct and a.size:  # keep max/min/sort-like ops away from ties for finite differences
        a = a + np.arange(a.size).reshape(shape) * 0.37
    axis = draw(axis_for(shape, allow_tuple=allow_tuple))
    keepdims = draw(st.booleans())
    return [a], {"axis": axis, "keepdims": keepdims}


@st.composite
def matmul_sample(draw: st.DrawFn) -> tuple[list, dict]:
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    kind = draw(st.sampled_from(["2d", "batched", "broadcast", "vec-mat", "mat-vec", "vec-vec"]))
    if kind == "2d":
        sa, sb = (n, k), (k, m)
    elif kind == "batched":
        b = draw(st.integers(1, 2))
        sa, sb = (b, n, k), (b, k, m)
    elif kind == "broadcast":
        b = draw(st.integers(1, 2))
        sa, sb = (b, 1, n, k), (2, k, m)
    elif kind == "vec-mat":
        sa, sb = (k,), (k, m)
    elif kind == "mat-vec":
        sa, sb = (n, k), (k,)
    else:
        sa, sb = (k,), (k,)
    return [draw(_floats(sa)), draw(_floats(sb))], {}


OPS: list[OpInfo] = [
    # -- arithmetic ------------------------------------------------------------------------
    OpInfo("add", mg.add, np.add, arity=2),
    OpInfo("sub", mg.sub, np.subtract, arity=2),
    OpInfo("mul", mg.mul, np.multiply, arity=2),
    OpInfo("div", mg.div, np.divide, arity=2, exclude=((-0.3, 0.3),)),
    OpInfo("neg", mg.neg, np.negative),
    OpInfo("pow", mg.pow, np.power, arity=2, domain=(0.3, 2.0)),
    OpInfo("pow_scalar", lambda x: mg.pow(x, 3.0), lambda x: np.power(x, 3.0)),
    OpInfo("pow_half", lambda x: x ** 0.5, np.sqrt, domain=(0.2, 2.0)),
    OpInfo("rpow", lambda x: 2.0 ** x, lambda x: np.power(2.0, x)),
    OpInfo("abs", mg.abs, np.abs, exclude=((-0.05, 0.05),)),
    OpInfo("matmul", mg.matmul, np.matmul, gen=matmul_sample()),
    # -- elementwise ----------------------------------------------------------------------
    OpInfo("exp", mg.exp, np.exp),
    OpInfo("log", mg.log, np.log, domain=(0.2, 3.0)),
    OpInfo("tanh", mg.tanh, np.tanh),
    OpInfo("sigmoid", mg.sigmoid, lambda x: 1 / (1 + np.exp(-x)), domain=(-4.0, 4.0)),
    OpInfo("relu", mg.relu, lambda x: np.maximum(x, 0), exclude=((-0.05, 0.05),)),
    OpInfo("clone", mg.clone, np.copy),
    OpInfo("where", lambda c, x, y: mg.where(c, x, y), None,
           gen=small_bshapes(3).flatmap(lambda ss: st.tuples(
               arrays(ss[0], (-1, 1)).map(lambda a: a > 0), _floats(ss[1]), _floats(ss[2]))
           ).map(lambda t: (list(t), {}))),
    # -- reductions -----------------------------------------------------------------------
    OpInfo("sum", mg.sum, np.sum, gen=reduction_sample()),
    OpInfo("mean", mg.mean, np.mean, gen=reduction_sample()),
    OpInfo("logsumexp", mg.logsumexp, None, gen=reduction_sample()),
    # -- shape ------------------------------------------------------------------------------
    OpInfo("transpose", lambda x: x.T, lambda x: x.T),
    OpInfo("reshape_flat", lambda x: mg.reshape(x, -1), lambda x: x.reshape(-1)),
    OpInfo("permute_rev", lambda x: mg.permute(x, *range(x.ndim)[::-1]),
           lambda x: np.transpose(x)),
    OpInfo("broadcast_to", lambda x: mg.broadcast_to(x, (2,) + x.shape),
           lambda x: np.broadcast_to(x, (2,) + x.shape)),
    OpInfo("unsqueeze", lambda x: mg.unsqueeze(x, 0), lambda x: np.expand_dims(x, 0)),
    OpInfo("squeeze", mg.squeeze, np.squeeze),
    # -- indexing ---------------------------------------------------------------------------
    OpInfo("getitem_slice", lambda x: x[..., ::2], lambda x: x[..., ::2],
           gen=st.tuples(st.integers(1, 4), st.integers(1, 3)).flatmap(
               lambda s: _floats(s)).map(lambda a: ([a], {}))),
    OpInfo("getitem_repeat", lambda x: x[[0, 0, -1]], lambda x: x[[0, 0, -1]],
           gen=st.tuples(st.integers(1, 3), st.integers(1, 3)).flatmap(
               lambda s: _floats(s)).map(lambda a: ([a], {}))),
    OpInfo("getitem_mask", lambda x, m: x[m], lambda x, m: x[m],
           gen=small_shapes.filter(lambda s: len(s) > 0).flatmap(
               lambda s: st.tuples(_floats(s), arrays(s, (-1, 1)).map(lambda a: a > 0))
           ).map(lambda t: (list(t), {}))),
]


def _extend() -> None:
    """Entries from the op families' own modules (``tests/op_db_<family>.py``)."""
    import importlib
    import pkgutil

    import tests

    for m in sorted(pkgutil.iter_modules(tests.__path__), key=lambda m: m.name):
        if m.name.startswith("op_db_"):
            OPS.extend(importlib.import_module(f"tests.{m.name}").OPS)


_extend()
BY_NAME = {op.name: op for op in OPS}
