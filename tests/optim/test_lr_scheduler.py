"""Learning-rate schedulers: PyTorch's lr sequences, checked against the documented closed forms."""

from __future__ import annotations

import math
from bisect import bisect_right

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradnet as mg
from microgradnet.optim import SGD, Adam
from microgradnet.optim import lr_scheduler as lrs

from .test_optimizer import assert_plain


def _opt(*lrs_, cls=SGD):
    groups = [{"params": [mg.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs_]
    return cls(groups, lr=lrs_[0])


def _sequence(sched, epochs: int) -> list[list[float]]:
    """The lrs in force at epoch 0, 1, ..., epochs − 1 (the scheduler steps after each)."""
    out = []
    for _ in range(epochs):
        out.append(sched.get_last_lr())
        assert out[-1] == [g["lr"] for g in sched.optimizer.param_groups]
        sched.optimizer.step()
        sched.step()
    return out


def _closed(fn, bases, epochs) -> list[list[float]]:
    return [[fn(base, e) for base in bases] for e in range(epochs)]


def _assert_close(got, expected) -> None:
    assert len(got) == len(expected)
    for e, (g, x) in enumerate(zip(got, expected)):
        assert g == pytest.approx(x, rel=1e-9, abs=1e-12), f"epoch {e}"


bases = st.lists(st.floats(1e-4, 1.0), min_size=1, max_size=2)


# -- against the closed forms --------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(bases=bases, step_size=st.integers(1, 5), gamma=st.floats(0.05, 1.0))
def test_step_lr(bases, step_size, gamma) -> None:
    got = _sequence(lrs.StepLR(_opt(*bases), step_size, gamma), 20)
    _assert_close(got, _closed(lambda b, e: b * gamma ** (e // step_size), bases, 20))


@settings(max_examples=25, deadline=None)
@given(bases=bases, milestones=st.lists(st.integers(1, 15), max_size=4),
       gamma=st.floats(0.05, 1.0))
def test_multistep_lr(bases, milestones, gamma) -> None:
    got = _sequence(lrs.MultiStepLR(_opt(*bases), milestones, gamma), 20)
    ms = sorted(milestones)  # a repeated milestone multiplies by γ twice (PyTorch's Counter)
    _assert_close(got, _closed(lambda b, e: b * gamma ** bisect_right(ms, e), bases, 20))


@settings(max_examples=25, deadline=None)
@given(bases=bases, gamma=st.floats(0.5, 1.0))
def test_exponential_lr(bases, gamma) -> None:
    got = _sequence(lrs.ExponentialLR(_opt(*bases), gamma), 20)
    _assert_close(got, _closed(lambda b, e: b * gamma**e, bases, 20))


@settings(max_examples=25, deadline=None)
@given(bases=bases, T_max=st.integers(1, 8), eta_min=st.sampled_from([0.0, 1e-5]))
def test_cosine_annealing_lr_recursion_gives_the_closed_form(bases, T_max, eta_min) -> None:
    # over several periods: down to η_min at T_max, back up to the base at 2·T_max, ...
    n = 3 * T_max + 2
    got = _sequence(lrs.CosineAnnealingLR(_opt(*bases), T_max, eta_min), n)
    closed = _closed(
        lambda b, e: eta_min + (b - eta_min) * (1 + math.cos(math.pi * e / T_max)) / 2, bases, n)
    for e, (g, x) in enumerate(zip(got, closed)):
        assert g == pytest.approx(x, rel=1e-7, abs=1e-9), f"epoch {e}"


@settings(max_examples=25, deadline=None)
@given(bases=bases, start=st.floats(0.01, 1.0), end=st.floats(0.0, 1.0),
       total=st.integers(1, 8))
def test_linear_lr_warm_up(bases, start, end, total) -> None:
    got = _sequence(lrs.LinearLR(_opt(*bases), start, end, total), 15)
    _assert_close(got, _closed(lambda b, e: b * (start + (end - start) * min(e, total) / total),
                               bases, 15))


@settings(max_examples=15, deadline=None)
@given(bases=bases, factor=st.floats(0.01, 1.0), total=st.integers(1, 6))
def test_constant_lr(bases, factor, total) -> None:
    got = _sequence(lrs.ConstantLR(_opt(*bases), factor, total), 10)
    _assert_close(got, _closed(lambda b, e: b * (factor if e < total else 1.0), bases, 10))


def test_lambda_lr_one_function_per_group() -> None:
    sched = lrs.LambdaLR(_opt(1.0, 0.1), [lambda e: 0.5**e, lambda e: e + 1])
    _assert_close(_sequence(sched, 4), [[1.0, 0.1], [0.5, 0.2], [0.25, 0.3], [0.125, 0.4]])
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        lrs.LambdaLR(_opt(1.0, 0.1), [lambda e: 1.0])


def test_multiplicative_lr() -> None:
    sched = lrs.MultiplicativeLR(_opt(1.0), lambda e: 0.1 * e)
    _assert_close(_sequence(sched, 4), [[1.0], [0.1], [0.1 * 0.2], [0.1 * 0.2 * 0.3]])


# -- hand-computed values ------------------------------------------------------------------------
def test_values_by_hand() -> None:
    _assert_close(_sequence(lrs.StepLR(_opt(0.1), 2, 0.5), 5),
                  [[0.1], [0.1], [0.05], [0.05], [0.025]])
    _assert_close(_sequence(lrs.MultiStepLR(_opt(1.0), [2, 2, 4], 0.5), 6),
                  [[1.0], [1.0], [0.25], [0.25], [0.125], [0.125]])
    # cos(π/3) = 0.5: (1 + 0.5)/2 = 0.75, (1 − 0.5)/2 = 0.25, then 0, then 0.25 again
    _assert_close(_sequence(lrs.CosineAnnealingLR(_opt(1.0), 3), 5),
                  [[1.0], [0.75], [0.25], [0.0], [0.25]])
    # warm-up from a tenth of the lr over 3 epochs
    _assert_close(_sequence(lrs.LinearLR(_opt(0.3), 0.1, 1.0, 3), 5),
                  [[0.03], [0.12], [0.21], [0.3], [0.3]])


def test_chained_schedulers_multiply() -> None:
    """Recursive forms compose: ExponentialLR and StepLR on one optimizer."""
    opt = _opt(1.0)
    a, b = lrs.ExponentialLR(opt, 0.9), lrs.StepLR(opt, 3, 0.1)
    got = []
    for _ in range(8):
        got.append(opt.param_groups[0]["lr"])
        opt.step()
        a.step()
        b.step()
    assert got == pytest.approx([0.9**e * 0.1 ** (e // 3) for e in range(8)])


def test_step_with_an_epoch_uses_the_closed_form() -> None:
    sched = lrs.StepLR(_opt(1.0), 2, 0.5)
    sched.step(5)
    assert sched.last_epoch == 5 and sched.get_last_lr() == [0.25]
    sched = lrs.CosineAnnealingLR(_opt(1.0), 4)
    sched.step(2)
    assert sched.get_last_lr() == pytest.approx([0.5])


def test_sequential_warm_up_then_cosine() -> None:
    opt = _opt(1.0, 0.1)
    warm = lrs.LinearLR(opt, start_factor=0.1, total_iters=3)
    cos = lrs.CosineAnnealingLR(opt, T_max=5)
    sched = lrs.SequentialLR(opt, [warm, cos], milestones=[3])
    got = _sequence(sched, 12)

    def closed(b, e):
        if e < 3:
            return b * (0.1 + 0.9 * e / 3)
        return b * (1 + math.cos(math.pi * (e - 3) / 5)) / 2

    _assert_close(got, _closed(closed, [1.0, 0.1], 12))
    sd = sched.state_dict()
    assert_plain(sd)
    assert len(sd["_schedulers"]) == 2 and "optimizer" not in sd["_schedulers"][0]


def test_sequential_state_dict_round_trip_and_errors() -> None:
    def build(opt):
        return lrs.SequentialLR(opt, [lrs.ConstantLR(opt, 0.5, 2), lrs.ExponentialLR(opt, 0.9)],
                                milestones=[4])

    opt = _opt(1.0)
    sched = build(opt)
    _sequence(sched, 3)
    sd, opt_sd = sched.state_dict(), opt.state_dict()
    tail = _sequence(sched, 5)
    opt2 = _opt(1.0)
    sched2 = build(opt2)
    opt2.load_state_dict(opt_sd)
    sched2.load_state_dict(sd)
    _assert_close(_sequence(sched2, 5), tail)

    other = _opt(1.0)
    with pytest.raises(ValueError, match="same optimizer"):
        lrs.SequentialLR(opt, [lrs.StepLR(other, 2)], milestones=[])
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        lrs.SequentialLR(opt, [lrs.StepLR(opt, 2)], milestones=[3])


# -- bookkeeping ---------------------------------------------------------------------------------
def test_initial_lr_and_base_lrs() -> None:
    opt = _opt(0.5, 0.05)
    sched = lrs.ExponentialLR(opt, 0.5)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.5, 0.05]
    assert sched.base_lrs == [0.5, 0.05] and sched.last_epoch == 0
    sched.step()
    # a second scheduler keeps the recorded initial_lr as its base
    second = lrs.StepLR(opt, 10)
    assert second.base_lrs == [0.5, 0.05]


def test_resuming_needs_initial_lr() -> None:
    with pytest.raises(KeyError, match=r"initial_lr' is not specified in param_groups\[0\]"):
        lrs.StepLR(_opt(1.0), 2, last_epoch=3)
    opt = _opt(1.0)
    opt.param_groups[0]["initial_lr"] = 1.0
    sched = lrs.CosineAnnealingLR(opt, T_max=4, last_epoch=1)  # resumes at epoch 2
    assert sched.last_epoch == 2 and sched.get_last_lr() == pytest.approx([0.5])
    sched.step()
    assert sched.get_last_lr() == pytest.approx([(1 + math.cos(3 * math.pi / 4)) / 2])


def test_not_an_optimizer() -> None:
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lrs.StepLR(object(), 2)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lrs.ReduceLROnPlateau(object())


@pytest.mark.parametrize("make, message", [
    (lambda o: lrs.StepLR(o, 0), "step_size must be a positive integer"),
    (lambda o: lrs.CosineAnnealingLR(o, 0), "T_max must be positive"),
    (lambda o: lrs.LinearLR(o, start_factor=0.0), "Starting multiplicative factor"),
    (lambda o: lrs.LinearLR(o, start_factor=1.5), "Starting multiplicative factor"),
    (lambda o: lrs.LinearLR(o, end_factor=1.5), "Ending multiplicative factor"),
    (lambda o: lrs.LinearLR(o, total_iters=0), "total_iters"),
    (lambda o: lrs.ConstantLR(o, factor=2.0), "Constant multiplicative factor"),
    (lambda o: lrs.ConstantLR(o, total_iters=0), "total_iters"),
    (lambda o: lrs.ReduceLROnPlateau(o, factor=1.0), "Factor should be < 1.0"),
    (lambda o: lrs.ReduceLROnPlateau(o, mode="up"), "mode 'up' is unknown"),
    (lambda o: lrs.ReduceLROnPlateau(o, threshold_mode="x"), "threshold mode 'x' is unknown"),
    (lambda o: lrs.ReduceLROnPlateau(o, min_lr=[0.1, 0.2]), "expected 1 min_lrs, got 2"),
    (lambda o: lrs.SequentialLR(o, [lrs.ReduceLROnPlateau(o)], []), "ReduceLROnPlateau"),
])
def test_invalid_arguments(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make(_opt(1.0))


@pytest.mark.parametrize("make", [
    lambda o: lrs.StepLR(o, 3, 0.5),
    lambda o: lrs.MultiStepLR(o, (2, 5), 0.5),
    lambda o: lrs.ExponentialLR(o, 0.8),
    lambda o: lrs.CosineAnnealingLR(o, 4, 0.01),
    lambda o: lrs.LinearLR(o, 0.2, 1.0, 4),
    lambda o: lrs.ConstantLR(o, 0.5, 3),
    lambda o: lrs.LambdaLR(o, lambda e: 0.9**e),
])
def test_state_dict_round_trip_continues_the_sequence(make) -> None:
    opt = _opt(1.0, 0.1)
    sched = make(opt)
    _sequence(sched, 4)
    sd, opt_sd = sched.state_dict(), opt.state_dict()
    assert_plain(sd)
    assert "optimizer" not in sd
    tail = _sequence(sched, 6)

    opt2 = _opt(7.0, 7.0)
    sched2 = make(opt2)
    opt2.load_state_dict(opt_sd)
    sched2.load_state_dict(sd)
    assert sched2.last_epoch == 4 and sched2.get_last_lr() == sd["_last_lr"]
    _assert_close(_sequence(sched2, 6), tail)


def test_lambda_state_dict_drops_functions_but_keeps_callable_objects_state() -> None:
    class Decay:
        def __init__(self, rate: float) -> None:
            self.rate = rate

        def __call__(self, epoch: int) -> float:
            return self.rate**epoch

    sched = lrs.LambdaLR(_opt(1.0, 1.0), [lambda e: 1.0, Decay(0.5)])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [None, {"rate": 0.5}]
    assert_plain(sd)
    fresh = lrs.LambdaLR(_opt(1.0, 1.0), [lambda e: 1.0, Decay(0.9)])
    fresh.load_state_dict(sd)
    assert fresh.lr_lambdas[1].rate == 0.5 and callable(fresh.lr_lambdas[0])


def test_load_state_dict_checks_the_group_count() -> None:
    sd = lrs.StepLR(_opt(1.0, 0.1), 2).state_dict()
    with pytest.raises(ValueError, match="2 base_lrs, but the optimizer has 1"):
        lrs.StepLR(_opt(1.0), 2).load_state_dict(sd)


def test_schedulers_drive_an_adaptive_optimizer_too() -> None:
    opt = _opt(0.01, cls=Adam)
    sched = lrs.ExponentialLR(opt, 0.5)
    sched.step()
    assert opt.param_groups[0]["lr"] == 0.005


# -- ReduceLROnPlateau ---------------------------------------------------------------------------
def _plateau(metrics, **kwargs) -> list[float]:
    opt = _opt(1.0)
    sched = lrs.ReduceLROnPlateau(opt, **kwargs)
    out = []
    for m in metrics:
        sched.step(m)
        out.append(opt.param_groups[0]["lr"])
        assert sched.get_last_lr() == [out[-1]]
    return out


def test_plateau_patience() -> None:
    # best 5 at epoch 1; epochs 2, 3 bad (≤ patience); epoch 4 is the 3rd bad one: reduce
    got = _plateau([5, 5, 5, 5, 5, 5, 5, 5], factor=0.5, patience=2)
    assert got == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]
    # an improvement resets the count
    got = _plateau([5, 5, 4, 4, 4, 4], factor=0.5, patience=2)
    assert got == [1, 1, 1, 1, 1, 0.5]


def test_plateau_cooldown() -> None:
    # reduce at epoch 2 (patience 0), then 2 cooldown epochs that do not count
    got = _plateau([5] * 7, factor=0.5, patience=0, cooldown=2)
    assert got == [1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]


def test_plateau_thresholds_and_max_mode() -> None:
    # rel: 9.99 < 10·(1 − 0.01) is False, so no improvement; abs: 9.99 < 10 − 0.001 is True
    assert _plateau([10, 9.99], factor=0.5, patience=0, threshold=0.01) == [1, 0.5]
    assert _plateau([10, 9.99], factor=0.5, patience=0, threshold=0.001,
                    threshold_mode="abs") == [1, 1]
    # max: rising is good, flat or falling is bad
    assert _plateau([1, 2, 3, 3], mode="max", factor=0.5, patience=0) == [1, 1, 1, 0.5]
    assert _plateau([1, 1.005], mode="max", factor=0.5, patience=0, threshold=0.01) == [1, 0.5]
    assert _plateau([1, 1.005], mode="max", factor=0.5, patience=0, threshold=0.001,
                    threshold_mode="abs") == [1, 1]


def test_plateau_min_lr_and_eps() -> None:
    opt = _opt(1.0, 0.1)
    sched = lrs.ReduceLROnPlateau(opt, factor=0.1, patience=0, min_lr=[0.05, 0.0], eps=1e-3)
    for m in [1, 1, 1, 1]:
        sched.step(m)
    # group 0 stops at min_lr; group 1 goes 0.01, 0.001, then 1e-4: a change 9e-4 < eps is skipped
    assert sched.get_last_lr() == pytest.approx([0.05, 0.001])


def test_plateau_accepts_a_scalar_tensor_metric_and_round_trips() -> None:
    opt = _opt(1.0)
    sched = lrs.ReduceLROnPlateau(opt, factor=0.5, patience=1)
    for m in [3.0, 3.0]:
        sched.step(mg.tensor(m))
    sd = sched.state_dict()
    assert_plain(sd)
    assert sd["best"] == 3.0 and sd["num_bad_epochs"] == 1 and sd["last_epoch"] == 2
    fresh = lrs.ReduceLROnPlateau(_opt(1.0), factor=0.5, patience=1)
    fresh.load_state_dict(sd)
    fresh.step(3.0)  # the second bad epoch: reduce, as the original would
    sched.step(3.0)
    assert fresh.get_last_lr() == sched.get_last_lr() == [0.5]
    assert isinstance(sched, lrs.LRScheduler)


@pytest.mark.skipif(not hasattr(mg, "save"), reason="mg.save has not landed yet")
def test_scheduler_state_survives_mg_save(tmp_path) -> None:
    opt = _opt(1.0)
    scheds = [lrs.CosineAnnealingLR(opt, 5), lrs.ReduceLROnPlateau(opt, patience=0)]
    scheds[0].step()
    scheds[1].step(1.0)
    for i, s in enumerate(scheds):
        mg.save(s.state_dict(), tmp_path / f"s{i}.npz")
        loaded = mg.load(tmp_path / f"s{i}.npz")
        assert loaded == s.state_dict()
