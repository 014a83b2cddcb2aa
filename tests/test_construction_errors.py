"""Bad input to constructors and ops fails where it is given, with the error type of API.md:
wrong types are TypeError, wrong sizes/axes ValueError (issue 12)."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import microgradnet as mg
from microgradnet.data import DataLoader


@pytest.mark.parametrize("data", [
    "abc", b"abc", None, np.array([object(), 1], dtype=object), np.array(["a", "b"]),
    np.array(["2020-01-01"], dtype="datetime64[D]"), np.array([1], dtype="timedelta64[s]"),
    [1, "a"], np.zeros(2, dtype=[("a", "f8")]),
])
def test_non_numeric_data_is_a_type_error_at_construction(data) -> None:
    with pytest.raises(TypeError, match="cannot build a tensor from"):
        mg.tensor(data)


def test_non_numeric_operands_are_type_errors() -> None:
    x = mg.ones(2, 3)
    with pytest.raises(TypeError):
        x @ "abc"  # was: ValueError about dimensions
    with pytest.raises(TypeError):
        "abc" @ x
    with pytest.raises(TypeError):
        mg.matmul(x, np.array(["a", "b", "c"]))


def test_a_forward_returning_none_is_a_type_error() -> None:
    class Nothing(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return None

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError, match=r"Nothing\.forward returned NoneType"):
        Nothing.apply(mg.ones(2, requires_grad=True))

    class Pair(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x.data, "oops"

        @staticmethod
        def backward(ctx, g1, g2):
            return g1

    with pytest.raises(TypeError, match=r"Pair\.forward returned str"):
        Pair.apply(mg.ones(2, requires_grad=True))


def test_a_string_dataloader_input_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="TensorDataset: expected"):
        DataLoader(("abc", [1]))
    with pytest.raises(TypeError, match="TensorDataset: expected"):
        DataLoader((np.array(["a", "b"]), [0, 1]))


@pytest.mark.parametrize("make", [
    lambda: mg.zeros(2.5), lambda: mg.ones(2.0), lambda: mg.empty(1, 2.5),
    lambda: mg.rand((2, 1.5)), lambda: mg.randn(2.5), lambda: mg.full(2.5, 1.0),
    lambda: mg.eye(2.5), lambda: mg.eye(2, 1.5), lambda: mg.linspace(0, 1, 2.5),
    lambda: mg.randint(3, size=2.5), lambda: mg.randperm(2.5), lambda: mg.zeros("3"),
    lambda: mg.zeros(True), lambda: mg.ones(6).reshape(3.7, 2),
    lambda: mg.ones(6).reshape((3.0, 2)), lambda: mg.ones(6).view(2, "3"),
    lambda: mg.nn.MLP([2.5, 3, 1]), lambda: mg.nn.MLP("231"), lambda: mg.nn.Linear("a", 3),
    lambda: mg.nn.Linear(2, 3.0), lambda: mg.ones(2).repeat(1.5),
])
def test_float_sizes_are_type_errors(make) -> None:
    with pytest.raises(TypeError, match="int|list of ints"):
        make()


def test_int_like_sizes_still_work() -> None:
    assert mg.zeros(np.int64(2), 3).shape == (2, 3)
    assert mg.ones((2, np.int32(1))).shape == (2, 1)
    assert mg.nn.MLP([np.int64(2), 3, 1]).sizes == [2, 3, 1]
    assert mg.ones(6).reshape(np.int64(3), -1).shape == (3, 2)
    assert mg.eye(np.int64(2)).shape == (2, 2)


def test_negative_sizes_are_value_errors() -> None:
    with pytest.raises(ValueError, match="sizes must be >= 0"):
        mg.zeros(-1)
    with pytest.raises(ValueError):
        mg.linspace(0, 1, -2)


def test_arange_with_a_zero_step_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="arange: step must not be zero"):
        mg.arange(0, 10, 0)  # was: ZeroDivisionError
    with pytest.raises(TypeError, match="arange: end must be a number"):
        mg.arange(0, "10")
    assert mg.arange(0, 1, 0.5).tolist() == [0.0, 0.5]


def test_squeeze_validates_its_axis_like_pytorch() -> None:
    x = mg.ones(2, 3)
    with pytest.raises(ValueError, match=r"squeeze: axis 2 is out of range for shape \(2, 3\)"):
        x.squeeze(2)  # was: wrapped around to axis 0
    with pytest.raises(ValueError, match="axis 5 is out of range"):
        x.squeeze(5)  # was: silently nothing
    with pytest.raises(TypeError):
        x.squeeze(1.0)
    assert x.squeeze(0).shape == (2, 3)  # an axis of size != 1 is left alone (PyTorch)
    assert mg.ones(1, 3, 1).squeeze(-1).shape == (1, 3)
    assert mg.ones(1, 3, 1).squeeze((0, 2)).shape == (3,)
    assert mg.tensor(1.0).squeeze(0).shape == ()  # a 0-d tensor's axis 0 (PyTorch)


def test_indexing_with_an_empty_list_gives_an_empty_tensor() -> None:
    x = mg.ones(2, 3, requires_grad=True)
    y = x[[]]  # was: IndexError about float64 indices
    assert y.shape == (0, 3)
    (y.sum() + x.sum()).backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 3)))
    assert mg.arange(4)[[]].shape == (0,)


def test_tile_and_sum_say_what_they_expected() -> None:
    x = mg.ones(2, 3)
    with pytest.raises(TypeError, match="tile: reps must be an int or a tuple of ints, got float"):
        x.tile(1.5)
    with pytest.raises(TypeError, match="sum: axis must be None, an int or a tuple of ints"):
        x.sum(1.5)
    with pytest.raises(TypeError, match="mean: axis must be"):
        x.mean("0")
    with pytest.raises(TypeError, match="axis must be"):
        x.sum((0, 1.0))
    assert x.tile(2).shape == (2, 6) and x.sum((0, 1)).item() == 6.0


def test_the_call_site_cache_is_bounded(monkeypatch) -> None:
    from microgradnet.autograd import function

    monkeypatch.setattr(function, "_CODE_CACHE_MAX", 50, raising=False)
    function._internal_code.clear()
    x = mg.ones(2, requires_grad=True)
    codes = []
    for i in range(200):  # 200 re-run "notebook cells", each a new code object
        namespace: dict = {}
        exec(compile(f"def cell(x):\n    return x * x + {i}\n", f"<cell {i}>", "exec"),
             namespace)
        namespace["cell"](x)
        codes.append(weakref.ref(namespace["cell"].__code__))
        del namespace
    assert len(function._internal_code) <= 50  # was: one entry per cell, kept forever
    gc.collect()
    assert sum(r() is None for r in codes) >= 150
