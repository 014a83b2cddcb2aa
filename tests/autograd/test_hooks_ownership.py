"""Hooks (PyTorch's AccumulateGrad semantics) and who owns a gradient array (issue 11).

Each test here failed on the code before the fix it guards.
"""

import numpy as np
import pytest

import microgradnet as mg


def t64(v):
    return mg.tensor(v, dtype=mg.float64, requires_grad=True)


# -- leaf hooks run once, on the total gradient ------------------------------------------
def test_leaf_hook_runs_once_on_the_summed_gradient():
    x = t64([1.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.item()) or g.clip(-5, 5))
    (x * 3 + x * 4).sum().backward()
    assert seen == [7.0]
    assert x.grad.item() == 5.0


def test_leaf_hooks_run_inside_mg_grad_and_backward_inputs():
    x = t64([1.0])
    x.register_hook(lambda g: g * 0 + 1.5)
    (gx,) = mg.grad((x * 3 + x * 4).sum(), x)
    assert gx.item() == 1.5 and x.grad is None
    w = t64([2.0])
    (x * 3 + x * w).sum().backward(inputs=[x])
    assert x.grad.item() == 1.5 and w.grad is None


def test_hooks_of_a_leaf_that_is_not_asked_for_do_not_run():
    x, w = t64([1.0]), t64([2.0])
    called = []
    w.register_hook(lambda g: called.append(1))
    mg.grad((x * w).sum(), x)
    assert called == []


def test_hook_returning_a_non_tensor_is_a_type_error_naming_the_hook():
    x = t64([1.0, 2.0])

    def bad_hook(g):
        return g.numpy()

    x.register_hook(bad_hook)
    with pytest.raises(TypeError, match="bad_hook"):
        (x * 2).sum().backward()


def test_hook_returning_the_wrong_shape_is_a_runtime_error_naming_the_hook():
    x = t64([1.0, 2.0])
    y = x * 2

    def shrink(g):
        return g.sum()

    y.register_hook(shrink)
    with pytest.raises(RuntimeError, match="shrink.*shape"):
        y.sum().backward()


def test_register_hook_returns_a_handle_with_remove_for_leaves_and_intermediates():
    x = t64([1.0])
    h1 = x.register_hook(lambda g: g * 100)
    y = x * 2
    h2 = y.register_hook(lambda g: g * 100)
    h1.remove()
    h2.remove()
    h2.remove()  # twice is harmless
    y.sum().backward()
    assert x.grad.item() == 2.0


def test_node_register_hook_returns_a_handle():
    x = t64([1.0])
    y = x * 2
    h = y.grad_fn.register_hook(lambda g: g * 10)
    h.remove()
    y.sum().backward()
    assert x.grad.item() == 2.0


def test_hook_on_an_intermediate_sees_its_own_dtype():
    x32 = mg.tensor([1.0], requires_grad=True)
    h = x32 * 2  # float32 intermediate
    seen = []
    h.register_hook(lambda g: seen.append(g.dtype))
    h.retain_grad()
    (h * mg.tensor([3.0], dtype=mg.float64)).sum().backward()
    assert seen == [np.float32] and h.grad.dtype == np.float32


# -- who owns a gradient array -----------------------------------------------------------
@pytest.mark.parametrize("create_graph", [False, True])
def test_grads_of_two_leaves_never_share_memory(create_graph):
    a, b = t64([1.0, 2.0]), t64([3.0, 4.0])
    (a + b).sum().backward(create_graph=create_graph)
    assert a.grad is not b.grad
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data[0] = 100.0
    assert b.grad.data[0] == 1.0


@pytest.mark.parametrize("create_graph", [False, True])
def test_leaf_grad_does_not_share_memory_with_the_user_gradient(create_graph):
    a = t64([1.0, 2.0])
    seed = mg.tensor([1.0, 1.0], dtype=mg.float64)
    (a + 0).backward(seed, create_graph=create_graph)
    assert not np.shares_memory(a.grad.data, seed.data)


def test_leaf_grad_does_not_share_memory_with_a_retained_intermediate_grad():
    a, b = t64([1.0, 2.0]), t64([3.0, 4.0])
    h = a + b
    h.retain_grad()
    (h * 2).sum().backward()
    assert not np.shares_memory(a.grad.data, h.grad.data)
    assert not np.shares_memory(b.grad.data, h.grad.data)


def test_retained_grad_of_the_output_does_not_share_memory_with_the_seed():
    a = t64([1.0, 2.0])
    h = a * 2
    h.retain_grad()
    seed = mg.tensor([1.0, 1.0], dtype=mg.float64)
    h.backward(seed)
    assert not np.shares_memory(h.grad.data, seed.data)


def test_leaf_grad_does_not_share_memory_with_a_tensor_a_hook_returned():
    kept = mg.tensor([5.0, 5.0], dtype=mg.float64)
    a = t64([1.0, 2.0])
    a.register_hook(lambda g: kept)
    (a * 2).sum().backward()
    assert not np.shares_memory(a.grad.data, kept.data)
    a.grad.zero_()
    assert kept.tolist() == [5.0, 5.0]


def test_grad_is_writable_after_backward_with_inputs():
    a, b = t64([1.0, 2.0]), t64([3.0, 4.0])
    (a + b).sum().backward(inputs=[b])
    assert a.grad is None
    opt = mg.optim.SGD([a, b], lr=0.1)
    opt.zero_grad(set_to_none=False)  # raised "assignment destination is read-only"
    assert b.grad.tolist() == [0.0, 0.0]


def test_grad_is_writable_after_a_broadcast_backward():
    a = t64([1.0, 2.0])
    a.sum().backward()
    a.grad.data[0] = 3.0
    assert a.grad.tolist() == [3.0, 1.0]


def test_mg_grad_with_the_same_input_twice_returns_it_twice():
    x = t64([1.0, 2.0])
    gx1, gx2 = mg.grad((x * x).sum(), [x, x])
    assert gx1.tolist() == gx2.tolist() == [2.0, 4.0]


def test_backward_inputs_with_the_same_input_twice_accumulates_once():
    x = t64([1.0])
    (x * x).sum().backward(inputs=[x, x])
    assert x.grad.tolist() == [2.0]


def test_mg_grad_returns_the_input_dtype():
    x32 = mg.tensor([1.0, 2.0], requires_grad=True)
    y64 = mg.tensor([3.0, 4.0], dtype=mg.float64)
    (g,) = mg.grad((x32 * y64).sum(), x32)
    assert g.dtype == np.float32
    (g,) = mg.grad((x32 * y64).sum(), x32, create_graph=True)
    assert g.dtype == np.float32
    h = x32 * 2
    (gh,) = mg.grad((h * y64).sum(), h)
    assert gh.dtype == np.float32


def test_functional_vjp_and_jacobian_return_the_input_dtype():
    x32 = mg.tensor([1.0, 2.0])
    y64 = mg.tensor([3.0, 4.0], dtype=mg.float64)
    _, (v,) = mg.functional.vjp(lambda x: (x * y64).sum(), (x32,))
    assert v.dtype == np.float32
    j = mg.functional.jacobian(lambda x: x * y64, x32)
    assert j.dtype == np.float32
