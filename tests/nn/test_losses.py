"""Losses: values against NumPy transcriptions of PyTorch's formulas, reductions, shape checks,
the loss modules, and an optional comparison with PyTorch itself."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import microgradnet as mg
from microgradnet import functional as F
from microgradnet import nn

REDUCTIONS = ["mean", "sum", "none"]


def _reduce(a: np.ndarray, reduction: str) -> np.ndarray:
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](a)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def ce_reference(x, t, weight=None, ignore_index=-100, reduction="mean", eps=0.0):
    """PyTorch's cross_entropy for class labels, transcribed: nll_loss on log_softmax plus
    the label-smoothing term, both normalised by the summed weights of non-ignored targets."""
    axis = 1 if x.ndim > 1 else 0
    c = x.shape[axis]
    lp = np.moveaxis(_log_softmax(x, axis), axis, -1)  # (..., C)
    w = np.ones(c) if weight is None else weight
    valid = t != ignore_index
    tt = np.where(valid, t, 0)
    picked = np.take_along_axis(lp, tt[..., None], -1)[..., 0]
    nll = -w[tt] * picked * valid
    smooth = -(lp * w).sum(-1) * valid
    if reduction == "none":
        return (1 - eps) * nll + eps / c * smooth
    if reduction == "sum":
        return (1 - eps) * nll.sum() + eps / c * smooth.sum()
    denom = (w[tt] * valid).sum()
    return ((1 - eps) * nll.sum() + eps / c * smooth.sum()) / denom


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 5), c=st.integers(1, 5), extra=st.integers(0, 2),
       reduction=st.sampled_from(REDUCTIONS), eps=st.sampled_from([0.0, 0.1, 1.0]),
       weighted=st.booleans(), ignore=st.booleans(), seed=st.integers(0, 2**16))
def test_cross_entropy_labels_match_pytorchs_formula(n, c, extra, reduction, eps, weighted,
                                                     ignore, seed) -> None:
    rng = np.random.default_rng(seed)
    shape = (n, c) + (2,) * extra
    x = rng.normal(0, 3, shape)
    t = rng.integers(0, c, (n,) + (2,) * extra)
    if ignore:
        t[0] = -1  # at least one ignored sample; the rest count
    w = rng.uniform(0.1, 2.0, c) if weighted else None
    got = F.cross_entropy(mg.tensor(x), mg.tensor(t), weight=w, ignore_index=-1,
                          reduction=reduction, label_smoothing=eps)
    if reduction == "mean" and not (t != -1).any():
        assert np.isnan(got.item())  # nothing counted: 0/0, as PyTorch
        return
    want = ce_reference(x, t, w, -1, reduction, eps)
    np.testing.assert_allclose(got.data, want, rtol=1e-10, atol=1e-12)
    nll = F.nll_loss(F.log_softmax(mg.tensor(x), axis=1 if x.ndim > 1 else 0), mg.tensor(t),
                     weight=w, ignore_index=-1, reduction=reduction)
    np.testing.assert_allclose(nll.data, ce_reference(x, t, w, -1, reduction, 0.0),
                               rtol=1e-10, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 4), reduction=st.sampled_from(REDUCTIONS),
       eps=st.sampled_from([0.0, 0.3]), weighted=st.booleans(), seed=st.integers(0, 2**16))
def test_cross_entropy_probabilities_match_pytorchs_formula(n, c, reduction, eps, weighted,
                                                            seed) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, (n, c))
    p = rng.dirichlet(np.ones(c), n)
    w = rng.uniform(0.1, 2.0, c) if weighted else np.ones(c)
    q = p * (1 - eps) + eps / c
    per = -(_log_softmax(x, 1) * q * w).sum(1)
    want = per.sum() / n if reduction == "mean" else _reduce(per, reduction)
    got = F.cross_entropy(mg.tensor(x), mg.tensor(p), weight=w if weighted else None,
                          reduction=reduction, label_smoothing=eps)
    np.testing.assert_allclose(got.data, want, rtol=1e-10)


def test_cross_entropy_single_sample_and_extreme_logits() -> None:
    x = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64)
    assert F.cross_entropy(x, mg.tensor(2)).item() == pytest.approx(
        -_log_softmax(x.data, 0)[2])
    big = mg.tensor([[1000.0, -1000.0]], requires_grad=True)
    loss = F.cross_entropy(big, mg.tensor([1]))
    loss.backward()
    assert loss.item() == pytest.approx(2000.0) and np.isfinite(big.grad.data).all()
    np.testing.assert_allclose(big.grad.data, [[1.0, -1.0]])  # softmax - one_hot


def test_cross_entropy_errors() -> None:
    x = mg.zeros(4, 3)
    with pytest.raises(ValueError, match=r"cross_entropy: input shape \(4, 3\) and target shape "
                                         r"\(4, 1\) do not match"):
        F.cross_entropy(x, mg.tensor([[0], [1], [2], [0]]))
    with pytest.raises(ValueError, match="probabilities need the input's shape"):
        F.cross_entropy(x, mg.zeros(4, 2))
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        F.cross_entropy(x, mg.tensor([0, 1, 3, 0]))
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        F.cross_entropy(x, mg.tensor([0, 1, 2, 0]), weight=np.ones(2))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, mg.tensor([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, mg.tensor([0, 1, 2, 0]), label_smoothing=1.5)
    with pytest.raises(TypeError, match="integer class labels"):
        F.nll_loss(x, mg.zeros(4))


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=3),
       reduction=st.sampled_from(REDUCTIONS), seed=st.integers(0, 2**16))
def test_pointwise_losses_match_numpy(shape, reduction, seed) -> None:
    rng = np.random.default_rng(seed)
    o, t = rng.normal(size=shape), rng.normal(size=shape)
    cases = [
        (F.mse_loss, (o - t) ** 2),
        (F.l1_loss, np.abs(o - t)),
    ]
    for fn, elementwise in cases:
        np.testing.assert_allclose(fn(mg.tensor(o), mg.tensor(t), reduction).data,
                                   _reduce(elementwise, reduction), rtol=1e-12)
    np.testing.assert_allclose(F.sse_loss(mg.tensor(o), mg.tensor(t), reduction).data,
                               _reduce(0.5 * (t - o) ** 2, reduction), rtol=1e-12)
    p = rng.uniform(0.0, 1.0, shape)
    y = rng.integers(0, 2, shape).astype(float)
    w = rng.uniform(0.5, 2.0, shape)
    bce = -w * (y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))
    np.testing.assert_allclose(
        F.binary_cross_entropy(mg.tensor(p), mg.tensor(y), w, reduction).data,
        _reduce(bce, reduction), rtol=1e-10)
    x = rng.normal(0, 5, shape)
    pw = rng.uniform(0.5, 3.0, shape[-1:] if shape else ())
    logsig, log1msig = -np.logaddexp(0, -x), -np.logaddexp(0, x)
    bcel = -w * (pw * y * logsig + (1 - y) * log1msig)
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(mg.tensor(x), mg.tensor(y), w, reduction, pw).data,
        _reduce(bcel, reduction), rtol=1e-10, atol=1e-12)


def test_sse_is_the_classic_global_error() -> None:
    """E = ½ Σ_p Σ_k (t_pk − o_pk)², and ∂E/∂o = o − t."""
    o = mg.tensor([[0.8, 0.1], [0.3, 0.6]], dtype=mg.float64, requires_grad=True)
    t = mg.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=mg.float64)
    E = nn.SSELoss()(o, t)
    assert E.item() == pytest.approx(0.5 * (0.04 + 0.01 + 0.09 + 0.16))
    E.backward()
    np.testing.assert_allclose(o.grad.data, o.data - t.data)
    assert nn.SSELoss().reduction == "sum" and nn.MSELoss().reduction == "mean"
    per_pattern = nn.SSELoss(reduction="none")(o, t).sum(axis=1)
    np.testing.assert_allclose(per_pattern.data, [0.025, 0.125])


def test_extreme_values_stay_finite() -> None:
    p = mg.tensor([0.0, 1.0, 1.0, 0.0], dtype=mg.float64, requires_grad=True)
    y = mg.tensor([1.0, 0.0, 1.0, 0.0], dtype=mg.float64)
    loss = F.binary_cross_entropy(p, y, reduction="sum")
    assert loss.item() == pytest.approx(200.0)  # log clamped at -100, as PyTorch
    loss.backward()
    assert np.isfinite(p.grad.data).all()
    x = mg.tensor([-800.0, 800.0], dtype=mg.float64, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, mg.tensor([1.0, 0.0], dtype=mg.float64),
                                              reduction="sum")
    assert loss.item() == pytest.approx(1600.0)
    loss.backward()
    np.testing.assert_allclose(x.grad.data, [-1.0, 1.0])


@pytest.mark.parametrize("fn", [F.mse_loss, F.sse_loss, F.l1_loss, F.binary_cross_entropy,
                                F.binary_cross_entropy_with_logits])
def test_shape_mismatch_is_an_error_not_a_broadcast(fn) -> None:
    with pytest.raises(ValueError, match=rf"{fn.__name__}: input shape \(4, 1\) and target "
                                         r"shape \(4,\) differ"):
        fn(mg.full((4, 1), 0.5), mg.full((4,), 0.5))


def test_targets_are_cast_to_the_input_dtype() -> None:
    out = F.mse_loss(mg.zeros(3), np.array([1, 2, 3]))
    assert out.dtype == mg.float32 and out.item() == pytest.approx(14 / 3)
    with pytest.raises(ValueError, match="probabilities"):
        F.binary_cross_entropy(mg.tensor([1.5]), mg.tensor([1.0]))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        F.binary_cross_entropy(mg.tensor([0.5, 0.5]), mg.tensor([1.0, 0.0]), weight=np.ones(3))


def test_loss_modules() -> None:
    x = mg.tensor([[0.2, -0.3, 1.0], [0.5, 0.5, -1.0]])
    y = mg.tensor([2, 0])
    ce = nn.CrossEntropyLoss(weight=[1.0, 2.0, 3.0], label_smoothing=0.1, ignore_index=1)
    assert ce(x, y).item() == pytest.approx(F.cross_entropy(
        x, y, np.array([1.0, 2.0, 3.0]), 1, "mean", 0.1).item())
    assert repr(ce) == "CrossEntropyLoss(reduction='mean', ignore_index=1, label_smoothing=0.1)"
    assert "weight" in ce.state_dict()
    assert repr(nn.SSELoss()) == "SSELoss(reduction='sum')"
    assert nn.NLLLoss()(F.log_softmax(x, 1), y).item() == pytest.approx(
        F.cross_entropy(x, y).item())
    t = mg.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    assert nn.BCEWithLogitsLoss(pos_weight=[2.0, 1.0, 1.0])(x, t).item() == pytest.approx(
        F.binary_cross_entropy_with_logits(x, t, pos_weight=np.array([2.0, 1.0, 1.0])).item())
    assert nn.BCELoss()(mg.sigmoid(x), t).item() == pytest.approx(
        nn.BCEWithLogitsLoss()(x, t).item(), rel=1e-5)
    assert nn.L1Loss(reduction="sum")(x, mg.zeros(2, 3)).item() == pytest.approx(3.5)
    assert nn.MSELoss(reduction="none")(x, mg.zeros(2, 3)).shape == (2, 3)
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="total")


def test_against_pytorch() -> None:
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(1)
    x = rng.normal(0, 2, (5, 4))
    t = np.array([0, 3, -100, 1, 2])
    w = rng.uniform(0.5, 2, 4)
    for red in REDUCTIONS:
        for eps in (0.0, 0.2):
            ours = F.cross_entropy(mg.tensor(x), mg.tensor(t), w, -100, red, eps).data
            theirs = tf.cross_entropy(torch.tensor(x), torch.tensor(t), torch.tensor(w),
                                      reduction=red, label_smoothing=eps).numpy()
            np.testing.assert_allclose(ours, theirs, rtol=1e-10)
        y = rng.uniform(0, 1, (5, 4))
        ours = F.binary_cross_entropy_with_logits(mg.tensor(x), mg.tensor(y), None, red,
                                                  w).data
        theirs = tf.binary_cross_entropy_with_logits(torch.tensor(x), torch.tensor(y),
                                                     reduction=red,
                                                     pos_weight=torch.tensor(w)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-10)
