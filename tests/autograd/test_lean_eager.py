"""The lean eager path (issue 16): an op that records nothing builds no node, and the short cuts
of ``Function.apply`` keep everything the long way did (tangents, views' versions, hooks,
call sites, ``needs_input_grad``)."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import microgradnet as mg
from microgradnet.autograd import forward_ad as fwAD
from microgradnet.tensor import Tensor


def t(x, **kw):
    return mg.tensor(np.asarray(x, dtype=np.float64), **kw)


def test_make_and_init_fill_every_slot_alike():
    """``Tensor._make`` writes the fields inline; it must set exactly what ``__init__`` sets."""
    a = np.array([1.0, 2.0])
    made, init = Tensor._make(a, False, None), Tensor(a)
    for name in Tensor.__slots__:
        if name != "__weakref__":
            assert getattr(made, name) is getattr(init, name) or (
                name == "data" and made.data is a), name


@pytest.mark.parametrize("mode", ["no_grad", "constants"])
def test_an_unrecorded_op_builds_no_node(mode):
    x = t([1.0, 2.0], requires_grad=mode == "no_grad")
    if mode == "no_grad":
        with mg.no_grad():
            y = x * 2.0 + x
    else:
        y = x * 2.0 + x
    assert y.grad_fn is None and not y.requires_grad
    assert y._vc is None  # no version counter made for it either
    np.testing.assert_array_equal(y.data, [3.0, 6.0])


def test_the_no_grad_path_keeps_the_tangents_of_an_active_dual_level():
    """Forward mode rides through ``Function.apply``: skipping the graph must not skip it."""
    with fwAD.dual_level():
        x = fwAD.make_dual(t([1.0, 2.0]), t([0.5, -1.0]))
        with mg.no_grad():
            y = x * x + 1.0
        _, tangent = fwAD.unpack_dual(y)
    np.testing.assert_allclose(tangent.data, [1.0, -4.0])  # 2 x dx


def test_an_unrecorded_view_still_shares_its_base_version():
    """A view made under no_grad shares the version counter: a later in-place change through
    it is seen by a node that saved the base."""
    x = t([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x * 1.0
    z = y * y  # saves y
    with mg.no_grad():
        v = y.reshape(2, 2)  # an op that returns a view of its input (Function._view_of)
    assert v._vc is y._vc and v._vc is not None
    with mg.no_grad():
        v.add_(1.0)
    assert y._version == 1
    with pytest.raises(RuntimeError, match="modified in place"):
        z.sum().backward()


def test_needs_input_grad_follows_the_edges():
    seen = []

    class Scale(mg.Function):
        @staticmethod
        def forward(ctx, x, k):
            seen.append(ctx.needs_input_grad)
            return x.data * k.data

        @staticmethod
        def backward(ctx, grad):
            seen.append(ctx.needs_input_grad)
            return grad, None

    x = t([1.0], requires_grad=True)
    Scale.apply(x, t([2.0])).sum().backward()
    assert seen == [(True, False), (True, False)]
    with mg.no_grad():
        Scale.apply(x, t([2.0]))
    assert seen[-1] == ()  # an unrecorded ctx has no inputs that need grad


def test_a_subclass_of_an_op_gets_its_own_scratch_ctx():
    from microgradnet.ops.arithmetic import Add

    class MyAdd(Add):
        __slots__ = ()

    assert MyAdd.__dict__["_scratch"] is not Add.__dict__["_scratch"]
    assert type(MyAdd._scratch) is MyAdd
    assert MyAdd.apply(t([1.0]), t([2.0])).item() == 3.0


def test_recorded_ops_in_user_code_still_name_the_line():
    x = t([1.0, 2.0], requires_grad=True)
    y = x * x  # the line the error must name
    line = test_recorded_ops_in_user_code_still_name_the_line.__code__.co_firstlineno + 2
    assert y.grad_fn.site.endswith(f":{line} in test_recorded_ops_in_user_code_still_name_the_line")
    gc.collect()


def test_the_dual_level_hint_is_cleared_on_every_exit():
    """Ops skip reading the thread-local dual level while no level is active anywhere; the
    hint must never stay set after a level ends (normally or by an exception)."""
    from microgradnet.autograd.forward_ad import _live

    assert not _live
    with fwAD.dual_level():
        assert _live
    assert not _live
    with pytest.raises(ZeroDivisionError), fwAD.dual_level():
        raise ZeroDivisionError
    assert not _live
    fwAD.exit_dual_level()  # ending no level is harmless
    assert not _live


def test_forward_mode_in_one_thread_is_seen_while_another_runs_plain_ops():
    import threading

    inside, release, out = threading.Event(), threading.Event(), {}

    def worker():
        with fwAD.dual_level():
            x = fwAD.make_dual(t([1.0, 2.0]), t([1.0, 1.0]))
            inside.set()
            release.wait(5)
            out["tangent"] = fwAD.unpack_dual(x * 3.0).tangent

    th = threading.Thread(target=worker)
    th.start()
    inside.wait(5)
    y = t([1.0]) * 2.0  # this thread has no dual level: a plain op, no tangent
    assert fwAD.unpack_dual(y).tangent is None
    release.set()
    th.join()
    np.testing.assert_array_equal(out["tangent"].data, [3.0, 3.0])


def test_the_call_site_line_is_computed_when_asked():
    """The site keeps the instruction offset; its line is worked out from the code's line
    table when a message asks, and is the line each op was written on."""
    from microgradnet.autograd.function import site_line

    x = t([1.0, 2.0], requires_grad=True)
    first = test_the_call_site_line_is_computed_when_asked.__code__.co_firstlineno
    y = x * 2.0
    z = (y *
         x)
    assert site_line(y.grad_fn._site) == first + 7
    assert site_line(z.grad_fn._site) == first + 8  # where f_lineno puts a multi-line `*`
    name = "test_the_call_site_line_is_computed_when_asked"
    assert y.grad_fn.site.endswith(f":{first + 7} in {name}")


def test_the_anomaly_hint_follows_every_way_of_setting_the_mode():
    """Recording reads the thread-local anomaly flag only while some thread has it on."""
    from microgradnet.autograd.grad_mode import _anomaly_on

    assert not _anomaly_on
    with mg.detect_anomaly():
        assert _anomaly_on
        with mg.set_detect_anomaly(False):
            assert not _anomaly_on
        assert _anomaly_on
        y = t([1.0], requires_grad=True) + 1.0  # add saves nothing: the site is for anomaly
        assert y.grad_fn.site is not None
    assert not _anomaly_on
    mg.set_detect_anomaly(True)
    mg.set_detect_anomaly(True)
    assert len(_anomaly_on) == 1
    mg.set_detect_anomaly(False)
    assert not _anomaly_on
    assert (t([1.0], requires_grad=True) + 1.0).grad_fn.site is None
