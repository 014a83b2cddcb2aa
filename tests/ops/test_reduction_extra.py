"""Hand-written reduction tests for what the op database can't express: ties, zeros in prod,
argument synonyms, error messages, subgradients, dtypes."""

from __future__ import annotations

import math

import numpy as np
import pytest

import microgradnet as mg


def _t(a: object, dtype: str = "float64", requires_grad: bool = True) -> mg.Tensor:
    return mg.tensor(np.asarray(a, dtype=dtype), requires_grad=requires_grad)


# -- max / min ---------------------------------------------------------------------------------

def test_max_over_all_splits_the_gradient_among_ties() -> None:
    x = _t([[1.0, 3.0], [3.0, 0.0]])
    y = mg.max(x)
    assert y.shape == () and y.item() == 3.0
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 0.5], [0.5, 0.0]])


def test_max_along_an_axis_with_a_three_way_tie() -> None:
    x = _t([[2.0, 2.0, 2.0], [1.0, 5.0, 0.0]])
    y = x.max(dim=1, keepdim=True)
    assert y.shape == (2, 1)
    y.backward(mg.tensor([[3.0], [1.0]], dtype="float64"))
    np.testing.assert_allclose(x.grad.data, [[1.0, 1.0, 1.0], [0.0, 1.0, 0.0]])


def test_min_ties_and_tuple_axes() -> None:
    x = _t([[[0.0, 1.0], [0.0, 2.0]], [[4.0, -1.0], [3.0, -1.0]]])
    y = mg.min(x, axis=(1, 2))
    np.testing.assert_array_equal(y.data, [0.0, -1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[[0.5, 0.0], [0.5, 0.0]],
                                                [[0.0, 0.5], [0.0, 0.5]]])


def test_max_of_integer_tensor_has_no_grad() -> None:
    y = mg.max(mg.tensor([[1, 7], [3, 2]]), axis=0)
    assert y.dtype == np.int64 and not y.requires_grad
    np.testing.assert_array_equal(y.data, [3, 7])


def test_max_of_empty_axis_is_a_named_error() -> None:
    with pytest.raises(ValueError, match="max: cannot reduce over an empty axis"):
        mg.max(mg.zeros((0, 3)), axis=0)
    assert mg.max(mg.zeros((0, 3)), axis=1).shape == (0,)


# -- var / std -------------------------------------------------------------------------------

def test_var_correction_ddof_and_unbiased_are_synonyms() -> None:
    a = np.arange(12.0).reshape(3, 4) ** 1.5
    x = _t(a)
    np.testing.assert_allclose(mg.var(x).item(), np.var(a, ddof=1))  # unbiased by default
    np.testing.assert_allclose(mg.var(x, axis=(0, 1), ddof=0).item(), np.var(a))
    np.testing.assert_allclose(x.var(dim=0, correction=0).data, np.var(a, axis=0))
    np.testing.assert_allclose(x.var(1, True, unbiased=False).data,
                               np.var(a, axis=1, keepdims=True))
    np.testing.assert_allclose(x.std(dim=1, keepdim=True, correction=2).data,
                               np.std(a, axis=1, keepdims=True, ddof=2))
    with pytest.raises(TypeError, match="var: give only one of"):
        mg.var(x, ddof=0, correction=1)


def test_var_and_std_gradients_match_closed_forms() -> None:
    a = np.array([1.0, 2.0, 4.0, 7.0])
    x = _t(a)
    mg.var(x).backward()
    np.testing.assert_allclose(x.grad.data, 2 * (a - a.mean()) / 3)
    x = _t(a)
    mg.std(x, ddof=0).backward()
    np.testing.assert_allclose(x.grad.data, (a - a.mean()) / (4 * np.std(a)))


def test_var_of_a_single_element_with_correction_one_is_nan_like_numpy() -> None:
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        v = mg.var(_t([3.0]))
    assert math.isnan(v.item())


def test_var_of_integers_is_in_the_default_float_dtype() -> None:
    v = mg.var(mg.tensor([1, 2, 3, 4]), ddof=0)  # issue 11: PyTorch's promotion, not NumPy's
    assert v.dtype == mg.get_default_dtype() and v.item() == 1.25


# -- prod -------------------------------------------------------------------------------------

