"""Misuse gets a clear error saying what happened and how to fix it."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import microgradnet as mg
from microgradnet.autograd.function import site_line


def _line_above() -> int:
    """The number of the line above the caller's (the line an assertion is about)."""
    return sys._getframe(1).f_lineno - 1


def test_in_place_change_of_a_saved_tensor_names_the_op_and_the_line():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor([3.0, 4.0])
    y = x * w  # saves w  <- this line must be named
    line = _line_above()
    assert site_line(y.grad_fn._site) == line
    w.add_(1.0)
    with pytest.raises(RuntimeError) as err:
        y.sum().backward()
    msg = str(err.value)
    assert "mul" in msg and "modified in place" in msg
    assert f"test_misuse.py:{line}" in msg
    assert ".clone()" in msg


def test_in_place_change_of_a_saved_output_is_detected():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = mg.exp(x * 1.0)  # exp saves its output
    z = y.sum()  # sum saves nothing: only exp's saved output is at stake
    with pytest.raises(RuntimeError, match="no_grad"):
        y.mul_(2.0)  # refused while recording: y is part of a graph
    with mg.no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match="exp: its output was modified in place"):
        z.backward()


def test_in_place_on_a_leaf_that_requires_grad_is_refused():
    x = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        x.add_(1.0)
    with mg.no_grad():
        x.add_(1.0)
    assert x.item() == 2.0


def test_unmodified_saved_tensors_pass_the_version_check():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor([3.0, 4.0])
    y = x * w
    v = w + 0  # out-of-place: fine
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    assert v.shape == (2,)


def test_grad_on_integer_tensor_is_refused():
    x = mg.tensor([1, 2])
    with pytest.raises((RuntimeError, TypeError)) as err:
        x.requires_grad_()
    assert "float" in str(err.value)


def test_shape_mismatch_names_the_op_and_both_shapes():
    a, b = mg.ones((3, 4)), mg.ones((5, 2))
    with pytest.raises(ValueError, match=r"matmul.*\(3, 4\).*\(5, 2\)"):
        a @ b
    with pytest.raises(ValueError, match=r"add.*\(3, 4\).*\(5, 2\)"):
        a + b


def test_anomaly_mode_names_the_forward_op_and_its_line():
    x = mg.tensor([0.0, 1.0], requires_grad=True)
    with mg.detect_anomaly():
        assert mg.is_anomaly_enabled()
        y = mg.log(x)  # the culprit line
        line = _line_above()
        assert site_line(y.grad_fn._site) == line
        z = (y * 0.0).sum()
        with pytest.raises(RuntimeError) as err, np.errstate(all="ignore"):
            z.backward()
    assert not mg.is_anomaly_enabled()
    msg = str(err.value)
    assert "'log'" in msg and "nan" in msg
    assert f"test_misuse.py:{line}" in msg


def test_anomaly_mode_as_decorator_and_off_by_default():
    @mg.detect_anomaly()
    def f():
        return mg.is_anomaly_enabled()

    assert f() and not mg.is_anomaly_enabled()
    x = mg.tensor([0.0], requires_grad=True)
    with np.errstate(all="ignore"):
        (mg.log(x) * 0.0).sum().backward()  # silently NaN without anomaly mode, as PyTorch
    assert np.isnan(x.grad.item())


def test_ops_inside_modules_name_the_users_line():
    mg.manual_seed(0)
    net = mg.nn.MLP([2, 3, 1], activation="tanh")
    x = mg.tensor([[1.0, 2.0]])
    out = net(x)  # the line the error must name for ops inside built-in modules
    line = _line_above()
    assert site_line(out.grad_fn._site) == line
    assert out.grad_fn._site[0].co_filename.endswith("test_misuse.py")

    class Mine(mg.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = mg.nn.Linear(1, 1)

        def forward(self, h):
            y = h * 2.0  # a user-defined forward: its own ops name their own line
            return self.inner(y), y

    z, y = Mine()(out)
    assert site_line(y.grad_fn._site) != line and y.grad_fn._site[0].co_name == "forward"
    # the built-in Linear inside the user's forward names the user's line in forward
    assert z.grad_fn._site[0].co_name == "forward"
    assert site_line(z.grad_fn._site) == site_line(y.grad_fn._site) + 1
    assert mg.autograd.grad_mode._state.site is None  # nothing left behind
    with pytest.raises(RuntimeError, match=f"test_misuse.py:{line}"):
        with mg.no_grad():
            x.add_(1.0)  # x was saved by the first linear node
        out.sum().backward()
