"""Argument checks shared by the constructors and ops: sizes are ints, as in NumPy/PyTorch.

``int(2.5)`` would silently make a size 2; these helpers refuse floats, bools and strings with a
``TypeError`` naming the callable and the value, so a typo fails where it was made.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

__all__ = ["as_size", "as_shape"]


def as_size(value: Any, what: str) -> int:
    """``value`` as an int (Python or NumPy integer), else a ``TypeError`` naming ``what``.

    >>> from microgradnet._checks import as_size
    >>> as_size(np.int64(3), "zeros")
    3
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what}: expected an int size, got the bool {value}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what}: expected an int size, got {type(value).__name__} "
                        f"{value!r:.40}") from None


def as_shape(shape: tuple[Any, ...], what: str, allow_minus_one: bool = False
             ) -> tuple[int, ...]:
    """``f(2, 3)`` or ``f((2, 3))`` as a tuple of non-negative ints (one -1 if allowed).

    >>> from microgradnet._checks import as_shape
    >>> as_shape(((2, 3),), "ones")
    (2, 3)
    """
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    sizes = tuple(as_size(s, what) for s in shape)
    low = -1 if allow_minus_one else 0
    if any(s < low for s in sizes):
        raise ValueError(f"{what}: sizes must be >= {low}, got shape {sizes}")
    return sizes
