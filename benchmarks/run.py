"""Run the benchmark suite (issue 6): W1-W7 for microgradnet and its peers, one command.

    python benchmarks/run.py [--quick] [--only W1,W3] [--frameworks microgradnet,torch]
                             [--threads 1|2] [--python PATH] [--json out.json]

Each framework runs each workload in its own fresh process (``harness.py``), which prints JSON;
this parent collects the results, prints a table of figures, a table of ratios (microgradnet's
time or memory divided by each peer's) and the issue's targets with pass/fail, and writes
everything to ``benchmarks/results/<timestamp>.json``. Figures taken while other processes kept
the CPUs busy are marked with ``*``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import workloads as wl  # noqa: E402

FRAMEWORKS = ("microgradnet", "numpy", "torch", "autograd", "mygrad", "micrograd")
MG = "microgradnet"

#: Table rows: (row id, label, unit shown, factor from the measured SI unit to the shown one).
ROWS: list[tuple[str, str, str, float]] = [
    ("W1", "W1 XOR 2-4-1 sigmoid, batch 4", "us/step", 1e6),
    ("W2", "W2 moons 2-16-16-1 tanh, batch 100", "us/step", 1e6),
    ("W3", "W3 64-128-10 relu + CE, batch 64", "us/step", 1e6),
    ("W4", "W4 784-1024-1024-10 relu + CE, b 256", "ms/step", 1e3),
    ("W1c", "W1c W1 with mg.compile", "us/step", 1e6),
    ("W2c", "W2c W2 with mg.compile", "us/step", 1e6),
    ("W3c", "W3c W3 with mg.compile", "us/step", 1e6),
    ("W4c", "W4c W4 with mg.compile", "ms/step", 1e3),
    ("W5 record", "W5 tiny add, recording", "us/op", 1e6),
    ("W5 no_grad", "W5 tiny add, no_grad (numpy: raw)", "us/op", 1e6),
    ("W6 10k time", "W6 10k-op chain, fwd+bwd", "ms", 1e3),
    ("W6 10k mem", "W6 10k-op chain, peak memory", "MB", 1.0),
    ("W6 100k time", "W6 100k-op chain, fwd+bwd", "s", 1.0),
    ("W6 100k mem", "W6 100k-op chain, peak memory", "MB", 1.0),
    ("W7", "W7 peak memory of W4 steps", "MB", 1.0),
]
#: A compiled row is compared with the peers' figures of the eager workload it compiles.
PEER_ROW = {f"W{i}c": f"W{i}" for i in range(1, 5)}
ROW_JOB = {"W5 record": "W5", "W5 no_grad": "W5", "W6 10k time": "W6:10000",
           "W6 10k mem": "W6:10000", "W6 100k time": "W6:100000", "W6 100k mem": "W6:100000"}

#: The issue's targets: (row, peer, kind, bound). "max": microgradnet / peer <= bound;
#: "speedup": peer / microgradnet >= bound; "ok": microgradnet ran without error.
TARGETS: list[tuple[str, str | None, str, float]] = [
    ("W1", "torch", "max", 0.4),
    ("W2", "torch", "max", 0.4),
    ("W2", "micrograd", "speedup", 1000.0),
    ("W3", "torch", "max", 0.8),
    ("W4", "numpy", "max", 1.10),
    ("W5 record", "torch", "max", 0.5),
    ("W5 no_grad", "torch", "max", 0.75),
    ("W6 10k time", None, "ok", 0.0),
    ("W6 100k time", None, "ok", 0.0),
    ("W6 100k time", "torch", "max", 0.5),
    ("W7", "numpy", "max", 1.25),
    # issue 16: the compiled step (mg.compile) against the eager peers
    ("W1c", "torch", "max", 0.25),
    ("W1c", "numpy", "max", 1.3),
    ("W2c", "torch", "max", 0.25),
    ("W2c", "numpy", "max", 1.3),
    ("W3c", "torch", "max", 0.4),
    ("W4c", "numpy", "max", 1.03),
]

LOADED_CORES = 0.25  # other processes' CPU use (in cores) above which a figure is marked
LOSS_RTOL = 2e-3  # float32 losses of different frameworks after CHECK_STEPS steps


# -- running the children ---------------------------------------------------------------------


def _cpu_busy() -> float | None:
    """Seconds of CPU time the whole machine has spent busy since boot (Linux), else None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def child_env(threads: int, job: str | None = None) -> dict[str, str]:
    """The environment of a child: BLAS/OpenMP thread counts, this checkout importable.

    For W7, glibc's malloc gets a fixed mmap threshold: large arrays are then always mapped
    and unmapped, so the peak RSS follows the live arrays instead of what the allocator kept.
    """
    env = dict(os.environ)
    if job == "W7":
        env["MALLOC_MMAP_THRESHOLD_"] = "131072"
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env[var] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env["PYTHONHASHSEED"] = "0"
    return env


