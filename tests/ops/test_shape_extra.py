"""Hand-written tests for the shape ops the op database cannot express: unused split pieces,
non-grad inputs, accumulation in reflect/edge padding, error messages, empty edge cases."""

from __future__ import annotations

import re

import numpy as np
import pytest

import microgradnet as mg


def _x(*shape: int) -> mg.Tensor:
    return mg.tensor(np.arange(float(np.prod(shape))).reshape(shape), dtype="float64",
                     requires_grad=True)


# -- split / chunk ------------------------------------------------------------------------------
def test_split_int_is_a_piece_size_and_the_last_piece_may_be_smaller() -> None:
    pieces = mg.split(mg.arange(7), 3)
    assert isinstance(pieces, tuple)
    assert [p.tolist() for p in pieces] == [[0, 1, 2], [3, 4, 5], [6]]


def test_split_sections_and_dim_keyword() -> None:
    x = _x(2, 5)
    a, b, c = x.split([1, 0, 4], dim=1)
    assert (a.shape, b.shape, c.shape) == ((2, 1), (2, 0), (2, 4))
    np.testing.assert_array_equal(c.data, x.data[:, 1:])


def test_split_unused_pieces_contribute_zero_gradient() -> None:
    x = _x(5, 2)
    pieces = x.split(2)
    (pieces[1] * 3.0).sum().backward()
    expected = np.zeros((5, 2))
    expected[2:4] = 3.0
    np.testing.assert_array_equal(x.grad.data, expected)


def test_split_several_pieces_used_accumulate_once() -> None:
    x = _x(4)
    a, b = x.split(2)
    (a * a).sum().backward(retain_graph=True)
    (b * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 2.0, 2.0, 2.0])


def test_split_then_cat_roundtrip_second_order() -> None:
    x = _x(3)
    a, b = mg.split(x, [1, 2])
    y = (mg.cat([b, a]) ** 3).sum()
    (g,) = mg.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.data, 3 * x.data ** 2)
    (h,) = mg.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 6 * x.data)


def test_split_of_an_empty_axis_gives_one_empty_piece() -> None:
    pieces = mg.split(mg.zeros((0, 3)), 2)
    assert [p.shape for p in pieces] == [(0, 3)]


def test_split_errors() -> None:
    x = mg.zeros((4, 3))
    with pytest.raises(ValueError, match=re.escape("split: split sizes [1, 2] must be "
                                                   "non-negative and sum to 4, the length of "
                                                   "axis 0 of shape (4, 3)")):
        x.split([1, 2])
    with pytest.raises(ValueError, match="split: split_size must be a positive integer, got 0"):
        x.split(0)
    with pytest.raises(ValueError, match=r"split: axis 2 is out of range for shape \(4, 3\)"):
        x.split(1, 2)
    with pytest.raises(TypeError, match="split: split_size_or_sections"):
        x.split([1.5, 2.5])
    with pytest.raises(TypeError, match="either axis= or dim="):
        mg.split(x, 1, axis=1, dim=0)


def test_split_pieces_are_views_sharing_the_version_counter() -> None:
    x = mg.tensor([1.0, 2.0, 3.0, 4.0])  # no grad itself, but saved by the mul below
    w = mg.tensor([1.0, 1.0, 1.0, 1.0], requires_grad=True)
    y = (x * w).sum()
    a, _ = x.split(2)
    a += 1.0  # changes x, which mul saved for its backward
    assert x.data[0] == 2.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


@pytest.mark.parametrize("n, chunks, sizes", [
    (5, 4, [2, 2, 1]),  # PyTorch: fewer chunks than asked when sizes do not allow them
    (6, 4, [2, 2, 2]),
    (6, 3, [2, 2, 2]),
    (2, 5, [1, 1]),
    (0, 3, [0, 0, 0]),  # an empty axis gives `chunks` empty pieces
])
def test_chunk_follows_pytorch(n: int, chunks: int, sizes: list[int]) -> None:
    pieces = mg.chunk(mg.zeros((2, n)), chunks, dim=1)
    assert [p.shape[1] for p in pieces] == sizes


def test_chunk_rejects_non_positive_counts() -> None:
    with pytest.raises(ValueError, match="chunk: chunks must be a positive integer, got 0"):
        mg.zeros(3).chunk(0)


# -- cat / stack ----------------------------------------------------------------------------
def test_cat_with_a_non_grad_tensor_and_an_array() -> None:
    x = _x(2, 2)
    c = mg.tensor(np.ones((1, 2)))
    y = mg.cat([x, c, np.full((2, 2), 5.0)])
    assert y.shape == (5, 2)
    np.testing.assert_array_equal(y.data[2:3], 1.0)
    np.testing.assert_array_equal(y.data[3:], 5.0)
    (y * mg.tensor(np.arange(10.0).reshape(5, 2))).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 1.0], [2.0, 3.0]])
    assert c.grad is None


