"""mg.nn.init: PyTorch's gains and fans, in-place fills that record nothing, seeding."""

from __future__ import annotations

import math

import numpy as np
import pytest

import microgradnet as mg
from microgradnet.nn import init


def test_calculate_gain_matches_pytorchs_table() -> None:
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "a")


def test_fans() -> None:
    assert init._calculate_fan_in_and_fan_out(mg.empty(3, 5)) == (5, 3)
    assert init._calculate_fan_in_and_fan_out(mg.empty(4, 2, 3, 3)) == (18, 36)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(mg.empty(3))


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_bounds_and_spreads() -> None:
    w = mg.empty(200, 300, dtype="float64")
    a = math.sqrt(6 / 500)
    assert init.xavier_uniform_(w, generator=_rng()) is w
    assert np.abs(w.data).max() <= a and np.abs(w.data).max() > 0.99 * a
    init.xavier_normal_(w, gain=2.0, generator=_rng())
    assert w.data.std() == pytest.approx(2 * math.sqrt(2 / 500), rel=0.02)
    init.kaiming_uniform_(w, generator=_rng())  # leaky_relu with a=0: gain sqrt(2)
    bound = math.sqrt(2) * math.sqrt(3 / 300)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound
    init.kaiming_uniform_(w, a=math.sqrt(5), generator=_rng())  # Linear's default
    assert np.abs(w.data).max() <= 1 / math.sqrt(300)
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu", generator=_rng())
    assert w.data.std() == pytest.approx(math.sqrt(2 / 200), rel=0.02)
    init.uniform_(w, -0.5, 0.25, generator=_rng())
    assert w.data.min() >= -0.5 and w.data.max() < 0.25
    init.normal_(w, 3.0, 0.1, generator=_rng())
    assert w.data.mean() == pytest.approx(3.0, abs=0.01)
    assert (init.constant_(w, 0.3).data == 0.3).all()
    assert not init.zeros_(w).data.any() and (init.ones_(w).data == 1).all()
    with pytest.raises(ValueError, match="fan_in"):
        init.kaiming_uniform_(w, mode="fan_middle")


def test_in_place_on_parameters_without_recording_and_seeded() -> None:
    p = mg.nn.Parameter(mg.zeros(4, 3))
    assert mg.is_grad_enabled()
    out = init.kaiming_normal_(p, generator=_rng())
    assert out is p and p.grad_fn is None and p.requires_grad and p._version == 1
    q = mg.nn.Parameter(mg.zeros(4, 3))
    init.kaiming_normal_(q, generator=_rng())
    np.testing.assert_array_equal(p.data, q.data)
    mg.manual_seed(5)
    init.uniform_(p)
    mg.manual_seed(5)
    init.uniform_(q)
    np.testing.assert_array_equal(p.data, q.data)
    with pytest.raises(TypeError, match="Tensor"):
        init.zeros_(np.zeros(3))
