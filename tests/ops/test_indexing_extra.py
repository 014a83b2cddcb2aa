"""Hand-written indexing tests: every form of ``x[index]`` against NumPy (values and scatter-added
gradients), repeated indices, ``gather``/``take_along_axis``/``scatter_add`` semantics and
error messages."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import microgradnet as mg

A = np.arange(60.0).reshape(3, 4, 5)
MASK = A % 3 == 0

INDICES: dict[str, Any] = {
    "int": 1,
    "negative int": -1,
    "slices": np.s_[1:, ::-2],
    "newaxis": np.s_[None, 1],
    "ellipsis": np.s_[..., 2],
    "ellipsis newaxis slice": np.s_[..., None, 1:3],
    "int array with repeats": np.array([0, 0, 2, 0]),
    "2-d int array": np.array([[0, 1], [1, 1]]),
    "list": [2, 2, -1],
    "arrays on two axes": np.s_[[0, 0, 1], :, [1, 2, 1]],
    "slice then array": np.s_[1:, [0, 0, 3]],
    "ellipsis then array": np.s_[..., [0, 4, 4]],
    "newaxis and arrays": np.s_[None, [0, 0], ..., [1, 1]],
    "full mask": MASK,
    "2-d mask": MASK[:, :, 0],
    "mask then slice": np.s_[np.array([True, False, True]), 1:3],
    "mask in the middle": np.s_[:, np.array([True, False, True, True])],
    "0-d True mask": np.array(True),
    "0-d False mask": np.array(False),
    "empty int array": np.array([], dtype=np.int64),
    "int tensor": mg.tensor([2, 0, 2]),
    "bool tensor": mg.tensor(np.array([True, False, True])),
    "0-d int tensor": mg.tensor(1),
    "tensors in a tuple": (mg.tensor([0, 0]), slice(None), mg.tensor([4, 4])),
}


def _as_numpy_index(index: Any) -> Any:
    if isinstance(index, tuple):
        return tuple(_as_numpy_index(i) for i in index)
    return index.data if isinstance(index, mg.Tensor) else index


@pytest.mark.parametrize("index", INDICES.values(), ids=INDICES.keys())
def test_getitem_matches_numpy_and_scatter_adds_the_gradient(index: Any) -> None:
    x = mg.tensor(A, requires_grad=True)
    ref = A[_as_numpy_index(index)]
    y = x[index]
    np.testing.assert_array_equal(y.data, ref)
    g = np.random.default_rng(0).normal(size=ref.shape)
    y.backward(mg.tensor(g))
    expected = np.zeros_like(A)
    np.add.at(expected, _as_numpy_index(index), g)  # repeats accumulate
    np.testing.assert_allclose(x.grad.data, expected)


def test_repeated_indices_accumulate_their_gradients() -> None:
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 0, 2]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 0.0, 1.0])


def test_repeated_indices_second_order() -> None:
    x = mg.tensor([1.0, 3.0], dtype="float64", requires_grad=True)
    y = (x[[0, 0, 1]] ** 3).sum()  # = 2 x0^3 + x1^3
    (g,) = mg.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.data, [6.0, 27.0])  # 6 x0^2, 3 x1^2
    (h,) = mg.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, [12.0, 18.0])  # 12 x0, 6 x1


def test_basic_slices_are_views_that_share_the_version_counter() -> None:
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1.0
    z = (y * y).sum()  # mul saves y
    v = y[1:]
    with mg.no_grad():
        v.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


def test_getitem_errors_name_the_op_and_shape() -> None:
    x = mg.zeros((2, 3))
    with pytest.raises(IndexError, match=r"getitem: index 5 is invalid for shape \(2, 3\)"):
        x[5]
    with pytest.raises(IndexError, match="indices must be integers or booleans"):
        x[np.array([0.5])]
    with pytest.raises(IndexError, match="getitem"):
        x[np.array([True, False, True])]


# -- gather ---------------------------------------------------------------------------------------
def test_gather_picks_along_dim_and_scatter_adds_back() -> None:
    x = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    idx = mg.tensor([[2, 2], [0, 1]])
    y = x.gather(1, idx)
    assert y.tolist() == [[3.0, 3.0], [4.0, 5.0]]
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 0.0, 2.0], [1.0, 1.0, 0.0]])


def test_gather_index_may_be_smaller_than_the_input() -> None:
    x = mg.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    y = mg.gather(x, 0, np.array([[2, 0]]))  # uses columns 0 and 1 only
    assert y.tolist() == [[8.0, 1.0]]
    y.sum().backward()
    expected = np.zeros((3, 4))
    expected[2, 0] = expected[0, 1] = 1.0
    np.testing.assert_array_equal(x.grad.data, expected)


def test_gather_of_a_0d_tensor_and_of_an_empty_index() -> None:
    assert mg.gather(mg.tensor(5.0), 0, mg.tensor(0)).tolist() == 5.0
    assert mg.gather(mg.zeros((2, 3)), 1, np.zeros((2, 0), np.int64)).shape == (2, 0)


def test_gather_errors() -> None:
    x = mg.zeros((2, 3))
    with pytest.raises(TypeError, match="gather: index must be an integer tensor"):
        x.gather(1, mg.tensor([[0.0]]))
    with pytest.raises(ValueError, match=re.escape(
            "gather: index of shape (2,) does not fit input of shape (2, 3) along dim 1")):
        x.gather(1, np.array([0, 1]))
    with pytest.raises(ValueError, match=re.escape("index of shape (3, 1) does not fit")):
        x.gather(1, np.zeros((3, 1), np.int64))
    with pytest.raises(IndexError, match=re.escape(
            "gather: index 3 is out of range for dim 1 of size 3 (shape (2, 3))")):
        x.gather(1, np.array([[3]]))
    with pytest.raises(ValueError, match=r"gather: dim 2 is out of range for shape \(2, 3\)"):
        x.gather(2, np.array([[0]]))


# -- take_along_axis ---------------------------------------------------------------------------
def test_take_along_axis_with_argsort_and_broadcasting() -> None:
    x = mg.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], requires_grad=True)
    order = np.argsort(x.data, axis=1)
    y = mg.take_along_axis(x, order, axis=1)
    np.testing.assert_array_equal(y.data, np.sort(x.data, axis=1))
    # indices of size 1 outside the axis broadcast against the input
    z = mg.take_along_axis(x, mg.tensor([[1, 0, 1]]), axis=0)
    np.testing.assert_array_equal(z.data, np.take_along_axis(x.data, np.array([[1, 0, 1]]), 0))
    # an input of size 1 outside the axis broadcasts against the indices
    w = mg.take_along_axis(x[:1], np.array([[1], [2]]), axis=1)
    assert w.tolist() == [[1.0], [2.0]]
    w.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])


def test_take_along_axis_none_flattens() -> None:
    x = mg.tensor([[1, 2], [3, 4]])
    assert mg.take_along_axis(x, np.array([3, 0, 3]), None).tolist() == [4, 1, 4]


def test_take_along_axis_errors() -> None:
    x = mg.zeros((2, 3))
    with pytest.raises(ValueError, match="take_along_axis: indices of shape \\(2,\\) and input"):
        mg.take_along_axis(x, np.array([0, 1]), 1)
    with pytest.raises(ValueError, match="do not broadcast against input of shape"):
        mg.take_along_axis(x, np.zeros((3, 1), np.int64), 1)
    with pytest.raises(ValueError, match="with axis=None indices must be 1-d"):
        mg.take_along_axis(x, np.zeros((1, 1), np.int64), None)
    with pytest.raises(ValueError, match="take_along_axis: axis 2 is out of range"):
        mg.take_along_axis(x, np.zeros((1, 1), np.int64), 2)


# -- scatter_add --------------------------------------------------------------------------------
def test_scatter_add_accumulates_repeated_indices_and_is_differentiable_in_both() -> None:
    x = mg.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]], requires_grad=True)
    src = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    idx = mg.tensor([[0, 0, 2], [1, 1, 1]])
    y = mg.scatter_add(x, 1, idx, src)
    assert y.tolist() == [[3.0, 0.0, 3.0], [1.0, 16.0, 1.0]]
    w = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    (y * w).sum().backward()
    np.testing.assert_array_equal(x.grad.data, w.data)
    # d/dsrc reads the weight back where each src entry went
    np.testing.assert_array_equal(src.grad.data, [[1.0, 1.0, 3.0], [5.0, 5.0, 5.0]])


def test_scatter_add_leaves_its_input_unchanged_and_grads_only_src() -> None:
    x = mg.zeros(3)
    src = mg.tensor([1.0, 1.0, 1.0, 7.0], requires_grad=True)  # larger than index: [3] unused
    y = mg.scatter_add(x, 0, np.array([2, 2, 0]), src)
    assert y.tolist() == [1.0, 0.0, 2.0]
    assert x.tolist() == [0.0, 0.0, 0.0]
    (y * mg.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(src.grad.data, [3.0, 3.0, 1.0, 0.0])
    assert x.grad is None


def test_scatter_add_errors() -> None:
    x = mg.zeros((2, 3))
    with pytest.raises(ValueError, match=re.escape(
            "scatter_add: index of shape (2, 2) does not fit input of shape (2, 3) and src of "
            "shape (2, 1) along dim 1")):
        mg.scatter_add(x, 1, np.zeros((2, 2), np.int64), mg.zeros((2, 1)))
    with pytest.raises(IndexError, match="scatter_add: index -4 is out of range for dim 1"):
        mg.scatter_add(x, 1, np.full((1, 1), -4), mg.zeros((1, 1)))
    with pytest.raises(TypeError, match="scatter_add: index must be an integer"):
        mg.scatter_add(x, 1, np.zeros((1, 1)), mg.zeros((1, 1)))


def test_docstring_examples_run() -> None:
    import doctest

    import microgradnet.ops.indexing as module

    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, module.__name__, globs={**vars(module), "mg": mg, "np": np}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted >= 4 and result.failed == 0


def test_scatter_add_and_take_along_axis_are_also_methods() -> None:
    x = mg.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    idx = np.array([[1], [0]])
    np.testing.assert_array_equal(x.take_along_axis(idx, 1).numpy(),
                                  mg.take_along_axis(x, idx, 1).numpy())
    base = mg.zeros((2, 2), dtype=mg.float64)
    out = base.scatter_add(1, np.array([[0, 0], [1, 1]]), x)
    np.testing.assert_array_equal(out.numpy(), [[3.0, 0.0], [0.0, 7.0]])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 2)))
