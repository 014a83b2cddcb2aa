"""Views share their base's version counter, recorded or not (issue 11).

An in-place change through any view of a tensor the graph saved is caught at backward time
instead of giving a silently wrong gradient. Each case failed before the fix.
"""

import numpy as np
import pytest

import microgradnet as mg

STALE = "modified in place"


def saved_square():
    """x, the intermediate c = 2x (saved by the square) and the loss sum(c * c)."""
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    c = x * 2
    return x, c, (c * c).sum()


def test_setitem_through_a_chain_of_views_is_detected():
    x, c, y = saved_square()
    with mg.no_grad():
        c[0][0] = 100
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()


def test_in_place_op_on_a_slice_taken_under_no_grad_is_detected():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    with mg.no_grad():
        x[:1].mul_(10)
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()


def test_in_place_op_through_a_view_of_a_detached_tensor_is_detected():
    x, c, y = saved_square()
    c.detach()[...].add_(5)
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()


def test_augmented_assignment_on_a_slice_is_detected():
    x, c, y = saved_square()
    with mg.no_grad():
        v = c[:1]
        v += 100
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()


@pytest.mark.parametrize("make_view", [
    lambda c: c.reshape(4),
    lambda c: c.view(-1),
    lambda c: c.T,
    lambda c: c.transpose(0, 1),
    lambda c: c.unsqueeze(0),
    lambda c: c[None].squeeze(0),
    lambda c: c.flatten(),
    lambda c: c.flip(0),
    lambda c: mg.split(c, 1)[0],
    lambda c: c[1],
    lambda c: c[0, 1],
    lambda c: c.detach(),
], ids=["reshape", "view", "T", "transpose", "unsqueeze", "squeeze", "flatten", "flip",
        "split", "row", "element", "detach"])
@pytest.mark.parametrize("grad_mode", [True, False])
def test_every_view_shares_the_version_counter(make_view, grad_mode):
    x, c, y = saved_square()
    with mg.set_grad_enabled(grad_mode):
        v = make_view(c)
    with mg.no_grad():
        v.add_(1)
    assert c._version == 1
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()


def test_expand_is_a_read_only_view_sharing_the_counter():
    x, c, y = saved_square()
    with mg.no_grad():
        e = c[:1].expand(3, 2)
    assert e._vc is c._vc
    with pytest.raises(ValueError):
        e.data[0, 0] = 1.0  # NumPy: a broadcast view is read-only


def test_an_element_is_a_view_as_in_pytorch():
    x = mg.tensor([1.0, 2.0])
    x[1].add_(5)
    assert x.tolist() == [1.0, 7.0]


def test_a_reshape_that_copies_does_not_share_the_counter():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    c = x * 2
    y = (c * c).sum()
    with mg.no_grad():
        r = c.T.reshape(4)  # not contiguous: reshape copies
        r.add_(1)
    y.backward()  # c is untouched: no error
    np.testing.assert_allclose(x.grad.numpy(), 8 * x.numpy())


def test_advanced_indexing_copies_and_does_not_share_the_counter():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    with mg.no_grad():
        x[[0, 1]].add_(1)
    y.backward()
    assert x.grad.tolist() == [2.0, 4.0]


@pytest.mark.parametrize("op", ["exp", "tanh", "sigmoid", "relu", "sqrt"])
def test_op_that_saved_its_output_detects_a_change_through_a_view_of_it(op):
    x = mg.tensor([0.5, 1.5], requires_grad=True)
    y = getattr(x, op)()
    with mg.no_grad():
        v = y[:]
        v.add_(1)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


def test_softmax_detects_a_change_through_a_view_of_its_output():
    x = mg.tensor([[0.5, 1.5, 2.0]], requires_grad=True)
    y = mg.functional.softmax(x, axis=-1)
    with mg.no_grad():
        y.reshape(3).mul_(2)
    with pytest.raises(RuntimeError, match="modified in place"):
        (y * mg.tensor([[1.0, 2.0, 3.0]])).sum().backward()


def test_unchanged_views_leave_backward_alone():
    x, c, y = saved_square()
    with mg.no_grad():
        _ = c[0], c.T, c.detach()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 8 * x.numpy())