def test_cat_accepts_dim_and_negative_axes() -> None:
    a, b = _x(2, 1), _x(2, 3)
    assert mg.cat([a, b], dim=1).shape == (2, 4)
    assert mg.concatenate((a, b), axis=-1).shape == (2, 4)


def test_cat_error_names_the_op_axis_and_both_shapes() -> None:
    with pytest.raises(ValueError, match=re.escape(
            "cat: tensors must have the same shape except in axis 0; got (2, 3) and (2, 4)")):
        mg.cat([mg.zeros((2, 3)), mg.zeros((2, 4))])
    with pytest.raises(ValueError, match=re.escape("got (2, 3) and (3,)")):
        mg.cat([mg.zeros((2, 3)), mg.zeros(3)], dim=1)
    with pytest.raises(ValueError, match="cat: zero-dimensional"):
        mg.cat([mg.tensor(1.0), mg.tensor(2.0)])
    with pytest.raises(ValueError, match="cat: expected a non-empty list"):
        mg.cat([])
    with pytest.raises(TypeError, match="cat: expected a list or tuple of tensors"):
        mg.cat(mg.zeros(3))
    with pytest.raises(ValueError, match=r"cat: axis 2 is out of range for shape \(2, 3\)"):
        mg.cat([mg.zeros((2, 3))], axis=2)


def test_cat_of_one_tensor_is_a_copy() -> None:
    x = mg.tensor([1.0, 2.0])
    y = mg.cat([x])
    y.data[0] = 9.0
    assert x.data[0] == 1.0


def test_stack_gradient_and_errors() -> None:
    a, b = _x(2), _x(2)
    y = mg.stack([a, b], dim=1)
    assert y.shape == (2, 2)
    (y * mg.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [1.0, 3.0])
    np.testing.assert_array_equal(b.grad.data, [2.0, 4.0])
    with pytest.raises(ValueError, match=re.escape(
            "stack: expected all tensors to have the same shape; got (2, 3) and (2, 4)")):
        mg.stack([mg.zeros((2, 3)), mg.zeros((2, 4))])
    with pytest.raises(ValueError, match="stack: axis 3 is out of range"):
        mg.stack([mg.zeros((2, 3))], axis=3)
    assert mg.stack([mg.tensor(1.0), mg.tensor(2.0)]).tolist() == [1.0, 2.0]


# -- flatten / flip ---------------------------------------------------------------------------
def test_flatten_function_form_starts_at_zero() -> None:
    x = mg.zeros((2, 3, 4))
    assert mg.flatten(x).shape == (24,)
    assert x.flatten(1).shape == (2, 12)
    assert x.flatten(0, 1).shape == (6, 4)
    assert mg.flatten(mg.tensor(3.0)).shape == (1,)
    assert mg.flatten(mg.zeros((2, 0, 3)), 1).shape == (2, 0)
    with pytest.raises(ValueError, match="flatten: start_dim 2 comes after end_dim 1"):
        x.flatten(2, 1)
    with pytest.raises(ValueError, match=r"flatten: dim 3 is out of range for shape \(2, 3, 4\)"):
        x.flatten(3)


def test_flip_all_axes_by_default_and_gradient() -> None:
    x = _x(2, 3)
    np.testing.assert_array_equal(mg.flip(x).data, x.data[::-1, ::-1])
    np.testing.assert_array_equal(x.flip(dim=1).data, x.data[:, ::-1])
    (x.flip(0) * mg.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match="flip: axis 2 is out of range"):
        x.flip(2)


