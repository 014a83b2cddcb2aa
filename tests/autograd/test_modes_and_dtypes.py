"""requires_grad assignment, no_grad on generators and in-place dtype rules (issue 11).

Each test failed before its fix.
"""

import numpy as np
import pytest

import microgradnet as mg


def test_assigning_requires_grad_on_an_integer_tensor_raises_like_requires_grad_():
    x = mg.tensor([1, 2])
    with pytest.raises(RuntimeError, match="floating-point"):
        x.requires_grad = True
    with pytest.raises(RuntimeError, match="floating-point"):
        x.requires_grad_()
    assert not x.requires_grad


def test_assigning_requires_grad_false_on_a_non_leaf_raises():
    y = mg.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad = False
    y.requires_grad = True  # a no-op, as in PyTorch


def test_assigning_requires_grad_on_a_float_leaf_works():
    x = mg.tensor([1.0, 2.0])
    x.requires_grad = True
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_no_grad_on_a_generator_function_disables_grad_inside_its_body():
    @mg.no_grad()
    def steps(x):
        for _ in range(2):
            got = yield (mg.is_grad_enabled(), (x * 2).requires_grad)
            assert got == "sent"
        return "done"

    x = mg.tensor([1.0], requires_grad=True)
    gen = steps(x)
    assert next(gen) == (False, False)
    assert mg.is_grad_enabled()  # the caller's mode between steps
    assert gen.send("sent") == (False, False)
    with pytest.raises(StopIteration) as stop:
        gen.send("sent")
    assert stop.value.value == "done"


def test_enable_grad_on_a_generator_inside_no_grad():
    @mg.enable_grad()
    def gen():
        yield mg.is_grad_enabled()

    with mg.no_grad():
        assert list(gen()) == [True]
        assert not mg.is_grad_enabled()


def test_decorated_generator_sees_exceptions_thrown_into_it():
    @mg.no_grad()
    def gen():
        try:
            yield 1
        except ValueError:
            yield mg.is_grad_enabled()

    g = gen()
    next(g)
    assert g.throw(ValueError("x")) is False


@pytest.mark.parametrize("op", [
    lambda t: t.__iadd__(2.7),
    lambda t: t.__isub__(0.5),
    lambda t: t.__imul__(1.5),
    lambda t: t.__itruediv__(2),
    lambda t: t.add_(mg.tensor([0.5, 0.5])),
], ids=["+=", "-=", "*=", "/=", "add_"])
def test_in_place_arithmetic_on_an_integer_tensor_refuses_a_float_result(op):
    t = mg.tensor([1, 2])
    with pytest.raises(TypeError, match="int64"):
        op(t)
    assert t.tolist() == [1, 2]  # untouched, not truncated


def test_in_place_arithmetic_within_a_kind_still_works():
    t = mg.tensor([1, 2])
    t += 2
    t *= 3
    t -= 1
    assert t.tolist() == [8, 11]
    f = mg.tensor([1.0, 2.0])
    f += np.float64(0.5)  # float64 into float32: same kind, fine
    f /= 2
    assert f.dtype == np.float32 and f.tolist() == [0.75, 1.25]
