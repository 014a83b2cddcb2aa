"""benchmarks/bench_ode.py runs and prints its table (no speed is asserted; the adjoint's flat
memory is, since it is the point of the method)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_quick_benchmark_prints_a_row_per_workload_and_step_count() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_ode.py"), "--quick"],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line.split("|")[1:-1] for line in proc.stdout.splitlines()
            if line.startswith("| LV") or line.startswith("| NODE")]
    assert [(r[0].strip(), int(r[1])) for r in rows] == [("LV", 20), ("LV", 40), ("NODE", 20),
                                                        ("NODE", 40)]
    for name in ("LV", "NODE"):
        (short, long) = [r for r in rows if r[0].strip() == name]
        direct = float(short[4]), float(long[4])
        adjoint = float(short[5]), float(long[5])
        assert direct[1] > 1.5 * direct[0]       # the graph grows with the steps
        assert adjoint[1] < 1.2 * adjoint[0] + 0.01  # the adjoint's memory does not
