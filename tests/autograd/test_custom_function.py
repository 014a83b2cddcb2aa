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
