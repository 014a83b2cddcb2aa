"""The vocabulary of derivative rules (``ops/_dual.py``): each helper gives the same values on
NumPy arrays (the plain sweep) as on Tensors (the recorded sweep), and on Tensors it is
recorded, so it can be differentiated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import microgradnet as mg
from microgradnet.ops import _dual as D

RNG = np.random.default_rng(0)
A = RNG.uniform(0.2, 1.5, (2, 3, 3))
B = RNG.uniform(-1.0, 1.0, (2, 3, 3))

# name, helper applied to (a, b): each is called on arrays and on Tensors
CASES: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("exp", lambda a, b: D.exp(a)),
    ("log", lambda a, b: D.log(a)),
    ("sqrt", lambda a, b: D.sqrt(a)),
    ("sinh", lambda a, b: D.sinh(b)),
    ("cosh", lambda a, b: D.cosh(b)),
    ("hypot", lambda a, b: D.hypot(a, b)),
    ("log_sigmoid", lambda a, b: D.log_sigmoid(b * 30.0)),
    ("flip", lambda a, b: D.flip(b, 1)),
    ("cumsum", lambda a, b: D.cumsum(b, -1)),
    ("stack", lambda a, b: D.stack([a, b], 1)),
    ("concatenate", lambda a, b: D.concatenate([a, b[..., :1]], 2)),
    ("concatenate_negative_axis", lambda a, b: D.concatenate([a, b[..., :1]], -1)),
    ("tril", lambda a, b: D.tril(b, -1)),
    ("diagonal", lambda a, b: D.diagonal(b)),
    ("diagonal_offset", lambda a, b: D.diagonal(b, 1, 0, 2)),
    ("diag_embed", lambda a, b: D.diag_embed(b[:, 0])),
]


@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_arrays_and_tensors_agree(name: str, fn: Callable[[Any, Any], Any]) -> None:
    plain = fn(A, B)
    assert isinstance(plain, np.ndarray)
    a, b = mg.tensor(A, requires_grad=True), mg.tensor(B, requires_grad=True)
    recorded = fn(a, b)
    assert isinstance(recorded, mg.Tensor) and recorded.requires_grad
    np.testing.assert_allclose(recorded.data, plain, rtol=1e-12, atol=1e-14)
    # recorded, so differentiable: the gradient reaches the inputs with their shapes
    used = [t for t in (a, b) if t.requires_grad]
    grads = mg.grad(recorded.sum(), used, allow_unused=True)
    assert all(g is None or g.shape == t.shape for g, t in zip(grads, used))
    assert any(g is not None for g in grads)


def test_concatenate_with_a_negative_axis_splits_the_gradient_right() -> None:
    """Regression: D.concatenate handed a negative axis to Cat, whose backward then split the
    gradient along the wrong axis (found converting QR's rule for wide matrices)."""
    a, b = mg.ones(2, 3, requires_grad=True), mg.ones(2, 1, requires_grad=True)
    y = D.concatenate([a, b], -1)
    ga, gb = mg.grad((y * mg.arange(4.0)).sum(), [a, b])
    assert ga.tolist() == [[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]
    assert gb.tolist() == [[3.0], [3.0]]
