"""Every example runs in its quick mode (a couple of seconds each) and prints its result."""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# example -> text its quick run must print (shows it reached its point, not just exited 0)
EXPECTED = {
    "xor.py": "the explicit loop and fit agree",
    "moons_classifier.py": "validation accuracy",
    "digits.py": "test accuracy",
    "custom_nonlinear_system.py": "5 iterations (6 simulations, 5 Jacobians)",
    "lotka_volterra.py": "both recover the parameters within 5%",
    "neural_ode.py": "from 4.2359 down to 0.6733",
    "custom_op.py": "gradcheck(WrongSoftsign) failed as it should",
    "hessian_newton.py": "Newton reached (1, 1)",
    "under_over_fitting.py": "too many",
}


def _run(name: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(EXAMPLES.parent))
    return subprocess.run([sys.executable, str(EXAMPLES / name), "--quick"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_every_example_is_tested() -> None:
    on_disk = {p.name for p in EXAMPLES.glob("*.py")} - {"quickstart.py"}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_quickly(name: str, tmp_path: Path) -> None:
    if name == "digits.py" and importlib.util.find_spec("sklearn") is None:
        pytest.skip("digits needs scikit-learn (the datasets extra)")
    result = _run(name, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert EXPECTED[name] in result.stdout, result.stdout[-2000:]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_docstring_quotes_a_full_run(name: str) -> None:
    doc = ast.get_docstring(ast.parse((EXAMPLES / name).read_text()))
    assert doc and "Full run" in doc and "--quick" in doc
    quoted = doc.split("Full run", 1)[1].splitlines()[2:]
    assert len([line for line in quoted if line.strip() not in ("", "...")]) >= 3
