"""Adam, AdamW, RMSprop and Adagrad against PyTorch's documented algorithms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradnet as mg
from microgradnet.optim import Adagrad, Adam, AdamW, RMSprop

from . import reference as ref
from .conftest import Problem, assert_same_trajectory

seeds = st.integers(0, 2**16)


def _one_step(opt_cls, w0, g, **hyper) -> np.ndarray:
    w = mg.tensor(w0, dtype=mg.float64, requires_grad=True)
    opt = opt_cls([w], **hyper)
    w.grad = mg.tensor(g, dtype=mg.float64)
    opt.step()
    return w.data


# -- hand-computed first steps -------------------------------------------------------------------
def test_adam_first_step_by_hand() -> None:
    # m̂ = g, v̂ = g²: w ← w − η g / (|g| + ε)
    g = np.array([2.0, -0.5, 0.0])
    got = _one_step(Adam, [1.0, 1.0, 1.0], g, lr=0.1, eps=1e-8)
    np.testing.assert_allclose(got, 1.0 - 0.1 * g / (np.abs(g) + 1e-8), rtol=1e-14)


def test_adam_second_step_by_hand() -> None:
    # g₁ = 1, g₂ = 3, β = (0.5, 0.5), η = 1, ε = 0:
    # m = 0.5, then 0.25 + 1.5 = 1.75, m̂ = 1.75/0.75;
    # v = 0.5, then 0.25 + 4.5 = 4.75, v̂ = 4.75/0.75
    w = mg.tensor([0.0], dtype=mg.float64, requires_grad=True)
    opt = Adam([w], lr=1.0, betas=(0.5, 0.5), eps=0.0)
    for g in (1.0, 3.0):
        w.grad = mg.tensor([g], dtype=mg.float64)
        opt.step()
    assert w.item() == pytest.approx(-1.0 - (1.75 / 0.75) / math.sqrt(4.75 / 0.75), rel=1e-13)
    assert opt.state[w]["step"] == 2


def test_amsgrad_keeps_the_largest_second_moment() -> None:
    # g = 10 then 0 with β = (0.5, 0.5): m = 5 then 2.5; v = 50 then 25, but AMSGrad divides
    # by √(50 / 0.75) at step 2
    w = mg.tensor([0.0], dtype=mg.float64, requires_grad=True)
    opt = Adam([w], lr=1.0, betas=(0.5, 0.5), eps=0.0, amsgrad=True)
    for g in (10.0, 0.0):
        w.grad = mg.tensor([g], dtype=mg.float64)
        opt.step()
    assert opt.state[w]["max_exp_avg_sq"].item() == 50.0
    assert w.item() == pytest.approx(-1.0 - (2.5 / 0.75) / math.sqrt(50 / 0.75), rel=1e-13)


def test_adamw_decays_the_weights_outside_the_moments() -> None:
    # η = 0.1, λ = 0.5, g = 2: w = 1 · (1 − 0.05) − 0.1 · 2 / (2 + ε)
    got = _one_step(AdamW, [1.0], [2.0], lr=0.1, weight_decay=0.5)
    np.testing.assert_allclose(got, [0.95 - 0.1 * 2 / (2 + 1e-8)], rtol=1e-14)
    # Adam folds λw into g instead: g = 2.5, so the first step is still ≈ η
    got = _one_step(Adam, [1.0], [2.0], lr=0.1, weight_decay=0.5)
    np.testing.assert_allclose(got, [1 - 0.1 * 2.5 / (2.5 + 1e-8)], rtol=1e-14)
    assert AdamW([mg.zeros(1, requires_grad=True)]).defaults["weight_decay"] == 1e-2


def test_rmsprop_first_steps_by_hand() -> None:
    # v = (1 − α) g², w ← w − η g / (√v + ε)
    got = _one_step(RMSprop, [1.0], [3.0], lr=0.01, alpha=0.9, eps=0.0)
    np.testing.assert_allclose(got, [1 - 0.01 * 3 / math.sqrt(0.1 * 9)], rtol=1e-14)
    # centered: ḡ = 0.1 · 3, v' = 0.9 − 0.09 = 0.81
    got = _one_step(RMSprop, [1.0], [3.0], lr=0.01, alpha=0.9, eps=0.0, centered=True)
    np.testing.assert_allclose(got, [1 - 0.01 * 3 / 0.9], rtol=1e-14)
    # momentum: b = g/(√v + ε) on the first step, then μ b + ...
    w = mg.tensor([1.0], dtype=mg.float64, requires_grad=True)
    opt = RMSprop([w], lr=0.01, alpha=0.5, eps=0.0, momentum=0.9)
    for _ in range(2):
        w.grad = mg.tensor([2.0], dtype=mg.float64)
        opt.step()
    # v₁ = 2, d₁ = 2/√2; v₂ = 1 + 2 = 3, d₂ = 2/√3; b₂ = 0.9 d₁ + d₂
    d1, d2 = 2 / math.sqrt(2), 2 / math.sqrt(3)
    assert w.item() == pytest.approx(1 - 0.01 * d1 - 0.01 * (0.9 * d1 + d2), rel=1e-13)


def test_adagrad_steps_by_hand() -> None:
    # s = τ + g², w ← w − η g / (√s + ε); with lr_decay the 2nd step uses η / (1 + lr_decay)
    w = mg.tensor([1.0], dtype=mg.float64, requires_grad=True)
    opt = Adagrad([w], lr=0.1, lr_decay=0.5, initial_accumulator_value=1.0, eps=0.0)
    for _ in range(2):
        w.grad = mg.tensor([3.0], dtype=mg.float64)
        opt.step()
    expected = 1 - 0.1 * 3 / math.sqrt(10) - (0.1 / 1.5) * 3 / math.sqrt(19)
    assert w.item() == pytest.approx(expected, rel=1e-13)
    assert opt.state[w]["sum"].item() == 19.0 and opt.state[w]["step"] == 2


# -- against the documented algorithms -----------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(seed=seeds, lr=st.floats(1e-3, 0.1), b1=st.sampled_from([0.0, 0.5, 0.9]),
       b2=st.sampled_from([0.9, 0.999]), eps=st.sampled_from([1e-8, 1e-3]),
       weight_decay=st.sampled_from([0.0, 0.01, 0.3]), amsgrad=st.booleans(),
       maximize=st.booleans(), decoupled=st.booleans())
def test_adam_family_matches_the_documented_algorithm(seed, lr, b1, b2, eps, weight_decay,
                                                      amsgrad, maximize, decoupled) -> None:
    hyper = dict(lr=lr, betas=(b1, b2), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                 maximize=maximize)
    prob = Problem(seed)
    cls = AdamW if decoupled else Adam
    got = prob.run(lambda ps: cls(ps, **hyper), 10)
    expected = prob.run_reference(ref.adam, 10, decoupled=decoupled, **hyper)
    assert_same_trajectory(got, expected, rtol=1e-9, atol=1e-11)


@settings(max_examples=30, deadline=None)
@given(seed=seeds, lr=st.floats(1e-3, 0.05), alpha=st.sampled_from([0.5, 0.9, 0.99]),
       eps=st.sampled_from([1e-8, 1e-2]), weight_decay=st.sampled_from([0.0, 0.1]),
       momentum=st.sampled_from([0.0, 0.9]), centered=st.booleans(), maximize=st.booleans())
def test_rmsprop_matches_the_documented_algorithm(seed, lr, alpha, eps, weight_decay, momentum,
                                                  centered, maximize) -> None:
    hyper = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                 centered=centered, maximize=maximize)
    prob = Problem(seed)
    got = prob.run(lambda ps: RMSprop(ps, **hyper), 10)
    assert_same_trajectory(got, prob.run_reference(ref.rmsprop, 10, **hyper), rtol=1e-9,
                           atol=1e-11)


@settings(max_examples=30, deadline=None)
@given(seed=seeds, lr=st.floats(1e-3, 0.5), lr_decay=st.sampled_from([0.0, 0.1]),
       weight_decay=st.sampled_from([0.0, 0.1]), init=st.sampled_from([0.0, 0.1, 2.0]),
       eps=st.sampled_from([1e-10, 1e-3]), maximize=st.booleans())
def test_adagrad_matches_the_documented_algorithm(seed, lr, lr_decay, weight_decay, init, eps,
                                                  maximize) -> None:
    hyper = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                 initial_accumulator_value=init, eps=eps, maximize=maximize)
    prob = Problem(seed)
    got = prob.run(lambda ps: Adagrad(ps, **hyper), 10)
    assert_same_trajectory(got, prob.run_reference(ref.adagrad, 10, **hyper), rtol=1e-9,
                           atol=1e-11)


def test_a_hard_coded_adam_trajectory() -> None:
    """Adam(lr=0.1) on E = ½(w₁² + 4 w₂²) from (1, −2), from PyTorch's documented algorithm.

    Step 1 moves each weight by η against its gradient's sign (m̂ = g, v̂ = g²).
    """
    expected = [[0.9, -1.9], [0.80041223, -1.80016649], [0.70158627, -1.70062339],
                [0.60393906, -1.60150489]]
    w = mg.tensor([1.0, -2.0], dtype=mg.float64, requires_grad=True)
    opt = Adam([w], lr=0.1)
    for row in expected:
        opt.zero_grad()
        (0.5 * (w * w * mg.tensor([1.0, 4.0], dtype=mg.float64)).sum()).backward()
        opt.step()
        np.testing.assert_allclose(w.data, row, atol=5e-9)


# -- state, dtypes, checks -----------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda ps: Adam(ps, lr=0.01, amsgrad=True),
    lambda ps: AdamW(ps, lr=0.01),
    lambda ps: RMSprop(ps, lr=0.01, momentum=0.9, centered=True),
    lambda ps: Adagrad(ps, lr=0.1, lr_decay=0.01),
])
def test_state_dict_round_trip_continues_the_same_trajectory(make) -> None:
    from .test_optimizer import assert_plain

    prob = Problem(5)
    full = prob.run(make, 6)
    params = prob.params()
    opt = make(params)
    for _ in range(3):
        opt.zero_grad()
        prob.loss(*params).backward()
        opt.step()
    sd = opt.state_dict()
    assert_plain(sd)
    params2 = [mg.tensor(p.data, requires_grad=True) for p in params]
    opt2 = make(params2)
    opt2.load_state_dict(sd)
    for _ in range(3):
        opt2.zero_grad()
        prob.loss(*params2).backward()
        opt2.step()
    for p, e in zip(params2, full[-1]):
        np.testing.assert_allclose(p.data, e, rtol=1e-12)


@pytest.mark.parametrize("cls", [Adam, AdamW, RMSprop, Adagrad])
def test_float32_parameters_keep_float32_state(cls) -> None:
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    opt = cls([w], lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    assert w.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[w].values() if isinstance(v, mg.Tensor))


@pytest.mark.parametrize("cls, kwargs, message", [
    (Adam, dict(lr=-1.0), "Invalid learning rate: -1.0"),
    (Adam, dict(eps=-1e-8), "Invalid epsilon value"),
    (Adam, dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (Adam, dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (AdamW, dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (RMSprop, dict(alpha=-0.5), "Invalid alpha value: -0.5"),
    (RMSprop, dict(momentum=-0.5), "Invalid momentum value"),
    (RMSprop, dict(eps=-1.0), "Invalid epsilon value"),
    (Adagrad, dict(lr_decay=-1.0), "Invalid lr_decay value"),
    (Adagrad, dict(initial_accumulator_value=-1.0), "Invalid initial_accumulator_value value"),
])
def test_invalid_hyper_parameters(cls, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        cls([mg.zeros(1, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("cls", [Adam, AdamW, RMSprop, Adagrad])
def test_non_finite_gradients_change_nothing(cls) -> None:
    a, b = mg.ones(2, requires_grad=True), mg.ones(2, requires_grad=True)
    opt = cls([a, b], lr=0.1)
    a.grad, b.grad = mg.ones(2), mg.tensor([1.0, np.inf])
    with pytest.raises(RuntimeError, match="parameter 1.*non-finite"):
        opt.step()
    assert np.array_equal(a.data, [1.0, 1.0]) and not opt.state[a]