def test_prod_gradient_with_one_zero() -> None:
    x = _t([2.0, 0.0, 3.0, -1.5])
    mg.prod(x).backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, -9.0, 0.0, 0.0])


def test_prod_gradient_with_several_zeros_is_zero() -> None:
    x = _t([[0.0, 2.0, 0.0], [1.0, 2.0, 3.0], [4.0, 0.0, 5.0]])
    x.prod(dim=1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 0.0, 0.0], [6.0, 3.0, 2.0],
                                                [0.0, 20.0, 0.0]])


@pytest.mark.parametrize("a", [
    [1.5, 0.0, 2.0, -0.7],
    [0.0, 0.0, 2.0, 3.0],
    [0.0, 0.0, 0.0, 3.0],
    [[0.0, 2.0, 3.0], [1.0, 0.0, 0.0], [2.0, 3.0, 4.0], [0.0, 0.0, 0.0]],
])
def test_prod_with_zeros_passes_gradcheck_and_gradgradcheck(a: list) -> None:
    x = _t(a)
    for axis in [None] + list(range(x.ndim)):
        for keepdims in (False, True):
            f = lambda t: mg.prod(t, axis=axis, keepdims=keepdims)  # noqa: B023, E731
            assert mg.gradcheck(f, [x])
            assert mg.gradgradcheck(f, [x])


def test_prod_hessian_with_one_zero_matches_closed_form() -> None:
    # f = x0·x1·x2 at (2, 0, 3): ∂²f/∂x0∂x1 = x2 = 3, ∂²f/∂x0∂x2 = x1 = 0, ∂²f/∂x1∂x2 = x0 = 2
    h = mg.functional.hessian(lambda t: mg.prod(t), _t([2.0, 0.0, 3.0]))
    np.testing.assert_array_equal(np.asarray(h.data if isinstance(h, mg.Tensor) else h),
                                  [[0.0, 3.0, 0.0], [3.0, 0.0, 2.0], [0.0, 2.0, 0.0]])


# -- argmax / argmin --------------------------------------------------------------------------

def test_argmax_argmin_return_int64_without_grad() -> None:
    x = _t([[1.0, 9.0, 9.0], [7.0, 2.0, -3.0]])
    i = mg.argmax(x, axis=1)
    assert i.dtype == np.int64 and not i.requires_grad and i.grad_fn is None
    np.testing.assert_array_equal(i.data, [1, 0])  # first of a tie wins
    np.testing.assert_array_equal(x.argmin(dim=-1, keepdim=True).data, [[0], [2]])
    assert mg.argmax(x).item() == 1 and mg.argmax(x).shape == ()
    assert mg.argmin(x, keepdims=True).shape == (1, 1)
    assert mg.argmax(mg.tensor(4.0)).item() == 0
    assert mg.argmax(mg.tensor(4.0), axis=0).item() == 0


def test_argmax_rejects_tuple_axes_and_empty_input() -> None:
    with pytest.raises(TypeError, match="argmax: axis must be an int or None"):
        mg.argmax(mg.ones((2, 2)), axis=(0, 1))
    with pytest.raises(ValueError, match="argmin: cannot reduce over an empty axis"):
        mg.argmin(mg.zeros((0,)))


# -- norm -------------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [1, 2, 3, 0.5, math.inf, -math.inf, "fro"])
def test_norm_matches_numpy(p: object) -> None:
    a = np.array([[3.0, -4.0, 0.5], [-1.0, 2.0, -6.0]])
    ref_p = 2 if p == "fro" else p
    np.testing.assert_allclose(mg.norm(_t(a), p).item(), np.linalg.norm(a.ravel(), ref_p))
    np.testing.assert_allclose(mg.norm(_t(a), p, axis=1).data,
                               np.linalg.norm(a, ref_p, axis=1))
    np.testing.assert_allclose(_t(a).norm(p, dim=0, keepdim=True).data,
                               np.linalg.norm(a, ref_p, axis=0, keepdims=True))


