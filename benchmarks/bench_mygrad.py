"""MyGrad as its users write it: ``mygrad`` tensors, its ``nnet`` activations and loss.

MyGrad has no modules or optimizers: the parameters are tensors and the momentum update is
written out with PyTorch's rule on their ``.data``, in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import workloads as wl

mygrad: Any = None


def setup(threads: int) -> dict:
    """Import mygrad; its version and the BLAS of the NumPy it runs on."""
    global mygrad
    import mygrad as _mygrad
    from bench_numpy import numpy_blas

    mygrad = _mygrad
    return {"version": mygrad.__version__, "numpy": np.__version__, "blas": numpy_blas(),
            "api": "tensors+nnet"}


def mlp(spec: wl.MLPSpec, X: np.ndarray, y: np.ndarray,
        init: list[tuple[np.ndarray, np.ndarray]]) -> tuple[Callable[[], Any], Callable]:
    """One training step: forward, loss, backward, the momentum update on ``.data``."""
    from mygrad.nnet.activations import relu, sigmoid
    from mygrad.nnet.losses import softmax_crossentropy

    acts = {"sigmoid": sigmoid, "tanh": mygrad.tanh, "relu": relu}
    params = [mygrad.tensor(p.copy()) for layer in init for p in layer]
    bufs: list[np.ndarray | None] = [None] * len(params)
    n_layers = len(init)

    def step() -> Any:
        a = X
        for i in range(n_layers):
            a = mygrad.matmul(a, params[2 * i]) + params[2 * i + 1]
            act = spec.activation if i < n_layers - 1 else spec.output_activation
            a = acts[act](a) if act else a
        if spec.loss == "mse":
            loss = mygrad.mean((a - y) ** 2)
        else:
            loss = softmax_crossentropy(a, y)
        loss.backward()
        for j, p in enumerate(params):
            g = p.grad
            if bufs[j] is None:
                bufs[j] = g.copy()
            else:
                bufs[j] *= spec.momentum
                bufs[j] += g
            p.data -= spec.lr * bufs[j]
        return loss

    return step, lambda loss: float(loss.item())


def op_loops(a: np.ndarray, b: np.ndarray) -> dict[str, Callable[[int], None]]:
    """``x + y`` on two (3,) tensors that need grad: recorded, and under ``no_autodiff``."""
    x, y = mygrad.tensor(a), mygrad.tensor(b)

    def record(n: int) -> None:
        for _ in range(n):
            x + y

    def no_grad(n: int) -> None:
        with mygrad.no_autodiff:
            for _ in range(n):
                x + y

    return {"record": record, "no_grad": no_grad}


def chain(depth: int) -> Callable[[], None]:
    """``depth`` multiplications by a constant, then ``backward`` of the sum."""
    x0 = mygrad.tensor(wl.chain_input())
    c = wl.CHAIN_FACTOR

    def run() -> None:
        x = x0
        for _ in range(depth):
            x = x * c
        mygrad.sum(x).backward()

    return run
