"""Array helpers for preparing data: one-hot targets, standardized inputs, train/test splits."""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet.tensor import Tensor, get_default_dtype

__all__ = ["one_hot", "standardize", "train_test_split"]


def _array(a: Any) -> np.ndarray:
    return a.data if isinstance(a, Tensor) else np.asarray(a)


def one_hot(y: Any, num_classes: int | None = None, dtype: Any = None) -> np.ndarray:
    """Class labels (n,) as one-hot rows (n, num_classes), e.g. for training with SSE or MSE.

    ``num_classes`` defaults to ``max(y) + 1``; ``dtype`` to the default floating dtype.
    For a Tensor inside a graph use ``mg.functional.one_hot``.

    >>> mg.data.one_hot([0, 2, 1])
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    labels = _array(y)
    if labels.dtype.kind not in "iub":
        if labels.size and not np.all(labels == np.round(labels)):
            raise TypeError("one_hot: labels must be integers")
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"one_hot: labels must be >= 0, got {labels.min()}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    k = int(num_classes)
    if labels.size and labels.max() >= k:
        raise ValueError(f"one_hot: label {labels.max()} does not fit num_classes={k}")
    out = np.zeros(labels.shape + (k,), dtype=get_default_dtype() if dtype is None else dtype)
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


def standardize(
    X: Any, mean: Any = None, std: Any = None, eps: float = 1e-8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shift and scale each column to mean 0 and standard deviation 1.

    Without ``mean``/``std`` they are computed from ``X``; pass the training set's values to
    transform validation and test data the same way. Returns ``(X_standardized, mean, std)``.

    >>> Xs, mean, std = mg.data.standardize(np.array([[1.0], [3.0]]))
    >>> Xs.ravel(), mean, std
    (array([-1.,  1.]), array([2.]), array([1.]))
    """
    arr = _array(X)
    if mean is None:
        mean = arr.mean(axis=0)
    if std is None:
        std = arr.std(axis=0)
    mean, std = np.asarray(mean, dtype=arr.dtype), np.asarray(std, dtype=arr.dtype)
    return (arr - mean) / np.maximum(std, eps), mean, std


def train_test_split(
    X: Any,
    y: Any,
    test_size: float | int = 0.25,
    seed: int | None = None,
    shuffle: bool = True,
    stratify: Any = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``(X, y)`` into ``X_train, X_test, y_train, y_test`` (scikit-learn's order).

    ``test_size`` is a fraction in (0, 1) (rounded up) or a number of samples; the test part
    has exactly that size. ``stratify=True`` keeps each class's share of ``y`` (nearly) the
    same in both parts; ``stratify=labels`` does it for other class labels, as in
    scikit-learn. Stratifying needs class labels: continuous values are a ``ValueError``.

    >>> parts = mg.data.train_test_split(np.zeros((8, 2)), np.arange(8), test_size=0.25, seed=0)
    >>> [p.shape for p in parts]
    [(6, 2), (2, 2), (6,), (2,)]
    """
    X, y = _array(X), _array(y)
    n = len(X)
    if len(y) != n:
        raise ValueError(f"train_test_split: X has {n} samples but y has {len(y)}")
    if isinstance(test_size, (bool, np.bool_)) or not isinstance(
            test_size, (int, float, np.integer, np.floating)):
        raise TypeError(f"train_test_split: test_size must be a fraction or an int, got "
                        f"{type(test_size).__name__}")
    if isinstance(test_size, (float, np.floating)):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"train_test_split: a fractional test_size must be in (0, 1), "
                             f"got {test_size}")
        n_test = int(np.ceil(test_size * n))
    else:
        n_test = int(test_size)
    if not 0 < n_test < n:
        raise ValueError(f"train_test_split: test_size={test_size} leaves an empty part "
                         f"of {n} samples")
    rng = np.random.default_rng(seed)
    labels = _strata(y if stratify is True else stratify, n) if stratify is not False else None
    if labels is not None:
        test = _stratified_test(labels, n_test, rng if shuffle else None)
        train = np.setdiff1d(np.arange(n), test)
        if shuffle:
            train, test = rng.permutation(train), rng.permutation(test)
    else:
        order = rng.permutation(n) if shuffle else np.arange(n)
        test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def _strata(labels: Any, n: int) -> np.ndarray:
    """Class labels (n,) from labels or one-hot rows; continuous values are refused."""
    arr = _array(labels)
    if len(arr) != n:
        raise ValueError(f"train_test_split: stratify has {len(arr)} labels for {n} samples")
    if arr.ndim > 1 and arr.shape[1] > 1:
        return arr.reshape(n, -1).argmax(1)
    arr = arr.reshape(n)
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr).all()
        if not finite or not np.all(arr == np.round(arr)):
            raise ValueError("train_test_split: stratify needs class labels, but the values "
                             "are continuous (not whole numbers); bin them first, e.g. with "
                             "np.digitize, or split without stratify")
    elif arr.dtype.kind not in "iubUS":
        raise TypeError(f"train_test_split: stratify needs class labels, got dtype {arr.dtype}")
    return arr


def _stratified_test(labels: np.ndarray, n_test: int,
                     rng: np.random.Generator | None) -> np.ndarray:
    """Exactly ``n_test`` indices, each class's count its share of ``n_test`` (largest
    remainders get the leftover places, ties broken by ``rng`` or by class order)."""
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quota = counts * n_test / len(labels)
    take = np.floor(quota).astype(np.int64)
    left = n_test - int(take.sum())
    if left:
        tie = rng.random(len(classes)) if rng is not None else np.zeros(len(classes))
        order = np.lexsort((tie, -(quota - take)))  # largest remainder first
        take[order[:left]] += 1
    test = []
    for c in range(len(classes)):
        idx = np.flatnonzero(inverse.reshape(-1) == c)
        if rng is not None:
            idx = rng.permutation(idx)
        test.append(idx[: take[c]])
    return np.sort(np.concatenate(test))
