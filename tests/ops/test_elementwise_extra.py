"""Hand-written elementwise tests for what the op database can't express: ties, tensor clip
bounds, reference values from ``math.erf``, thresholds, extreme inputs, third derivatives, dtypes.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import microgradnet as mg


def _t(a: object, dtype: str = "float64", requires_grad: bool = True) -> mg.Tensor:
    return mg.tensor(np.asarray(a, dtype=dtype), requires_grad=requires_grad)


# -- maximum / minimum: ties share the gradient -------------------------------------------------

def test_maximum_ties_split_gradient_equally() -> None:
    x, y = _t([1.0, 2.0, 3.0]), _t([1.0, 0.0, 5.0])
    mg.maximum(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(y.grad.data, [0.5, 0.0, 1.0])


def test_minimum_ties_split_gradient_equally() -> None:
    x, y = _t([1.0, 2.0, 3.0]), _t([1.0, 0.0, 5.0])
    mg.minimum(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(y.grad.data, [0.5, 1.0, 0.0])


def test_maximum_broadcast_ties_accumulate_into_the_broadcast_input() -> None:
    x, y = _t([[2.0, 1.0], [2.0, 3.0]]), _t(2.0)
    out = mg.maximum(x, y)
    np.testing.assert_array_equal(out.data, [[2.0, 2.0], [2.0, 3.0]])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.5, 0.0], [0.5, 1.0]])
    assert y.grad.shape == () and y.grad.item() == 0.5 + 1.0 + 0.5


def test_maximum_with_itself_gives_gradient_one() -> None:
    x = _t([1.0, -2.0])
    mg.maximum(x, x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])


def test_maximum_shape_error_names_the_op_and_shapes() -> None:
    with pytest.raises(ValueError, match=r"maximum: shapes \(2,\) and \(3,\)"):
        mg.maximum(_t([1.0, 2.0]), _t([1.0, 2.0, 3.0]))


def test_maximum_method_and_scalar_operand() -> None:
    x = _t([-1.0, 4.0])
    np.testing.assert_array_equal(x.maximum(0.0).data, [0.0, 4.0])
    np.testing.assert_array_equal(x.minimum(0.0).data, [-1.0, 0.0])


# -- clip / clamp ----------------------------------------------------------------------------

def test_clip_gradient_is_one_inside_zero_outside_and_one_on_the_bounds() -> None:
    x = _t([-2.0, -1.0, 0.0, 1.0, 2.0])
    y = mg.clip(x, -1.0, 1.0)
    np.testing.assert_array_equal(y.data, [-1.0, -1.0, 0.0, 1.0, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 1.0, 1.0, 0.0])  # as PyTorch


def test_clip_with_tensor_bounds_routes_gradients_to_the_bound_taken() -> None:
    x = _t([[-3.0, 0.0, 3.0], [0.5, 0.2, -0.2]])
    lo = _t([-1.0, -1.0, -1.0])
    hi = _t([[2.0], [0.1]])
    y = mg.clip(x, lo, hi)
    np.testing.assert_array_equal(y.data, [[-1.0, 0.0, 2.0], [0.1, 0.1, -0.2]])
    y.backward(mg.tensor(np.arange(1.0, 7.0).reshape(2, 3)))
    np.testing.assert_array_equal(x.grad.data, [[0.0, 2.0, 0.0], [0.0, 0.0, 6.0]])
    np.testing.assert_array_equal(lo.grad.data, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(hi.grad.data, [[3.0], [4.0 + 5.0]])


def test_clip_min_above_max_gives_max_and_all_gradient_to_max() -> None:
    x, lo, hi = _t([-5.0, 0.0, 5.0]), _t(1.0), _t(-1.0)
    y = mg.clamp(x, lo, hi)
    np.testing.assert_array_equal(y.data, [-1.0, -1.0, -1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0])
    assert lo.grad.item() == 0.0 and hi.grad.item() == 3.0


def test_clip_one_sided_and_method_forms() -> None:
    x = _t([-2.0, 0.5, 3.0])
    np.testing.assert_array_equal(x.clip(min=0.0).data, [0.0, 0.5, 3.0])
    np.testing.assert_array_equal(x.clamp(max=1.0).data, [-2.0, 0.5, 1.0])
    mg.clamp(x, max=1.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0, 0.0])


def test_clip_errors() -> None:
    with pytest.raises(ValueError, match="clip: at least one of min and max"):
        mg.clip(_t([1.0]))
    with pytest.raises(ValueError, match=r"clip: shapes \(2,\) and \(3,\)"):
        mg.clip(_t([1.0, 2.0]), _t([0.0, 0.0, 0.0]))


def test_clip_gradgradcheck_with_tensor_bounds() -> None:
    x, lo, hi = _t([-1.3, 0.2, 1.7]), _t([-1.0, -0.5, 0.0]), _t(1.0)
    f = lambda a, b, c: mg.clip(a, b, c) ** 2  # noqa: E731
    assert mg.gradcheck(f, [x, lo, hi])
    assert mg.gradgradcheck(f, [x, lo, hi])


# -- erf and gelu --------------------------------------------------------------------------------

def test_erf_matches_math_erf_to_float64_precision() -> None:
    xs = np.concatenate([np.linspace(-7.0, 7.0, 4001), [0.0, 1e-300, -1e-20, 0.46875, 4.0, 27.0]])
    ref = np.array([math.erf(v) for v in xs])
    got = mg.erf(mg.tensor(xs)).data
    np.testing.assert_allclose(got, ref, rtol=2e-15, atol=1e-300)
    edge = mg.erf(mg.tensor([np.inf, -np.inf, np.nan])).data
    assert edge[0] == 1.0 and edge[1] == -1.0 and np.isnan(edge[2])


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def test_gelu_exact_matches_math_erf_reference_and_its_derivative() -> None:
    xs = [-6.0, -3.0, -1.0, -0.1, 0.0, 0.3, 1.0, 2.5, 8.0]
    x = _t(xs)
    y = mg.gelu(x)
    # the reference's 1 + erf cancels in the left tail: compare there absolutely
    np.testing.assert_allclose(y.data, [v * _phi(v) for v in xs], rtol=1e-13, atol=1e-15)
    y.sum().backward()
    pdf = [math.exp(-v * v / 2) / math.sqrt(2 * math.pi) for v in xs]
    np.testing.assert_allclose(x.grad.data, [_phi(v) + v * p for v, p in zip(xs, pdf)],
                               rtol=1e-12, atol=1e-15)
    # second derivative: φ(x)(2 - x²)
    (g,) = mg.grad(mg.gelu(x).sum(), x, create_graph=True)
    (h,) = mg.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, [p * (2 - v * v) for v, p in zip(xs, pdf)],
                               rtol=1e-10, atol=1e-15)


def test_gelu_exact_is_accurate_far_in_the_left_tail() -> None:
    # x·Φ(x) with Φ = erfc(-x/√2)/2: no cancellation, unlike 1 + erf(x/√2)
    x = -10.0
    ref = x * 0.5 * math.erfc(-x / math.sqrt(2.0))
    assert math.isclose(mg.gelu(_t(x)).item(), ref, rel_tol=1e-13)


def test_gelu_tanh_matches_closed_form() -> None:
    xs = np.linspace(-5.0, 5.0, 41)
    k = math.sqrt(2 / math.pi)
    ref = [0.5 * v * (1 + math.tanh(k * (v + 0.044715 * v**3))) for v in xs]
    np.testing.assert_allclose(mg.gelu(_t(xs), approximate="tanh").data, ref, rtol=1e-13,
                               atol=1e-14)
    exact = mg.gelu(_t(xs)).data
    assert np.max(np.abs(exact - np.array(ref))) < 1e-3  # the approximation is close...
    assert np.max(np.abs(exact - np.array(ref))) > 1e-6  # ...but a different function


def test_gelu_rejects_unknown_approximation() -> None:
    with pytest.raises(ValueError, match="gelu: approximate must be"):
        mg.gelu(_t([1.0]), approximate="sigmoid")


# -- softplus ----------------------------------------------------------------------------------

def test_softplus_is_linear_above_threshold() -> None:
    x = _t([19.0, 20.0, 20.5, 50.0, 1000.0])
    y = mg.softplus(x)
    assert y.data[2] == 20.5 and y.data[3] == 50.0 and y.data[4] == 1000.0
    assert math.isclose(y.data[0], math.log1p(math.exp(19.0)), rel_tol=1e-15)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data[2:], [1.0, 1.0, 1.0])
    assert math.isclose(x.grad.data[0], 1 / (1 + math.exp(-19.0)), rel_tol=1e-15)


def test_softplus_beta_and_threshold_follow_pytorch() -> None:
    x = _t([0.4, 0.6, -1.0])
    y = mg.softplus(x, beta=2.0, threshold=1.0)  # linear where 2x > 1
    ref0 = math.log1p(math.exp(0.8)) / 2
    np.testing.assert_allclose(y.data, [ref0, 0.6, math.log1p(math.exp(-2.0)) / 2], rtol=1e-14)
    y.sum().backward()
    s = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    np.testing.assert_allclose(x.grad.data, [s(0.8), 1.0, s(-2.0)], rtol=1e-14)


def test_softplus_extreme_inputs_do_not_overflow() -> None:
    x = _t([-1000.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = mg.softplus(x, threshold=1e9)  # no linear shortcut: must still be stable
        y.sum().backward()
    np.testing.assert_allclose(y.data, [0.0, 1000.0])
    np.testing.assert_allclose(x.grad.data, [0.0, 1.0])


def test_elu_large_inputs_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = mg.elu(_t([1000.0, -1000.0]), alpha=2.0)
    np.testing.assert_array_equal(y.data, [1000.0, -2.0])


def test_leaky_relu_and_elu_gradients_at_zero_follow_pytorch() -> None:
    x = _t([0.0])
    mg.leaky_relu(x, 0.2).backward(mg.ones(1, dtype="float64"))
    assert x.grad.item() == pytest.approx(0.2)
    x = _t([0.0])
    mg.elu(x, alpha=0.5).backward(mg.ones(1, dtype="float64"))
    assert x.grad.item() == pytest.approx(0.5)


@pytest.mark.parametrize("slope", [0.01, 0.0, -0.5, 1.0, 2.5])
def test_leaky_relu_any_slope_matches_the_definition(slope: float) -> None:
    a = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    x = _t(a)
    y = mg.leaky_relu(x, slope)
    np.testing.assert_array_equal(y.data, np.where(a > 0, a, slope * a))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.where(a > 0, 1.0, slope))


# -- higher order --------------------------------------------------------------------------------

def test_third_derivative_of_sin_is_minus_cos() -> None:
    x = _t([0.3, -1.2, 2.0])
    (g1,) = mg.grad(mg.sin(x).sum(), x, create_graph=True)
    (g2,) = mg.grad(g1.sum(), x, create_graph=True)
    (g3,) = mg.grad(g2.sum(), x)
    np.testing.assert_allclose(g1.data, np.cos(x.data), rtol=1e-15)
    np.testing.assert_allclose(g2.data, -np.sin(x.data), rtol=1e-15)
    np.testing.assert_allclose(g3.data, -np.cos(x.data), rtol=1e-15)


def test_second_derivatives_from_saved_outputs() -> None:
    x = _t([0.3, 0.9])
    for f, d2 in [(mg.sqrt, lambda v: -0.25 * v**-1.5),
                  (mg.tan, lambda v: 2 * np.tan(v) / np.cos(v) ** 2),
                  (mg.expm1, np.exp),
                  (mg.log1p, lambda v: -1 / (1 + v) ** 2),
                  (mg.erf, lambda v: -4 * v / math.sqrt(math.pi) * np.exp(-v * v))]:
        (g,) = mg.grad(f(x).sum(), x, create_graph=True)
        (h,) = mg.grad(g.sum(), x)
        np.testing.assert_allclose(h.data, d2(x.data), rtol=1e-12)


# -- dtypes --------------------------------------------------------------------------------------

_UNARY = [mg.sqrt, mg.rsqrt, mg.square, mg.reciprocal, mg.sin, mg.cos, mg.tan, mg.log1p,
          mg.expm1, mg.log2, mg.log10, mg.erf, mg.leaky_relu, mg.elu, mg.gelu,
          lambda t: mg.gelu(t, approximate="tanh"), mg.softplus,
          lambda t: mg.softplus(t, beta=3.0, threshold=1.0), lambda t: mg.clip(t, 0.2, 0.6),
          lambda t: mg.maximum(t, 0.5), lambda t: mg.minimum(t, 0.5)]


@pytest.mark.parametrize("fn", _UNARY)
def test_float32_in_float32_out_and_float32_grads(fn: object) -> None:
    x = mg.tensor([0.1, 0.5, 0.9], requires_grad=True)
    assert x.dtype == np.float32
    y = fn(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    (g,) = mg.grad(fn(x).sum(), x, create_graph=True)
    assert g.dtype == np.float32


def test_float32_tensor_bounds_and_pairs_keep_float32_grads() -> None:
    x = mg.tensor([0.1, 0.5, 0.9], requires_grad=True)
    lo = mg.tensor(0.3, requires_grad=True)
    y = mg.tensor([0.5, 0.5, 0.5], requires_grad=True)
    (mg.clip(x, lo, 0.8) + mg.maximum(x, y)).sum().backward()
    assert x.grad.dtype == lo.grad.dtype == y.grad.dtype == np.float32


# -- the checks can fail ---------------------------------------------------------------------------

class _SinConstantRule(mg.Function):
    """sin with a rule built from a NumPy constant: first derivative right, second one lost."""

    @staticmethod
    def forward(ctx, x):  # noqa: ANN001, ANN205
        ctx.save_for_backward(x)
        return np.sin(x.data)

    @staticmethod
    def backward(ctx, grad):  # noqa: ANN001, ANN205
        (x,) = ctx.saved_tensors
        return grad * mg.tensor(np.cos(x.data))


def test_gradgradcheck_rejects_a_rule_not_written_with_tensor_ops() -> None:
    x = _t([0.3, -1.1])
    assert mg.gradcheck(_SinConstantRule.apply, [x])
    with pytest.raises(mg.GradcheckError, match="gradcheck failed for input 0"):
        mg.gradgradcheck(_SinConstantRule.apply, [x])
    assert mg.gradgradcheck(mg.sin, [x])
