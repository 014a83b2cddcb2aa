"""Jacobians in forward and reverse mode: microgradnet against JAX (when installed).

Two cases (issue 13):
- the pendulum residuals of ``examples/custom_nonlinear_system.py``: 363 angles (121 time
  points × 3 pendulums, 120 Runge–Kutta steps) with respect to 2 parameters (L, c);
- a square case: y = tanh(W x) + x / 2 with W a fixed 200 × 200 matrix, x of 200 elements.

Each Jacobian is computed by ``jacfwd`` (forward mode: one pass per input element) and by
``jacrev`` (reverse mode: one backward sweep per output element). Times are the best of
``--repeat`` runs, as wall clock and as process CPU time (the CPU time is the steadier figure
on a shared machine). JAX is an optional, benchmark-only peer (``pip install jax``): its
``jacfwd``/``jacrev`` run un-jitted and jitted (compile time excluded: one warm-up call).

    python benchmarks/jacobian.py                # all cases, 3 repeats
    python benchmarks/jacobian.py --quick        # 1 repeat, the pendulum reverse mode skipped
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import microgradnet as mg  # noqa: E402

G, DT, STEPS, THETA0 = 9.81, 0.05, 120, (0.5, 1.5, 2.5)


def pendulum(np_: Any, sin: Callable[[Any], Any], stack: Callable[[Any], Any],
             params: Any) -> Any:
    """The 363 simulated angles (written once for microgradnet and JAX)."""
    length, friction = params[0], params[1]

    def rates(theta: Any, omega: Any) -> tuple[Any, Any]:
        return omega, -(G / length) * sin(theta) - friction * omega

    theta = np_(THETA0)
    omega = theta * 0.0
    angles = [theta]
    for _ in range(STEPS):
        k1 = rates(theta, omega)
        k2 = rates(theta + 0.5 * DT * k1[0], omega + 0.5 * DT * k1[1])
        k3 = rates(theta + 0.5 * DT * k2[0], omega + 0.5 * DT * k2[1])
        k4 = rates(theta + DT * k3[0], omega + DT * k3[1])
        theta = theta + DT / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        omega = omega + DT / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        angles.append(theta)
    return stack(angles).reshape(-1)


W = np.random.default_rng(0).normal(size=(200, 200)) / np.sqrt(200)
X200 = np.random.default_rng(1).normal(size=200)
P0 = np.array([1.4, 0.2])


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    best_wall = best_cpu = float("inf")
    out = None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best_wall, best_cpu, out


def microgradnet_cases(quick: bool) -> dict[str, Callable[[], Any]]:
    F = mg.functional

    def pend(p: Any) -> Any:
        return pendulum(lambda v: mg.tensor(v, dtype=mg.float64), mg.sin, mg.stack, p)

    def square(x: Any) -> Any:
        return mg.tanh(mg.tensor(W) @ x) + x * 0.5

    p, x = mg.tensor(P0), mg.tensor(X200)
    cases = {
        "pendulum 363x2 jacfwd": lambda: F.jacfwd(pend)(p).numpy(),
        "pendulum 363x2 jacobian(auto)": lambda: F.jacobian(pend, p).numpy(),
        "square 200x200 jacfwd": lambda: F.jacfwd(square)(x).numpy(),
        "square 200x200 jacrev": lambda: F.jacrev(square)(x).numpy(),
    }
    if not quick:
        cases["pendulum 363x2 jacrev"] = lambda: F.jacrev(pend)(p).numpy()
    return cases


def jax_cases() -> dict[str, Callable[[], Any]] | str:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return "not installed"
    jax.config.update("jax_enable_x64", True)

    def pend(p: Any) -> Any:
        return pendulum(lambda v: jnp.asarray(v, dtype=jnp.float64), jnp.sin, jnp.stack, p)

    w = jnp.asarray(W)

    def square(x: Any) -> Any:
        return jnp.tanh(w @ x) + x * 0.5

    p, x = jnp.asarray(P0), jnp.asarray(X200)
    cases = {}
    for name, f, arg in (("pendulum 363x2", pend, p), ("square 200x200", square, x)):
        for mode, tr in (("jacfwd", jax.jacfwd), ("jacrev", jax.jacrev)):
            jf = tr(f)
            cases[f"{name} {mode}"] = (lambda jf=jf, arg=arg: np.asarray(jf(arg)))
            jj = jax.jit(tr(f))
            jj(arg).block_until_ready()  # compile outside the timing
            cases[f"{name} {mode} (jit)"] = (lambda jj=jj, arg=arg: np.asarray(jj(arg)))
    return cases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    repeat = 1 if args.quick else args.repeat
    results: dict[str, Any] = {}
    print(f"{'case':44s} {'wall s':>9s} {'cpu s':>9s}")
    for name, fn in microgradnet_cases(args.quick).items():
        wall, cpu, out = timed(fn, repeat)
        results[name] = out
        print(f"microgradnet {name:31s} {wall:9.4f} {cpu:9.4f}")
    jc = jax_cases()
    if isinstance(jc, str):
        print(f"jax: {jc}")
    else:
        for name, fn in jc.items():
            wall, cpu, out = timed(fn, repeat)
            key = next((k for k in results if k.startswith(name.split(" (")[0][:14])), None)
            same = "" if key is None else (
                " (equal)" if np.allclose(out, results[key], rtol=1e-9, atol=1e-12) else
                " (DIFFERS)")
            print(f"jax {name:40s} {wall:9.4f} {cpu:9.4f}{same}")
    a = results["square 200x200 jacfwd"]
    b = results["square 200x200 jacrev"]
    assert np.allclose(a, b, rtol=1e-10, atol=1e-12), "forward and reverse mode disagree"


if __name__ == "__main__":
    main()
