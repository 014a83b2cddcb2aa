"""The benchmark suite runs and writes a valid report (no speed is asserted: timing belongs in
``benchmarks/``, never in tests)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUN = REPO / "benchmarks" / "run.py"


def _load_run_module():
    spec = importlib.util.spec_from_file_location("microgradnet_bench_run", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_suite_runs_for_microgradnet_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--frameworks", "microgradnet",
         "--only", "W1,W3,W5,W6:10000,W7", "--results-dir", str(tmp_path), "--json", str(out)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert "W1 XOR" in proc.stdout and "target (issue 6)" in proc.stdout
    report = json.loads(out.read_text())
    stamped = [p for p in tmp_path.glob("*.json") if p != out]
    assert len(stamped) == 1 and json.loads(stamped[0].read_text()) == report

    assert report["meta"]["quick"] is True and report["meta"]["threads"] == 1
    assert report["frameworks"]["microgradnet"]["status"] == "ok"
    rows = {"W1", "W3", "W5 record", "W5 no_grad", "W6 10k time", "W6 10k mem", "W7"}
    assert set(report["results"]) == rows
    for row in rows:
        cell = report["results"][row]["microgradnet"]
        assert cell["status"] == "ok", (row, cell.get("error"))
        assert math.isfinite(cell["value"]) and cell["value"] >= 0, (row, cell)
        if not row.endswith(("mem", "W7")):
            assert cell["value"] > 0 and cell["repeats"] >= 1, (row, cell)
    for key in ("W1", "W3"):
        assert math.isfinite(report["results"][key]["microgradnet"]["loss_check"])
    ok = [t for t in report["targets"] if t["row"] == "W6 10k time"]
    assert ok and ok[0]["pass"] is True


def test_targets_and_loss_checks_are_judged_from_the_figures() -> None:
    run = _load_run_module()

    def cell(value: float, **kw: object) -> dict:
        return {"status": "ok", "value": value, **kw}

    results = {
        "W1": {"microgradnet": cell(90e-6, loss_check=0.25), "torch": cell(237e-6),
               "numpy": cell(33e-6, loss_check=0.25)},
        "W2": {"microgradnet": cell(200e-6), "torch": cell(315e-6), "micrograd": cell(1.16)},
        "W4": {"microgradnet": cell(20e-3), "numpy": cell(15e-3)},
        "W6 100k time": {"microgradnet": {"status": "error", "error": "RecursionError: x"}},
    }
    by_target = {t["target"]: t for t in run.evaluate_targets(results)}
    w1 = next(t for k, t in by_target.items() if k.startswith("W1"))
    assert w1["pass"] is True and math.isclose(w1["measured"], 90 / 237)
    w2 = [t for k, t in by_target.items() if k.startswith("W2 ")]
    assert [t["pass"] for t in w2] == [False, True]  # 0.63x torch; 5,800x faster than micrograd
    w4 = next(t for k, t in by_target.items() if k.startswith("W4"))
    assert w4["pass"] is False and math.isclose(w4["measured"], 20 / 15)
    deep = [t for t in run.evaluate_targets(results) if t["row"] == "W6 100k time"]
    assert deep[0]["pass"] is False and deep[1]["pass"] is None  # no torch figure: not judged

    assert run.loss_checks(results, ["microgradnet", "numpy"]) == []
    results["W1"]["microgradnet"]["loss_check"] = 0.26
    notes = run.loss_checks(results, ["microgradnet", "numpy"])
    assert len(notes) == 1 and "W1: microgradnet" in notes[0]


def test_the_jacobian_benchmark_runs_the_examples_pendulum() -> None:
    """benchmarks/jacobian.py imports the pendulum of examples/custom_nonlinear_system.py (one
    definition for microgradnet and JAX); its quick run checks forward against reverse mode."""
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "jacobian.py"), "--quick"],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "microgradnet pendulum 363x2 jacfwd" in proc.stdout
    assert "microgradnet square 200x200 jacrev" in proc.stdout


def test_every_instruction_count_workload_runs() -> None:
    """``benchmarks/icount.sh NAME`` runs ``opcount.py NAME N`` under valgrind: each workload
    must run (here once, without valgrind)."""
    names = ["add", "add_no_grad", "mul", "numpy_add", "chain", "w1", "w1c", "w1_numpy",
             "w2c", "w2_numpy", "w3c", "w3_numpy"]
    code = ("import sys; sys.argv = ['opcount.py', '', '1']\n"
            "import opcount\n"
            f"for name in {names!r}:\n"
            "    sys.argv[1] = name; opcount.main()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=REPO / "benchmarks",
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    script = (REPO / "benchmarks" / "icount.sh").read_text()
    for name in ("w2c", "w2_numpy", "w3c", "w3_numpy"):  # the many-step workloads' counts
        assert f"|{name}|" in script or f"|{name})" in script
