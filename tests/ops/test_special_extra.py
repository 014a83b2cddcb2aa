"""The new elementwise, scan and einsum ops beyond the op database: numerics, errors, methods."""

from __future__ import annotations

import math

import numpy as np
import pytest

import microgradnet as mg


def t(a: object, grad: bool = True) -> mg.Tensor:
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def test_logaddexp_is_stable_for_large_arguments_and_its_gradient_too() -> None:
    x, y = t([1000.0, -1000.0, 0.0]), t([1000.0, -1000.0, -800.0])
    out = mg.logaddexp(x, y)
    np.testing.assert_allclose(out.data, [1000 + math.log(2), -1000 + math.log(2), 0.0])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.5, 0.5, 1.0])
    np.testing.assert_allclose(y.grad.data, [0.5, 0.5, 0.0], atol=1e-300)


def test_erfc_keeps_relative_accuracy_where_one_minus_erf_cancels() -> None:
    x = t([5.0, 10.0, 26.0])
    out = mg.erfc(x)
    np.testing.assert_allclose(out.data, [math.erfc(5.0), math.erfc(10.0), math.erfc(26.0)],
                               rtol=1e-13)
    out.sum().backward()
    ref = [-2 / math.sqrt(math.pi) * math.exp(-v * v) for v in (5.0, 10.0, 26.0)]
    np.testing.assert_allclose(x.grad.data, ref, rtol=1e-13)


def test_hypot_and_arcsinh_do_not_overflow() -> None:
    x = t([1e200, 3.0, 0.0])
    h = mg.hypot(x, t([1e200, 4.0, 0.0]))
    np.testing.assert_allclose(h.data, [math.sqrt(2) * 1e200, 5.0, 0.0])
    h.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1 / math.sqrt(2), 0.6, 0.0])  # 0 at the origin
    z = t([1e200])
    mg.arcsinh(z).backward()
    np.testing.assert_allclose(z.grad.data, [1e-200], rtol=1e-12)


def test_arcsin_derivative_near_one_keeps_its_digits() -> None:
    x = t([1.0 - 1e-12])
    mg.arcsin(x).backward()
    d = 1.0 - float(x.data[0])  # exact (Sterbenz); 1 - x² would lose about 4 digits here
    ref = 1.0 / math.sqrt(d * (2.0 - d))
    np.testing.assert_allclose(x.grad.data, [ref], rtol=1e-14)


def test_rounding_has_zero_gradient_and_halves_go_to_even() -> None:
    x = t([0.5, 1.5, 2.5, -0.5])
    out = mg.round(x)
    np.testing.assert_array_equal(out.data, [0.0, 2.0, 2.0, -0.0])
    (out.sum() + mg.floor(x).sum() + mg.ceil(x).sum() + mg.trunc(x).sum()).backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros(4))


def test_cumprod_gradient_at_zeros_is_exact() -> None:
    x = t([2.0, 0.0, 3.0, 4.0])
    mg.cumprod(x).sum().backward()
    # out = [2, 0, 0, 0]; d/dx1 of (2 + 2x1 + 2x1*3 + 2x1*3*4) = 2 + 6 + 24
    np.testing.assert_allclose(x.grad.data, [1.0, 32.0, 0.0, 0.0])


def test_cumsum_without_axis_flattens_as_numpy() -> None:
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(mg.cumsum(t(a)).data, np.cumsum(a))
    np.testing.assert_array_equal(t(a).cumsum(dim=1).data, np.cumsum(a, axis=1))
    with pytest.raises(ValueError, match="cumsum: axis 2 is out of range"):
        mg.cumsum(t(a), 2)


def test_diff_append_and_errors() -> None:
    a = np.array([1.0, 4.0, 9.0])
    np.testing.assert_array_equal(mg.diff(t(a), append=t([16.0])).data, np.diff(a, append=16.0))
    with pytest.raises(ValueError, match="diff: needs at least 1 dimension"):
        mg.diff(t(1.0))


def test_einsum_errors_name_the_op() -> None:
    with pytest.raises(ValueError, match="einsum: subscript 'j' has size 3 in one operand and 2"):
        mg.einsum("ij,jk->ik", t(np.ones((2, 2))), t(np.ones((3, 2))))
    with pytest.raises(ValueError, match="einsum: the subscripts name 2 operands but 1"):
        mg.einsum("ij,jk->ik", t(np.ones((2, 2))))
    with pytest.raises(ValueError, match="einsum: output subscript 'z' appears in no operand"):
        mg.einsum("ij->z", t(np.ones((2, 2))))
    with pytest.raises(TypeError, match="einsum: the first argument must be the subscripts"):
        mg.einsum(t(np.ones(2)), t(np.ones(2)))


def test_einsum_broadcasts_the_ellipsis_and_takes_a_list() -> None:
    a, b = np.random.default_rng(0).normal(size=(2, 1, 2, 3)), np.ones((3, 3, 2))
    ta, tb = t(a), t(b)
    out = mg.einsum("...ij,...jk->...ik", [ta, tb])
    np.testing.assert_allclose(out.data, np.einsum("...ij,...jk->...ik", a, b))
    out.sum().backward()
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape
    mg.gradcheck(lambda x, y: mg.einsum("...ij,...jk->...ik", x, y), [t(a), t(b)])


def test_every_new_op_is_also_a_method() -> None:
    x = t([0.2, 0.4])
    for name in ("arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arctanh", "exp2",
                 "erfc", "floor", "ceil", "round", "trunc", "cumsum", "cumprod", "diff"):
        np.testing.assert_array_equal(getattr(x, name)().data, getattr(mg, name)(x).data)
    for name in ("arctan2", "hypot", "logaddexp"):
        np.testing.assert_array_equal(getattr(x, name)(x).data, getattr(mg, name)(x, x).data)
    m = t(np.arange(4.0).reshape(2, 2))
    for name in ("trace", "diagonal", "diag", "tril", "triu"):
        np.testing.assert_array_equal(getattr(m, name)().data, getattr(mg, name)(m).data)
    np.testing.assert_array_equal(t([1.5, 2.0]).arccosh().data, np.arccosh([1.5, 2.0]))
