"""SGD: PyTorch's update rule step for step, and the classic delta rule with momentum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradnet as mg
from microgradnet.optim import SGD

from . import reference as ref
from .conftest import Problem, assert_same_trajectory


def _scalar(w0: float) -> mg.Tensor:
    return mg.tensor([w0], dtype=mg.float64, requires_grad=True)


def _descend(opt, w, grad_fn, steps, lrs=None) -> list[float]:
    out = []
    for k in range(steps):
        if lrs is not None:
            opt.param_groups[0]["lr"] = lrs[k]
        opt.zero_grad()
        w.grad = mg.tensor(grad_fn(w.data), dtype=mg.float64)
        opt.step()
        out.append(w.item())
    return out


# -- hand-computed steps -------------------------------------------------------------------------
def test_plain_steps_by_hand() -> None:
    w = _scalar(1.0)
    # E = 2 w², dE/dw = 4w; w ← w − 0.1·4w = 0.6 w
    assert _descend(SGD([w], lr=0.1), w, lambda x: 4 * x, 2) == pytest.approx([0.6, 0.36])


def test_momentum_steps_by_hand() -> None:
    # g = w; b1 = g1 = 1, w1 = 1 − 0.1 = 0.9; b2 = 0.9·1 + 0.9 = 1.8, w2 = 0.9 − 0.18 = 0.72;
    # b3 = 0.9·1.8 + 0.72 = 2.34, w3 = 0.72 − 0.234 = 0.486
    w = _scalar(1.0)
    got = _descend(SGD([w], lr=0.1, momentum=0.9), w, lambda x: x, 3)
    assert got == pytest.approx([0.9, 0.72, 0.486], abs=1e-15)


def test_dampening_is_not_applied_on_the_first_step() -> None:
    # constant g = 1, μ = 0.5, τ = 0.5: b1 = 1 (not 0.5), b2 = 0.5 + 0.5 = 1, b3 = 1
    w = _scalar(0.0)
    got = _descend(SGD([w], lr=1.0, momentum=0.5, dampening=0.5), w, lambda x: np.ones(1), 3)
    assert got == pytest.approx([-1.0, -2.0, -3.0])


def test_nesterov_weight_decay_and_maximize_by_hand() -> None:
    # g = 1 + 0.1 w (weight decay λ = 0.1 at w = 1): g1 = 1.1, b1 = 1.1, d = 1.1 + 0.9·1.1 = 2.09
    w = _scalar(1.0)
    _descend(SGD([w], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1), w,
             lambda x: np.ones(1), 1)
    assert w.item() == pytest.approx(1 - 0.1 * 2.09)
    # maximize negates the gradient before weight decay (torch's implementation):
    # g = −1 + 0.1·1 = −0.9, w = 1 + 0.09
    w = _scalar(1.0)
    _descend(SGD([w], lr=0.1, weight_decay=0.1, maximize=True), w, lambda x: np.ones(1), 1)
    assert w.item() == pytest.approx(1.09)


def test_a_hard_coded_reference_trajectory() -> None:
    """SGD(lr=0.1, momentum=0.9, nesterov=True) on E = ½(w₁² + 4 w₂²) from (1, 1).

    By hand: g = (1, 4), b = (1, 4), d = g + 0.9 b = (1.9, 7.6), w = (0.81, 0.24); then
    g = (0.81, 0.96), b = (1.71, 4.56), d = (2.349, 5.064), w = (0.5751, −0.2664). Later rows
    come from PyTorch's documented algorithm (tests/optim/reference.py).
    """
    expected = [[0.81, 0.24], [0.5751, -0.2664], [0.327321, -0.433296],
                [0.09388791, -0.35010144], [-0.1045816839, -0.1651358016]]
    w = mg.tensor([1.0, 1.0], dtype=mg.float64, requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9, nesterov=True)
    for row in expected:
        opt.zero_grad()
        (0.5 * (w * w * mg.tensor([1.0, 4.0], dtype=mg.float64)).sum()).backward()
        opt.step()
        np.testing.assert_allclose(w.data, row, rtol=1e-9)


def test_heavy_ball_on_a_quadratic_matches_the_closed_form() -> None:
    """On E = ½ a w², w(n+1) = (1 + μ − ηa) w(n) − μ w(n−1), w(1) = (1 − ηa) w(0).

    The solution is c₁ r₁ⁿ + c₂ r₂ⁿ with r the roots of r² − (1 + μ − ηa) r + μ = 0.
    """
    a, lr, mu, w0, n = 2.0, 0.1, 0.8, 3.0, 40
    r1, r2 = np.roots([1.0, -(1 + mu - lr * a), mu])  # complex here: an oscillating approach
    c1, c2 = np.linalg.solve([[1, 1], [r1, r2]], [w0, (1 - lr * a) * w0])
    closed = [(c1 * r1**k + c2 * r2**k).real for k in range(1, n + 1)]
    w = _scalar(w0)
    got = _descend(SGD([w], lr=lr, momentum=mu), w, lambda x: a * x, n)
    np.testing.assert_allclose(got, closed, rtol=1e-9, atol=1e-12)
    # and plain gradient descent: w(n) = (1 − ηa)ⁿ w(0)
    w = _scalar(w0)
    got = _descend(SGD([w], lr=lr), w, lambda x: a * x, n)
    np.testing.assert_allclose(got, [(1 - lr * a) ** k * w0 for k in range(1, n + 1)], rtol=1e-12)


# -- against the documented algorithm ------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    lr=st.floats(1e-3, 0.1),
    momentum=st.sampled_from([0.0, 0.5, 0.9, 0.99]),
    dampening=st.sampled_from([0.0, 0.1, 0.5]),
    weight_decay=st.sampled_from([0.0, 1e-3, 0.1]),
    nesterov=st.booleans(),
    maximize=st.booleans(),
)
def test_matches_the_documented_algorithm(seed, lr, momentum, dampening, weight_decay, nesterov,
                                          maximize) -> None:
    if nesterov and (momentum == 0 or dampening != 0):
        nesterov = False
    hyper = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                 nesterov=nesterov, maximize=maximize)
    prob = Problem(seed)
    got = prob.run(lambda ps: SGD(ps, **hyper), 10)
    assert_same_trajectory(got, prob.run_reference(ref.sgd, 10, **hyper))


def test_float32_parameters_stay_float32_and_close_to_float64() -> None:
    prob = Problem(7)

    def params32():
        return [mg.tensor(p.data, dtype=mg.float32, requires_grad=True) for p in prob.params()]

    ps = params32()
    opt = SGD(ps, lr=0.01, momentum=0.9)
    for _ in range(10):
        opt.zero_grad()
        prob.loss(*[p.to(mg.float64) for p in ps]).backward()
        opt.step()
    expected = prob.run_reference(ref.sgd, 10, lr=0.01, momentum=0.9)[-1]
    for p, e in zip(ps, expected):
        assert p.dtype == np.float32 and opt.state[p]["momentum_buffer"].dtype == np.float32
        np.testing.assert_allclose(p.data, e, rtol=1e-4, atol=1e-5)


# -- hyper-parameter checks ----------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=-0.1), "Invalid learning rate: -0.1"),
    (dict(lr=float("nan")), "Invalid learning rate: nan"),
    (dict(lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (dict(lr=0.1, weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
    (dict(lr=0.1, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    (dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov momentum requires"),
    (dict(lr=0.1, momentum_form="heavy"), "momentum_form must be"),
    (dict(lr=0.1, momentum=0.9, dampening=0.5, momentum_form="classic"), "no dampening"),
    (dict(lr=0.1, momentum=0.9, nesterov=True, momentum_form="classic"), "no nesterov"),
])
def test_invalid_hyper_parameters(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        SGD([_scalar(1.0)], **kwargs)


def test_lr_must_be_a_number() -> None:
    with pytest.raises(TypeError, match="lr must be a number"):
        SGD([_scalar(1.0)], lr="0.1")


# -- the classic delta rule with momentum --------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), lr=st.floats(1e-3, 0.05), momentum=st.floats(0.0, 0.95),
       weight_decay=st.sampled_from([0.0, 0.01]))
def test_classic_form_equals_pytorch_form_for_a_constant_learning_rate(seed, lr, momentum,
                                                                      weight_decay) -> None:
    prob = Problem(seed)
    hyper = dict(lr=lr, momentum=momentum, weight_decay=weight_decay)
    torch_like = prob.run(lambda ps: SGD(ps, **hyper), 12)
    classic = prob.run(lambda ps: SGD(ps, momentum_form="classic", **hyper), 12)
    assert_same_trajectory(torch_like, classic, rtol=1e-9, atol=1e-11)
    # and the classic form is the textbook equation, Δw(n) = −η ∂E/∂w + α Δw(n−1)
    if weight_decay == 0:
        textbook = prob.run_reference(ref.classic_momentum, 12, lr=lr, momentum=momentum)
        assert_same_trajectory(classic, textbook)


def test_the_forms_differ_when_the_learning_rate_changes() -> None:
    """g = 1 throughout; μ = α = 0.5; η = 1, then 0.1.

    PyTorch: b = 1, 1.5; Δw = −1, −0.15.   Classic: Δw = −1, then 0.5·(−1) − 0.1 = −0.6.
    """
    lrs = [1.0, 0.1]
    w = _scalar(0.0)
    torch_like = _descend(SGD([w], lr=1.0, momentum=0.5), w, lambda x: np.ones(1), 2, lrs)
    w = _scalar(0.0)
    classic = _descend(SGD([w], lr=1.0, momentum=0.5, momentum_form="classic"), w,
                       lambda x: np.ones(1), 2, lrs)
    assert torch_like == pytest.approx([-1.0, -1.15])
    assert classic == pytest.approx([-1.0, -1.6])


def test_under_a_schedule_each_form_matches_its_own_equation() -> None:
    prob = Problem(11)
    lrs = [0.02 * 0.7**k for k in range(10)]
    torch_like = prob.run(lambda ps: SGD(ps, lr=0.02, momentum=0.9), 10, lrs)
    classic = prob.run(lambda ps: SGD(ps, lr=0.02, momentum=0.9, momentum_form="classic"), 10,
                       lrs)
    assert_same_trajectory(torch_like, prob.run_reference(ref.sgd, 10, lrs, momentum=0.9))
    assert_same_trajectory(classic,
                           prob.run_reference(ref.classic_momentum, 10, lrs, momentum=0.9))
    assert not np.allclose(torch_like[-1][0], classic[-1][0], rtol=1e-3)


def test_classic_state_is_the_last_weight_change() -> None:
    w = _scalar(1.0)
    opt = SGD([w], lr=0.1, momentum=0.9, momentum_form="classic")
    _descend(opt, w, lambda x: x, 2)  # Δw1 = −0.1, w1 = 0.9; Δw2 = −0.09 − 0.09 = −0.18
    assert opt.state[w]["delta"].item() == pytest.approx(-0.18)
    assert w.item() == pytest.approx(0.72)
