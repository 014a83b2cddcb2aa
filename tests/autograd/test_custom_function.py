"""User-defined ops: subclass mg.Function with forward/backward and ctx.save_for_backward."""

from __future__ import annotations

import numpy as np
import pytest

import microgradnet as mg


class Cube(mg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x


class MulAdd(mg.Function):
    """Two inputs, one of which may not require grad; returns two outputs."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b, a + b

    @staticmethod
    def backward(ctx, g_prod, g_sum):
        a, b = ctx.saved_tensors
        return g_prod * b + g_sum, g_prod * a + g_sum


def test_custom_function_first_and_second_order():
    x = mg.tensor(np.array([0.5, -1.5]), requires_grad=True)
    assert mg.gradcheck(Cube.apply, (x,))
    assert mg.gradgradcheck(Cube.apply, (x,))
    y = Cube.apply(x)
    assert y.grad_fn is not None and y.grad_fn.op_name == "cube"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.numpy() ** 2)


def test_custom_function_multiple_outputs_and_unused_output():
    a = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = mg.tensor(np.array([3.0, 4.0]), requires_grad=True)
    p, s = MulAdd.apply(a, b)
    p.sum().backward()  # s unused: its gradient is zero
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 2.0])
    assert mg.gradcheck(lambda a, b: MulAdd.apply(a, b)[1] * MulAdd.apply(a, b)[0],
                        (a.detach().requires_grad_(), b.detach().requires_grad_()))


def test_custom_function_with_non_tensor_argument_and_no_grad():
    x = mg.tensor(np.array([2.0]), requires_grad=True)
    with mg.no_grad():
        y = Cube.apply(x)
    assert y.grad_fn is None and not y.requires_grad


def test_wrong_gradient_shape_from_backward_is_reported():
    class Bad(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return mg.ones((7,), dtype=mg.float64)

    x = mg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"bad.*\(7,\).*\(3,\)"):
        Bad.apply(x).sum().backward()


def test_gradcheck_catches_a_wrong_derivative():
    class Wrong(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x  # should be 2x

    x = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(mg.GradcheckError, match="input 0"):
        mg.gradcheck(Wrong.apply, (x,))
    assert mg.gradcheck(Wrong.apply, (x,), raise_exception=False) is False


# -- what backward returns is checked (issue 11) ---------------------------------------------

def _op(backward_result, n_inputs=2):
    """A Function of ``n_inputs`` tensors (x * y, or x * 2) whose backward returns
    ``backward_result(grad)``."""

    class Two(mg.Function):
        @staticmethod
        def forward(ctx, *xs):
            return xs[0] * (xs[1] if len(xs) > 1 else 2.0)

        @staticmethod
        def backward(ctx, grad):
            return backward_result(grad)

    return Two


@pytest.mark.parametrize("create_graph", [False, True])
def test_too_few_gradients_is_an_error_naming_the_counts(create_graph):
    x = mg.tensor(np.ones(3), requires_grad=True)
    y = mg.tensor(np.ones(3), requires_grad=True)
    op = _op(lambda g: g)  # one gradient for two inputs: today y.grad silently stays None
    with pytest.raises(RuntimeError, match=r"two: backward returned 1 gradient\(s\) but forward "
                                           r"took 2 input\(s\)"):
        op.apply(x, y).sum().backward(create_graph=create_graph)


@pytest.mark.parametrize("create_graph", [False, True])
def test_extra_gradients_are_an_error_but_trailing_nones_are_dropped(create_graph):
    x = mg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"returned 2 gradient\(s\) but forward took 1"):
        _op(lambda g: (g, g), 1).apply(x).sum().backward(create_graph=create_graph)
    _op(lambda g: (g * 2, None, None), 1).apply(x).sum().backward(create_graph=create_graph)
    np.testing.assert_allclose(x.grad.data, [2.0, 2.0, 2.0])


@pytest.mark.parametrize("create_graph", [False, True])
def test_array_and_number_gradients_are_converted(create_graph):
    x = mg.tensor(np.ones(3), requires_grad=True)
    y = mg.tensor(np.ones(3), requires_grad=True)
    # an ndarray and a float: today "'memoryview' object has no attribute 'dtype'"
    _op(lambda g: (np.full(3, 4.0), 5.0)).apply(x, y).sum().backward(create_graph=create_graph)
    np.testing.assert_allclose(x.grad.data, [4.0, 4.0, 4.0])
    np.testing.assert_allclose(y.grad.data, [5.0, 5.0, 5.0])  # a number broadcasts to the input
    assert isinstance(x.grad, mg.Tensor) and isinstance(y.grad, mg.Tensor)


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_gradient_broadcast_from_the_input_shape_is_summed_back(create_graph):
    x = mg.tensor(np.ones(3), requires_grad=True)
    _op(lambda g: mg.ones(2, 3, dtype=mg.float64), 1).apply(x).sum().backward(
        create_graph=create_graph)
    np.testing.assert_allclose(x.grad.data, [2.0, 2.0, 2.0])


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_gradient_of_an_incompatible_shape_names_op_input_and_shapes(create_graph):
    x = mg.tensor(np.ones(3), requires_grad=True)
    y = mg.tensor(np.ones(3), requires_grad=True)
    op = _op(lambda g: (g, mg.ones(2, dtype=mg.float64)))
    with pytest.raises(RuntimeError, match=r"two: backward returned a gradient of shape \(2,\) "
                                           r"for input 1, which has shape \(3,\)"):
        op.apply(x, y).sum().backward(create_graph=create_graph)


def test_a_non_numeric_gradient_is_an_error_naming_the_op():
    x = mg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"two: backward returned a str as the gradient of "
                                           r"input 0"):
        _op(lambda g: "oops", 1).apply(x).sum().backward()


def test_internal_ops_return_one_gradient_per_input_in_both_sweeps():
    """Every node of a graph mixing many ops passes the engine's count check in both modes."""
    x = mg.tensor(np.linspace(0.1, 1.0, 6).reshape(2, 3), requires_grad=True)
    w = mg.tensor(np.linspace(-1.0, 1.0, 12).reshape(4, 3), requires_grad=True)
    out = mg.functional.cross_entropy(mg.functional.linear(x, w).tanh(), mg.tensor([0, 3]))
    out = out + mg.functional.mse_loss(x.sigmoid().exp(), x.clip(0.2, 0.8).relu())
    (g,) = mg.grad(out, [x], create_graph=True)
    g.sum().backward()
    assert x.grad is not None and w.grad is not None
