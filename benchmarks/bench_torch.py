"""PyTorch (CPU) as its users write it: ``nn.Sequential``, a loss module, ``optim.SGD``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import workloads as wl

torch: Any = None


def setup(threads: int) -> dict:
    """Import torch, use ``threads`` intra-op threads; its version and BLAS."""
    global torch
    import torch as _torch

    torch = _torch
    torch.set_num_threads(threads)
    blas = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    return {"version": torch.__version__, "blas": blas.group(1) if blas else "unknown",
            "threads": torch.get_num_threads(), "api": "nn+optim"}


_ACTS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU"}


def mlp(spec: wl.MLPSpec, X: np.ndarray, y: np.ndarray,
        init: list[tuple[np.ndarray, np.ndarray]]) -> tuple[Callable[[], Any], Callable]:
    """One training step: zero_grad, forward, loss, backward, SGD-with-momentum step."""
    nn = torch.nn
    layers: list[Any] = []
    for i, (W, b) in enumerate(init):
        lin = nn.Linear(*W.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        act = spec.activation if i < len(init) - 1 else spec.output_activation
        if act:
            layers.append(getattr(nn, _ACTS[act])())
    model = nn.Sequential(*layers)
    loss_fn = nn.MSELoss() if spec.loss == "mse" else nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def step() -> Any:
        opt.zero_grad()
        loss = loss_fn(model(Xt), yt)
        loss.backward()
        opt.step()
        return loss

    return step, lambda loss: loss.item()


def blas_warmup(spec: wl.MLPSpec) -> None:
    """One matmul of each layer shape and its transposes, through torch's own BLAS."""
    for fan_in, fan_out in zip(spec.sizes[:-1], spec.sizes[1:]):
        a, w = torch.randn(spec.batch, fan_in), torch.randn(fan_in, fan_out)
        out = a @ w
        _ = a.T @ out
        _ = out @ w.T


def op_loops(a: np.ndarray, b: np.ndarray) -> dict[str, Callable[[int], None]]:
    """``x + y`` on two (3,) tensors that require grad: recorded, and under ``no_grad``."""
    x = torch.tensor(a, requires_grad=True)
    y = torch.tensor(b, requires_grad=True)

    def record(n: int) -> None:
        for _ in range(n):
            x + y

    def no_grad(n: int) -> None:
        with torch.no_grad():
            for _ in range(n):
                x + y

    return {"record": record, "no_grad": no_grad}


def chain(depth: int) -> Callable[[], None]:
    """``depth`` multiplications by a constant, then ``backward`` of the sum."""
    x0 = torch.tensor(wl.chain_input(), requires_grad=True)
    c = wl.CHAIN_FACTOR

    def run() -> None:
        x0.grad = None
        x = x0
        for _ in range(depth):
            x = x * c
        x.sum().backward()

    return run
