"""A small least-squares problem, run through microgradnet's autograd and through NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import microgradnet as mg


class Problem:
    """E(W, c) = ½ Σ (X Wᵀ + c − T)²: two parameters, gradients known in closed form."""

    def __init__(self, seed: int, n: int = 5, d_in: int = 3, d_out: int = 2) -> None:
        rng = np.random.default_rng(seed)
        self.X = rng.normal(size=(n, d_in))
        self.T = rng.normal(size=(n, d_out))
        self.W0 = rng.normal(size=(d_out, d_in))
        self.c0 = rng.normal(size=(d_out,))

    def params(self) -> list[mg.Tensor]:
        return [mg.tensor(self.W0, dtype=mg.float64, requires_grad=True),
                mg.tensor(self.c0, dtype=mg.float64, requires_grad=True)]

    def loss(self, W: mg.Tensor, c: mg.Tensor) -> mg.Tensor:
        r = mg.tensor(self.X) @ W.T + c - mg.tensor(self.T)
        return 0.5 * (r * r).sum()

    def grads(self, W: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = self.X @ W.T + c - self.T
        return r.T @ self.X, r.sum(axis=0)

    def run(self, make_opt, steps: int, lrs=None) -> list[list[np.ndarray]]:
        """Trajectory of microgradnet's optimizer: the weights after each step."""
        params = self.params()
        opt = make_opt(params)
        out = []
        for k in range(steps):
            if lrs is not None:
                for group in opt.param_groups:
                    group["lr"] = lrs[k]
            opt.zero_grad()
            self.loss(*params).backward()
            opt.step()
            out.append([p.data.copy() for p in params])
        return out

    def run_reference(self, update, steps: int, lrs=None, **hyper) -> list[list[np.ndarray]]:
        """Trajectory of a reference update function (tests/optim/reference.py)."""
        ws = [self.W0.copy(), self.c0.copy()]
        states: list[dict] = [{}, {}]
        out = []
        for k in range(steps):
            if lrs is not None:
                hyper["lr"] = lrs[k]
            gs = self.grads(*ws)
            ws = [update(w, g, s, **hyper) for w, g, s in zip(ws, gs, states)]
            out.append([w.copy() for w in ws])
        return out


def assert_same_trajectory(a, b, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    assert len(a) == len(b)
    for step, (pa, pb) in enumerate(zip(a, b)):
        for x, y in zip(pa, pb):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=f"step {step + 1}")


@pytest.fixture
def problem() -> Problem:
    return Problem(0)
