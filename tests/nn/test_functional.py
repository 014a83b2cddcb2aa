"""mg.functional: the fused nodes (gradcheck, gradgradcheck, both backward paths), softmax,
linear, dropout, one_hot, and the re-exports."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import microgradnet as mg
from microgradnet import functional as F

RNG = np.random.default_rng(0)


def _t(*shape, lo=-2.0, hi=2.0, grad=True):
    return mg.tensor(RNG.uniform(lo, hi, shape), dtype=mg.float64, requires_grad=grad)


def _labels(n, c):
    return mg.tensor(RNG.integers(0, c, n))


# Every fused Function, as (name, fn, inputs): the inputs that require grad are checked.
CASES = [
    ("linear 2-D", lambda x, w, b: F.linear(x, w, b), (_t(3, 4), _t(2, 4), _t(2))),
    ("linear 1-D", lambda x, w, b: F.linear(x, w, b), (_t(4), _t(2, 4), _t(2))),
    ("linear batch dims, no bias", lambda x, w: F.linear(x, w), (_t(2, 3, 4), _t(2, 4))),
    ("softmax", lambda x: F.softmax(x, axis=1), (_t(3, 4),)),
    ("softmax axis 0", lambda x: F.softmax(x, dim=0), (_t(3, 2, 2),)),
    ("log_softmax", lambda x: F.log_softmax(x), (_t(3, 4),)),
    ("cross_entropy labels", lambda x: F.cross_entropy(x, mg.tensor([0, 2, 1])), (_t(3, 3),)),
    ("cross_entropy all options",
     lambda x: F.cross_entropy(x, mg.tensor([0, -1, 1, 2]), weight=np.array([0.2, 1.0, 3.0]),
                               ignore_index=-1, label_smoothing=0.2), (_t(4, 3),)),
    ("cross_entropy none 3-D",
     lambda x: F.cross_entropy(x, mg.tensor([[0, 1], [2, 2]]), reduction="none"),
     (_t(2, 3, 2),)),
    ("cross_entropy probabilities", lambda x, p: F.cross_entropy(x, p, label_smoothing=0.1),
     (_t(3, 4), _t(3, 4, lo=0.0, hi=1.0))),
    ("mse", lambda x, t: F.mse_loss(x, t), (_t(3, 2), _t(3, 2))),
    ("mse none", lambda x, t: F.mse_loss(x, t, reduction="none"), (_t(3, 2), _t(3, 2))),
    ("sse", lambda x, t: F.sse_loss(x, t), (_t(4, 1), _t(4, 1))),
    ("sse mean", lambda x: F.sse_loss(x, np.ones((2, 2)), reduction="mean"), (_t(2, 2),)),
    ("bce", lambda p, t: F.binary_cross_entropy(p, t, weight=np.array([1.0, 2.0])),
     (_t(3, 2, lo=0.1, hi=0.9), _t(3, 2, lo=0.0, hi=1.0))),
    ("bce none", lambda p: F.binary_cross_entropy(p, np.array([0.0, 1.0, 1.0]),
                                                  reduction="none"),
     (_t(3, lo=0.1, hi=0.9),)),
    ("bce with logits", lambda x, t: F.binary_cross_entropy_with_logits(x, t),
     (_t(3, 2), _t(3, 2, lo=0.0, hi=1.0))),
    ("bce with logits pos_weight",
     lambda x, t: F.binary_cross_entropy_with_logits(
         x, t, weight=np.array([[1.0], [2.0], [0.5]]), pos_weight=np.array([3.0, 0.5]),
         reduction="sum"),
     (_t(3, 2), _t(3, 2, lo=0.0, hi=1.0))),
    ("l1", lambda x, t: F.l1_loss(x, t), (_t(3, 2), _t(3, 2))),
    ("nll", lambda x: F.nll_loss(x, mg.tensor([1, 0, 1]), weight=np.array([2.0, 1.0])),
     (_t(3, 2),)),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=IDS)
def test_gradcheck(name, fn, inputs) -> None:
    assert mg.gradcheck(fn, inputs)


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=IDS)
def test_gradgradcheck(name, fn, inputs) -> None:
    assert mg.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=IDS)
def test_numpy_and_recorded_backward_agree(name, fn, inputs) -> None:
    """The plain sweep (NumPy rules) and the recorded sweep (microgradnet ops) give the same
    first derivatives; gradgradcheck alone could not tell a wrong recorded rule apart."""
    out = fn(*inputs)
    seed = mg.tensor(RNG.standard_normal(out.shape), requires_grad=True)
    plain = mg.grad(out, inputs, seed, retain_graph=True)
    recorded = mg.grad(out, inputs, seed, create_graph=True)
    for a, b in zip(plain, recorded):
        assert b.requires_grad  # really went through the recorded rules
        np.testing.assert_allclose(a.data, b.data, rtol=1e-10, atol=1e-12)


def test_gradcheck_would_catch_a_wrong_fused_rule(monkeypatch) -> None:
    """The checks above can fail: break the linear rule and gradcheck says so."""
    good = F.Linear.backward

    def wrong(ctx, grad):
        gx, gw, gb = good(ctx, grad)
        return gx, gw * 1.01, gb

    monkeypatch.setattr(F.Linear, "backward", staticmethod(wrong))
    with pytest.raises(mg.GradcheckError):
        mg.gradcheck(lambda x, w, b: F.linear(x, w, b), (_t(3, 4), _t(2, 4), _t(2)))


def test_fused_ops_are_one_node() -> None:
    x, w, b = _t(5, 3), _t(2, 3), _t(2)
    assert type(F.linear(x, w, b).grad_fn).__name__ == "Linear"
    assert type(F.cross_entropy(x, _labels(5, 3)).grad_fn).__name__ == "CrossEntropy"
    assert type(F.mse_loss(x, x.detach()).grad_fn).__name__ == "SquaredError"
    assert F.linear(x, w, b).grad_fn.next_functions[0][0] is x


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=0, max_size=2), st.integers(1, 4),
       st.integers(1, 4), st.booleans())
def test_linear_matches_numpy(lead: list[int], n_in: int, n_out: int, bias: bool) -> None:
    x = RNG.standard_normal((*lead, n_in))
    w = RNG.standard_normal((n_out, n_in))
    b = RNG.standard_normal(n_out) if bias else None
    out = F.linear(mg.tensor(x), mg.tensor(w), None if b is None else mg.tensor(b))
    want = x @ w.T + (0 if b is None else b)
    np.testing.assert_allclose(out.data, want, rtol=1e-12)


def test_linear_shape_errors() -> None:
    with pytest.raises(ValueError, match=r"linear: input shape \(3, 5\) does not match weight "
                                         r"shape \(2, 4\)"):
        F.linear(mg.zeros(3, 5), mg.zeros(2, 4))
    with pytest.raises(ValueError, match="bias shape"):
        F.linear(mg.zeros(3, 4), mg.zeros(2, 4), mg.zeros(3))
    with pytest.raises(ValueError, match="2-D"):
        F.linear(mg.zeros(3, 4), mg.zeros(4))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.data())
def test_softmax_family_matches_numpy(shape: list[int], data) -> None:
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = RNG.uniform(-30, 30, shape)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    ref = e / e.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(F.softmax(mg.tensor(x), axis).data, ref, rtol=1e-12)
    np.testing.assert_allclose(F.log_softmax(mg.tensor(x), dim=axis).data, np.log(ref),
                               rtol=1e-10, atol=1e-12)


def test_softmax_is_stable_and_checks_its_axis() -> None:
    out = F.softmax(mg.tensor([1000.0, 0.0, -1000.0]))
    assert np.isfinite(out.data).all() and out.data[0] == pytest.approx(1.0)
    assert F.log_softmax(mg.tensor([1000.0, 0.0])).data[1] == pytest.approx(-1000.0)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        F.softmax(mg.zeros(2, 2), 2)
    with pytest.raises(TypeError, match="either axis= or dim="):
        F.softmax(mg.zeros(2, 2), 1, dim=1)
    assert F.softmax(mg.tensor([1, 1])).dtype == mg.get_default_dtype()  # ints become floats


def test_dropout() -> None:
    x = mg.ones(1000, dtype=mg.float64, requires_grad=True)
    y = F.dropout(x, 0.25, generator=np.random.default_rng(0))
    kept = y.data != 0
    assert 0.65 < kept.mean() < 0.85
    np.testing.assert_allclose(y.data[kept], 1 / 0.75)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, y.data)  # the gradient is masked the same way
    again = F.dropout(x, 0.25, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(again.data, y.data)  # seeded
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert not F.dropout(x, 1.0).data.any()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        F.dropout(x, 1.5)


def test_one_hot() -> None:
    out = F.one_hot(mg.tensor([[0, 2], [1, 1]]), 3)
    assert out.dtype == np.int64 and out.shape == (2, 2, 3)
    assert out.tolist()[0] == [[1, 0, 0], [0, 0, 1]]
    assert F.one_hot(np.array([1, 3])).shape == (2, 4)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        F.one_hot(mg.tensor([2]), 2)
    with pytest.raises(TypeError, match="integers"):
        F.one_hot(mg.tensor([0.5]))


def test_reexports() -> None:
    assert mg.nn.functional is F
    import microgradnet.nn.functional as G

    assert G is F
    for name in ("relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "softplus"):
        fn = getattr(F, name)
        assert fn(mg.tensor([0.5])).shape == (1,)
    assert F.relu is mg.relu
    for name in ("jacobian", "hessian", "vjp", "jvp"):
        assert callable(getattr(F, name))
    H = F.hessian(lambda x: (x**3).sum(), mg.tensor([1.0, 2.0], dtype=mg.float64))
    np.testing.assert_allclose(np.asarray(H.data), np.diag([6.0, 12.0]))


def test_doctests() -> None:
    import doctest

    import microgradnet.functional
    import microgradnet.nn.init
    import microgradnet.nn.layers
    import microgradnet.nn.loss
    import microgradnet.nn.mlp
    import microgradnet.nn.module
    import microgradnet.serialization

    for module in (microgradnet.functional, microgradnet.nn.module, microgradnet.nn.layers,
                   microgradnet.nn.loss, microgradnet.nn.mlp, microgradnet.nn.init,
                   microgradnet.serialization):
        res = doctest.testmod(module, extraglobs={"mg": mg, "F": F, "np": np,
                                                  "Linear": mg.nn.Linear})
        assert res.failed == 0, module.__name__


def test_bce_with_logits_second_derivative_at_a_zero_logit() -> None:
    """Regression: the recorded rule wrote log σ(x) as min(x, 0) − log(1 + e^−|x|), whose
    derivative is 0 instead of σ(−x) = ½ at exactly x = 0 (a zero-initialised output layer),
    so the second derivative there was wrong (found by the op database's gradgradcheck)."""
    x = mg.tensor([0.0, 0.0, 1.5], dtype=mg.float64, requires_grad=True)
    t = mg.tensor([1.0, 0.3, 0.0], dtype=mg.float64, requires_grad=True)
    pw = np.array([2.0, 0.5, 1.0])
    assert mg.gradgradcheck(lambda x, t: F.binary_cross_entropy_with_logits(x, t), (x, t))
    assert mg.gradgradcheck(
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=pw), (x, t))
    (gx,) = mg.grad(F.binary_cross_entropy_with_logits(x[:1], t[:1].detach()), x,
                    create_graph=True)
    (hxx,) = mg.grad(gx[0], x)
    assert hxx.data[0] == pytest.approx(0.25)  # σ'(0)
