"""mg.optimize: SciPy's solvers with exact derivatives agree with SciPy's own runs and need
fewer function evaluations."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import microgradnet as mg
from microgradnet import optimize as mopt

so = pytest.importorskip("scipy.optimize")


class Counted:
    """Counts calls of a function (forward passes, including finite-difference ones)."""

    def __init__(self, f):
        self.f, self.n = f, 0

    def __call__(self, *a):
        self.n += 1
        return self.f(*a)


def rosen_mg(x):
    return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


X0 = np.array([-1.2, 1.0, 0.8, -0.5])


@pytest.mark.parametrize("method", ["BFGS", "L-BFGS-B", "CG", "SLSQP", "trust-constr"])
def test_gradient_methods_agree_with_scipy_finite_differences_using_fewer_evaluations(method):
    ours_f = Counted(rosen_mg)
    res = mopt.minimize(ours_f, X0, method=method, hessp=False)  # gradients only
    fd_f = Counted(so.rosen)
    ref = so.minimize(fd_f, X0, method=method)
    assert res.success
    np.testing.assert_allclose(res.x, ref.x, atol=2e-3)  # a minimum (4-d Rosenbrock has two)
    assert res.fun <= ref.fun + 1e-6
    assert ours_f.n < fd_f.n / 2, (ours_f.n, fd_f.n)  # FD costs 4 extra calls per gradient


@pytest.mark.parametrize("method", ["Newton-CG", "trust-ncg", "trust-krylov", "trust-constr"])
def test_hessian_vector_products_reproduce_scipys_exact_runs(method):
    """Our gradient and H·v are SciPy's analytic ones: the same iterates, the same counts."""
    res = mopt.minimize(rosen_mg, X0, method=method)
    ref = so.minimize(so.rosen, X0, jac=so.rosen_der, hessp=so.rosen_hess_prod, method=method)
    assert res.success
    if method != "trust-constr":  # trust-constr's stopping test sees last-bit differences
        assert res.nit == ref.nit and res.nfev == ref.nfev
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("method", ["dogleg", "trust-exact"])
def test_full_hessian_methods(method):
    res = mopt.minimize(rosen_mg, X0, method=method)
    ref = so.minimize(so.rosen, X0, jac=so.rosen_der, hess=so.rosen_hess, method=method)
    assert res.success and res.nit == ref.nit
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-8, atol=1e-10)


def test_gradient_free_method_gets_values_only():
    res = mopt.minimize(rosen_mg, X0[:2], method="Nelder-Mead")
    ref = so.minimize(so.rosen, X0[:2], method="Nelder-Mead")
    np.testing.assert_allclose(res.x, ref.x)
    assert res.nfev == ref.nfev


def test_hessp_false_and_user_jac_pass_through():
    res = mopt.minimize(rosen_mg, X0, method="trust-constr", hessp=False)
    assert res.success
    res = mopt.minimize(lambda x: rosen_mg(x), X0, method="BFGS",
                        jac=lambda x: so.rosen_der(x.numpy() if hasattr(x, "numpy") else x))
    np.testing.assert_allclose(res.x, np.ones(4), atol=1e-4)


# ------------------------------------------------------------------ least squares
T = np.linspace(0.0, 4.0, 40)
TRUE = np.array([2.0, 0.7, 3.0, 0.3])


def model_np(p):
    return p[0] * np.exp(-p[1] * T) * np.cos(p[2] * T + p[3])


Y = model_np(TRUE) + np.random.default_rng(0).normal(0, 0.02, T.size)


def residuals_mg(p):
    t = mg.tensor(T)
    return p[0] * mg.exp(-p[1] * t) * mg.cos(p[2] * t + p[3]) - mg.tensor(Y)


def jac_np(p):
    e, c, s = np.exp(-p[1] * T), np.cos(p[2] * T + p[3]), np.sin(p[2] * T + p[3])
    return np.stack([e * c, -p[0] * T * e * c, -p[0] * T * e * s, -p[0] * e * s], axis=1)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobians_are_exact(mode):
    prob = mopt._Problem(residuals_mg, TRUE, "least_squares")
    np.testing.assert_allclose(prob.jacobian(TRUE, mode, T.size), jac_np(TRUE), rtol=1e-12,
                               atol=1e-14)


def test_auto_picks_the_cheaper_mode():
    assert mopt._pick_mode("auto", 4, 40) == "forward"  # 4 passes instead of 40 sweeps
    assert mopt._pick_mode("auto", 40, 4) == "reverse"
    assert mopt._pick_mode("reverse", 4, 40) == "reverse"