# -- pad ----------------------------------------------------------------------------------------
def test_pad_reflect_gradient_adds_up_every_copy() -> None:
    x = mg.tensor([1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    y = mg.pad(x, (2, 1), mode="reflect")
    assert y.tolist() == [3.0, 2.0, 1.0, 2.0, 3.0, 2.0]
    w = np.array([1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0])
    (y * mg.tensor(w)).sum().backward()
    # x0 sits at position 2; x1 at 1, 3, 5; x2 at 0, 4
    np.testing.assert_array_equal(x.grad.data, [100.0, 101010.0, 10001.0])


def test_pad_edge_and_replicate_accumulate_into_the_border() -> None:
    for mode in ("edge", "replicate"):
        x = _x(2, 2)
        y = x.pad(((1, 0), (0, 2)), mode)
        np.testing.assert_array_equal(y.data, np.pad(x.data, ((1, 0), (0, 2)), "edge"))
        y.sum().backward()
        np.testing.assert_array_equal(x.grad.data, [[2.0, 6.0], [1.0, 3.0]])


def test_pad_constant_value_and_gradient() -> None:
    x = _x(2)
    y = mg.pad(x, 1, value=-1.5)
    assert y.tolist() == [-1.5, 0.0, 1.0, -1.5]
    (y * mg.tensor([5.0, 6.0, 7.0, 8.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [6.0, 7.0])


def test_pad_reflect_wider_than_the_axis_follows_numpy() -> None:
    x = _x(2)
    y = mg.pad(x, 3, "reflect")
    np.testing.assert_array_equal(y.data, np.pad(x.data, 3, "reflect"))
    y.sum().backward()
    assert x.grad.data.sum() == y.size


def test_pad_of_empty_tensors() -> None:
    assert mg.pad(mg.zeros((0, 2)), 1).shape == (2, 4)
    assert mg.pad(mg.zeros((0, 2)), ((0, 0), (1, 1)), "reflect").shape == (0, 4)
    with pytest.raises(ValueError, match=re.escape(
            "pad: cannot pad the empty axis 0 of shape (0, 2) with mode='reflect'")):
        mg.pad(mg.zeros((0, 2)), 1, "reflect")


def test_pad_errors() -> None:
    x = mg.zeros((2, 3))
    with pytest.raises(ValueError, match="pad: unknown mode 'mirror'"):
        mg.pad(x, 1, "mirror")
    with pytest.raises(ValueError, match="value= only applies to mode='constant'"):
        mg.pad(x, 1, "edge", value=2.0)
    with pytest.raises(ValueError, match="pad_width must be non-negative"):
        mg.pad(x, -1)
    with pytest.raises(ValueError, match=re.escape("does not fit shape (2, 3)")):
        mg.pad(x, ((1, 1), (1, 1), (1, 1)))
    with pytest.raises(TypeError, match="pad: pad_width must contain integers"):
        mg.pad(x, 1.5)


# -- repeat / tile / repeat_interleave -----------------------------------------------------------
def test_repeat_tiles_and_may_add_leading_axes() -> None:
    x = mg.tensor([[1, 2]])
    assert x.repeat(2, 2).tolist() == [[1, 2, 1, 2], [1, 2, 1, 2]]
    assert x.repeat((3, 1, 1)).shape == (3, 1, 2)
    assert x.repeat(0, 1).shape == (0, 2)
    with pytest.raises(ValueError, match=r"repeat: got 1 sizes \(2,\) for shape \(1, 2\)"):
        x.repeat(2)
    with pytest.raises(ValueError, match="repeat: repetitions must be non-negative"):
        x.repeat(-1, 1)


def test_repeat_returns_a_fresh_writable_copy() -> None:
    x = mg.tensor([1.0])
    y = x.repeat(3)
    y.data[0] = 5.0
    assert x.data[0] == 1.0 and y.data.flags.writeable


def test_tile_and_its_gradient_sums_the_tiles() -> None:
    x = _x(2)
    y = mg.tile(x, (2, 3))
    assert y.shape == (2, 6)
    (y * mg.tensor(np.arange(12.0).reshape(2, 6))).sum().backward()
    # x0 sits at columns 0, 2, 4 of both rows; x1 at 1, 3, 5
    np.testing.assert_array_equal(x.grad.data, [0 + 2 + 4 + 6 + 8 + 10, 1 + 3 + 5 + 7 + 9 + 11])
    assert x.tile(2).shape == (4,)


def test_repeat_interleave_int_and_per_element() -> None:
    x = _x(3)
    y = x.repeat_interleave(mg.tensor([2, 0, 1]))
    assert y.tolist() == [0.0, 0.0, 2.0]
    (y * mg.tensor([1.0, 2.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 0.0, 4.0])
    z = mg.repeat_interleave(mg.tensor([[1, 2], [3, 4]]), 2, dim=0)
    assert z.tolist() == [[1, 2], [1, 2], [3, 4], [3, 4]]
    assert mg.repeat_interleave(mg.tensor([[1, 2]]), 2).tolist() == [1, 1, 2, 2]


def test_repeat_interleave_errors() -> None:
    x = mg.zeros((2, 3))
    with pytest.raises(ValueError, match=re.escape(
            "repeat_interleave: repeats of shape (2,) do not match axis 1 of shape (2, 3)")):
        x.repeat_interleave([1, 2], axis=1)
    with pytest.raises(ValueError, match="repeats must be non-negative"):
        x.repeat_interleave(-1)
    with pytest.raises(TypeError, match="repeats must be integers"):
        x.repeat_interleave(1.5)


def test_docstring_examples_run() -> None:
    import doctest

    import microgradnet.ops.shape as module

    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, module.__name__, globs={**vars(module), "mg": mg, "np": np}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted >= 10 and result.failed == 0
