"""Forward mode for every op of the op database: each op's JVP rule against its VJP rule and
against finite differences, on hypothesis-generated inputs; and a coverage test that fails for
a differentiable Function without a ``jvp``.

For an op f with inputs x, tangents v and output cotangents u:
- adjoint check: ⟨u, J v⟩ from forward mode equals ⟨uᵀJ, v⟩ from reverse mode (the two rules
  describe the same Jacobian);
- finite differences: J v ≈ (f(x + εv) - f(x - εv)) / 2ε in float64.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import microgradnet as mg
from microgradnet.autograd import forward_ad as fwAD
from microgradnet.autograd.function import Function
from tests.op_db import OPS

_SETTINGS = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck))


def _outputs(out: Any) -> list[Any]:
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    return [o for o in outs if isinstance(o, mg.Tensor) and o.dtype.kind == "f"]


def _jvp(op: Any, args: list[Any], kwargs: dict, tangents: dict[int, np.ndarray]) -> list[Any]:
    """Output tangents of ``op`` (zeros where an output carries none)."""
    with fwAD.dual_level():
        duals = [fwAD.make_dual(mg.tensor(a), mg.tensor(tangents[i])) if i in tangents else a
                 for i, a in enumerate(args)]
        outs = _outputs(op(*duals, **kwargs))
        res = []
        for o in outs:
            t = fwAD.unpack_dual(o).tangent
            res.append(np.zeros(o.shape) if t is None else np.asarray(t.data, dtype=np.float64))
    return res


def _float_positions(args: list[Any]) -> list[int]:
    return [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]


@pytest.mark.parametrize("info", [o for o in OPS if o.differentiable], ids=lambda o: o.name)
def test_jvp_matches_vjp_and_finite_differences(info: Any) -> None:
    @settings(max_examples=max(info.max_examples // 2, 5), **_SETTINGS)
    @given(info.sample())
    def check(sample: Any) -> None:
        args, kwargs = sample
        pos = _float_positions(args)
        if not pos:
            return
        rng = np.random.default_rng(len(pos) + sum(args[i].size for i in pos))
        tangents = {i: rng.normal(size=args[i].shape) for i in pos}
        jv = _jvp(info.op, args, kwargs, tangents)

        # reverse mode: uᵀJ for random u
        leaves = {i: mg.tensor(args[i], requires_grad=True) for i in pos}
        call = [leaves.get(i, a) for i, a in enumerate(args)]
        outs = _outputs(info.op(*call, **kwargs))
        assert len(outs) == len(jv)
        us = [rng.normal(size=o.shape) for o in outs]
        live = [(o, u) for o, u in zip(outs, us) if o.requires_grad]
        lhs = sum(float(np.sum(u * t)) for u, t in zip(us, jv))
        if live:
            grads = mg.grad([o for o, _ in live], [leaves[i] for i in pos],
                            [mg.tensor(u) for _, u in live], allow_unused=True)
        else:
            grads = [None] * len(pos)
        rhs = sum(0.0 if g is None else float(np.sum(g.data * tangents[i]))
                  for g, i in zip(grads, pos))
        scale = 1.0 + abs(lhs) + abs(rhs)
        assert abs(lhs - rhs) <= 1e-8 * scale, f"<u, Jv> = {lhs} but <u^T J, v> = {rhs}"

        # finite differences along the tangents
        eps = 1e-6

        def at(sign: float) -> list[np.ndarray]:
            shifted = [a + sign * eps * tangents[i] if i in tangents else a
                       for i, a in enumerate(args)]
            return [np.asarray(o.data, dtype=np.float64) for o in _outputs(
                info.op(*[mg.tensor(a) if i in tangents else a for i, a in enumerate(shifted)],
                        **kwargs))]

        plus, minus = at(1.0), at(-1.0)
        for t, p, m in zip(jv, plus, minus):
            np.testing.assert_allclose(t, (p - m) / (2 * eps), rtol=info.rtol,
                                       atol=info.atol * 10)

    check()


# -- coverage: every differentiable Function has a JVP rule ---------------------------------------

# Functions that need no jvp, with the reason.
NO_JVP: dict[str, str] = {
    "microgradnet.integrate._AdjointSolve": "the adjoint method is a reverse-mode algorithm; "
    "forward mode differentiates odeint's steps directly",
}


def all_functions() -> dict[str, type]:
    """Every Function subclass defined in the microgradnet package (imported here)."""
    import microgradnet

    for info in pkgutil.walk_packages(microgradnet.__path__, "microgradnet."):
        if ".viz" in info.name or info.name.endswith("__main__") or ".cli" in info.name:
            continue
        importlib.import_module(info.name)
    found: dict[str, type] = {}
    stack = list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        mod = cls.__module__
        if mod.startswith("microgradnet.") and not inspect.isabstract(cls):
            found[f"{mod}.{cls.__qualname__}"] = cls
    return found


def missing_jvp(classes: dict[str, type], allowed: dict[str, str]) -> list[str]:
    return sorted(name for name, cls in classes.items()
                  if getattr(cls, "jvp", None) is None and name not in allowed)


def test_every_function_has_a_jvp_rule() -> None:
    missing = missing_jvp(all_functions(), NO_JVP)
    assert not missing, (
        f"Functions without a forward-mode rule: {', '.join(missing)}. Add a "
        "jvp(ctx, *tangents) beside the backward (or a line with the reason in NO_JVP in "
        "tests/test_op_db_jvp.py)."
    )


def test_the_jvp_coverage_check_names_a_function_without_jvp() -> None:
    class NoForward(Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            return x.data

    classes = {**all_functions(), "tests.NoForward": NoForward}
    assert missing_jvp(classes, NO_JVP) == ["tests.NoForward"]
    assert missing_jvp(classes, {**NO_JVP, "tests.NoForward": "test"}) == []
    assert "microgradnet.ops.elementwise.Exp" in classes
