"""microgradnet as its users write it: ``mg.nn.MLP``, a loss module, ``mg.optim.SGD``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import workloads as wl

mg: Any = None


def setup(threads: int) -> dict:
    """Import microgradnet; its version and the BLAS of the NumPy it runs on."""
    global mg
    import microgradnet

    mg = microgradnet
    from bench_numpy import numpy_blas

    return {"version": mg.__version__, "numpy": np.__version__, "blas": numpy_blas(),
            "api": "nn+optim"}


def mlp(spec: wl.MLPSpec, X: np.ndarray, y: np.ndarray,
        init: list[tuple[np.ndarray, np.ndarray]], compiled: bool = False
        ) -> tuple[Callable[[], Any], Callable]:
    """One training step: zero_grad, forward, loss, backward, SGD-with-momentum step."""
    Xt, yt = mg.tensor(X), mg.tensor(y)
    model = mg.nn.MLP(list(spec.sizes), activation=spec.activation,
                      output_activation=spec.output_activation)
    linears = [m for m in model.modules() if isinstance(m, mg.nn.Linear)]
    with mg.no_grad():
        for lin, (W, b) in zip(linears, init, strict=True):
            lin.weight.copy_(W.T)
            lin.bias.copy_(b)
    loss_fn = mg.nn.MSELoss() if spec.loss == "mse" else mg.nn.CrossEntropyLoss()
    opt = mg.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum)

    def step() -> Any:
        opt.zero_grad()
        loss = loss_fn(model(Xt), yt)
        loss.backward()
        opt.step()
        return loss

    if compiled:  # W1c-W4c: the same step, traced once and replayed
        def step_on(x: Any, y: Any) -> Any:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            return loss

        fast = mg.compile(step_on)
        return (lambda: fast(Xt, yt)), float
    return step, float


def mlp_compiled(spec: wl.MLPSpec, X: np.ndarray, y: np.ndarray,
                 init: list[tuple[np.ndarray, np.ndarray]]) -> tuple[Callable[[], Any], Callable]:
    """The training step of ``mlp`` through ``mg.compile`` (W1c-W4c)."""
    return mlp(spec, X, y, init, compiled=True)


def op_loops(a: np.ndarray, b: np.ndarray) -> dict[str, Callable[[int], None]]:
    """``x + y`` on two (3,) tensors that require grad: recorded, and under ``mg.no_grad()``."""
    x = mg.tensor(a, requires_grad=True)
    y = mg.tensor(b, requires_grad=True)

    def record(n: int) -> None:
        for _ in range(n):
            x + y

    def no_grad(n: int) -> None:
        with mg.no_grad():
            for _ in range(n):
                x + y

    return {"record": record, "no_grad": no_grad}


def chain(depth: int) -> Callable[[], None]:
    """``depth`` multiplications by a constant, then ``backward`` of the sum."""
    x0 = mg.tensor(wl.chain_input(), requires_grad=True)
    c = wl.CHAIN_FACTOR

    def run() -> None:
        x0.grad = None
        x = x0
        for _ in range(depth):
            x = x * c
        x.sum().backward()

    return run
