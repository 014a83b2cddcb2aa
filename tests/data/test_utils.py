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
