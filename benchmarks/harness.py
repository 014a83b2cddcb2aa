"""The child side of the suite: run one workload of one framework and print the result as JSON.

``run.py`` starts ``python benchmarks/harness.py FRAMEWORK --probe`` once per framework and
``python benchmarks/harness.py FRAMEWORK --job W3`` once per workload, each in a fresh process,
so thread pools, allocators and the garbage collector of one framework never disturb another.

A framework module ``bench_<name>.py`` provides (each optional except ``setup``):

- ``setup(threads) -> dict``: import the framework, set its thread count, return its version;
- ``mlp(spec, X, y, init) -> (step, to_float)``: ``step()`` runs one training step
  (zero_grad, forward, loss, backward, SGD-with-momentum update) and returns the loss;
- ``op_loops(a, b) -> {"record": run, "no_grad": run}``: ``run(n)`` adds two tiny tensors n times;
- ``chain(depth) -> run``: ``run()`` builds a chain of ``depth`` elementwise ops and backprops it;
- ``blas_warmup(spec)``: one matmul of each W4 layer size, so W7 does not count BLAS buffers.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import os
import resource
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np
import workloads as wl

# -- time -------------------------------------------------------------------------------------


def time_loop(run: Callable[[int], Any], budget: wl.Budget, warmup: int | None = None) -> dict:
    """Median seconds per iteration of ``run(n)`` (which runs n iterations), after warm-up.

    Both clocks are kept: wall time (``value``) and this process's CPU time (``cpu``), which
    other processes loading the machine disturb much less when the work is single-threaded.

    The iterations per repeat are set so one repeat lasts ``budget.repeat_time``; fewer repeats
    are taken when they would exceed ``budget.job_time`` (never fewer than ``min_repeats``).
    """
    run(budget.warmup if warmup is None else warmup)
    gc.collect()
    n, elapsed, cpu = 1, 0.0, 0.0
    while True:  # calibrate, like timeit's autorange
        t0, c0 = time.perf_counter(), time.process_time()
        run(n)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        if elapsed >= min(0.02, budget.repeat_time) or n >= 10**7:
            break
        n *= 10
    per = elapsed / n
    number = max(1, math.ceil(budget.repeat_time / per)) if per > 0 else 1
    fit = int(budget.job_time / (number * per)) if per > 0 else budget.repeats
    repeats = max(budget.min_repeats, min(budget.repeats, fit))
    slow = n == number == 1  # a calibration run as long as a repeat is a sample too
    samples = [elapsed] if slow else []
    cpu_samples = [cpu] if slow else []
    while len(samples) < repeats:
        t0, c0 = time.perf_counter(), time.process_time()
        run(number)
        cpu_samples.append((time.process_time() - c0) / number)
        samples.append((time.perf_counter() - t0) / number)
    return {"value": statistics.median(samples), "cpu": statistics.median(cpu_samples),
            "samples": samples, "cpu_samples": cpu_samples, "number": number,
            "repeats": len(samples)}


def repeat_step(step: Callable[[], Any]) -> Callable[[int], None]:
    """Turn a one-step function into the ``run(n)`` that :func:`time_loop` times."""
    def run(n: int) -> None:
        for _ in range(n):
            step()
    return run


# -- memory -----------------------------------------------------------------------------------

_KB = 1024 if sys.platform.startswith("linux") else 1  # ru_maxrss: KiB on Linux, bytes on macOS


def rss_now() -> int:
    """Resident memory of this process now, in bytes (peak so far where /proc is absent)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _KB


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss() -> int:
    """Peak resident memory of this process (since the last :func:`reset_peak`), in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _KB


def measure_peak(fn: Callable[[], Any]) -> dict:
    """Peak RSS while ``fn()`` runs, minus the RSS just before it (MB)."""
    gc.collect()
    exact = reset_peak()
    base = rss_now() if exact else peak_rss()
    fn()
    peak = peak_rss()
    return {"value": max(0, peak - base) / 2**20, "baseline_mb": base / 2**20,
            "method": "ru_maxrss after clear_refs" if exact else "ru_maxrss delta"}


# -- workloads --------------------------------------------------------------------------------


def job_mlp(mod: Any, key: str, budget: wl.Budget) -> dict:
    """W1-W4: seconds per training step, and the loss after CHECK_STEPS steps. W1c-W4c: the
    same step through the framework's compiler (``mlp_compiled``)."""
    compiled = key.endswith("c")
    spec = wl.MLPS[key.removesuffix("c")]
    X, y = wl.mlp_data(spec)
    make = mod.mlp_compiled if compiled else mod.mlp
    step, to_float = make(spec, X, y, wl.mlp_init(spec))
    loss = None
    for _ in range(wl.CHECK_STEPS):
        loss = step()
    check = to_float(loss)
    timing = time_loop(repeat_step(step), budget, warmup=max(0, budget.warmup - wl.CHECK_STEPS))
    return {"rows": [{"case": key, "unit": "s", **timing}], "loss_check": check}


