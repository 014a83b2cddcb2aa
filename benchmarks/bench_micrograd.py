"""Karpathy's micrograd: a scalar ``Value`` per number, so only the small workloads run.

micrograd's ``Value`` has ``+ * ** relu`` but no ``exp``/``tanh``; sigmoid and tanh are added
here as one node each, written exactly like its own ``relu`` (as in the micrograd lecture).
Batches are Python loops over samples; the momentum update follows PyTorch's rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import workloads as wl

Value: Any = None
MLP_KEYS = ("W1", "W2")  # W3 (64-128-10 on 64 samples) takes minutes per step in scalars


def setup(threads: int) -> dict:
    """Import micrograd; its version."""
    global Value
    from importlib.metadata import version

    from micrograd.engine import Value as _Value

    Value = _Value
    return {"version": version("micrograd"), "api": "Value"}


def _unary(x: Any, f: float, df: float, op: str) -> Any:
    out = Value(f, (x,), op)

    def _backward() -> None:
        x.grad += df * out.grad

    out._backward = _backward
    return out


def _sigmoid(x: Any) -> Any:
    s = 1 / (1 + math.exp(-x.data))
    return _unary(x, s, s * (1 - s), "sigmoid")


def _tanh(x: Any) -> Any:
    t = math.tanh(x.data)
    return _unary(x, t, 1 - t * t, "tanh")


_ACTS = {"sigmoid": _sigmoid, "tanh": _tanh, "relu": lambda v: v.relu()}


def mlp(spec: wl.MLPSpec, X: np.ndarray, y: np.ndarray,
        init: list[tuple[np.ndarray, np.ndarray]]) -> tuple[Callable[[], Any], Callable]:
    """One training step over the batch, one scalar ``Value`` per weight and activation."""
    layers = [([[Value(float(w)) for w in col] for col in W.T], [Value(float(v)) for v in b])
              for W, b in init]
    params = [p for Ws, bs in layers for p in [*(w for row in Ws for w in row), *bs]]
    vel = [0.0] * len(params)
    xs, ts = X.astype(float).tolist(), y.astype(float).tolist()
    n_out = len(ts) * len(ts[0])

    def forward(x: list[Any]) -> list[Any]:
        for i, (Ws, bs) in enumerate(layers):
            act = _ACTS.get(spec.activation if i < len(layers) - 1 else spec.output_activation)
            x = [sum((w * xi for w, xi in zip(row, x)), b) for row, b in zip(Ws, bs)]
            x = [act(v) for v in x] if act else x
        return x

    def step() -> Any:
        for p in params:
            p.grad = 0.0
        loss = sum(((o - t) ** 2 for x, tt in zip(xs, ts) for o, t in zip(forward(x), tt)),
                   Value(0.0)) * (1.0 / n_out)
        loss.backward()
        for j, p in enumerate(params):
            vel[j] = spec.momentum * vel[j] + p.grad  # the first step: vel = grad
            p.data -= spec.lr * vel[j]
        return loss

    return step, lambda loss: loss.data


def op_loops(a: np.ndarray, b: np.ndarray) -> dict[str, Callable[[int], None]]:
    """``x + y`` on two scalar Values (micrograd has no tensors and no no-grad mode)."""
    x, y = Value(float(a[0])), Value(float(b[0]))

    def record(n: int) -> None:
        for _ in range(n):
            x + y

    return {"record": record}


def chain(depth: int) -> Callable[[], None]:
    """``depth`` multiplications of one Value by a constant, then ``backward``."""
    x0 = Value(float(wl.chain_input()[0]))
    c = wl.CHAIN_FACTOR

    def run() -> None:
        x0.grad = 0.0
        x = x0
        for _ in range(depth):
            x = x * c
        x.backward()

    return run
