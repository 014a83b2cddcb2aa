"""mg.integrate.odeint / odeint_adjoint: values, gradients, step-size control, memory."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

import microgradnet as mg
from microgradnet.integrate import _solvers, odeint, odeint_adjoint


def f64(x, **kw):
    return mg.tensor(x, dtype=mg.float64, **kw)


class Counter:
    """func wrapper counting evaluations."""

    def __init__(self, f):
        self.f, self.n = f, 0

    def __call__(self, t, y):
        self.n += 1
        return self.f(t, y)


# -------------------------------------------------------------------- values
def test_exponential_decay_of_any_shape_matches_the_closed_form():
    rates = np.array([[0.5, 1.0, 2.0], [0.1, 0.2, 3.0]])
    k = f64(rates)
    y0 = f64(np.arange(1.0, 7.0).reshape(2, 3))
    t = np.linspace(0.0, 2.0, 5)
    y = odeint(lambda t, y: -k * y, y0, f64(t), rtol=1e-10, atol=1e-12)
    assert y.shape == (5, 2, 3)
    expect = y0.numpy()[None] * np.exp(-rates[None] * t[:, None, None])
    np.testing.assert_allclose(y.numpy(), expect, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("method, options, tol", [("dopri5", None, 1e-8),
                                                  ("rk4", {"step_size": 0.01}, 1e-8),
                                                  ("euler", {"step_size": 2e-3}, 2e-2)])
def test_harmonic_oscillator_as_a_tuple_state(method, options, tol):
    w = 2.0
    t = np.linspace(0.0, 3.0, 13)

    def f(t, state):
        x, v = state
        return v, -(w ** 2) * x

    x, v = odeint(f, (f64(1.0), f64(0.0)), f64(t), rtol=1e-10, atol=1e-12, method=method,
                  options=options)
    assert x.shape == v.shape == (13,)
    np.testing.assert_allclose(x.numpy(), np.cos(w * t), atol=tol)
    np.testing.assert_allclose(v.numpy(), -w * np.sin(w * t), atol=tol * w)


def test_fixed_step_orders():
    """Halving the step divides the error by ~2 (Euler) and ~16 (RK4)."""
    t = f64([0.0, 1.0])

    def err(method, h):
        y = odeint(lambda t, y: -y, f64([1.0]), t, method=method, options={"step_size": h})
        return abs(y[1, 0].item() - np.exp(-1.0))

    assert 1.8 < err("euler", 0.02) / err("euler", 0.01) < 2.2
    assert 14 < err("rk4", 0.2) / err("rk4", 0.1) < 18


def test_float32_state_stays_float32():
    y = odeint(lambda t, y: -y, mg.tensor([1.0, 2.0]), mg.tensor([0.0, 1.0]))
    assert y.dtype == mg.float32
    np.testing.assert_allclose(y.numpy()[1], np.exp(-1.0) * np.array([1.0, 2.0]), rtol=1e-6)


def test_backwards_in_time_returns_to_the_start():
    f = lambda t, y: mg.stack([y[1], -mg.sin(y[0])])  # noqa: E731  (a pendulum)
    y0 = f64([1.0, 0.0])
    fwd = odeint(f, y0, f64([0.0, 2.0]), rtol=1e-10, atol=1e-12)
    back = odeint(f, fwd[1], f64([2.0, 1.0, 0.0]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(back[-1].numpy(), y0.numpy(), atol=1e-8)


def test_lotka_volterra_matches_scipy():
    scipy_integrate = pytest.importorskip("scipy.integrate")
    a, b, c, d = 1.1, 0.4, 0.4, 0.1

    def f(t, y):
        return mg.stack([a * y[0] - b * y[0] * y[1], d * y[0] * y[1] - c * y[1]])

    t = np.linspace(0.0, 15.0, 31)
    ours = odeint(f, f64([10.0, 5.0]), f64(t), rtol=1e-9, atol=1e-9).numpy()
    ref = scipy_integrate.solve_ivp(
        lambda t, y: [a * y[0] - b * y[0] * y[1], d * y[0] * y[1] - c * y[1]], (0.0, 15.0),
        [10.0, 5.0], method="DOP853", t_eval=t, rtol=1e-13, atol=1e-13).y.T
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-7)


def test_non_autonomous_system_matches_scipy():
    scipy_integrate = pytest.importorskip("scipy.integrate")
    t = np.linspace(0.0, 4.0, 9)
    ours = odeint(lambda t, y: -0.5 * y + mg.sin(3 * t), f64([1.0]), f64(t), rtol=1e-10,
                  atol=1e-12).numpy()[:, 0]
    ref = scipy_integrate.solve_ivp(lambda t, y: -0.5 * y + np.sin(3 * t), (0.0, 4.0), [1.0],
                                    method="DOP853", t_eval=t, rtol=1e-13, atol=1e-13).y[0]
    np.testing.assert_allclose(ours, ref, atol=1e-9)


# -------------------------------------------------------------------- step-size control
def test_step_count_scales_with_the_tolerance_like_a_fifth_order_method():
    """Accepted steps grow like tol^(-1/5): 10^5 tighter -> ~10x more steps."""
    counts = {}
    for rtol in (1e-4, 1e-9):
        stats = _solvers._Stats()
        _solvers.dopri5(lambda t, y: -y, f64([1.0]), f64([0.0, 10.0]), rtol, rtol * 1e-2, {},
                        stats)
        counts[rtol] = stats.accepted
    assert 5 < counts[1e-9] / counts[1e-4] < 20
    assert counts[1e-4] < 40


def test_steps_are_short_across_a_pulse_and_long_elsewhere():
    """dy/dt = a Gaussian pulse at t = 2.5: the controller shortens its steps only there."""
    stats = _solvers._Stats()
    w = 0.3

    def f(t, y):
        return mg.exp(-((t - 2.5) / w) ** 2) + 0 * y

    sol = _solvers.dopri5(f, f64([0.0]), f64([2.0, 8.0]), 1e-8, 1e-10, {}, stats)
    exact = w * np.sqrt(np.pi) / 2 * (math.erf(5.5 / w) + math.erf(0.5 / w))  # ∫ from 2 to 8
    np.testing.assert_allclose(sol[1].item(), exact, rtol=1e-6)
    h = np.array(stats.steps)
    starts = 2.0 + np.concatenate([[0.0], np.cumsum(h)[:-1]])
    near = np.abs(starts - 2.5) < 0.5
    assert h[near].max() < h[~near].max() / 5
    assert stats.accepted < 100


def test_function_evaluations_are_six_per_attempted_step():
    func = Counter(lambda t, y: -y)
    stats = _solvers._Stats()
    _solvers.dopri5(func, f64([1.0]), f64([0.0, 1.0, 2.0]), 1e-6, 1e-9, {}, stats)
    assert func.n == 2 + 6 * (stats.accepted + stats.rejected)  # 2 for the first-step guess


def test_max_num_steps():
    with pytest.raises(RuntimeError, match="max_num_steps"):
        odeint(lambda t, y: -y, f64([1.0]), f64([0.0, 100.0]), options={"max_num_steps": 5})


# -------------------------------------------------------------------- gradients
def _decay_problem():
    k = f64([0.7, 1.3], requires_grad=True)
    c = f64(0.4, requires_grad=True)
    y0 = f64([1.0, -0.5], requires_grad=True)
    t = f64([0.0, 0.5, 1.5], requires_grad=True)

    def f(t, y):
        return -k * y + c * mg.sin(2 * t) * y[::-1]

    return f, [k, c, y0, t]


def _loss(sol):
    return (sol ** 2).sum() + sol[-1, 0] * 3


# 1.5 / 0.04 is not an integer: moving t by ±eps keeps the number of grid points
@pytest.mark.parametrize("method, options", [("dopri5", None), ("rk4", {"step_size": 0.04})])
def test_direct_gradients_match_finite_differences(method, options):
    f, (k, c, y0, t) = _decay_problem()

    def loss_at(kv, cv, yv, tv):
        with mg.no_grad():
            k.data[...] = kv
            c.data[...] = cv
            return _loss(odeint(f, f64(yv), f64(tv), rtol=1e-12, atol=1e-12, method=method,
                                options=options)).item()

    base = [k.numpy().copy(), c.numpy().copy(), y0.numpy().copy(), t.numpy().copy()]
    grads = mg.grad(_loss(odeint(f, y0, t, rtol=1e-12, atol=1e-12, method=method,
                                 options=options)), [k, c, y0, t])
    eps = 1e-6
    for which, g in enumerate(grads):
        flat = np.atleast_1d(base[which]).ravel()
        for i in range(flat.size):
            if which == 3 and i > 0 and method == "rk4":
                continue  # linear interpolation between grid points: a secant, not f
            vals = []
            for sign in (1, -1):
                args = [b.copy() for b in base]
                a = np.atleast_1d(args[which]).astype(float).ravel()
                a[i] += sign * eps
                args[which] = a.reshape(np.shape(base[which]))
                vals.append(loss_at(*args))
            fd = (vals[0] - vals[1]) / (2 * eps)
            np.testing.assert_allclose(np.ravel(g.numpy())[i], fd, rtol=2e-5, atol=1e-7,
                                       err_msg=f"input {which}, element {i}")
    k.data[...], c.data[...] = base[0], base[1]


@pytest.mark.parametrize("method, options", [("dopri5", None), ("rk4", {"step_size": 0.01})])
def test_adjoint_gradients_match_direct_ones(method, options):
    f, params = _decay_problem()
    k, c, y0, t = params
    direct = mg.grad(_loss(odeint(f, y0, t, rtol=1e-11, atol=1e-12, method=method,
                                  options=options)), params)
    sol = odeint_adjoint(f, y0, t, rtol=1e-11, atol=1e-12, method=method, options=options,
                         adjoint_params=[k, c])
    adjoint = mg.grad(_loss(sol), params)
    for name, a, b in zip("k c y0 t".split(), adjoint, direct):
        if name == "t" and method == "rk4":
            # between grid points the direct mode interpolates linearly: its derivatives with
            # respect to interior (and so the first) times are secant slopes, not f
            np.testing.assert_allclose(a.numpy()[-1], b.numpy()[-1], rtol=1e-6)
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2e-2)
            continue
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-9, err_msg=name)


def test_adjoint_with_a_module_uses_its_parameters_by_default():
    mg.manual_seed(0)

    class Field(mg.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = mg.nn.Sequential(mg.nn.Linear(2, 8), mg.nn.Tanh(), mg.nn.Linear(8, 2))

        def forward(self, t, y):
            return self.net(y)

    field = Field()
    for p in field.parameters():
        p.data = p.data.astype(np.float64)
    y0 = f64([[1.0, 0.0], [0.5, -0.5]])  # a batch of two initial states
    t = f64(np.linspace(0, 1, 4))
    params = list(field.parameters())
    direct = mg.grad((odeint(field, y0, t, rtol=1e-10, atol=1e-12) ** 2).sum(), params)
    adjoint = mg.grad((odeint_adjoint(field, y0, t, rtol=1e-10, atol=1e-12) ** 2).sum(),
                      params)
    for a, b in zip(adjoint, direct):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-10)


def test_second_derivatives_through_the_direct_mode():
    k = f64(0.5, requires_grad=True)
    y = odeint(lambda t, y: -k * y, f64([1.0]), f64([0.0, 2.0]), rtol=1e-11, atol=1e-12)
    (g,) = mg.grad(y[1, 0], k, create_graph=True)
    (h,) = mg.grad(g, k)
    np.testing.assert_allclose(h.item(), 4 * np.exp(-1.0), rtol=1e-7)  # d²/dk² e^(-2k)


def _peak_bytes(integrator, steps):
    k = f64(0.3, requires_grad=True)
    y0 = f64(np.ones(200), requires_grad=True)
    kw = dict(method="rk4", options={"step_size": 1.0 / steps})
    if integrator is odeint_adjoint:
        kw["adjoint_params"] = [k]
    tracemalloc.start()
    sol = integrator(lambda t, y: -k * y, y0, f64([0.0, 1.0]), **kw)
    sol.sum().backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_adjoint_memory_stays_flat_while_direct_memory_grows():
    direct = [_peak_bytes(odeint, n) for n in (10, 40)]
    adjoint = [_peak_bytes(odeint_adjoint, n) for n in (10, 40)]
    assert direct[1] > 3 * direct[0]
    assert adjoint[1] < 1.5 * adjoint[0]
    assert adjoint[1] < direct[1] / 5


# -------------------------------------------------------------------- errors
def test_argument_errors():
    y0, t = f64([1.0]), f64([0.0, 1.0])
    with pytest.raises(ValueError, match="unknown method"):
        odeint(lambda t, y: y, y0, t, method="rk45")
    with pytest.raises(ValueError, match="1-d"):
        odeint(lambda t, y: y, y0, f64([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="strictly"):
        odeint(lambda t, y: y, y0, f64([0.0, 1.0, 0.5]))
    with pytest.raises(ValueError, match=r"returned shape \(2,\) but y has shape \(1,\)"):
        odeint(lambda t, y: mg.cat([y, y]), y0, t)
    with pytest.raises(ValueError, match="step_size"):
        odeint(lambda t, y: y, y0, t, method="rk4", options={"step_size": -1.0})
    with pytest.raises(ValueError, match="unknown"):
        odeint(lambda t, y: y, y0, t, options={"step_size": 0.1})
    with pytest.raises(TypeError, match="Tensor"):
        odeint(lambda t, y: y, [1.0, 2.0], t)
    with pytest.raises(TypeError, match="callable"):
        odeint(None, y0, t)


def test_single_time_returns_y0():
    y0 = f64([1.0, 2.0])
    np.testing.assert_array_equal(odeint(lambda t, y: y, y0, f64([0.0])).numpy(), [[1.0, 2.0]])


# -------------------------------------------------------------------- torchdiffeq, if present
def test_matches_torchdiffeq_when_installed():
    torch = pytest.importorskip("torch")
    torchdiffeq = pytest.importorskip("torchdiffeq")
    t = np.linspace(0.0, 2.0, 5)
    ours = odeint(lambda t, y: -0.5 * y + mg.sin(t), f64([1.0, 2.0]), f64(t), rtol=1e-6,
                  atol=1e-8).numpy()
    theirs = torchdiffeq.odeint(lambda t, y: -0.5 * y + torch.sin(t),
                                torch.tensor([1.0, 2.0], dtype=torch.float64),
                                torch.tensor(t), rtol=1e-6, atol=1e-8).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)


def test_adjoint_with_a_tuple_state_matches_direct():
    w = f64(2.0, requires_grad=True)
    x0, v0 = f64([1.0, 0.5], requires_grad=True), f64([0.0, 0.2], requires_grad=True)
    t = f64([0.0, 0.7, 1.3])

    def f(t, state):
        x, v = state
        return v, -(w ** 2) * mg.sin(x)

    def loss(sol):
        x, v = sol
        return (x ** 2).sum() + (x * v).sum()

    direct = mg.grad(loss(odeint(f, (x0, v0), t, rtol=1e-10, atol=1e-12)), [w, x0, v0])
    adjoint = mg.grad(loss(odeint_adjoint(f, (x0, v0), t, rtol=1e-10, atol=1e-12,
                                          adjoint_params=[w])), [w, x0, v0])
    for a, b in zip(adjoint, direct):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-10)
