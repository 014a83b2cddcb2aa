"""Hand-written NumPy: forward, backward and SGD with momentum written out, no autodiff.

This is the limit for a NumPy-based framework on W4 (the same BLAS calls, nothing else) and the
reference for W1-W3, W5 (a raw ``np.add``) and W6 (the chain and its derivative as two loops).
It works in place wherever a careful person would, so it stays a fair lower bound.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import workloads as wl


def setup(threads: int) -> dict:
    """NumPy's version and BLAS (threads are set through the environment by run.py)."""
    return {"version": np.__version__, "blas": numpy_blas(), "api": "hand-written"}


def numpy_blas() -> str:
    """Name and version of the BLAS NumPy was built against, e.g. ``scipy-openblas 0.3.31``."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy: no dict mode
        return "unknown"


def _act_inplace(z: np.ndarray, kind: str | None) -> np.ndarray:
    if kind == "relu":
        np.maximum(z, 0, out=z)
    elif kind == "tanh":
        np.tanh(z, out=z)
    elif kind == "sigmoid":
        np.negative(z, out=z)
        np.exp(z, out=z)
        z += 1
        np.reciprocal(z, out=z)
    return z


def _act_backward_inplace(d: np.ndarray, a: np.ndarray, kind: str | None) -> None:
    """Multiply ``d`` by the activation's derivative, written in terms of its output ``a``."""
    if kind == "relu":
        d *= a > 0
    elif kind == "tanh":
        d *= 1 - a * a
    elif kind == "sigmoid":
        d *= a * (1 - a)


def mlp(spec: wl.MLPSpec, X: np.ndarray, y: np.ndarray,
        init: list[tuple[np.ndarray, np.ndarray]]) -> tuple[Callable[[], Any], Callable]:
    """One training step of the spec's MLP, derivatives written by hand."""
    params = [p.copy() for layer in init for p in layer]
    bufs: list[np.ndarray | None] = [None] * len(params)
    n_layers = len(init)
    acts = [spec.activation] * (n_layers - 1) + [spec.output_activation]
    rows = np.arange(len(X))

    def step() -> float:
        # forward: keep each layer's output for the backward pass
        outs = [X]
        for i in range(n_layers):
            z = outs[-1] @ params[2 * i]
            z += params[2 * i + 1]
            outs.append(_act_inplace(z, acts[i]))
        out = outs[-1]
        # loss and its derivative with respect to the output
        if spec.loss == "mse":
            d = out - y
            loss = float(np.vdot(d, d)) / d.size
            d *= 2.0 / d.size
        else:
            m = out.max(axis=1, keepdims=True)
            e = np.exp(out - m)
            s = e.sum(axis=1, keepdims=True)
            loss = float(np.mean(np.log(s[:, 0]) + m[:, 0] - out[rows, y]))
            d = e
            d /= s
            d[rows, y] -= 1
            d /= len(X)
        _act_backward_inplace(d, out, acts[-1])
        # backward and the momentum update (PyTorch's rule: buf = m*buf + g; p -= lr*buf)
        for i in reversed(range(n_layers)):
            grads = (outs[i].T @ d, d.sum(axis=0))
            if i > 0:
                d = d @ params[2 * i].T
                _act_backward_inplace(d, outs[i], acts[i - 1])
            for j, g in zip((2 * i, 2 * i + 1), grads):
                buf = bufs[j]
                if buf is None:
                    bufs[j] = buf = g.copy()
                else:
                    buf *= spec.momentum
                    buf += g
                np.multiply(buf, spec.lr, out=g)
                params[j] -= g
        return loss

    return step, float


def op_loops(a: np.ndarray, b: np.ndarray) -> dict[str, Callable[[int], None]]:
    """Raw ``a + b`` on NumPy arrays, reported in both W5 rows as the floor."""
    def run(n: int) -> None:
        for _ in range(n):
            a + b
    return {"record": run, "no_grad": run}


def chain(depth: int) -> Callable[[], None]:
    """The chain forward (``depth`` multiplies) and its derivative (``depth`` more)."""
    x0 = wl.chain_input()
    c = wl.CHAIN_FACTOR

    def run() -> None:
        x = x0
        for _ in range(depth):
            x = x * c
        g = np.ones_like(x)
        for _ in range(depth):
            g = g * c

    return run
