"""Jacobians in forward and reverse mode: microgradnet against JAX (when installed).

Two cases (issue 13):
- the pendulum of ``examples/custom_nonlinear_system.py`` (its ``simulate`` and ``rk4_step``,
  imported, run with microgradnet and with ``jax.numpy``): 363 angles (121 time points × 3
  pendulums, 120 Runge–Kutta steps) with respect to 2 parameters (L, c);
- a square case: y = tanh(W x) + x / 2 with W a fixed 200 × 200 matrix, x of 200 elements.

Each Jacobian is computed by ``jacfwd`` (forward mode: one column per input element) and by
``jacrev`` (reverse mode: one row per output element). Every case runs once untimed, then
``--repeat`` times (a case slower than 20 s stops after 3 runs), and the **median** is printed,
as wall clock and as process CPU time (the CPU time of all the process's threads: the steadier
figure on a shared machine). JAX is an optional, benchmark-only peer (``pip install jax``,
float64 enabled): its ``jacfwd``/``jacrev`` run un-jitted ("eager": the same Python code op by
op, after the warm-up call) and ``jax.jit``-compiled, the pendulum as a ``lax.scan`` over
``rk4_step`` (compile times are printed apart; ``--compile-unrolled`` also times compiling the
unrolled loop). Every JAX result is waited for (``block_until_ready``) and compared with
microgradnet's.

    python benchmarks/jacobian.py                # all cases
    python benchmarks/jacobian.py --quick        # 1 run each, the pendulum reverse mode skipped
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "examples")]

from custom_nonlinear_system import STEPS, THETA0, rk4_step, simulate  # noqa: E402

import microgradnet as mg  # noqa: E402

W = np.random.default_rng(0).normal(size=(200, 200)) / np.sqrt(200)
X200 = np.random.default_rng(1).normal(size=200)
P0 = np.array([1.4, 0.2])
SLOW_BUDGET = 20.0  # seconds: a slow case stops repeating after this (3 runs at least)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, int, Any]:
    """Median wall and CPU seconds of ``fn()`` over the runs, their number, the last result."""
    out = fn()  # warm-up (untimed)
    walls, cpus = [], []
    spent = 0.0
    while len(walls) < repeat and not (len(walls) >= 3 and spent > SLOW_BUDGET):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        spent += walls[-1]
    return statistics.median(walls), statistics.median(cpus), len(walls), out


def microgradnet_cases(quick: bool) -> dict[str, Callable[[], Any]]:
    F = mg.functional
    theta0 = mg.tensor(THETA0, dtype=mg.float64)

    def pend(p: Any) -> Any:
        return mg.stack(simulate(p[0], p[1], theta0)).reshape(-1)

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


def jax_cases(compile_unrolled: list[int]) -> tuple[dict[str, Callable[[], Any]],
                                                   dict[str, float]] | str:
    """The JAX cases and the jit compile times (CPU seconds), or why there are none.

    The pendulum runs eagerly as the example's own Python loop; jitted, it runs as a
    ``lax.scan`` over the example's ``rk4_step`` (the form JAX recommends: XLA's compile time
    of the unrolled 120-step loop grows faster than linearly with the number of steps,
    jax-ml/jax#2777; ``--compile-unrolled`` measures it).
    """
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return "not installed"
    jax.config.update("jax_enable_x64", True)
    theta0 = jnp.asarray(THETA0, dtype=jnp.float64)

    def pend(p: Any, steps: int = STEPS) -> Any:
        return jnp.stack(simulate(p[0], p[1], theta0, steps, xp=jnp)).reshape(-1)

    def pend_scan(p: Any) -> Any:
        def body(state: Any, _: Any) -> Any:
            theta, omega = rk4_step(*state, p[0], p[1], xp=jnp)
            return (theta, omega), theta

        _, thetas = jax.lax.scan(body, (theta0, jnp.zeros_like(theta0)), length=STEPS)
        return jnp.concatenate([theta0[None], thetas]).reshape(-1)

    w = jnp.asarray(W)

    def square(x: Any) -> Any:
        return jnp.tanh(w @ x) + x * 0.5

    def compiled(f: Callable[[Any], Any], arg: Any, key: str) -> Callable[[Any], Any]:
        c0 = time.process_time()
        fn = jax.jit(f).lower(arg).compile()
        compile_s[key] = time.process_time() - c0
        return fn

    p, x = jnp.asarray(P0), jnp.asarray(X200)
    cases: dict[str, Callable[[], Any]] = {}
    compile_s: dict[str, float] = {}
    for name, f, fj, arg in (("pendulum 363x2", pend, pend_scan, p),
                             ("square 200x200", square, square, x)):
        for mode, transform in (("jacfwd", jax.jacfwd), ("jacrev", jax.jacrev)):
            eager = transform(f)
            cases[f"{name} {mode} eager"] = lambda g=eager, a=arg: jax.block_until_ready(g(a))
            key = f"{name} {mode} jit" + (" (scan)" if fj is not f else "")
            jitted = compiled(transform(fj), arg, key)
            cases[key] = lambda g=jitted, a=arg: jax.block_until_ready(g(a))
    for steps in compile_unrolled:
        compiled(jax.jacfwd(lambda q, n=steps: pend(q, n)), p,
                 f"pendulum, {steps} steps unrolled, jacfwd jit")
    return cases, compile_s


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--compile-unrolled", default="", metavar="N,N,...",
                    help="also time JAX's jit compile of the unrolled pendulum loop cut to N "
                         "steps (slow: grows faster than linearly)")
    args = ap.parse_args()
    repeat = 1 if args.quick else args.repeat
    print(f"python {platform.python_version()}, numpy {np.__version__}, microgradnet "
          f"{getattr(mg, '__version__', '?')}; load average {os.getloadavg()[0]:.2f}")
    results: dict[str, Any] = {}
    print(f"{'case (median of runs)':50s} {'wall s':>9s} {'cpu s':>9s} {'runs':>5s}")
    for name, fn in microgradnet_cases(args.quick).items():
        wall, cpu, n, out = timed(fn, repeat)
        results[name] = out
        print(f"microgradnet {name:37s} {wall:9.4f} {cpu:9.4f} {n:5d}")
    a = results["square 200x200 jacfwd"]
    b = results["square 200x200 jacrev"]
    assert np.allclose(a, b, rtol=1e-10, atol=1e-12), "forward and reverse mode disagree"
    jc = jax_cases([int(n) for n in args.compile_unrolled.split(",") if n])
    if isinstance(jc, str):
        print(f"jax: {jc}")
    else:
        import jax

        cases, compile_s = jc
        print(f"jax {jax.__version__} ({jax.default_backend()}, float64)")
        for name, fn in cases.items():
            wall, cpu, n, out = timed(fn, repeat)
            ours = results[" ".join(name.split(" ")[:2]) + " jacfwd"]
            same = "equal" if np.allclose(np.asarray(out), ours, rtol=1e-9, atol=1e-12) \
                else "DIFFERS"
            print(f"jax {name:46s} {wall:9.4f} {cpu:9.4f} {n:5d}  {same}")
        for name, cpu in compile_s.items():
            print(f"jax compile: {name:37s} {'':9s} {cpu:9.4f}")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
