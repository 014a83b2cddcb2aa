"""jacobian, hessian, vjp, jvp, hvp/vhp against closed forms and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradnet as mg
from microgradnet.autograd import functional as AF


def t(x):
    return mg.tensor(np.asarray(x, dtype=np.float64))


def numeric_jacobian(f, x, eps=1e-6):
    x = np.asarray(x, dtype=np.float64)
    y0 = np.asarray(f(x))
    J = np.zeros(y0.shape + x.shape)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        J[(...,) + idx] = (np.asarray(f(xp)) - np.asarray(f(xm))) / (2 * eps)
    return J


def f_mg(x):
    return mg.tanh(x @ W) * x.sum()


def f_np(x):
    return np.tanh(x @ W.data) * x.sum()


W = t(np.random.default_rng(0).normal(size=(3, 2)))


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(-2, 2), min_size=3, max_size=3))
def test_jacobian_matches_finite_differences(xs):
    J = AF.jacobian(f_mg, t(xs))
    assert J.shape == (2, 3)
    np.testing.assert_allclose(J.numpy(), numeric_jacobian(f_np, xs), rtol=1e-6, atol=1e-8)


def test_jacobian_shapes_with_tuples():
    a, b = t(np.ones((2, 3))), t(np.ones(4))
    J = AF.jacobian(lambda a, b: (a.sum() * b, a * 2), (a, b))
    assert [[j.shape for j in row] for row in J] == [[(4, 2, 3), (4, 4)],
                                                     [(2, 3, 2, 3), (2, 3, 4)]]
    np.testing.assert_array_equal(J[1][1].numpy(), 0.0)  # a*2 does not depend on b: zeros
    with pytest.raises(RuntimeError, match="strict"):
        AF.jacobian(lambda a, b: a * 2, (a, b), strict=True)


def test_hessian_closed_form_and_symmetry():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])

    def quad(x):
        return 0.5 * (x @ t(A) @ x) + mg.exp(x).sum()

    x = t([0.3, -0.2])
    H = AF.hessian(quad, x).numpy()
    np.testing.assert_allclose(H, A + np.diag(np.exp([0.3, -0.2])), rtol=1e-12)
    with pytest.raises(RuntimeError, match="one-element"):
        AF.hessian(lambda x: x * 2, x)


def test_vjp_and_jvp_agree_with_the_jacobian():
    x = t([0.5, -1.0, 2.0])
    J = AF.jacobian(f_mg, x).numpy()
    u, v = t([1.0, -2.0]), t([0.3, 0.1, -0.7])
    out, g = AF.vjp(f_mg, x, u)
    np.testing.assert_allclose(out.numpy(), f_np(x.numpy()))
    np.testing.assert_allclose(g.numpy(), u.numpy() @ J, rtol=1e-12)
    _, jv = AF.jvp(f_mg, x, v)
    np.testing.assert_allclose(jv.numpy(), J @ v.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"\(2,\)"):
        AF.vjp(f_mg, x, v)


def test_hvp_equals_hessian_times_vector():
    def f(x):
        return (mg.tanh(x) * x * x).sum()

    x, v = t([0.1, 0.7, -1.2]), t([1.0, 2.0, 3.0])
    H = AF.hessian(f, x).numpy()
    _, hv = AF.hvp(f, x, v)
    _, vh = AF.vhp(f, x, v)
    np.testing.assert_allclose(hv.numpy(), H @ v.numpy(), rtol=1e-12)
    np.testing.assert_allclose(vh.numpy(), v.numpy() @ H, rtol=1e-12)


def test_create_graph_gives_differentiable_results():
    x = mg.tensor(np.array([0.4, 0.9]), requires_grad=True)
    J = AF.jacobian(lambda y: y ** 3, x, create_graph=True)
    assert J.requires_grad
    (g,) = mg.grad(J.sum(), x)  # d/dx sum(diag(3x^2)) = 6x
    np.testing.assert_allclose(g.numpy(), 6 * x.numpy())


def test_inputs_are_not_modified_and_caller_graph_untouched():
    x = t([1.0, 2.0])
    AF.jacobian(lambda y: y * y, x)
    assert not x.requires_grad and x.grad is None


def test_integer_inputs_are_refused():
    with pytest.raises(TypeError, match="floating"):
        AF.jacobian(lambda y: y, mg.tensor([1, 2]))
