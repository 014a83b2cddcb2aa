"""The tables in docs/optim.md are what the library computes."""

from __future__ import annotations

from pathlib import Path

import pytest

import microgradnet as mg

DOC = Path(__file__).resolve().parents[2] / "docs" / "optim.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text()


def test_the_two_momentum_forms_table(doc: str) -> None:
    for form, label in (("pytorch", "PyTorch form"), ("classic", "classic form")):
        w = mg.tensor([1.0], dtype=mg.float64, requires_grad=True)
        opt = mg.optim.SGD([w], lr=0.1, momentum=0.9, momentum_form=form)
        sched = mg.optim.lr_scheduler.StepLR(opt, 3, 0.5)
        row = []
        for _ in range(8):
            opt.zero_grad()
            (0.5 * w * w).sum().backward()
            opt.step()
            sched.step()
            row.append(f"{w.item():.4f}")
        assert f"| {label} | " + " | ".join(row) + " |" in doc


def test_the_effect_of_momentum_table(doc: str) -> None:
    a = mg.tensor([1.0, 10.0], dtype=mg.float64)
    for mu in (0, 0.5, 0.9, 0.99):
        w = mg.tensor([1.0, 1.0], dtype=mg.float64, requires_grad=True)
        opt = mg.optim.SGD([w], lr=0.01, momentum=mu)
        steps = 0
        while 0.5 * float((a.data * w.data**2).sum()) >= 1e-6 and steps < 5000:
            opt.zero_grad()
            (0.5 * (a * w * w).sum()).backward()
            opt.step()
            steps += 1
        assert f"| {mu} | {steps} |" in doc
