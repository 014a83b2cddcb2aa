"""Ways to make tensors: from data, filled, ranges, identity and random."""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet._checks import as_shape, as_size
from microgradnet.random import get_generator
from microgradnet.tensor import Tensor, _check_grad_dtype, as_dtype, get_default_dtype

__all__ = [
    "tensor", "from_numpy", "zeros", "ones", "empty", "full", "zeros_like", "ones_like",
    "full_like", "empty_like", "arange", "linspace", "eye", "rand", "randn", "randint",
    "randperm",
]


def _shape(shape: tuple[Any, ...], what: str = "shape") -> tuple[int, ...]:
    """``f(2, 3)`` or ``f((2, 3))``; float sizes are a TypeError (NumPy and PyTorch agree)."""
    return as_shape(shape, what)


def _new(arr: np.ndarray, requires_grad: bool, name: str | None = None) -> Tensor:
    if requires_grad:
        _check_grad_dtype(arr)
    t = Tensor._make(arr, bool(requires_grad), None)
    if name is not None:
        t.name = name
    return t


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False,
           name: str | None = None) -> Tensor:
    """A new tensor holding a copy of ``data`` (Python floats become the default dtype).

    >>> mg.tensor([1.0, 2.0], requires_grad=True)
    tensor([1., 2.], requires_grad=True)
    >>> mg.tensor([[1, 2], [3, 4]]).dtype
    dtype('int64')
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad, name=name)


def from_numpy(a: np.ndarray) -> Tensor:
    """A tensor sharing memory with the NumPy array ``a`` (its dtype is kept).

    >>> a = np.zeros(3)
    >>> t = mg.from_numpy(a)
    >>> a[0] = 5.0  # the tensor sees the change: no copy was made
    >>> t
    tensor([5., 0., 0.], dtype=float64)
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(a).__name__}")
    return Tensor._make(a, False, None)


def _dt(dtype: Any) -> np.dtype:
    d = as_dtype(dtype)
    return get_default_dtype() if d is None else d


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros (shape as separate ints or one tuple).

    >>> mg.zeros(2, 3)
    tensor([[0., 0., 0.],
            [0., 0., 0.]])
    """
    return _new(np.zeros(_shape(shape, "zeros"), _dt(dtype)), requires_grad)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones.

    >>> mg.ones(2)
    tensor([1., 1.])
    """
    return _new(np.ones(_shape(shape, "ones"), _dt(dtype)), requires_grad)


