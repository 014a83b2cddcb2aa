"""Generic tests run for every entry of the op database: forward vs NumPy, first- and
second-order derivative checks on hypothesis-generated inputs."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import microgradnet as mg
import microgradnet.ops
from tests.op_db import OPS, OpInfo

_SETTINGS = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck))


def _tensors(args: list[Any]) -> list[Any]:
    return [mg.tensor(a, requires_grad=True) if isinstance(a, np.ndarray) and a.dtype.kind == "f"
            else a for a in args]


def _float_args(args: list[Any]) -> list[Any]:
    return [a for a in args if isinstance(a, mg.Tensor) and a.requires_grad]


@pytest.mark.parametrize("info", [o for o in OPS if o.ref is not None], ids=lambda o: o.name)
def test_forward_matches_numpy(info: Any) -> None:
    @settings(max_examples=25, **_SETTINGS)
    @given(info.sample())
    def check(sample: Any) -> None:
        args, kwargs = sample
        out = info.op(*_tensors(args), **kwargs)
        ref = info.ref(*args, **{k: v for k, v in kwargs.items()})
        outs = out if isinstance(out, (list, tuple)) else [out]
        refs = ref if isinstance(ref, (list, tuple)) else [ref]
        assert len(outs) == len(refs)
        for o, r in zip(outs, refs):
            np.testing.assert_allclose(o.data, r, rtol=1e-6, atol=1e-9)
            assert o.shape == np.shape(r)

    check()


@pytest.mark.parametrize("info", [o for o in OPS if o.differentiable], ids=lambda o: o.name)
def test_gradcheck(info: Any) -> None:
    @settings(max_examples=info.max_examples, **_SETTINGS)
    @given(info.sample())
    def check(sample: Any) -> None:
        args, kwargs = sample
        ts = _tensors(args)
        if not _float_args(ts):
            return
        mg.gradcheck(lambda *a: info.op(*a, **kwargs), ts, atol=info.atol, rtol=info.rtol)

    check()


@pytest.mark.parametrize("info", [o for o in OPS if o.differentiable and o.second_order],
                         ids=lambda o: o.name)
def test_gradgradcheck(info: Any) -> None:
    @settings(max_examples=max(info.max_examples // 2, 4), **_SETTINGS)
    @given(info.sample())
    def check(sample: Any) -> None:
        args, kwargs = sample
        ts = _tensors(args)
        if not _float_args(ts):
            return
        mg.gradgradcheck(lambda *a: info.op(*a, **kwargs), ts, atol=info.atol, rtol=info.rtol)

    check()


@given(st.data())
@settings(max_examples=1, **_SETTINGS)
def test_db_names_are_unique(data: Any) -> None:
    names = [o.name for o in OPS]
    assert len(names) == len(set(names))


# -- coverage: every public op has an entry ------------------------------------------------------

# Public names of the ``microgradnet.ops`` modules that need no OpInfo entry, with the reason.
# Everything else the package exports from there must have an entry (by name or alias).
NOT_OPS: dict[str, str] = {
    # Comparisons and logic: boolean results, no derivative (ops/comparison.py).
    **dict.fromkeys(("lt", "le", "gt", "ge", "eq", "ne"), "comparison: boolean result"),
    **dict.fromkeys(("logical_and", "logical_or", "logical_not"), "logic: boolean result"),
    **dict.fromkeys(("isfinite", "isnan", "any", "all"), "predicate: boolean result"),
    # Piecewise constant and returned without a graph (ops/arithmetic.py).
    "floor_divide": "no gradient: piecewise constant",
    "remainder": "no gradient: returns a constant tensor",
}


def public_ops() -> dict[str, Any]:
    """Name -> function for every op the ``microgradnet.ops`` modules export to ``mg``.

    A module's ``__all__`` when it has one, else the public functions it defines (aliases such
    as ``divide = div`` included); only names that ``mg`` exports as the same object count.
    """
    found: dict[str, Any] = {}
    for info in pkgutil.iter_modules(microgradnet.ops.__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"microgradnet.ops.{info.name}")
        names = getattr(mod, "__all__", None)
        if names is None:
            names = [n for n, v in vars(mod).items() if not n.startswith("_")
                     and inspect.isfunction(v) and v.__module__ == mod.__name__]
        for name in names:
            fn = getattr(mod, name)
            if getattr(mg, name, None) is fn:
                found[name] = fn
    return found


def missing_entries(ops: Mapping[str, Any], entries: Iterable[OpInfo],
                    allowed: Iterable[str]) -> list[str]:
    """The names in ``ops`` with no entry, alias or allow-list line.

    A name bound to the same function as a covered name (``divide`` and ``div``) is covered:
    the entry tests that very function.
    """
    covered = set(allowed)
    for e in entries:
        covered.add(e.name)
        covered.update(e.aliases)
    tested = {id(fn) for name, fn in ops.items() if name in covered}
    return sorted(n for n, fn in ops.items() if n not in covered and id(fn) not in tested)


def test_every_public_op_has_an_entry() -> None:
    missing = missing_entries(public_ops(), OPS, NOT_OPS)
    assert not missing, (
        f"public ops without an OpInfo entry: {', '.join(missing)}. Add an entry to "
        "tests/op_db.py or a tests/op_db_<family>.py module (or, for a name that is not a "
        "differentiable op, a line with the reason in NOT_OPS in tests/test_op_db.py)."
    )


def test_the_op_list_is_found_and_the_allow_list_is_current() -> None:
    ops = public_ops()
    for family in ("add", "neg", "matmul", "exp", "where", "sum", "reshape", "getitem", "lt"):
        assert family in ops  # each ops module is read (with or without __all__)
    stale = sorted(set(NOT_OPS) - set(ops))
    assert not stale, f"NOT_OPS names no public op any more: {stale}; remove them"
    both = sorted(set(NOT_OPS) & {e.name for e in OPS})
    assert not both, f"{both} have entries; remove them from NOT_OPS"


def test_the_coverage_check_names_an_op_without_entry(monkeypatch: Any) -> None:
    def fake_op(x: Any) -> Any:
        return x

    ops = {**public_ops(), "fake_op": fake_op}
    assert missing_entries(ops, OPS, NOT_OPS) == ["fake_op"]
    assert missing_entries(ops, OPS, {**NOT_OPS, "fake_op": "test"}) == []
    # An op whose only entry is gone is reported, unless another name of it is covered.
    without_sign = [e for e in OPS if e.name != "sign"]
    assert missing_entries(ops, without_sign, NOT_OPS) == ["fake_op", "sign"]
    assert missing_entries({"sign": mg.sign, "signum": mg.sign}, OPS, ()) == []
    assert missing_entries({"signum": mg.sign}, OPS, ()) == ["signum"]
    # The real test fails, naming the op, when the package exports one without an entry.
    monkeypatch.setitem(globals(), "public_ops", lambda: ops)
    with pytest.raises(AssertionError, match="without an OpInfo entry: fake_op. Add"):
        test_every_public_op_has_an_entry()


# The layer and loss ops (ops/nn.py) have no function of their own in ``mg``: the public
# functions of ``mg.functional`` call them, and their entries name the class (``function=``).

def layer_ops() -> dict[str, type]:
    """Name -> class for every Function defined in ``microgradnet/ops/nn.py``."""
    import microgradnet.ops.nn as ops_nn

    return {n: c for n, c in vars(ops_nn).items() if isinstance(c, type)
            and issubclass(c, mg.Function) and c.__module__ == ops_nn.__name__}


def missing_functions(classes: Mapping[str, type], entries: Iterable[OpInfo]) -> list[str]:
    named = {e.function for e in entries}
    return sorted(n for n, c in classes.items() if c not in named)


def test_every_layer_op_has_an_entry() -> None:
    assert {"Linear", "Softmax", "CrossEntropy", "BCEWithLogits"} <= set(layer_ops())
    missing = missing_functions(layer_ops(), OPS)
    assert not missing, (
        f"ops/nn.py Functions without an OpInfo entry: {', '.join(missing)}. Add an entry "
        "calling its public function, with function=<the class>, to tests/op_db_nn.py."
    )


def test_the_layer_op_check_names_one_without_entry(monkeypatch: Any) -> None:
    without_mse = [e for e in OPS if e.name not in ("mse_loss", "sse_loss")]
    assert missing_functions(layer_ops(), without_mse) == ["SquaredError"]
    monkeypatch.setitem(globals(), "OPS", without_mse)
    with pytest.raises(AssertionError, match="without an OpInfo entry: SquaredError. Add"):
        test_every_layer_op_has_an_entry()


@pytest.mark.parametrize("info", [o for o in OPS if o.function is not None],
                         ids=lambda o: o.name)
def test_an_entry_records_the_function_it_names(info: Any) -> None:
    """``function=`` is true: the entry's op records a node of that class (so the tests of
    the entry really test that rule)."""

    @settings(max_examples=3, **_SETTINGS)
    @given(info.sample())
    def check(sample: Any) -> None:
        args, kwargs = sample
        outs = _differentiable_outputs(info.op(*_tensors(args), **kwargs))
        assert outs and all(type(o.grad_fn) is info.function for o in outs), (
            f"{info.name}: records {[type(o.grad_fn).__name__ for o in outs]}, "
            f"not {info.function.__name__}")

    check()


# -- one rule, two sweeps: the plain and the recorded backward agree ----------------------------

def _differentiable_outputs(out: Any) -> list[Any]:
    outs = out if isinstance(out, (list, tuple)) else [out]
    return [o for o in outs if isinstance(o, mg.Tensor) and o.requires_grad]


@pytest.mark.parametrize("info", [o for o in OPS if o.differentiable], ids=lambda o: o.name)
def test_plain_and_recorded_backward_agree(info: Any) -> None:
    """Every op's backward run on arrays (plain sweep) and on Tensors (create_graph=True) gives
    the same gradients, and passes the engine's checks (one gradient per input, right shapes)
    in both modes. With one rule per op this checks the dual mechanism itself; it would catch
    a rule that branches on the mode and states the derivative differently."""

    @settings(max_examples=max(info.max_examples // 3, 3), **_SETTINGS)
    @given(info.sample())
    def check(sample: Any) -> None:
        args, kwargs = sample
        ts = _tensors(args)
        ins = _float_args(ts)
        if not ins:
            return
        outs = _differentiable_outputs(info.op(*ts, **kwargs))
        if not outs:
            return
        rng = np.random.default_rng(0)
        gos = [mg.tensor(rng.standard_normal(o.shape)) for o in outs]
        plain = mg.grad(outs, ins, gos, retain_graph=True, allow_unused=True)
        recorded = mg.grad(outs, ins, gos, create_graph=True, allow_unused=True)
        for i, (p, r) in enumerate(zip(plain, recorded)):
            assert (p is None) == (r is None), f"{info.name}: input {i} has a gradient in one mode"
            if p is not None:
                assert p.shape == r.shape == ins[i].shape
                np.testing.assert_allclose(p.data, r.data, rtol=1e-9, atol=1e-12,
                                           err_msg=f"{info.name}: input {i}")

    check()


def test_every_internal_function_states_its_rule_once() -> None:
    """Internal ops declare ``_dual_rules``: the same backward serves both sweeps. Listed
    exceptions still write their rule in Tensor ops only (one rule, but the plain sweep wraps
    arrays for them)."""
    from microgradnet.autograd.function import Function

    not_yet = {  # module -> why its rule stays in Tensor ops only
        "integrate": "odeint_adjoint's rule is an adjoint ODE solve that runs the user's func "
        "on Tensors; it gives first derivatives only, so it has no second form to unify",
    }

    def subclasses(c: type) -> Iterable[type]:
        for s in c.__subclasses__():
            yield s
            yield from subclasses(s)

    for info in pkgutil.walk_packages(mg.__path__, "microgradnet."):
        if info.name.split(".")[-1] in ("__main__", "cli"):
            continue
        importlib.import_module(info.name)
    single = [c for c in set(subclasses(Function)) if c.__module__.startswith("microgradnet.")
              and "backward" in vars(c) and not c._dual_rules
              and c.__module__.split(".")[-1] not in not_yet]
    assert not single, f"internal ops without _dual_rules: {sorted(c.__name__ for c in single)}"
