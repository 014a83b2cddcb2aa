"""HIPS autograd as its users write it: a loss function of the parameters, ``value_and_grad``.

autograd has no modules or optimizers: the parameters are a list of NumPy arrays and the
momentum update is written out with PyTorch's rule, in place, like the NumPy limit's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import workloads as wl

autograd: Any = None
anp: Any = None


def setup(threads: int) -> dict:
    """Import autograd; its version and the BLAS of the NumPy it wraps."""
    global autograd, anp
    from importlib.metadata import version

    import autograd as _autograd
    import autograd.numpy as _anp
    from bench_numpy import numpy_blas

    autograd, anp = _autograd, _anp
    return {"version": version("autograd"), "numpy": np.__version__, "blas": numpy_blas(),
            "api": "value_and_grad"}


def _act(z: Any, kind: str | None) -> Any:
    if kind == "sigmoid":
        return 1 / (1 + anp.exp(-z))
    if kind == "tanh":
        return anp.tanh(z)
    if kind == "relu":
        return anp.maximum(z, 0)
    return z


def mlp(spec: wl.MLPSpec, X: np.ndarray, y: np.ndarray,
        init: list[tuple[np.ndarray, np.ndarray]]) -> tuple[Callable[[], Any], Callable]:
    """One training step: value_and_grad of the loss, then the momentum update in place."""
    params = [p.copy() for layer in init for p in layer]
    bufs: list[np.ndarray | None] = [None] * len(params)
    n_layers = len(init)
    rows = np.arange(len(X))

    def loss_of(ps: list[Any]) -> Any:
        a = X
        for i in range(n_layers):
            a = anp.dot(a, ps[2 * i]) + ps[2 * i + 1]
            a = _act(a, spec.activation if i < n_layers - 1 else spec.output_activation)
        if spec.loss == "mse":
            return anp.mean((a - y) ** 2)
        m = anp.max(a, axis=1, keepdims=True)
        lse = anp.log(anp.sum(anp.exp(a - m), axis=1)) + m[:, 0]
        return anp.mean(lse - a[rows, y])

    value_and_grad = autograd.value_and_grad(loss_of)

    def step() -> Any:
        loss, grads = value_and_grad(params)
        for j, g in enumerate(grads):
            if bufs[j] is None:
                bufs[j] = g.copy()
            else:
                bufs[j] *= spec.momentum
                bufs[j] += g
            params[j] -= spec.lr * bufs[j]
        return loss

    return step, float


def op_loops(a: np.ndarray, b: np.ndarray) -> dict[str, Callable[[int], None]]:
    """Recording: ``x + x`` on a traced box (both operands need grad); no_grad: ``anp.add``.

    autograd records only inside a traced function, so the recording loop runs in one trace
    (``make_vjp``, forward only); outside a trace its wrapped NumPy functions do no recording.
    """
    from autograd.core import make_vjp

    def record(n: int) -> None:
        def f(x: Any) -> Any:
            for _ in range(n):
                x + x
            return x
        make_vjp(f, a)

    def no_grad(n: int) -> None:
        add = anp.add
        for _ in range(n):
            add(a, b)

    return {"record": record, "no_grad": no_grad}


def chain(depth: int) -> Callable[[], None]:
    """``depth`` multiplications by a constant, then the gradient of the sum."""
    x0 = wl.chain_input()
    c = wl.CHAIN_FACTOR

    def f(x: Any) -> Any:
        for _ in range(depth):
            x = x * c
        return anp.sum(x)

    g = autograd.grad(f)
    return lambda: g(x0)
