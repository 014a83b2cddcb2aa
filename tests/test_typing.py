"""The public API's types are true and useful to a user's type checker (issue 12).

``tests/typing/user_script.py`` is a small user script; mypy must accept it without errors, and
each ``reveal_type`` must show the type written after ``# R:`` on its line. (``make lint`` and
CI also run mypy on the whole package with zero errors.)
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "typing" / "user_script.py"

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                                reason="needs mypy (the dev extra)")


def _normalize(t: str) -> str:
    # NumPy's stubs spell the shape of an ndarray differently from version to version, and
    # mypy versions differ in writing builtins.int or int
    t = t.replace("builtins.", "")
    return re.sub(r"numpy\.ndarray\[(?:tuple\[[^\]]*\]|Any), ", "numpy.ndarray[Any, ", t)


def test_a_user_script_sees_the_types_it_should() -> None:
    from mypy import api

    stdout, stderr, status = api.run([str(SCRIPT), "--config-file", str(ROOT / "pyproject.toml"),
                                      "--no-error-summary", "--hide-error-context"])
    lines = SCRIPT.read_text().splitlines()
    expected = {i + 1: line.split("# R:")[1].strip() for i, line in enumerate(lines)
                if "reveal_type(" in line and "# R:" in line}
    revealed, errors = {}, []
    for out in stdout.splitlines():
        m = re.match(r".*user_script\.py:(\d+): note: Revealed type is \"(.*)\"$", out)
        if m:
            revealed[int(m.group(1))] = _normalize(m.group(2))
        elif ": error:" in out and "user_script.py" in out:  # the package: make lint
            errors.append(out)
    assert not errors, "\n".join(errors)
    assert status in (0, 1), stderr  # 1: mypy counts the reveal notes
    wrong = [f"line {n}: {lines[n - 1].strip()}\n    mypy says {revealed.get(n)!r}"
             for n, want in expected.items() if revealed.get(n) != want]
    assert not wrong, "\n".join(wrong)
