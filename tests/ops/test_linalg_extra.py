"""mg.linalg beyond the op database: errors, NumPy semantics, batching, special points."""

from __future__ import annotations

import numpy as np
import pytest

import microgradnet as mg
from tests.op_db import OPS

L = mg.linalg
rng = np.random.default_rng(0)


def t(a: np.ndarray, grad: bool = True) -> mg.Tensor:
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def test_every_linalg_function_has_an_op_db_entry() -> None:
    names = {o.name for o in OPS}
    missing = [n for n in L.__all__ if n != "LinAlgError" and f"linalg.{n}" not in names]
    assert not missing, f"mg.linalg functions without an OpInfo entry: {missing}"


@pytest.mark.parametrize("op, arg", [
    ("inv", np.ones((2, 2))),
    ("solve", np.ones((2, 2))),
    ("cholesky", -np.eye(2)),
    ("cholesky", np.array([[1.0, 2.0], [2.0, 1.0]])),
])
def test_singular_or_indefinite_raises_linalgerror_naming_the_op(op: str, arg: np.ndarray) -> None:
    args = (t(arg), t(np.ones(2))) if op == "solve" else (t(arg),)
    with pytest.raises(L.LinAlgError, match=f"^{op}: ") as info:
        getattr(L, op)(*args)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, np.linalg.LinAlgError)


@pytest.mark.parametrize("op", ["inv", "det", "slogdet", "cholesky", "eigh", "matrix_power"])
def test_non_square_is_a_value_error_naming_the_op_and_shape(op: str) -> None:
    args = (t(np.ones((2, 3))), 2) if op == "matrix_power" else (t(np.ones((2, 3))),)
    with pytest.raises(ValueError, match=rf"{op}: expects square matrices .*\(2, 3\)"):
        getattr(L, op)(*args)


def test_solve_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"solve: A of shape \(3, 3\) and B of shape \(2,\)"):
        L.solve(t(np.eye(3)), t(np.ones(2)))


def test_solve_batched_broadcasting_matches_numpy_and_reduces_gradients() -> None:
    a = rng.normal(size=(3, 1, 4, 4)) + 4 * np.eye(4)
    b = rng.normal(size=(2, 4, 2))
    ta, tb = t(a), t(b)
    x = L.solve(ta, tb)
    np.testing.assert_allclose(x.data, np.linalg.solve(a, b))
    x.sum().backward()
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape
    mg.gradcheck(L.solve, [t(a), t(b)])


def test_the_solve_backward_does_not_form_an_inverse() -> None:
    a, b = t(rng.normal(size=(3, 3)) + 3 * np.eye(3)), t(rng.normal(size=(3,)))
    seen: list[str] = []
    with mg.autograd.engine.observe_sweep(lambda node, gi, go: seen.append(node.op_name)):
        L.solve(a, b).sum().backward()
    assert "solve" in seen and "inv" not in seen


