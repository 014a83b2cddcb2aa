"""one_hot, standardize and train_test_split."""

from __future__ import annotations

import numpy as np
import pytest

import microgradnet as mg
from microgradnet import data


def test_one_hot() -> None:
    out = data.one_hot(np.array([2, 0, 1, 2]))
    assert out.dtype == mg.get_default_dtype()
    assert np.array_equal(out, np.eye(3)[[2, 0, 1, 2]])
    assert data.one_hot([1], num_classes=4).shape == (1, 4)
    assert np.array_equal(data.one_hot(mg.tensor([1, 0])), [[0, 1], [1, 0]])


@pytest.mark.parametrize("bad, err", [([0.5], TypeError), ([-1], ValueError)])
def test_one_hot_rejects_bad_labels(bad, err) -> None:
    with pytest.raises(err):
        data.one_hot(np.array(bad))
    with pytest.raises(ValueError, match="num_classes"):
        data.one_hot([3], num_classes=2)


def test_standardize_uses_training_statistics() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal([5.0, -2.0], [3.0, 0.5], size=(500, 2))
    Xs, mean, std = data.standardize(X)
    assert np.allclose(Xs.mean(0), 0, atol=1e-9) and np.allclose(Xs.std(0), 1)
    Xt, _, _ = data.standardize(X[:10] + 3.0, mean, std)
    assert np.allclose(Xt, (X[:10] + 3.0 - mean) / std)
    const, _, _ = data.standardize(np.ones((4, 1)))
    assert np.all(np.isfinite(const))


def test_train_test_split_partitions_reproducibly() -> None:
    X = np.arange(40).reshape(20, 2)
    y = np.arange(20)
    Xtr, Xte, ytr, yte = data.train_test_split(X, y, test_size=0.25, seed=1)
    assert len(Xte) == 5 and len(Xtr) == 15
    assert sorted(np.concatenate([ytr, yte])) == list(range(20))
    assert np.array_equal(Xtr[:, 0] // 2, ytr)  # rows stay aligned
    again = data.train_test_split(X, y, test_size=0.25, seed=1)
    assert np.array_equal(again[3], yte)
    other = data.train_test_split(X, y, test_size=0.25, seed=2)
    assert not np.array_equal(other[3], yte)
    assert np.array_equal(data.train_test_split(X, y, test_size=3, shuffle=False)[3], [0, 1, 2])


def test_train_test_split_stratify_keeps_proportions() -> None:
    y = np.array([0] * 80 + [1] * 20)
    X = np.zeros((100, 1))
    _, _, ytr, yte = data.train_test_split(X, y, test_size=0.2, seed=0, stratify=True)
    assert np.array_equal(np.bincount(yte), [16, 4])
    assert np.array_equal(np.bincount(ytr), [64, 16])


@pytest.mark.parametrize("size", [0.0, 1.0, 0, 10])
def test_train_test_split_rejects_empty_parts(size) -> None:
    with pytest.raises(ValueError):
        data.train_test_split(np.zeros((10, 1)), np.zeros(10), test_size=size)
    with pytest.raises(ValueError, match="samples"):
        data.train_test_split(np.zeros((10, 1)), np.zeros(9))


# --- issue 12: stratified splits have exactly the requested size ---

def test_stratified_split_has_exactly_the_requested_test_size() -> None:
    X = np.arange(10)[:, None]
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])  # 3/3/4: rounding each class gave 3
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.2, seed=0,
                                                             stratify=True)
    assert len(X_test) == len(y_test) == 2 and len(X_train) == 8
    assert sorted(np.concatenate([X_train, X_test]).ravel()) == list(range(10))
    # an explicit label array, as in scikit-learn; one-hot rows too
    parts = data.train_test_split(X, np.zeros(10), test_size=3, seed=1, stratify=y)
    assert len(parts[1]) == 3
    parts = data.train_test_split(X, data.one_hot(y), test_size=5, seed=1, stratify=True)
    assert len(parts[1]) == 5 and parts[3].sum(0).max() <= 2


@pytest.mark.parametrize("seed", range(5))
def test_stratified_split_size_for_any_labels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    y = rng.integers(0, int(rng.integers(1, 8)), size=n)
    for test_size in (1, n - 1, 0.1, 0.33, 0.5):
        expect = test_size if isinstance(test_size, int) else int(np.ceil(test_size * n))
        if not 0 < expect < n:
            continue
        _, X_test, _, y_test = data.train_test_split(np.zeros((n, 1)), y, test_size, seed=seed,
                                                     stratify=True, shuffle=bool(seed % 2))
        assert len(X_test) == len(y_test) == expect
        for c in np.unique(y):  # each class within one of its exact share
            assert abs((y_test == c).sum() - (y == c).sum() * expect / n) < 1


def test_stratify_refuses_continuous_labels() -> None:
    X = np.zeros((20, 1))
    y = np.linspace(0.0, 1.0, 20)  # was: an empty test part
    with pytest.raises(ValueError, match="continuous"):
        data.train_test_split(X, y, stratify=True)
    with pytest.raises(ValueError, match="continuous"):
        data.train_test_split(X, np.arange(20), stratify=y)
    parts = data.train_test_split(X, np.arange(20.0) % 3, stratify=True, seed=0)  # whole floats
    assert len(parts[1]) == 5
