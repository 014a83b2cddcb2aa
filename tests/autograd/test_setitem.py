"""``x[index] = value`` is recorded like PyTorch's copy_slices (issue 11).

The gradient flows to ``value`` for the written part and to x's earlier value elsewhere; what is
refused raises a RuntimeError saying what to do.
"""

import numpy as np
import pytest

import microgradnet as mg
from microgradnet.autograd.gradcheck import gradcheck, gradgradcheck


def t64(v):
    return mg.tensor(v, dtype=mg.float64, requires_grad=True)


def test_the_issue_case_gives_w_its_gradient():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    z = mg.zeros(2)
    z[0] = w[0] * 2
    assert z.requires_grad and z.grad_fn is not None and not z.is_leaf
    (z + w).sum().backward()
    assert w.grad.tolist() == [3.0, 1.0]
    assert z.tolist() == [2.0, 0.0]


def test_setitem_into_a_non_leaf_that_requires_grad_works():
    x = t64([1.0, 2.0, 3.0])
    h = x * 2
    h[1] = 10.0  # refused before: in-place op on a tensor in a recorded graph
    (h * mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64)).sum().backward()
    assert h.tolist() == [2.0, 10.0, 6.0]
    assert x.grad.tolist() == [2.0, 0.0, 6.0]  # the overwritten element gets no gradient


def test_setitem_gradient_to_both_the_old_value_and_the_written_value():
    x = t64([[1.0, 2.0], [3.0, 4.0]])
    w = t64([5.0, 6.0])
    h = x * 1.0
    h[:, 0] = w * 3
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, 4.0], [0.0, 8.0]])
    np.testing.assert_allclose(w.grad.numpy(), 2 * 3 * 3 * w.numpy())


def test_setitem_with_a_broadcast_value_sums_its_gradient():
    w = t64([2.0])
    z = mg.zeros((2, 3), dtype=mg.float64)
    z[1] = w
    z.sum().backward()
    assert w.grad.tolist() == [3.0]


def test_setitem_with_repeated_indices_gives_the_last_write_the_gradient():
    w = t64([1.0, 2.0, 3.0])
    z = mg.zeros(2, dtype=mg.float64)
    z[[0, 1, 0]] = w  # NumPy: z[0] ends up w[2]
    assert z.tolist() == [3.0, 2.0]
    (z * mg.tensor([10.0, 100.0], dtype=mg.float64)).sum().backward()
    assert w.grad.tolist() == [0.0, 100.0, 10.0]


def test_setitem_with_a_boolean_mask():
    w = t64([7.0, 8.0])
    h = t64([1.0, 2.0, 3.0]) * 1.0
    h[mg.tensor([True, False, True])] = w
    assert h.tolist() == [7.0, 2.0, 8.0]
    h.sum().backward()
    assert w.grad.tolist() == [1.0, 1.0]


def test_setitem_passes_gradcheck_and_gradgradcheck():
    def f(x, w):
        h = x * x
        h[1:, ::2] = w.exp()
        h[0, [1, 1]] = w[0, 0] * 3
        return h

    x = t64(np.arange(12.0).reshape(3, 4) / 10)
    w = t64(np.array([[0.1, 0.2], [0.3, 0.4]]))
    assert gradcheck(f, (x, w))
    assert gradgradcheck(f, (x, w))


def test_setitem_changes_the_version_so_a_saved_old_value_is_caught():
    x = t64([1.0, 2.0])
    h = x * 1.0
    y = (h * h).sum()  # saves h
    h[0] = mg.tensor(5.0, dtype=mg.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_setitem_into_an_op_output_that_saved_itself_is_caught():
    x = t64([1.0, 2.0])
    y = x.exp()
    z = y * 1.0
    y[0] = 0.0  # exp's derivative needs y as it was
    with pytest.raises(RuntimeError, match="modified in place"):
        (y.sum() + z.sum()).backward()


def test_setitem_into_a_leaf_that_requires_grad_is_refused():
    x = t64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="no_grad"):
        x[0] = 5.0
    with mg.no_grad():
        x[0] = 5.0  # allowed: an initialisation, not recorded
    assert x.tolist() == [5.0, 2.0] and x.is_leaf


def test_recorded_setitem_into_a_view_is_refused_with_what_to_do():
    w = t64([1.0])
    z = mg.zeros((2, 2), dtype=mg.float64)
    with pytest.raises(RuntimeError, match=r"x\[0, 1\] = w"):
        z[0][1] = w[0]
    z[0, 1] = w[0]  # one step works
    z.sum().backward()
    assert w.grad.tolist() == [1.0]


def test_recorded_setitem_of_a_grad_value_into_an_integer_tensor_is_refused():
    z = mg.zeros(2, dtype=mg.int64)
    with pytest.raises(RuntimeError, match="int64"):
        z[0] = t64([1.5])[0]


def test_unrecorded_setitem_is_a_plain_write():
    z = mg.zeros(3)
    z[1:] = mg.tensor([1.0, 2.0])
    assert z.tolist() == [0.0, 1.0, 2.0] and z.is_leaf and not z.requires_grad
    assert z._version == 1
    w = t64([3.0])
    with mg.no_grad():
        z[0] = w[0]
    assert not z.requires_grad and z.tolist() == [3.0, 1.0, 2.0]


def test_setitem_in_a_second_order_computation():
    w = t64([1.5, 2.0])
    z = mg.zeros(2, dtype=mg.float64)
    z[0] = w[0] ** 3
    (g,) = mg.grad(z.sum(), w, create_graph=True)
    assert g.tolist() == [3 * 1.5**2, 0.0]
    (gg,) = mg.grad(g.sum(), w)
    assert gg.tolist() == [6 * 1.5, 0.0]