@pytest.mark.parametrize("method", ["lm", "trf", "dogbox"])
@pytest.mark.parametrize("jac", ["auto", "reverse"])
def test_least_squares_agrees_with_scipy_finite_differences_using_fewer_evaluations(method, jac):
    x0 = np.array([1.5, 0.5, 2.8, 0.0])
    ours_r = Counted(residuals_mg)
    res = mopt.least_squares(ours_r, x0, method=method, jac=jac)
    fd_r = Counted(lambda p: model_np(p) - Y)
    ref = so.least_squares(fd_r, x0, method=method)
    assert res.success
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-6)
    np.testing.assert_allclose(res.x, TRUE, atol=0.05)
    # forward passes: ours = evaluations (+ one per unknown for forward-mode Jacobians until
    # forward mode lands, which recomputes the residuals); FD = evaluations + 4 per Jacobian
    assert ours_r.n < fd_r.n, (ours_r.n, fd_r.n)


def test_least_squares_with_scipy_jac_passes_through():
    res = mopt.least_squares(residuals_mg, np.array([1.5, 0.5, 2.8, 0.0]), jac="2-point")
    np.testing.assert_allclose(res.x, TRUE, atol=0.05)


# ------------------------------------------------------------------ forms of x0
def test_tensor_and_matrix_x0_keep_their_shape():
    target = np.arange(6.0).reshape(2, 3)
    res = mopt.minimize(lambda W: ((W - mg.tensor(target)) ** 2).sum(), np.zeros((2, 3)))
    assert res.x.shape == (2, 3)
    np.testing.assert_allclose(res.x, target, atol=1e-6)
    x0 = mg.tensor([3.0, -1.0], dtype=mg.float64)
    res = mopt.least_squares(lambda x: x - mg.tensor([1.0, 2.0]), x0)
    np.testing.assert_allclose(res.x, [1.0, 2.0])
    np.testing.assert_array_equal(x0.numpy(), [3.0, -1.0])  # a tensor x0 is not modified


class Oscillation(mg.nn.Module):
    def __init__(self):
        super().__init__()
        self.amplitude = mg.nn.Parameter(mg.tensor(1.5, dtype=mg.float64))
        self.decay = mg.nn.Parameter(mg.tensor(0.5, dtype=mg.float64))
        self.phase = mg.nn.Parameter(mg.tensor([2.8, 0.0], dtype=mg.float64))  # ω and φ

    def forward(self, t):
        return (self.amplitude * mg.exp(-self.decay * t)
                * mg.cos(self.phase[0] * t + self.phase[1]))


@pytest.mark.parametrize("solver", ["minimize", "least_squares"])
def test_model_parameters_are_fitted_in_place(solver):
    model = Oscillation()
    t, y = mg.tensor(T), mg.tensor(Y)
    ids = [id(p) for p in model.parameters()]
    if solver == "minimize":
        res = mopt.minimize(lambda: ((model(t) - y) ** 2).sum(), model.parameters(),
                            method="trust-ncg")
    else:
        res = mopt.least_squares(lambda: model(t) - y, model.parameters())
    assert res.success
    assert [id(p) for p in model.parameters()] == ids
    fitted = mg.nn.utils.parameters_to_vector(model.parameters()).numpy()
    np.testing.assert_array_equal(fitted, res.x)
    np.testing.assert_allclose(fitted, TRUE, atol=0.05)


def test_parameter_hessp_and_jacobians_match_the_tensor_path():
    a = mg.tensor(TRUE.copy(), requires_grad=True)
    by_params = mopt._Problem(lambda: residuals_mg(a), [a], "least_squares")
    by_tensor = mopt._Problem(residuals_mg, TRUE, "least_squares")
    x = TRUE + 0.1
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(by_params.jacobian(x, mode, T.size),
                                   by_tensor.jacobian(x, mode, T.size), rtol=1e-12)
    f_params = mopt._Problem(lambda: (residuals_mg(a) ** 2).sum(), [a], "minimize")
    f_tensor = mopt._Problem(lambda p: (residuals_mg(p) ** 2).sum(), TRUE, "minimize")
    v = np.array([0.3, -1.0, 0.5, 2.0])
    np.testing.assert_allclose(f_params.hessp(x, v), f_tensor.hessp(x, v), rtol=1e-10)


# ------------------------------------------------------------------ errors
def test_errors():
    with pytest.raises(ValueError, match="single number"):
        mopt.minimize(lambda x: x * 2, np.ones(2))
    with pytest.raises(ValueError, match="jac"):
        mopt.least_squares(lambda x: x, np.ones(2), jac="central")
    with pytest.raises(TypeError, match="x0"):
        mopt.minimize(lambda x: x.sum(), "abc")
    with pytest.raises(TypeError, match="callable"):
        mopt.minimize(None, np.ones(2))
    with pytest.raises(ValueError, match="requires grad"):
        mopt.minimize(lambda: 0, [mg.zeros(2)])


def test_missing_scipy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    with pytest.raises(ImportError, match=r"microgradnet\[scipy\]"):
        mopt.minimize(rosen_mg, X0)
    with pytest.raises(ImportError, match=r"microgradnet\[scipy\]"):
        mopt.least_squares(residuals_mg, TRUE)