def test_norm_2_gradient_at_zero_is_zero() -> None:
    x = _t([[0.0, 0.0], [3.0, 4.0]])
    y = mg.norm(x, axis=1)
    np.testing.assert_array_equal(y.data, [0.0, 5.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [[0.0, 0.0], [0.6, 0.8]])
    z = _t([0.0, 0.0, 0.0])
    mg.norm(z).backward()
    np.testing.assert_array_equal(z.grad.data, [0.0, 0.0, 0.0])


def test_norm_inf_ties_share_gradient() -> None:
    x = _t([-2.0, 1.0, 2.0])
    mg.norm(x, math.inf).backward()
    np.testing.assert_array_equal(x.grad.data, [-0.5, 0.0, 0.5])


def test_norm_rejects_unsupported_p() -> None:
    with pytest.raises(ValueError, match="norm: unsupported p='nuc'"):
        mg.norm(mg.ones(3), "nuc")
    with pytest.raises(ValueError, match="norm: unsupported p=-1"):
        mg.norm(mg.ones(3), -1)
    with pytest.raises(TypeError, match="norm: p must be a number"):
        mg.norm(mg.ones(3), None)


# -- axes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn, name", [
    (mg.sum, "sum"), (mg.max, "max"), (mg.min, "min"), (mg.var, "var"), (mg.std, "std"),
    (mg.prod, "prod"), (mg.argmax, "argmax"), (mg.argmin, "argmin"),
    (lambda x, axis: mg.norm(x, 2, axis), "norm"),
])
def test_bad_axis_names_the_op_the_axis_and_ndim(fn: object, name: str) -> None:
    msg = rf"{name}: axis 2 is out of range for a tensor with 2 dims"
    with pytest.raises(ValueError, match=msg):
        fn(mg.ones((2, 3)), axis=2)


def test_axis_and_dim_together_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="max: give either axis= or dim="):
        mg.max(mg.ones((2, 3)), axis=0, dim=1)


def test_zero_d_tensors_accept_axis_zero_like_pytorch() -> None:
    x = _t(3.0)
    for fn in (mg.sum, mg.max, mg.min, mg.prod, mg.mean):
        y = fn(x, axis=0)
        assert y.shape == () and y.item() == 3.0
        assert fn(x, axis=-1, keepdims=True).shape == ()


def test_logsumexp_gradient_through_output_and_derivative_together() -> None:
    # saved_output must have the output's shape: both paths meet at the same node
    x = _t(np.arange(6.0).reshape(2, 3) / 4)
    y = mg.logsumexp(x, axis=1)
    (g,) = mg.grad(y.sum(), x, create_graph=True)
    (y.sum() + (g * g).sum()).backward()
    assert x.grad.shape == (2, 3)
    for fn in (lambda t: mg.prod(t, axis=1), lambda t: mg.norm(t, axis=1)):
        x.grad = None
        y = fn(x + 1.0)
        (g,) = mg.grad(y.sum(), x, create_graph=True)
        (y.sum() + (g * g).sum()).backward()
        assert x.grad.shape == (2, 3)


# -- dtypes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [mg.max, mg.min, mg.var, mg.std, mg.prod, mg.norm,
                                lambda t: mg.norm(t, 1), lambda t: mg.norm(t, 3),
                                lambda t: mg.max(t, axis=0, keepdims=True),
                                lambda t: mg.var(t, axis=1, ddof=0)])
def test_float32_in_float32_out_and_float32_grads(fn: object) -> None:
    x = mg.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    (g,) = mg.grad(fn(x).sum(), x, create_graph=True)
    assert g.dtype == np.float32


# -- the checks can fail ---------------------------------------------------------------------------

class _ProdConstantRule(mg.Function):
    """prod over all with the product of the others as a NumPy constant: right first derivative,
    wrong second derivative (which is what the zero handling in ``Prod`` must get right)."""

    @staticmethod
    def forward(ctx, x):  # noqa: ANN001, ANN205
        ctx.save_for_backward(x)
        return np.prod(x.data)

    @staticmethod
    def backward(ctx, grad):  # noqa: ANN001, ANN205
        (x,) = ctx.saved_tensors
        a = x.data
        others = [np.prod(np.delete(a, i)) for i in range(a.size)]
        return grad * mg.tensor(np.array(others))


def test_gradgradcheck_rejects_a_prod_rule_with_constant_weights() -> None:
    x = _t([2.0, 0.0, 3.0])
    assert mg.gradcheck(_ProdConstantRule.apply, [x])
    with pytest.raises(mg.GradcheckError):
        mg.gradgradcheck(_ProdConstantRule.apply, [x])
    assert mg.gradgradcheck(mg.prod, [x])
