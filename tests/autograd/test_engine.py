"""The backward sweep: accumulation, reuse, retain_graph, create_graph, hooks, threads, memory."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest

import microgradnet as mg


def t64(x, requires_grad=True):
    return mg.tensor(np.asarray(x, dtype=np.float64), requires_grad=requires_grad)


def test_reused_value_receives_every_contribution_before_propagating():
    # b = a + a; c = b * b  =>  dc/da = 2b * 2 = 8a
    a = t64(3.0)
    b = a + a
    c = b * b
    c.backward()
    assert a.grad.item() == pytest.approx(24.0)


def test_diamond_graph_and_fan_out():
    x = t64([1.0, 2.0])
    y = mg.exp(x)
    z = (y * x + y.tanh() + y).sum()
    z.backward()
    e = np.exp([1.0, 2.0])
    expected = e * np.array([1.0, 2.0]) + e + (1 - np.tanh(e) ** 2) * e + e
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_gradients_accumulate_across_backward_calls():
    x = t64(2.0)
    (x * x).backward()
    (x * 3).backward()
    assert x.grad.item() == pytest.approx(7.0)


def test_leaves_never_share_a_gradient_buffer():
    a, b = t64([1.0, 2.0]), t64([3.0, 4.0])
    (a + b).sum().backward()
    a.grad.data[:] = 0
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])
    g = t64([5.0, 6.0], requires_grad=False)
    c = t64([0.0, 0.0])
    c.backward(g)  # the output is a leaf: the gradient is copied, not aliased
    c.grad.data[:] = 7
    np.testing.assert_array_equal(g.numpy(), [5.0, 6.0])


def test_second_backward_without_retain_graph_says_what_to_do():
    x = t64(2.0)
    y = mg.exp(x) * x
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = t64(2.0)
    y = mg.exp(x) * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(2 * (np.exp(2.0) * 3.0))


def test_non_scalar_output_needs_a_gradient():
    x = t64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="gradient="):
        (x * 2).backward()
    (x * 2).backward(gradient=mg.tensor([1.0, 10.0], dtype=mg.float64))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 20.0])
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        (x * 2).backward(gradient=mg.ones(3, dtype=mg.float64))


def test_backward_on_a_tensor_without_grad_is_a_clear_error():
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        mg.tensor(1.0).backward()


def test_third_derivative_through_create_graph():
    x = t64(0.7)
    y = mg.exp(x) * x * x  # y''' = e^x (x^2 + 6x + 6)
    (g1,) = mg.grad(y, x, create_graph=True)
    (g2,) = mg.grad(g1, x, create_graph=True)
    (g3,) = mg.grad(g2, x)
    assert g3.item() == pytest.approx(np.exp(0.7) * (0.49 + 4.2 + 6))


def test_grad_leaves_dot_grad_alone_and_reports_unused_inputs():
    x, w = t64(2.0), t64(5.0)
    (gx,) = mg.grad(x * x, x)
    assert gx.item() == 4.0 and x.grad is None
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        mg.grad(x * x, [x, w])
    gx, gw = mg.grad(x * x, [x, w], allow_unused=True)
    assert gw is None


def test_grad_of_intermediate_tensor():
    x = t64(3.0)
    h = x * x
    y = h * h
    (gh,) = mg.grad(y, h)
    assert gh.item() == pytest.approx(18.0)


def test_backward_inputs_restricts_accumulation():
    x, w = t64(2.0), t64(3.0)
    (x * w).backward(inputs=[w])
    assert w.grad.item() == 2.0 and x.grad is None


def test_tensor_hooks_can_replace_the_gradient():
    x = t64([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = x * 3
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_array_equal(seen[0], [30.0, 30.0])
    np.testing.assert_array_equal(x.grad.numpy(), [30.0, 30.0])


def test_retain_grad_on_an_intermediate():
    x = t64([1.0, 2.0])
    h = x * x
    h.retain_grad()
    (h * 3).sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), [3.0, 3.0])


def test_deep_chain_has_no_recursion_limit():
    x = mg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_saved_buffers_are_freed_after_backward():
    x = t64(np.ones(1000))
    big = x * 2.0
    y = mg.exp(big)  # saves its output (a 1000-element buffer)
    node = y.grad_fn
    y.sum().backward()
    assert node._out is None  # the saved output is gone
    ref = weakref.ref(node)
    del y, node, big
    gc.collect()
    assert ref() is None


def test_grad_mode_is_thread_local_and_decorators_work():
    x = t64(1.0)
    results = {}

    def worker():
        results["worker"] = mg.is_grad_enabled()
        results["rec"] = (x * 2).requires_grad

    with mg.no_grad():
        th = threading.Thread(target=worker)
        th.start()
        th.join()
        assert not (x * 2).requires_grad
    assert results == {"worker": True, "rec": True}

    @mg.no_grad()
    def f():
        return x * 2

    @mg.no_grad
    def g():
        return x * 2

    assert not f().requires_grad and not g().requires_grad
    with mg.no_grad():
        with mg.enable_grad():
            assert (x * 2).requires_grad


def test_backward_in_threads_concurrently():
    def work(out, i):
        x = t64(float(i))
        y = x
        for _ in range(200):
            y = y * 1.0 + 0.0
        (y * y).backward()
        out[i] = x.grad.item()

    out: dict[int, float] = {}
    ths = [threading.Thread(target=work, args=(out, i)) for i in range(4)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    assert out == {i: 2.0 * i for i in range(4)}


def test_int_tensors_cannot_require_grad():
    with pytest.raises((RuntimeError, TypeError), match="float"):
        mg.tensor([1, 2], requires_grad=True)


def _third(f, x0):
    x = t64(x0)
    (g1,) = mg.grad(f(x), x, create_graph=True)
    (g2,) = mg.grad(g1, x, create_graph=True)
    (g3,) = mg.grad(g2, x)
    return g3.item()


@pytest.mark.parametrize("x0", [-1.3, 0.0, 0.4, 2.1])
def test_third_derivatives_against_closed_forms(x0):
    th = np.tanh(x0)  # tanh''' = -2 (1 - t^2)(1 - 3 t^2)
    assert _third(mg.tanh, x0) == pytest.approx(-2 * (1 - th**2) * (1 - 3 * th**2), rel=1e-10)
    s = 1 / (1 + np.exp(-x0))  # sigmoid''' = s(1-s)(1 - 6 s + 6 s^2)
    assert _third(mg.sigmoid, x0) == pytest.approx(s * (1 - s) * (1 - 6 * s + 6 * s**2),
                                                   rel=1e-9, abs=1e-12)
    # (e^x sin x)''' = 2 e^x (cos x - sin x)
    assert _third(lambda x: mg.exp(x) * mg.sin(x), x0) == pytest.approx(
        2 * np.exp(x0) * (np.cos(x0) - np.sin(x0)), rel=1e-10)


@pytest.mark.parametrize("f", [mg.exp, mg.sigmoid, mg.tanh, mg.relu, lambda x: x * 3.0,
                               lambda x: 1.0 / x, lambda x: 2.0 - x, lambda x: x * x])
def test_zero_d_gradients_are_arrays(f):
    # NumPy turns arithmetic on 0-d arrays into scalars; a gradient's data must stay an array
    x = mg.tensor(0.5, requires_grad=True)
    f(x).backward()
    assert type(x.grad.data) is np.ndarray and x.grad.shape == ()
    x.grad.data[...] = 0.0  # writable, as any gradient buffer


def test_mul_and_div_by_a_number_keep_no_input_alive() -> None:
    """``a * 2.0`` and ``a / 4.0`` need only the number for their derivative: the node must not
    keep ``a`` (and its array) alive, as PyTorch's does not; a deep chain of them then holds one
    tensor at a time. With a tensor on the other side, the input is kept."""
    for make in (lambda a: a * 2.0, lambda a: 2.0 * a, lambda a: a / 4.0,
                 lambda a: mg.mul(a, np.float32(2.0))):
        x = mg.tensor([1.0, 2.0], requires_grad=True)
        a = x * 1.5
        b = make(a)
        ref = weakref.ref(a)
        del a
        gc.collect()
        assert ref() is None
        b.sum().backward()
        assert x.grad.tolist() == pytest.approx([b.data[0] / x.data[0]] * 2)
    for make in (lambda a: a * mg.tensor(2.0), lambda a: 4.0 / a):
        x = mg.tensor([1.0, 2.0], requires_grad=True)
        a = x * 1.5
        b = make(a)
        ref = weakref.ref(a)
        del a
        gc.collect()
        assert ref() is not None  # needed: d(a*w)/dw = a, d(4/a)/da = -4/a²