def empty(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor with uninitialised values (fast when every element is written next).

    >>> t = mg.empty(2, 3)
    >>> t.shape, t.dtype
    ((2, 3), dtype('float32'))
    """
    return _new(np.empty(_shape(shape, "empty"), _dt(dtype)), requires_grad)


def full(shape: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``.

    >>> mg.full((2, 2), 7.0)
    tensor([[7., 7.],
            [7., 7.]])
    """
    shp = _shape((shape,) if not isinstance(shape, (tuple, list)) else tuple(shape), "full")
    if dtype is None:
        dtype = (get_default_dtype() if isinstance(fill_value, float) else
                 np.asarray(fill_value).dtype)
    return _new(np.full(shp, fill_value, as_dtype(dtype)), requires_grad)


def _like(x: Any, dtype: Any) -> tuple[tuple[int, ...], np.dtype]:
    arr = x.data if isinstance(x, Tensor) else np.asarray(x)
    return arr.shape, (arr.dtype if dtype is None else _dt(dtype))


def zeros_like(x: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape and dtype of ``x`` (a tensor or array).

    >>> mg.zeros_like(mg.tensor([[1.0, 2.0]]))
    tensor([[0., 0.]])
    """
    shape, dt = _like(x, dtype)
    return _new(np.zeros(shape, dt), requires_grad)


def ones_like(x: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape and dtype of ``x`` (a tensor or array).

    >>> mg.ones_like(mg.tensor([[1.0, 2.0]]))
    tensor([[1., 1.]])
    """
    shape, dt = _like(x, dtype)
    return _new(np.ones(shape, dt), requires_grad)


def full_like(x: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere, with the shape and dtype of ``x`` (a tensor or array).

    >>> mg.full_like(mg.tensor([[1.0, 2.0]]), 0.5)
    tensor([[0.5, 0.5]])
    """
    shape, dt = _like(x, dtype)
    return _new(np.full(shape, fill_value, dt), requires_grad)


def empty_like(x: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uninitialised values with the shape and dtype of ``x`` (a tensor or array).

    >>> mg.empty_like(mg.tensor([[1.0, 2.0]])).shape
    (1, 2)
    """
    shape, dt = _like(x, dtype)
    return _new(np.empty(shape, dt), requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, end); integers give int64, floats the default dtype.

    >>> mg.arange(5)
    tensor([0, 1, 2, 3, 4])
    >>> mg.arange(0.0, 1.0, 0.25)
    tensor([0.  , 0.25, 0.5 , 0.75])
    """
    if end is None:
        start, end = 0, start
    for name, v in (("start", start), ("end", end), ("step", step)):
        if isinstance(v, (str, bytes, type(None))):
            raise TypeError(f"arange: {name} must be a number, got {type(v).__name__}")
    if step == 0:
        raise ValueError("arange: step must not be zero")
    arr = np.arange(start, end, step)
    if dtype is not None:
        arr = arr.astype(as_dtype(dtype))
    elif arr.dtype.kind == "f":
        arr = arr.astype(get_default_dtype())
    return _new(arr, requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive.

    >>> mg.linspace(0, 1, 5)
    tensor([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    n = as_size(steps, "linspace: steps")
    if n < 0:
        raise ValueError(f"linspace: steps must be >= 0, got {n}")
    return _new(np.linspace(start, end, n).astype(_dt(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """The identity matrix (ones on the diagonal); ``m`` columns if given.

    >>> mg.eye(2)
    tensor([[1., 0.],
            [0., 1.]])
    """
    rows = _shape((n,), "eye")[0]
    cols = None if m is None else _shape((m,), "eye")[0]
    return _new(np.eye(rows, cols, dtype=_dt(dtype)), requires_grad)


def rand(*shape: Any, dtype: Any = None, requires_grad: bool = False,
         generator: np.random.Generator | None = None) -> Tensor:
    """Uniform random values in [0, 1).

    >>> _ = mg.manual_seed(0)
    >>> mg.rand(2)
    tensor([0.637 , 0.2698])
    """
    g = get_generator(generator)
    return _new(g.random(_shape(shape, "rand")).astype(_dt(dtype)), requires_grad)


def randn(*shape: Any, dtype: Any = None, requires_grad: bool = False,
          generator: np.random.Generator | None = None) -> Tensor:
    """Standard normal random values (mean 0, standard deviation 1).

    >>> _ = mg.manual_seed(0)
    >>> x = mg.randn(2, 3)
    >>> x.shape, x.dtype
    ((2, 3), dtype('float32'))
    """
    g = get_generator(generator)
    return _new(g.standard_normal(_shape(shape, "randn")).astype(_dt(dtype)), requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), dtype: Any = None,
            generator: np.random.Generator | None = None) -> Tensor:
    """Random integers in [low, high) (``randint(high, size=...)`` starts at 0).

    >>> _ = mg.manual_seed(0)
    >>> mg.randint(10, size=(3,))
    tensor([8, 6, 5])
    """
    if high is None:
        low, high = 0, low
    g = get_generator(generator)
    shp = _shape((size,) if not isinstance(size, (tuple, list)) else tuple(size), "randint")
    d = np.int64 if dtype is None else as_dtype(dtype)
    return _new(g.integers(low, high, shp).astype(d), False)


def randperm(n: int, generator: np.random.Generator | None = None) -> Tensor:
    """A random permutation of 0..n-1 (int64), e.g. to shuffle indices.

    >>> _ = mg.manual_seed(0)
    >>> sorted(mg.randperm(4).tolist())
    [0, 1, 2, 3]
    """
    count = _shape((n,), "randperm")[0]
    return _new(get_generator(generator).permutation(count).astype(np.int64), False)
