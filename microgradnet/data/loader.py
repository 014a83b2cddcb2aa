"""Batches for the training loop: ``TensorDataset`` holds aligned arrays, ``DataLoader`` cuts
them into (optionally shuffled) mini-batches of Tensors.

``batch_size=1`` is the classic online mode (present one pattern, update the weights);
``batch_size=None`` presents the whole training set at once (full-batch gradient descent).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from microgradnet.tensor import Tensor, get_default_dtype

__all__ = ["TensorDataset", "DataLoader"]


def _as_array(a: Any) -> np.ndarray:
    """The NumPy array behind ``a``; floating NumPy data gets the default dtype of parameters."""
    if isinstance(a, Tensor):
        return a.data
    if isinstance(a, (str, bytes)):
        raise TypeError(f"TensorDataset: expected an array of numbers, got the "
                        f"{type(a).__name__} {a!r:.40}")
    arr = np.asarray(a)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"TensorDataset: expected arrays of numbers or bools, got an array of "
                        f"dtype {arr.dtype} (shape {arr.shape})")
    if arr.dtype.kind == "f" and arr.dtype != get_default_dtype():
        arr = arr.astype(get_default_dtype())
    return arr


class TensorDataset:
    """Aligned arrays (inputs, targets, ...) indexed together along their first axis.

    NumPy floating arrays are cast to the default dtype (float32), the dtype of a model's
    parameters; Tensors and integer labels are kept as they are.

    >>> ds = mg.data.TensorDataset(np.zeros((5, 2)), np.arange(5))
    >>> len(ds), ds[1]
    (5, (tensor([0., 0.]), tensor(1)))
    """

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ValueError("TensorDataset: needs at least one array")
        self.arrays = tuple(_as_array(a) for a in arrays)
        lengths = [a.shape[0] if a.ndim else None for a in self.arrays]
        if None in lengths or len(set(lengths)) != 1:
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise ValueError(f"TensorDataset: arrays must share their first dimension, "
                             f"got shapes {shapes}")

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        """The arrays as Tensors (sharing memory)."""
        return tuple(Tensor._make(a, False, None) for a in self.arrays)

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(Tensor._make(np.asarray(a[index]), False, None) for a in self.arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(str(a.shape) for a in self.arrays)
        return f"TensorDataset({len(self)} samples: {shapes})"


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``, yielding ``(xb, yb)`` Tensors.

    Args:
        dataset: a ``TensorDataset`` or an ``(X, y)`` pair of arrays or tensors.
        batch_size: patterns per batch; 1 is online learning, ``None`` the full batch.
        shuffle: draw a new order every epoch from a NumPy Generator seeded with ``seed``,
            so two loaders with the same seed give the same sequence of epochs.
        drop_last: skip a final batch smaller than ``batch_size``.

    >>> loader = mg.data.DataLoader((np.zeros((5, 2)), np.arange(5)), batch_size=2)
    >>> [xb.shape for xb, yb in loader]
    [(2, 2), (2, 2), (1, 2)]
    """

    def __init__(
        self,
        dataset: TensorDataset | Sequence[Any],
        batch_size: int | None = 32,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        if not isinstance(dataset, TensorDataset):
            if not isinstance(dataset, (tuple, list)) or len(dataset) != 2:
                raise TypeError("DataLoader: dataset must be a TensorDataset or an (X, y) pair, "
                                f"got {type(dataset).__name__}")
            dataset = TensorDataset(*dataset)
        n = len(dataset)
        if batch_size is None:
            batch_size = max(n, 1)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"DataLoader: batch_size must be an int or None, "
                            f"got {type(batch_size).__name__}")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be at least 1, got {batch_size}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = seed if isinstance(seed, np.random.Generator) else (
            np.random.default_rng(seed))

    def __len__(self) -> int:
        """Number of batches per epoch."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        arrays = self.dataset.arrays
        n = len(self.dataset)
        order = self.generator.permutation(n) if self.shuffle else None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            stop = min(start + self.batch_size, n)
            if order is None:
                # a contiguous slice: copy so that in-place edits never reach the dataset
                batch = tuple(np.array(a[start:stop]) for a in arrays)
            else:
                idx = order[start:stop]
                batch = tuple(a[idx] for a in arrays)
            yield tuple(Tensor._make(b, False, None) for b in batch)

    def __repr__(self) -> str:
        return (f"DataLoader({len(self.dataset)} samples, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, {len(self)} batches)")
