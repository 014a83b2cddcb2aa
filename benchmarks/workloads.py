"""The workloads W1-W7, defined once: sizes, seeds, data and initial weights for every framework.

Every framework module (``bench_<name>.py``) builds its own model from these NumPy arrays, so
all of them start from the same weights and see the same batch: their losses after a few steps
agree, which ``run.py`` checks (a benchmark that computes something else measures nothing).
This module imports NumPy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DTYPE = np.float32


@dataclass(frozen=True)
class MLPSpec:
    """One training-step workload: an MLP, its loss, its batch and its SGD settings."""

    key: str
    title: str
    sizes: tuple[int, ...]
    activation: str  # hidden layers: "sigmoid", "tanh" or "relu"
    output_activation: str | None  # applied after the last layer (W1: "sigmoid")
    loss: str  # "mse" (mean over all elements) or "ce" (mean cross-entropy over the batch)
    batch: int
    lr: float
    momentum: float = 0.9
    seed: int = 0


MLPS: dict[str, MLPSpec] = {
    "W1": MLPSpec("W1", "XOR 2-4-1 sigmoid, batch 4, MSE", (2, 4, 1), "sigmoid", "sigmoid",
                  "mse", 4, lr=0.5),
    "W2": MLPSpec("W2", "two moons 2-16-16-1 tanh, batch 100, MSE", (2, 16, 16, 1), "tanh",
                  None, "mse", 100, lr=0.05, seed=1),
    "W3": MLPSpec("W3", "digits 64-128-10 relu, batch 64, cross-entropy", (64, 128, 10), "relu",
                  None, "ce", 64, lr=0.05, seed=2),
    "W4": MLPSpec("W4", "784-1024-1024-10 relu, batch 256, cross-entropy",
                  (784, 1024, 1024, 10), "relu", None, "ce", 256, lr=0.01, seed=3),
}

#: Steps run from the shared initial weights before timing; the loss after them is compared.
CHECK_STEPS = 3

#: W6 chain depths and the constant each elementwise op multiplies by.
CHAIN_DEPTHS = (10_000, 100_000)
CHAIN_FACTOR = 1.0001
CHAIN_WIDTH = 8  # elements of the chained tensor (micrograd chains one scalar Value)

#: W5: the shape of the two tensors added.
OP_SHAPE = (3,)

#: W7: training steps run after the baseline is taken.
MEMORY_STEPS = 3


@dataclass(frozen=True)
class Budget:
    """How long to measure: warm-up steps, repeats, and the time one repeat and one job aim at."""

    warmup: int
    repeats: int
    min_repeats: int
    repeat_time: float  # seconds one repeat should last at least (sets the steps per repeat)
    job_time: float  # seconds of timed repeats one job should not exceed (fewer repeats then)
    chain_timed: bool = True  # W6: time repeats after the first run (else: time that run only)


FULL = Budget(warmup=3, repeats=7, min_repeats=3, repeat_time=0.2, job_time=6.0)
QUICK = Budget(warmup=1, repeats=2, min_repeats=1, repeat_time=0.002, job_time=0.3,
               chain_timed=False)


def mlp_data(spec: MLPSpec) -> tuple[np.ndarray, np.ndarray]:
    """The batch ``(X, y)``: float32 inputs; float32 targets (MSE) or int64 labels (CE)."""
    rng = np.random.default_rng(spec.seed)
    if spec.key == "W1":
        X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=DTYPE)
        y = np.array([[0], [1], [1], [0]], dtype=DTYPE)
    elif spec.key == "W2":
        X, y = two_moons(spec.batch, rng)
    else:
        X = rng.standard_normal((spec.batch, spec.sizes[0])).astype(DTYPE)
        y = rng.integers(0, spec.sizes[-1], spec.batch).astype(np.int64)
    return X, y


def two_moons(n: int, rng: np.random.Generator, noise: float = 0.1) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """Two interleaving half circles, labels 0/1 as a float column (for MSE)."""
    n_top = n // 2
    t_top = np.linspace(0, np.pi, n_top)
    t_bot = np.linspace(0, np.pi, n - n_top)
    X = np.concatenate([
        np.stack([np.cos(t_top), np.sin(t_top)], 1),
        np.stack([1 - np.cos(t_bot), 0.5 - np.sin(t_bot)], 1),
    ]) + noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(n_top), np.ones(n - n_top)])[:, None]
    return X.astype(DTYPE), y.astype(DTYPE)


def mlp_init(spec: MLPSpec) -> list[tuple[np.ndarray, np.ndarray]]:
    """Initial ``(W, b)`` per layer, ``W`` of shape ``(in, out)``: PyTorch's default uniform law.

    A framework whose layers store ``(out, in)`` (PyTorch, microgradnet) loads ``W.T``.
    """
    rng = np.random.default_rng(1000 + spec.seed)
    layers = []
    for fan_in, fan_out in zip(spec.sizes[:-1], spec.sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        W = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(DTYPE)
        b = rng.uniform(-bound, bound, fan_out).astype(DTYPE)
        layers.append((W, b))
    return layers


def op_operands() -> tuple[np.ndarray, np.ndarray]:
    """The two tiny float32 arrays W5 adds."""
    return np.full(OP_SHAPE, 1.5, DTYPE), np.full(OP_SHAPE, 2.5, DTYPE)


def chain_input() -> np.ndarray:
    """The float32 vector W6 starts its chain from."""
    return np.linspace(0.5, 1.5, CHAIN_WIDTH).astype(DTYPE)