def run_child(python: str, framework: str, args: list[str], threads: int,
              timeout: float) -> dict[str, Any]:
    """Run ``harness.py FRAMEWORK ARGS`` in a fresh process; its JSON plus how loaded the box was.

    ``load`` is the CPU time other processes used while the child ran, in cores (0 = idle
    machine apart from this suite), measured from ``/proc/stat`` minus the child's own CPU time.
    """
    cmd = [python, str(HERE / "harness.py"), framework, *args, "--threads", str(threads)]
    busy0, kids0, t0 = _cpu_busy(), _children_cpu(), time.perf_counter()
    try:
        job = args[args.index("--job") + 1] if "--job" in args else None
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env=child_env(threads, job), cwd=str(REPO))
    except subprocess.TimeoutExpired:
        return {"status": "error", "error": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - t0
    busy1, kids1 = _cpu_busy(), _children_cpu()
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    try:
        out = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        out = {"status": "error", "error": f"exit {proc.returncode}: " + " | ".join(tail)}
    other = None
    if busy0 is not None and busy1 is not None and wall > 0:
        other = max(0.0, (busy1 - busy0) - (kids1 - kids0)) / wall
    out["wall_s"] = wall
    out["other_load_cores"] = other
    out["loadavg_1min"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    out["loaded"] = _is_loaded(other, out["loadavg_1min"], threads)
    return out


def _is_loaded(other: float | None, loadavg: float | None, threads: int) -> bool:
    if other is not None:
        return other > LOADED_CORES
    return loadavg is not None and loadavg > threads + 0.5


# -- aggregating ------------------------------------------------------------------------------


def ratio(results: dict, row: str, peer: str) -> float | None:
    """microgradnet's figure divided by ``peer``'s on ``row`` (None if either is missing)."""
    a = results.get(row, {}).get(MG)
    b = results.get(PEER_ROW.get(row, row), {}).get(peer)
    if not a or not b or a.get("status") != "ok" or b.get("status") != "ok" or not b["value"]:
        return None
    return a["value"] / b["value"]


def evaluate_targets(results: dict) -> list[dict[str, Any]]:
    """Each target of the issue with the measured ratio and PASS/FAIL (None when not measured)."""
    out = []
    for row, peer, kind, bound in TARGETS:
        label = dict((r[0], r[1]) for r in ROWS)[row].split(",")[0]
        mine = results.get(row, {}).get(MG)
        if kind == "ok":
            passed = None if mine is None else mine.get("status") == "ok"
            out.append({"row": row, "target": f"{label}: microgradnet runs without error",
                        "measured": None if mine is None else mine.get("status"),
                        "pass": passed})
            continue
        r = ratio(results, row, peer)
        if kind == "speedup":
            measured = None if r is None else 1 / r
            text = f"{label}: {peer} / microgradnet >= {bound:g}"
            passed = None if measured is None else measured >= bound
        else:
            measured = r
            text = f"{label}: microgradnet / {peer} <= {bound:g}"
            passed = None if r is None else r <= bound
        loaded = passed is not None and any(
            results.get(r, {}).get(f, {}).get("loaded")
            for r, f in ((row, MG), (PEER_ROW.get(row, row), peer)))
        out.append({"row": row, "target": text, "measured": measured, "bound": bound,
                    "pass": passed, "loaded": loaded})
    return out


def loss_checks(results: dict, frameworks: list[str]) -> list[str]:
    """Notes for frameworks whose loss after the check steps differs from the reference's."""
    notes = []
    for key in [*wl.MLPS, *PEER_ROW]:
        cells = results.get(PEER_ROW.get(key, key), {})
        ref_fw = next((f for f in ("numpy", MG) if f in cells and "loss_check" in cells[f]), None)
        if ref_fw is None:
            continue
        ref = cells[ref_fw]["loss_check"]
        for fw in frameworks:
            got = results.get(key, {}).get(fw, {}).get("loss_check")
            if got is not None and not math.isclose(got, ref, rel_tol=LOSS_RTOL, abs_tol=1e-6):
                notes.append(f"{key}: {fw} loss after {wl.CHECK_STEPS} steps is {got:.6g}, "
                             f"{ref_fw}'s is {ref:.6g} (they should compute the same step)")
    return notes


# -- printing ---------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _cell(cell: dict | None, factor: float) -> str:
    if cell is None:
        return "-"
    if cell.get("status") == "skipped":
        return "skipped"
    if cell.get("status") != "ok":
        err = cell.get("error", "error")
        return "RecursionError" if err.startswith("RecursionError") else "error"
    return _fmt(cell["value"] * factor) + ("*" if cell.get("loaded") else "")


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                               for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def render(report: dict) -> str:
    """The three tables (figures, ratios, targets) and the notes, as plain text."""
    fws, results = report["frameworks_run"], report["results"]
    rows = [r for r in ROWS if r[0] in results]
    figures = _table(["workload", "unit", *fws],
                     [[label, unit, *(_cell(results[rid].get(f), k) for f in fws)]
                      for rid, label, unit, k in rows])
    peers = [f for f in fws if f != MG]
    ratios = _table(["microgradnet / peer", *peers],
                    [[label, *("-" if (r := ratio(results, rid, p)) is None else f"{r:.3g}x"
                               for p in peers)] for rid, label, _, _ in rows])
    tgt = _table(["target (issue 6), Wnc: issue 16", "measured", "result"],
                 [[t["target"],
                   "-" if t["measured"] is None else
                   (t["measured"] if isinstance(t["measured"], str) else f"{t['measured']:.3g}"),
                   {True: "PASS", False: "FAIL", None: "n/a"}[t["pass"]]
                   + ("*" if t.get("loaded") else "")] for t in report["targets"]])
    notes = "\n".join(f"note: {n}" for n in report["notes"])
    meta = report["meta"]
    head = (f"microgradnet benchmark suite - {meta['date']} - {meta['machine']}, "
            f"{meta['threads']} BLAS thread(s), {meta['clock']} clock, "
            f"{'quick' if meta['quick'] else 'full'} run")
    return "\n\n".join(s for s in [head, figures, ratios, tgt, notes,
                                   "* = other processes used more than "
                                   f"{LOADED_CORES} of a core while this was measured"] if s)


# -- main -------------------------------------------------------------------------------------


def _source() -> dict[str, Any]:
    """Which microgradnet the children import: this checkout, its commit, uncommitted edits."""
    def git(*a: str) -> str | None:
        try:
            r = subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True,
                               timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    return {"path": str(REPO), "commit": git("rev-parse", "--short", "HEAD"),
            "uncommitted_changes": bool(git("status", "--porcelain", "microgradnet"))}


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="few repeats: proves it runs, ~1 min")
    p.add_argument("--only", help="comma-separated workloads, e.g. W1,W3,W6 (W6:10000 for "
                   "one depth)")
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                   help=f"comma-separated, default {','.join(FRAMEWORKS)}")
    p.add_argument("--threads", type=int, choices=(1, 2), default=1,
                   help="BLAS/OpenMP threads in every child (default 1)")
    p.add_argument("--python", default=sys.executable,
                   help="interpreter the children run (one with the peers installed)")
    p.add_argument("--json", type=Path, help="also write the JSON report here")
    p.add_argument("--results-dir", type=Path, default=HERE / "results",
                   help="where the timestamped JSON report goes (default benchmarks/results)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="time figures from the wall clock (default) or from the measuring "
                   "process's CPU time, steadier on a loaded machine (only with --threads 1)")
    p.add_argument("--timeout", type=float, default=None, help="seconds per job")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    """Run the suite as the arguments say; return the report that was printed and written."""
    args = parse_args(argv)
    only = None if not args.only else {w.strip().upper() for w in args.only.split(",")}
    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = set(frameworks) - set(FRAMEWORKS)
    if unknown:
        sys.exit(f"run.py: unknown framework(s) {sorted(unknown)}; known: {FRAMEWORKS}")
    if args.clock == "cpu" and args.threads != 1:
        sys.exit("run.py: --clock cpu adds up the CPU time of all threads; use --threads 1")
    timeout = args.timeout or (120.0 if args.quick else 900.0)
    started = _dt.datetime.now()
    info: dict[str, dict] = {}
    results: dict[str, dict[str, dict]] = {}
    for fw in frameworks:
        probe = run_child(args.python, fw, ["--probe"], args.threads, timeout)
        info[fw] = {k: v for k, v in probe.items() if k not in ("jobs",)}
        if probe.get("status") != "ok":
            print(f"[{fw}] {probe.get('status')}: {probe.get('reason') or probe.get('error')}",
                  file=sys.stderr)
            continue
        jobs = [j for j in probe["jobs"]
                if only is None or j.upper() in only or j.split(":")[0].upper() in only]
        for job in jobs:
            out = run_child(args.python, fw, ["--job", job, *(["--quick"] * args.quick)],
                            args.threads, timeout)
            rows = out.pop("rows", None) or [
                {"case": rid, "status": "error", "error": out.get("error", "no result")}
                for rid, *_ in ROWS if ROW_JOB.get(rid, rid) == job]
            for row in rows:
                cell = {"status": "ok", **{k: v for k, v in out.items() if k != "traceback"},
                        **row}
                if args.clock == "cpu" and "cpu" in cell:
                    cell["wall"], cell["value"] = cell["value"], cell["cpu"]
                results.setdefault(row["case"], {})[fw] = cell
                k = next((r[3] for r in ROWS if r[0] == row["case"]), 1.0)
                unit = next((r[2] for r in ROWS if r[0] == row["case"]), "")
                shown = _cell(cell, k)
                print(f"[{fw}] {row['case']}: "
                      + (f"{shown} {unit}" if cell["status"] == "ok" else cell.get("error")),
                      file=sys.stderr)
    report = {
        "meta": {
            "date": started.strftime("%Y-%m-%d %H:%M"),
            "command": "python benchmarks/run.py " + " ".join(argv if argv is not None
                                                              else sys.argv[1:]),
            "machine": _machine(), "python": platform.python_version(), "source": _source(),
            "interpreter": args.python, "threads": args.threads, "quick": args.quick,
            "clock": args.clock,
            "duration_s": round((_dt.datetime.now() - started).total_seconds(), 1),
        },
        "frameworks": info,
        "frameworks_run": [f for f in frameworks if info.get(f, {}).get("status") == "ok"],
        "results": results,
    }
    report["targets"] = [t for t in evaluate_targets(results) if t["row"] in results]
    report["notes"] = loss_checks(results, frameworks) + [
        f"{fw}: {d.get('status')} ({d.get('reason') or d.get('error')})"
        for fw, d in info.items() if d.get("status") != "ok"]
    print(render(report), flush=True)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"{started.strftime('%Y%m%d-%H%M%S')}.json"
    for target in [path, *([args.json] if args.json else [])]:
        target.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nwritten: {path}" + (f" and {args.json}" if args.json else ""), file=sys.stderr)
    return report


if __name__ == "__main__":
    main()
