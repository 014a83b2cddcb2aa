"""The Optimizer base: groups, state, zero_grad, closures, checked steps, state dicts."""

from __future__ import annotations

import numpy as np
import pytest

import microgradnet as mg
from microgradnet.optim import SGD, Optimizer

from .conftest import Problem

PLAIN = (int, float, str, bool, type(None), np.ndarray, mg.Tensor)


def assert_plain(obj, path="state_dict") -> None:
    """Only what mg.save stores: nested dicts (int/str keys)/lists of numbers, strings, arrays."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert isinstance(k, (int, str)) and not isinstance(k, bool), f"{path}: key {k!r}"
            assert_plain(v, f"{path}[{k!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            assert_plain(v, f"{path}[{i}]")
    else:
        assert isinstance(obj, PLAIN), f"{path} is a {type(obj).__name__}"


def _w(*shape, value=1.0):
    return mg.full(shape, value, dtype=mg.float64, requires_grad=True)


# -- construction and groups ---------------------------------------------------------------------
def test_params_as_tensors_or_dicts_with_per_group_options() -> None:
    a, b = _w(2), _w(3)
    opt = SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert [g["momentum"] for g in opt.param_groups] == [0, 0.9]
    assert opt.param_groups[1]["params"] == [b] or opt.param_groups[1]["params"][0] is b
    opt2 = SGD(iter([a, b]), lr=0.1)  # any iterable, consumed once
    assert len(opt2.param_groups) == 1 and len(opt2.param_groups[0]["params"]) == 2


def test_add_param_group_and_errors() -> None:
    a, b = _w(2), _w(3)
    opt = SGD([a], lr=0.1, momentum=0.5)
    opt.add_param_group({"params": [b], "lr": 0.01})
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.5
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    assert len(opt.param_groups) == 2  # the failed group was not added
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        SGD(a, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        SGD({a, b}, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        SGD([{"params": {a, b}}], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(TypeError, match="floating-point.*int64"):
        SGD([mg.tensor([1, 2])], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        SGD([a * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        SGD([a, a], lr=0.1)


def test_invalid_group_hyper_parameters_are_rejected_too() -> None:
    opt = SGD([_w(1)], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        opt.add_param_group({"params": [_w(1)], "lr": -1})
    with pytest.raises(ValueError, match="nonfinite"):
        SGD([_w(1)], lr=0.1, nonfinite="ignore")


# -- zero_grad -----------------------------------------------------------------------------------
def test_zero_grad_to_none_or_in_place() -> None:
    a = _w(2)
    opt = SGD([a], lr=0.1)
    (a * a).sum().backward()
    g = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is g and np.array_equal(g.data, [0.0, 0.0])
    opt.zero_grad()
    assert a.grad is None
    opt.zero_grad()  # no grad at all: fine


# -- step ----------------------------------------------------------------------------------------
def test_step_updates_in_place_without_recording_and_bumps_the_version() -> None:
    a = _w(3)
    view = a.data[1:]  # someone holding a view of the weights
    arr = a.data
    opt = SGD([a], lr=0.1)
    (a * a).sum().backward()
    v0 = a._version
    with mg.enable_grad():
        opt.step()
    assert a.data is arr and np.allclose(view, 0.8)
    assert a._version > v0
    assert a.is_leaf and a.grad_fn is None and a.requires_grad


def test_a_graph_that_saved_the_old_weights_notices_the_update() -> None:
    a = _w(2)
    opt = SGD([a], lr=0.1)
    y = (a * a).sum()  # saves a
    (3 * a).sum().backward()
    opt.step()
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_parameters_without_grad_are_skipped() -> None:
    a, b = _w(2), _w(2)
    opt = SGD([a, b], lr=0.1, momentum=0.9)
    (a * a).sum().backward()
    opt.step()
    assert np.allclose(a.data, 0.8) and np.array_equal(b.data, [1.0, 1.0])
    assert b not in opt.state or not opt.state[b]


def test_closure_runs_with_grad_enabled_and_its_loss_is_returned() -> None:
    a = _w(2)
    opt = SGD([a], lr=0.1)
    seen = []

    def closure():
        seen.append(mg.is_grad_enabled())
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    with mg.no_grad():
        loss = opt.step(closure)
    assert seen == [True] and loss.item() == 2.0
    assert np.allclose(a.data, 0.8)
    assert opt.step() is None  # without a closure


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_gradient_raises_before_any_parameter_changes(bad) -> None:
    a, b, c = _w(2), _w(3), _w(2, 2)
    opt = SGD([{"params": [a]}, {"params": [b, c], "lr": 0.5}], lr=0.1, momentum=0.9)
    for p in (a, b, c):
        p.grad = mg.ones_like(p)
    opt.step()
    before = [p.data.copy() for p in (a, b, c)]
    state_before = opt.state_dict()
    versions = [p._version for p in (a, b, c)]
    c.grad = mg.tensor([[1.0, bad], [1.0, 1.0]], dtype=mg.float64)
    msg = r"parameter 2 \(group 1, shape \(2, 2\)\).*1 non-finite"
    with pytest.raises(RuntimeError, match=msg):
        opt.step()
    for p, old in zip((a, b, c), before):  # a and b come first, and are unchanged too
        assert np.array_equal(p.data, old)
    assert [p._version for p in (a, b, c)] == versions
    after = opt.state_dict()
    for i in state_before["state"]:
        assert np.array_equal(after["state"][i]["momentum_buffer"].data,
                              state_before["state"][i]["momentum_buffer"].data)


def test_wrong_gradient_shape_raises_naming_both_shapes() -> None:
    a, b = _w(2), _w(3)
    opt = SGD([a, b], lr=0.1)
    a.grad = mg.ones(2, dtype=mg.float64)
    b.grad = mg.ones((3, 1), dtype=mg.float64)
    msg = r"parameter 1 \(group 0, shape \(3,\)\) has shape \(3, 1\)"
    with pytest.raises(ValueError, match=msg):
        opt.step()
    assert np.array_equal(a.data, [1.0, 1.0])


def test_nonfinite_skip_skips_the_whole_step() -> None:
    a, b = _w(2), _w(2)
    opt = SGD([a, b], lr=0.1, nonfinite="skip")
    a.grad = mg.ones(2, dtype=mg.float64)
    b.grad = mg.tensor([np.nan, 1.0], dtype=mg.float64)
    opt.step()
    assert opt.skipped_steps == 1
    assert np.array_equal(a.data, [1.0, 1.0]) and np.array_equal(b.data, [1.0, 1.0])
    b.grad = mg.ones(2, dtype=mg.float64)
    opt.step()
    assert opt.skipped_steps == 1 and np.allclose(a.data, 0.9) and np.allclose(b.data, 0.9)
    b.grad = mg.ones(3, dtype=mg.float64)  # a wrong shape is a bug, never skipped
    with pytest.raises(ValueError, match="shape"):
        opt.step()


def test_base_class_needs_an_update_rule() -> None:
    class Nothing(Optimizer):
        pass

    a = _w(1)
    opt = Nothing([a], {"lr": 0.1})
    a.grad = mg.ones(1, dtype=mg.float64)
    with pytest.raises(NotImplementedError, match="Nothing must implement _update"):
        opt.step()


# -- state dicts ---------------------------------------------------------------------------------
def test_state_dict_layout_is_pytorch_s() -> None:
    a, b, c = _w(2), _w(3), _w(1)
    opt = SGD([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1, momentum=0.9)
    for p in (a, c):
        p.grad = mg.ones_like(p)
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][0]["momentum"] == 0.9
    assert sorted(sd["state"]) == [0, 2]  # b had no gradient, so no state
    assert np.array_equal(sd["state"][0]["momentum_buffer"].data, [1.0, 1.0])
    assert_plain(sd)
    # a snapshot: later steps leave it alone
    opt.step()
    assert np.array_equal(sd["state"][0]["momentum_buffer"].data, [1.0, 1.0])


def test_state_dict_round_trip_continues_the_same_trajectory() -> None:
    prob = Problem(3)

    def make(params):
        return SGD([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.02}], lr=0.01,
                   momentum=0.9, nesterov=True)

    full = prob.run(make, 6)
    params = prob.params()
    opt = make(params)
    for _ in range(3):
        opt.zero_grad()
        prob.loss(*params).backward()
        opt.step()
    sd = opt.state_dict()
    # a fresh optimizer over fresh tensors holding the same values
    params2 = [mg.tensor(p.data, requires_grad=True) for p in params]
    opt2 = SGD(params2, lr=123.0)  # one group, different options: both come from the dict...
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt2.load_state_dict(sd)
    opt2 = make(params2)
    opt2.param_groups[0]["lr"] = 123.0
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.01 and opt2.param_groups[0]["params"][0] is params2[0]
    for _ in range(3, 6):
        opt2.zero_grad()
        prob.loss(*params2).backward()
        opt2.step()
    # the buffers were copied in, not shared with the dict
    for p, ref in zip(params2, full[-1]):
        np.testing.assert_allclose(p.data, ref, rtol=1e-12)
    assert not np.array_equal(sd["state"][0]["momentum_buffer"].data,
                              opt2.state[params2[0]]["momentum_buffer"].data)


def test_load_state_dict_validates_before_changing_anything() -> None:
    a, b = _w(2), _w(3)
    opt = SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = mg.ones(2, dtype=mg.float64), mg.ones(3, dtype=mg.float64)
    opt.step()
    sd = opt.state_dict()

    other = SGD([_w(2)], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="doesn't match the size.*group 0 has 2 parameters saved, "
                                         "1 in the optimizer"):
        other.load_state_dict(sd)
    assert other.state_dict()["state"] == {}

    swapped = SGD([_w(3), _w(2)], lr=0.7, momentum=0.9)
    with pytest.raises(ValueError, match=r"'momentum_buffer' of shape \(2,\) for parameter 0, "
                                         r"whose shape is \(3,\)"):
        swapped.load_state_dict(sd)
    assert swapped.param_groups[0]["lr"] == 0.7 and not swapped.state

    with pytest.raises(ValueError, match="param_groups"):
        opt.load_state_dict({"state": {}})


def test_load_state_dict_accepts_arrays_and_string_keys() -> None:
    """What a file format may hand back: ndarray buffers, '0' keys, lists for tuples."""
    a = _w(2)
    opt = SGD([a], lr=0.1, momentum=0.9)
    sd = {"state": {"0": {"momentum_buffer": np.array([5.0, 6.0])}},
          "param_groups": [{"lr": 0.2, "momentum": 0.5, "dampening": 0.0, "weight_decay": 0.0,
                            "nesterov": False, "maximize": False, "momentum_form": "pytorch",
                            "params": [0]}]}
    opt.load_state_dict(sd)
    buf = opt.state[a]["momentum_buffer"]
    assert isinstance(buf, mg.Tensor) and buf.dtype == a.dtype
    a.grad = mg.ones(2, dtype=mg.float64)
    opt.step()  # b = 0.5*[5, 6] + 1; w = 1 - 0.2*b
    np.testing.assert_allclose(a.data, [1 - 0.2 * 3.5, 1 - 0.2 * 4.0])


@pytest.mark.skipif(not hasattr(mg, "save"), reason="mg.save has not landed yet")
def test_state_dict_survives_mg_save_and_load(tmp_path) -> None:
    prob = Problem(1)
    params = prob.params()
    opt = SGD(params, lr=0.01, momentum=0.9)
    for _ in range(2):
        opt.zero_grad()
        prob.loss(*params).backward()
        opt.step()
    mg.save(opt.state_dict(), tmp_path / "opt.npz")
    params2 = [mg.tensor(p.data, requires_grad=True) for p in params]
    opt2 = SGD(params2, lr=0.5)
    opt2.load_state_dict(mg.load(tmp_path / "opt.npz"))
    for opt_, ps in ((opt, params), (opt2, params2)):
        opt_.zero_grad()
        prob.loss(*ps).backward()
        opt_.step()
    for p, q in zip(params, params2):
        np.testing.assert_array_equal(p.data, q.data)


def test_repr_lists_the_groups() -> None:
    text = repr(SGD([_w(1)], lr=0.1, momentum=0.9))
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "momentum: 0.9" in text


def test_load_state_dict_names_the_optimizer_a_state_belongs_to() -> None:
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    adam = mg.optim.Adam([w])
    (w * w).sum().backward()
    adam.step()
    sgd = mg.optim.SGD([w], lr=0.1, momentum=0.9)
    before = sgd.state_dict()
    with pytest.raises(ValueError, match=r"SGD\.load_state_dict: the state dict belongs to "
                                         r"Adam or AdamW, not SGD.*lacks dampening"):
        sgd.load_state_dict(adam.state_dict())  # was: KeyError
    assert sgd.state_dict() == before
    with pytest.raises(ValueError, match="belongs to SGD, not Adagrad"):
        mg.optim.Adagrad([w]).load_state_dict(sgd.state_dict())
    # the same hyper-parameter names, but another optimizer's buffers
    rms = mg.optim.RMSprop([w])
    state = rms.state_dict()
    state["state"] = {0: {"exp_avg": np.zeros(2)}}
    with pytest.raises(ValueError, match="holds exp_avg, which RMSprop never keeps"):
        rms.load_state_dict(state)


def test_load_state_dict_says_which_buffer_is_missing() -> None:
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    adam = mg.optim.Adam([w])
    (w * w).sum().backward()
    adam.step()
    state = adam.state_dict()
    del state["state"][0]["exp_avg_sq"]
    fresh = mg.optim.Adam([w])
    with pytest.raises(ValueError, match="parameter 0 lacks exp_avg_sq"):
        fresh.load_state_dict(state)  # was: a KeyError at the next step
    assert not fresh.state
