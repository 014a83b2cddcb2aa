"""Number-for-number comparison with torch.optim (runs only where PyTorch is installed)."""

from __future__ import annotations

import numpy as np
import pytest

import microgradnet as mg
from microgradnet import optim
from microgradnet.optim import lr_scheduler as lrs

from .conftest import Problem, assert_same_trajectory

torch = pytest.importorskip("torch")

CASES = [
    ("SGD", dict(lr=0.01)),
    ("SGD", dict(lr=0.01, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True, maximize=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.01)),
]


def _torch_run(prob: Problem, name: str, hyper: dict, steps: int) -> list[list[np.ndarray]]:
    W = torch.tensor(prob.W0, requires_grad=True)
    c = torch.tensor(prob.c0, requires_grad=True)
    X, T = torch.tensor(prob.X), torch.tensor(prob.T)
    opt = getattr(torch.optim, name)([W, c], **hyper)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        r = X @ W.T + c - T
        (0.5 * (r * r).sum()).backward()
        opt.step()
        out.append([W.detach().numpy().copy(), c.detach().numpy().copy()])
    return out


@pytest.mark.parametrize("name, hyper", CASES)
def test_optimizer_trajectories_match_torch(name, hyper) -> None:
    prob = Problem(42)
    ours = prob.run(lambda ps: getattr(optim, name)(ps, **hyper), 15)
    assert_same_trajectory(ours, _torch_run(prob, name, hyper, 15), rtol=1e-9, atol=1e-11)


SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5], gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=0.001)),
    ("LinearLR", dict(start_factor=0.1, total_iters=4)),
    ("ConstantLR", dict(factor=0.5, total_iters=3)),
]


@pytest.mark.parametrize("name, kwargs", SCHEDULERS)
def test_scheduler_sequences_match_torch(name, kwargs) -> None:
    p = torch.zeros(1, requires_grad=True)
    topt = torch.optim.SGD([p], lr=0.1)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    mopt = optim.SGD([mg.zeros(1, requires_grad=True)], lr=0.1)
    msched = getattr(lrs, name)(mopt, **kwargs)
    for epoch in range(20):
        assert msched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12), epoch
        topt.step()
        tsched.step()
        msched.step()


def test_sequential_matches_torch() -> None:
    p = torch.zeros(1, requires_grad=True)
    topt = torch.optim.SGD([p], lr=0.1)
    tl = torch.optim.lr_scheduler
    tsched = tl.SequentialLR(topt, [tl.LinearLR(topt, 0.1, total_iters=3),
                                    tl.CosineAnnealingLR(topt, T_max=5)], milestones=[3])
    mopt = optim.SGD([mg.zeros(1, requires_grad=True)], lr=0.1)
    msched = lrs.SequentialLR(mopt, [lrs.LinearLR(mopt, 0.1, total_iters=3),
                                     lrs.CosineAnnealingLR(mopt, T_max=5)], milestones=[3])
    for epoch in range(12):
        assert msched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12), epoch
        topt.step()
        tsched.step()
        msched.step()


def test_plateau_matches_torch() -> None:
    metrics = [5, 4, 4, 4, 4, 3.9999, 4, 4, 4, 4, 4, 2, 2, 2, 2, 2]
    p = torch.zeros(1, requires_grad=True)
    topt = torch.optim.SGD([p], lr=1.0)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, factor=0.5, patience=2, cooldown=1)
    mopt = optim.SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    msched = lrs.ReduceLROnPlateau(mopt, factor=0.5, patience=2, cooldown=1)
    for m in metrics:
        tsched.step(m)
        msched.step(m)
        assert mopt.param_groups[0]["lr"] == topt.param_groups[0]["lr"]