def job_memory(mod: Any, budget: wl.Budget) -> dict:
    """W7: peak RSS over MEMORY_STEPS W4 steps, minus the RSS after imports, model and data."""
    spec = wl.MLPS["W4"]
    X, y = wl.mlp_data(spec)
    step, to_float = mod.mlp(spec, X, y, wl.mlp_init(spec))
    getattr(mod, "blas_warmup", numpy_blas_warmup)(spec)

    def steps() -> None:
        for _ in range(wl.MEMORY_STEPS):
            step()

    mem = measure_peak(steps)
    return {"rows": [{"case": "W7", "unit": "MB", **mem}]}


def numpy_blas_warmup(spec: wl.MLPSpec) -> None:
    """One matmul of each layer shape and its transposes (the BLAS work buffers get touched)."""
    rng = np.random.default_rng(0)
    for fan_in, fan_out in zip(spec.sizes[:-1], spec.sizes[1:]):
        a = rng.standard_normal((spec.batch, fan_in)).astype(wl.DTYPE)
        w = rng.standard_normal((fan_in, fan_out)).astype(wl.DTYPE)
        out = a @ w
        _ = a.T @ out
        _ = out @ w.T


def job_ops(mod: Any, budget: wl.Budget) -> dict:
    """W5: seconds per tiny add, recording and under no_grad (raw NumPy for the numpy module)."""
    a, b = wl.op_operands()
    rows = [{"case": f"W5 {variant}", "unit": "s", **time_loop(run, budget)}
            for variant, run in mod.op_loops(a, b).items()]
    return {"rows": rows}


def job_chain(mod: Any, depth: int, budget: wl.Budget) -> dict:
    """W6: forward + backward of a ``depth``-long elementwise chain: time and peak memory."""
    label = f"{depth // 1000}k"
    run_once = mod.chain(depth)
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        mem = measure_peak(run_once)  # the first run doubles as the warm-up
        first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
    except RecursionError as e:
        err = f"RecursionError: {e}"
        return {"rows": [{"case": f"W6 {label} time", "status": "error", "error": err},
                         {"case": f"W6 {label} mem", "status": "error", "error": err}]}
    if budget.chain_timed:
        timing = time_loop(repeat_step(run_once), budget, warmup=0)
    else:  # quick: the one (cold) run is the figure
        timing = {"value": first, "cpu": first_cpu, "samples": [first],
                  "cpu_samples": [first_cpu], "number": 1, "repeats": 1}
    return {"rows": [{"case": f"W6 {label} time", "unit": "s", **timing},
                     {"case": f"W6 {label} mem", "unit": "MB", **mem}]}


def run_job(mod: Any, job: str, budget: wl.Budget) -> dict:
    """Dispatch one job name (``W1``..``W5``, ``W6:10000``, ``W7``) to its measurement."""
    if job in wl.MLPS or (job.endswith("c") and job[:-1] in wl.MLPS):
        return job_mlp(mod, job, budget)
    if job == "W5":
        return job_ops(mod, budget)
    if job.startswith("W6:"):
        return job_chain(mod, int(job.split(":")[1]), budget)
    if job == "W7":
        return job_memory(mod, budget)
    raise ValueError(f"unknown job {job!r}")


def supported_jobs(mod: Any) -> list[str]:
    """The jobs a framework module can run, from the functions it defines."""
    jobs = [k for k in wl.MLPS if hasattr(mod, "mlp") and k in getattr(mod, "MLP_KEYS", wl.MLPS)]
    jobs += [f"{k}c" for k in wl.MLPS if hasattr(mod, "mlp_compiled")]
    if hasattr(mod, "op_loops"):
        jobs.append("W5")
    if hasattr(mod, "chain"):
        jobs += [f"W6:{d}" for d in wl.CHAIN_DEPTHS]
    if hasattr(mod, "mlp") and "W4" in getattr(mod, "MLP_KEYS", wl.MLPS):
        jobs.append("W7")
    return jobs


def main(argv: list[str] | None = None) -> int:
    """Parse the child's arguments, run the probe or one job, print one JSON line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("framework")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--probe", action="store_true")
    g.add_argument("--job")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    try:
        mod = importlib.import_module(f"bench_{args.framework}")
        info = mod.setup(args.threads)
    except ModuleNotFoundError as e:
        print(json.dumps({"status": "skipped", "reason": f"not installed ({e.name})"}))
        return 0
    if args.probe:
        print(json.dumps({"status": "ok", **info, "jobs": supported_jobs(mod)}))
        return 0
    budget = wl.QUICK if args.quick else wl.FULL
    cpu0 = time.process_time()
    try:
        out = run_job(mod, args.job, budget)
    except Exception as e:  # report, don't crash: the parent prints the reason in the table
        print(json.dumps({"status": "error", "error": f"{type(e).__name__}: {e}",
                          "traceback": traceback.format_exc(limit=8)}))
        return 0
    out.update(status="ok", cpu_s=time.process_time() - cpu0, api=info.get("api"))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