def test_det_gradient_is_the_cofactor_matrix_at_singular_matrices() -> None:
    a = t([[1.0, 2.0], [2.0, 4.0]])
    L.det(a).backward()
    np.testing.assert_allclose(a.grad.data, [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
    z = t(np.zeros((3, 3)))  # rank 0: every 2x2 minor vanishes
    L.det(z).backward()
    np.testing.assert_allclose(z.grad.data, np.zeros((3, 3)), atol=1e-12)


def test_slogdet_matches_numpy_and_its_gradient_at_a_singular_matrix_raises() -> None:
    a = rng.normal(size=(2, 3, 3))
    sign, logabs = L.slogdet(t(a))
    ref = np.linalg.slogdet(a)
    np.testing.assert_allclose(sign.data, ref.sign)
    np.testing.assert_allclose(logabs.data, ref.logabsdet)
    s = t(np.ones((2, 2)))
    with pytest.raises(L.LinAlgError, match="slogdet: the derivative"):
        L.slogdet(s).logabsdet.backward()


def test_eigh_repeated_eigenvalues_raise_only_when_the_gradient_depends_on_the_basis() -> None:
    a = t(np.diag([1.0, 1.0, 2.0]))
    w, v = L.eigh(a)
    (w.sum() + (v @ v.mT).sum()).backward()  # basis-independent: fine
    np.testing.assert_allclose(a.grad.data, np.eye(3), atol=1e-12)
    a = t(np.diag([1.0, 1.0, 2.0]))
    with pytest.raises(L.LinAlgError, match="eigh: .*repeated .*eigenvalues"):
        L.eigh(a).eigenvectors[0, 1].backward()
    assert np.isfinite(L.eigvalsh(t(np.eye(2))).data).all()


def test_svd_repeated_singular_values_raise_and_full_matrices_gradient_needs_square() -> None:
    with pytest.raises(L.LinAlgError, match="svd: .*repeated .*singular values"):
        L.svd(t(np.diag([1.0, 1.0, 2.0]))).U[0, 1].backward()
    a = t(rng.normal(size=(4, 2)))
    with pytest.raises(RuntimeError, match="full_matrices=False"):
        L.svd(a).U.sum().backward()
    L.svd(a).S.sum().backward()  # singular values alone are fine
    u, s, vh = L.svd(t(rng.normal(size=(4, 2))), full_matrices=False)
    assert u.shape == (4, 2) and s.shape == (2,) and vh.shape == (2, 2)


def test_lstsq_matches_numpy_tuple() -> None:
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    ours = L.lstsq(t(a), t(b))
    ref = np.linalg.lstsq(a, b, rcond=None)
    for o, r in zip(ours, ref):
        np.testing.assert_allclose(np.asarray(o.data), r, rtol=1e-10, atol=1e-12)
    x, res, rank, sv = L.lstsq(t(a), t(b[:, 0]))
    assert x.shape == (3,) and res.shape == (1,) and rank.item() == 3


def test_lstsq_rank_deficient_gives_the_minimum_norm_solution() -> None:
    a = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    b = np.array([2.0, 2.0, 1.0])
    x = L.lstsq(t(a), t(b)).solution
    np.testing.assert_allclose(x.data, np.linalg.lstsq(a, b, rcond=None)[0])


def test_qr_modes_and_complete_gradient_of_tall_matrices_raises() -> None:
    a = rng.normal(size=(4, 3))
    q, r = L.qr(t(a), mode="complete")
    assert q.shape == (4, 4) and r.shape == (4, 3)
    with pytest.raises(RuntimeError, match="mode='reduced'"):
        q.sum().backward()
    np.testing.assert_allclose(L.qr(t(a), mode="r").data, np.linalg.qr(a, mode="r"))
    with pytest.raises(ValueError, match="qr: mode"):
        L.qr(t(a), mode="economic")


def test_norm_dispatch_follows_numpy() -> None:
    a = rng.normal(size=(3, 4))
    for kw in ({}, {"ord": "fro"}, {"ord": 1}, {"ord": np.inf}, {"ord": 2}, {"ord": "nuc"},
               {"axis": 1}, {"ord": 3, "axis": 0}, {"axis": (0, 1)}):
        np.testing.assert_allclose(L.norm(t(a), **kw).data, np.linalg.norm(a, **kw))
    np.testing.assert_allclose(L.vector_norm(t(a), 0).data, 12.0)
    assert L.matrix_norm(t(a), dim=(0, 1), keepdim=True).shape == (1, 1)
    with pytest.raises(ValueError, match="norm: with ord"):
        L.norm(t(rng.normal(size=(2, 2, 2))), ord=2)


def test_matrix_power_zero_and_type_errors() -> None:
    a = rng.normal(size=(2, 3, 3))
    np.testing.assert_allclose(L.matrix_power(t(a), 0).data, np.broadcast_to(np.eye(3), a.shape))
    with pytest.raises(TypeError, match="matrix_power: the exponent must be an integer"):
        L.matrix_power(t(a), 1.5)


def test_cross_needs_three_components() -> None:
    with pytest.raises(ValueError, match="cross: needs size 3"):
        L.cross(t(np.ones(2)), t(np.ones(2)))


def test_integer_input_is_computed_in_the_default_float_dtype() -> None:
    out = L.inv(mg.tensor([[2, 0], [0, 4]]))  # issue 11: as every floating op, not NumPy's float64
    assert out.dtype == mg.get_default_dtype()


def test_float32_stays_float32() -> None:
    a = mg.tensor(rng.normal(size=(3, 3)) + 3 * np.eye(3), dtype=mg.float32, requires_grad=True)
    out = L.inv(a)
    assert out.dtype == np.float32
    out.sum().backward()
    assert a.grad.dtype == np.float32


def test_tensor_methods_are_the_linalg_functions() -> None:
    """x.det(), x.slogdet(), x.inverse(), x.cholesky(), x.matrix_power(n) as torch.Tensor."""
    a = np.array([[[4.0, 2.0], [2.0, 3.0]], [[2.0, -1.0], [-1.0, 5.0]]])
    x = mg.tensor(a, requires_grad=True)
    pairs = [(x.det(), L.det(x)), (x.slogdet()[1], L.slogdet(x).logabsdet),
             (x.inverse(), L.inv(x)), (x.cholesky(), L.cholesky(x)),
             (x.cholesky(upper=True), L.cholesky(x, upper=True)),
             (x.matrix_power(3), L.matrix_power(x, 3))]
    for method, function in pairs:
        assert method.grad_fn is not None
        np.testing.assert_array_equal(method.data, function.data)
    np.testing.assert_allclose(x.inverse().data, np.linalg.inv(a))
    x.det().sum().backward()
    np.testing.assert_allclose(x.grad.data, np.linalg.det(a)[:, None, None]
                               * np.linalg.inv(a).transpose(0, 2, 1))
