"""Generated datasets: shapes, dtypes, balance, seeds and noise; optional real data."""

from __future__ import annotations

import numpy as np
import pytest

import microgradnet as mg
from microgradnet import data

GENERATORS = [data.make_moons, data.make_spirals, data.make_circles, data.make_sine]


def test_xor_is_the_truth_table() -> None:
    X, y = data.make_xor()
    assert X.shape == (4, 2) and y.shape == (4, 1)
    assert np.array_equal(y[:, 0], np.logical_xor(X[:, 0], X[:, 1]))


@pytest.mark.parametrize("make", GENERATORS)
def test_every_argument_has_a_default(make) -> None:
    X, y = make()
    assert X.ndim == 2 and len(X) == len(y) > 0
    assert X.dtype == mg.get_default_dtype()


@pytest.mark.parametrize("make", GENERATORS)
def test_same_seed_same_data_other_seed_other_data(make) -> None:
    X1, y1 = make(seed=3)
    X2, y2 = make(seed=3)
    X3, _ = make(seed=4)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("make", [data.make_moons, data.make_circles, data.make_sine])
def test_noise_zero_is_exact_and_noise_spreads(make) -> None:
    X0, y0 = make(noise=0.0, seed=0)
    X1, y1 = make(noise=0.3, seed=0)
    if make is data.make_sine:
        assert np.allclose(y0[:, 0], np.sin(X0[:, 0]), atol=1e-6)
        assert (y1[:, 0] - np.sin(X1[:, 0])).std() > 0.2
    elif make is data.make_circles:
        r0 = np.hypot(*X0.T)
        assert np.allclose(r0[y0 == 0], 1.0, atol=1e-6) and np.allclose(r0[y0 == 1], 0.5, atol=1e-6)
        assert np.hypot(*X1.T)[y1 == 0].std() > 0.1
    else:
        # noise-free outer moon lies on the unit circle
        assert np.allclose(np.hypot(*X0[y0 == 0].T), 1.0, atol=1e-6)
        assert np.hypot(*X1[y1 == 0].T).std() > 0.1


@pytest.mark.parametrize("n", [7, 200])
def test_moons_and_circles_are_balanced(n: int) -> None:
    for make in (data.make_moons, data.make_circles):
        _, y = make(n_samples=n, seed=0)
        counts = np.bincount(y, minlength=2)
        assert counts.sum() == n and abs(counts[0] - counts[1]) <= 1
        assert y.dtype == np.int64


def test_spirals_classes_and_balance() -> None:
    X, y = data.make_spirals(n_samples=301, n_classes=5, seed=1)
    assert X.shape == (301, 2)
    counts = np.bincount(y)
    assert len(counts) == 5 and counts.max() - counts.min() <= 1
    assert np.all(np.hypot(*X.T) <= 1.0 + 1e-6)


def test_generators_shuffle_the_classes() -> None:
    _, y = data.make_moons(100, seed=0)
    assert not np.array_equal(y, np.sort(y))


def test_encoder_and_parity() -> None:
    X, y = data.make_encoder(8)
    assert np.array_equal(X, np.eye(8)) and np.array_equal(y, np.eye(8))
    X, y = data.make_parity(4)
    assert X.shape == (16, 4) and len(np.unique(X, axis=0)) == 16
    assert np.array_equal(y[:, 0], X.sum(1) % 2)
    X2, y2 = data.make_parity(2)
    Xx, yx = data.make_xor()
    assert np.array_equal(X2, Xx) and np.array_equal(y2, yx)


def test_default_dtype_is_followed() -> None:
    mg.set_default_dtype(mg.float64)
    try:
        assert data.make_moons()[0].dtype == np.float64
    finally:
        mg.set_default_dtype(mg.float32)
    assert data.make_moons()[0].dtype == np.float32


@pytest.mark.parametrize(
    "call",
    [lambda: data.make_moons(n_samples=1), lambda: data.make_moons(noise=-1),
     lambda: data.make_spirals(n_classes=0), lambda: data.make_circles(factor=1.5),
     lambda: data.make_sine(x_range=(1, 0)), lambda: data.make_encoder(1)],
)
def test_bad_arguments_raise_value_error(call) -> None:
    with pytest.raises(ValueError):
        call()


def test_real_datasets_without_sklearn_name_the_extra(monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("no sklearn here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    for load in (data.load_digits, data.load_iris):
        with pytest.raises(ImportError, match=r"microgradnet\[datasets\]"):
            load()


def test_load_digits_and_iris() -> None:
    pytest.importorskip("sklearn")
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,) and set(np.unique(y)) == set(range(10))
    assert 0.0 <= X.min() and X.max() <= 1.0
    assert data.load_digits(scale=False)[0].max() == 16
    X, y = data.load_iris()
    assert X.shape == (150, 4) and np.array_equal(np.bincount(y), [50, 50, 50])
