"""TensorDataset and DataLoader: batching, shuffling with a seed, drop_last, modes."""

from __future__ import annotations

import numpy as np
import pytest

import microgradnet as mg
from microgradnet.data import DataLoader, TensorDataset


def _data(n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    X = np.arange(2 * n, dtype=np.float64).reshape(n, 2)
    return X, np.arange(n)


def _labels(loader: DataLoader) -> list[list[int]]:
    return [yb.numpy().tolist() for _, yb in loader]


def test_batches_cover_the_data_in_order() -> None:
    loader = DataLoader(_data(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [xb.shape for xb, _ in batches] == [(4, 2), (4, 2), (2, 2)]
    assert all(isinstance(t, mg.Tensor) for b in batches for t in b)
    assert _labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    xb, yb = batches[1]
    assert np.array_equal(xb.numpy()[:, 0] // 2, yb.numpy())


def test_float64_arrays_take_the_default_dtype_labels_stay_int() -> None:
    xb, yb = next(iter(DataLoader(_data(4))))
    assert xb.dtype == mg.get_default_dtype() and yb.dtype == np.int64
    assert not xb.requires_grad


def test_drop_last() -> None:
    loader = DataLoader(_data(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert _labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(_data(8), batch_size=4, drop_last=True)) == 2


def test_online_and_full_batch_modes() -> None:
    assert _labels(DataLoader(_data(3), batch_size=1)) == [[0], [1], [2]]
    assert _labels(DataLoader(_data(5), batch_size=None)) == [[0, 1, 2, 3, 4]]
    assert len(DataLoader(_data(5), batch_size=5)) == 1


def test_shuffle_is_seeded_reshuffled_each_epoch_and_complete() -> None:
    a = DataLoader(_data(20), batch_size=5, shuffle=True, seed=7)
    b = DataLoader(_data(20), batch_size=5, shuffle=True, seed=7)
    epochs_a = [_labels(a) for _ in range(3)]
    epochs_b = [_labels(b) for _ in range(3)]
    assert epochs_a == epochs_b  # same seed, same sequence of epochs
    assert epochs_a[0] != epochs_a[1]  # a new order every epoch
    assert epochs_a[0] != [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13, 14],
                           [15, 16, 17, 18, 19]]
    for epoch in epochs_a:
        assert sorted(sum(epoch, [])) == list(range(20))
    c = DataLoader(_data(20), batch_size=5, shuffle=True, seed=8)
    assert _labels(c) != epochs_a[0]


def test_shuffled_rows_stay_aligned() -> None:
    for xb, yb in DataLoader(_data(12), batch_size=5, shuffle=True, seed=0):
        assert np.array_equal(xb.numpy()[:, 0] // 2, yb.numpy())


def test_batches_do_not_alias_the_dataset() -> None:
    X, y = _data(4)
    loader = DataLoader((X, y), batch_size=2)
    xb, _ = next(iter(loader))
    xb.data[...] = -1
    assert next(iter(loader))[0].numpy().min() == 0


def test_accepts_tensors_and_tensor_dataset() -> None:
    X, y = _data(6)
    ds = TensorDataset(mg.tensor(X), mg.tensor(y))
    assert len(ds) == 6 and len(ds[2:4][0]) == 2
    assert _labels(DataLoader(ds, batch_size=6)) == [list(range(6))]
    assert _labels(DataLoader([mg.tensor(X), y], batch_size=6)) == [list(range(6))]


def test_bad_inputs() -> None:
    X, y = _data(6)
    with pytest.raises(ValueError, match="first dimension"):
        TensorDataset(X, y[:5])
    with pytest.raises(TypeError):
        DataLoader(X)
    with pytest.raises(ValueError):
        DataLoader((X, y), batch_size=0)
    with pytest.raises(TypeError):
        DataLoader((X, y), batch_size=2.5)


def test_non_numeric_inputs_are_a_type_error_at_construction() -> None:
    for bad in ("abc", np.array(["a", "b"]), np.array([object(), 1], dtype=object),
                np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[D]")):
        with pytest.raises(TypeError, match="TensorDataset: expected"):
            DataLoader((bad, np.arange(2)))
