"""Gradients through an ODE solve: direct (backpropagate through the steps) against adjoint.

Two workloads, each differentiated with respect to its parameters after a fixed-step RK4
solve of N steps (a fixed step makes N exact; adaptive solvers choose it):

- LV: the Lotka-Volterra fit of ``examples/lotka_volterra.py`` (4 parameters, state of 2),
  loss = sum of squared log-errors at 20 observation times over 12 time units;
- NODE: the neural ODE of ``examples/neural_ode.py`` (a 2-50-2 tanh MLP, 252 parameters), a
  batch of 20 initial states integrated over 0.9 time units, mean absolute error.

For each N: the median CPU time of one gradient (forward solve + backward; process time, so
that other processes on a shared machine disturb it less than wall-clock time) and the peak
memory that gradient allocates (tracemalloc, measured in a separate run because tracing slows
Python down). torchdiffeq is timed too when it is installed (same problems, PyTorch CPU).

    python benchmarks/bench_ode.py                # N = 100 ... 1600 (a few minutes)
    python benchmarks/bench_ode.py --quick        # N = 20, 40 (seconds; used by the tests)
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import microgradnet as mg  # noqa: E402

LV_TRUE = np.array([1.0, 0.1, 1.5, 0.075])
LV_TIMES = np.linspace(0.0, 12.0, 21)


def lv_problem(steps: int, adjoint: bool) -> Callable[[], None]:
    """A closure computing one gradient of the Lotka-Volterra fit loss."""
    log_p = mg.tensor(np.log([0.7, 0.15, 1.2, 0.05]), requires_grad=True)
    observed = mg.tensor(np.log(np.abs(np.sin(LV_TIMES[1:, None] + [0.0, 1.0])) * 10 + 1))
    h = (LV_TIMES[-1] - LV_TIMES[0]) / steps

    def rates(t: mg.Tensor, z: mg.Tensor) -> mg.Tensor:
        p = mg.exp(log_p)
        return mg.stack([p[0] * z[0] - p[1] * z[0] * z[1], p[3] * z[0] * z[1] - p[2] * z[1]])

    def gradient() -> None:
        kw = dict(method="rk4", options={"step_size": h})
        if adjoint:
            sol = mg.integrate.odeint_adjoint(rates, mg.tensor([10.0, 5.0]),
                                              mg.tensor(LV_TIMES), adjoint_params=[log_p], **kw)
        else:
            sol = mg.integrate.odeint(rates, mg.tensor([10.0, 5.0]), mg.tensor(LV_TIMES), **kw)
        loss = ((mg.log(mg.abs(sol[1:]) + 1e-9) - observed) ** 2).sum()
        log_p.grad = None
        loss.backward()

    return gradient


def node_problem(steps: int, adjoint: bool) -> Callable[[], None]:
    """A closure computing one gradient of the neural-ODE training loss."""
    mg.manual_seed(0)
    net = mg.nn.Sequential(mg.nn.Linear(2, 50), mg.nn.Tanh(), mg.nn.Linear(50, 2))
    for p in net.parameters():
        p.data = p.data.astype(np.float64)

    class Field(mg.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, t: mg.Tensor, y: mg.Tensor) -> mg.Tensor:
            return self.net(y ** 3)

    field = Field()
    rng = np.random.default_rng(0)
    y0 = mg.tensor(rng.normal(0, 1, (20, 2)))
    target = mg.tensor(rng.normal(0, 1, (10, 20, 2)))
    t = mg.tensor(np.linspace(0.0, 0.9, 10))

    def gradient() -> None:
        kw = dict(method="rk4", options={"step_size": 0.9 / steps})
        integrate = mg.integrate.odeint_adjoint if adjoint else mg.integrate.odeint
        loss = mg.abs(integrate(field, y0, t, **kw) - target).mean()
        for p in field.parameters():
            p.grad = None
        loss.backward()

    return gradient


def time_it(fn: Callable[[], None], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def peak_memory(fn: Callable[[], None]) -> int:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def torchdiffeq_row(name: str, steps: int, repeats: int) -> str:
    """Time per gradient by torchdiffeq (direct / adjoint), or a note that it is absent."""
    if importlib.util.find_spec("torchdiffeq") is None:
        return "not installed"
    import torch
    import torchdiffeq

    torch.set_num_threads(1)
    out = []
    for adjoint in (False, True):
        if name == "LV":
            log_p = torch.tensor(np.log([0.7, 0.15, 1.2, 0.05]), requires_grad=True)

            class Rates(torch.nn.Module):
                def forward(self, t, z):
                    p = log_p.exp()  # noqa: B023  (used before the loop moves on)
                    return torch.stack([p[0] * z[0] - p[1] * z[0] * z[1],
                                        p[3] * z[0] * z[1] - p[2] * z[1]])

            func, params = Rates(), [log_p]
            y0, t = torch.tensor([10.0, 5.0], dtype=torch.float64), torch.tensor(LV_TIMES)
            h = (LV_TIMES[-1] - LV_TIMES[0]) / steps
        else:
            torch.manual_seed(0)
            net = torch.nn.Sequential(torch.nn.Linear(2, 50), torch.nn.Tanh(),
                                      torch.nn.Linear(50, 2)).double()

            class Field(torch.nn.Module):
                def __init__(self):
                    super().__init__()
                    self.net = net  # noqa: B023

                def forward(self, t, y):
                    return self.net(y ** 3)

            func, params = Field(), list(net.parameters())
            y0 = torch.randn(20, 2, dtype=torch.float64)
            t = torch.linspace(0.0, 0.9, 10, dtype=torch.float64)
            h = 0.9 / steps
        solve = torchdiffeq.odeint_adjoint if adjoint else torchdiffeq.odeint
        kw = {"adjoint_params": params} if adjoint else {}

        def gradient(solve=solve, func=func, y0=y0, t=t, h=h, kw=kw, params=params):
            sol = solve(func, y0, t, method="rk4", options={"step_size": h}, **kw)
            loss = (sol ** 2).mean()
            for p in params:
                p.grad = None
            loss.backward()

        out.append(f"{time_it(gradient, repeats) * 1e3:.1f}")
    return " / ".join(out) + " ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 20, 40 (for tests)")
    parser.add_argument("--steps", type=str, default=None, help="comma-separated step counts")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=("LV", "NODE"), default=None, help="one workload")
    args = parser.parse_args()
    steps = ([20, 40] if args.quick else [100, 200, 400, 800, 1600]) if args.steps is None \
        else [int(s) for s in args.steps.split(",")]
    repeats = 1 if args.quick else args.repeats
    print("| workload | RK4 steps | direct: CPU ms per gradient | adjoint: CPU ms per gradient | "
          "direct: peak MB | adjoint: peak MB | torchdiffeq direct / adjoint |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, make in (("LV", lv_problem), ("NODE", node_problem)):
        if args.only not in (None, name):
            continue
        for n in steps:
            times = [time_it(make(n, adj), repeats) * 1e3 for adj in (False, True)]
            mems = [peak_memory(make(n, adj)) / 1e6 for adj in (False, True)]
            print(f"| {name} | {n} | {times[0]:.0f} | {times[1]:.0f} | {mems[0]:.2f} | "
                  f"{mems[1]:.2f} | {torchdiffeq_row(name, n, repeats)} |", flush=True)


if __name__ == "__main__":
    main()
