"""Learning-rate schedules: PyTorch's schedulers, giving the same lr sequences step for step.

A scheduler rewrites ``group["lr"]`` in its optimizer's groups each time ``step()`` is called
(usually once per epoch, after ``optimizer.step()``). Constructing one already takes the first
step (epoch 0) and records each group's starting ``initial_lr``. Like PyTorch's, most compute the
next lr from the current one (so schedulers can be chained); the closed forms in the docstrings
give the same values. ``state_dict()`` holds plain numbers and lists only (``mg.save`` stores it);
``LambdaLR`` leaves out its functions, as PyTorch does.
"""

from __future__ import annotations

import math
import types
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "LRScheduler",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "LambdaLR",
    "MultiplicativeLR",
    "LinearLR",
    "ConstantLR",
    "SequentialLR",
    "ReduceLROnPlateau",
]


class LRScheduler:
    """Base class: ``last_epoch``, ``base_lrs``, ``step()``, ``get_last_lr()``, state dicts.

    Subclasses implement ``get_lr()`` (the lrs for ``self.last_epoch``, computed from the
    current ones) and, where there is one, ``_get_closed_form_lr()``.

    >>> w = mg.zeros(1, requires_grad=True)
    >>> opt = mg.optim.SGD([w], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(sched.get_last_lr()[0])
    ...     opt.step()          # (train for an epoch)
    ...     sched.step()
    >>> lrs
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: Any, last_epoch: int = -1) -> None:
        if not isinstance(getattr(optimizer, "param_groups", None), list):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                        "an optimizer (last_epoch != -1): load the optimizer's state dict first"
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self.step()

    def get_lr(self) -> list[float]:
        """The lrs for ``self.last_epoch`` (called by ``step``)."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr")

    def get_last_lr(self) -> list[float]:
        """The lr of each group as set by the last ``step()``."""
        return list(self._last_lr)

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch (or jump to ``epoch``, using the closed form) and set the lrs."""
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = int(epoch)
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer: plain numbers and lists.

        >>> opt = mg.optim.SGD([mg.zeros(1, requires_grad=True)], lr=0.1)
        >>> mg.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9).state_dict()["last_epoch"]
        0
        """
        return {k: _plain(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()`` (the optimizer's lrs come from its own state dict)."""
        n = len(self.optimizer.param_groups)
        for key in ("base_lrs", "_last_lr"):
            if key in state_dict and len(state_dict[key]) != n:
                raise ValueError(
                    f"loaded scheduler state has {len(state_dict[key])} {key}, but the optimizer "
                    f"has {n} parameter groups"
                )
        self.__dict__.update({k: _plain(v) for k, v in state_dict.items()})


_LRScheduler = LRScheduler  # PyTorch's old name


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs: lr = base · γ^⌊epoch / step_size⌋.

    >>> opt = mg.optim.SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.1)
    >>> [sched.step() or round(sched.get_last_lr()[0], 6) for _ in range(4)]
    [1.0, 1.0, 0.1, 0.1]
    """

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        if int(step_size) != step_size or step_size < 1:
            raise ValueError(f"step_size must be a positive integer, got {step_size}")
        self.step_size = int(step_size)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size)
                for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each milestone: lr = base · γ^(milestones passed).

    >>> opt = mg.optim.SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.MultiStepLR(opt, milestones=[1, 3], gamma=0.5)
    >>> [sched.step() or sched.get_last_lr()[0] for _ in range(4)]
    [0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer: Any, milestones: Sequence[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        hits = self.milestones.count(self.last_epoch)
        if hits == 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma**hits for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        passed = bisect_right(self.milestones, self.last_epoch)
        return [base * self.gamma**passed for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every epoch: lr = base · γ^epoch.

    >>> opt = mg.optim.SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    >>> [sched.step() or sched.get_last_lr()[0] for _ in range(3)]
    [0.5, 0.25, 0.125]
    """

    def __init__(self, optimizer: Any, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Anneal along a cosine from the base lr to ``eta_min`` over ``T_max`` epochs.

    lr = η_min + (base − η_min) · (1 + cos(π · epoch / T_max)) / 2 (and back up after T_max,
    with period 2·T_max). Computed recursively from the current lr, as PyTorch does.

    >>> opt = mg.optim.SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    >>> [round(sched.step() or sched.get_last_lr()[0], 4) for _ in range(5)]
    [0.8536, 0.5, 0.1464, 0.0, 0.1464]
    """

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if T_max <= 0:
            raise ValueError(f"T_max must be positive, got {T_max}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups, e, T, lo = self.optimizer.param_groups, self.last_epoch, self.T_max, self.eta_min
        if e == 0:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and e > 0:  # constructed with last_epoch: start from the formula
            return self._get_closed_form_lr()
        if (e - 1 - T) % (2 * T) == 0:  # leaving the minimum: the ratio below would be 0/0
            return [group["lr"] + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                    for base, group in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        return [ratio * (group["lr"] - lo) + lo for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        c = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * c for base in self.base_lrs]


class LambdaLR(LRScheduler):
    """lr = base · ``lr_lambda(epoch)`` (one function, or one per group).

    The functions are not part of ``state_dict()`` (PyTorch drops them too): pass the same ones
    when rebuilding the scheduler. Callable objects keep their ``__dict__``.

    >>> opt = mg.optim.SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 1 / (epoch + 1))
    >>> [sched.step() or sched.get_last_lr()[0] for _ in range(3)]
    [0.5, 0.3333333333333333, 0.25]
    """

    def __init__(self, optimizer: Any,
                 lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        self.optimizer = optimizer
        self.lr_lambdas = _per_group(optimizer, lr_lambda, "lr_lambdas")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * fn(self.last_epoch) for base, fn in zip(self.base_lrs, self.lr_lambdas)]

    def state_dict(self) -> dict[str, Any]:
        return _state_without_functions(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _load_without_functions(self, state_dict)


class MultiplicativeLR(LRScheduler):
    """Multiply the lr by ``lr_lambda(epoch)`` each epoch after the first.

    >>> opt = mg.optim.SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.MultiplicativeLR(opt, lambda epoch: 0.5)
    >>> [sched.step() or sched.get_last_lr()[0] for _ in range(3)]
    [0.5, 0.25, 0.125]
    """

    def __init__(self, optimizer: Any,
                 lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        self.optimizer = optimizer
        self.lr_lambdas = _per_group(optimizer, lr_lambda, "lr_lambdas")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch > 0:
            return [group["lr"] * fn(self.last_epoch) for group, fn in zip(groups, self.lr_lambdas)]
        return [group["lr"] for group in groups]

    def state_dict(self) -> dict[str, Any]:
        return _state_without_functions(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _load_without_functions(self, state_dict)


class LinearLR(LRScheduler):
    """Warm-up: scale the lr linearly from ``start_factor`` to ``end_factor`` over ``total_iters``.

    lr = base · (s + (e − s) · min(epoch, total_iters) / total_iters).

    >>> opt = mg.optim.SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> lrs = [sched.get_last_lr()[0]] + [sched.step() or sched.get_last_lr()[0] for _ in range(4)]
    >>> [round(lr, 6) for lr in lrs]
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    def __init__(self, optimizer: Any, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and "
                             f"less or equal to 1, got {start_factor}")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError(f"Ending multiplicative factor expected to be between 0 and 1, got "
                             f"{end_factor}")
        if total_iters < 1:
            raise ValueError(f"total_iters must be at least 1, got {total_iters}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups, e = self.optimizer.param_groups, self.last_epoch
        s, f, n = self.start_factor, self.end_factor, self.total_iters
        if e == 0:
            return [group["lr"] * s for group in groups]
        if e > n:
            return [group["lr"] for group in groups]
        ratio = 1.0 + (f - s) / (n * s + (e - 1) * (f - s))
        return [group["lr"] * ratio for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        s, f, n = self.start_factor, self.end_factor, self.total_iters
        factor = s + (f - s) * min(n, self.last_epoch) / n
        return [base * factor for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """Scale the lr by ``factor`` for the first ``total_iters`` epochs, then restore it.

    >>> opt = mg.optim.SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2)
    >>> [sched.get_last_lr()[0]] + [sched.step() or sched.get_last_lr()[0] for _ in range(3)]
    [0.5, 0.5, 1.0, 1.0]
    """

    def __init__(self, optimizer: Any, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        if factor > 1.0 or factor < 0:
            raise ValueError(f"Constant multiplicative factor expected to be between 0 and 1, "
                             f"got {factor}")
        if total_iters < 1:
            raise ValueError(f"total_iters must be at least 1, got {total_iters}")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups, e = self.optimizer.param_groups, self.last_epoch
        if e == 0:
            return [group["lr"] * self.factor for group in groups]
        if e != self.total_iters:
            return [group["lr"] for group in groups]
        return [group["lr"] * (1.0 / self.factor) for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        f = self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)
        return [base * f for base in self.base_lrs]


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at each of the ``milestones`` epochs.

    The usual pairing is a warm-up followed by a decay. At a milestone the next scheduler
    starts from its own epoch 0 (its closed form), as in PyTorch.

    >>> opt = mg.optim.SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    >>> warm = mg.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> decay = mg.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    >>> sched = mg.optim.lr_scheduler.SequentialLR(opt, [warm, decay], milestones=[2])
    >>> [sched.get_last_lr()[0]] + [sched.step() or sched.get_last_lr()[0] for _ in range(4)]
    [0.5, 0.75, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer: Any, schedulers: Sequence[LRScheduler],
                 milestones: Sequence[int], last_epoch: int = -1) -> None:
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler")
        for i, sched in enumerate(schedulers):
            if getattr(sched, "optimizer", None) is not optimizer:
                raise ValueError(
                    f"Sequential Schedulers expects all schedulers to belong to the same "
                    f"optimizer, but got scheduler {type(sched).__name__} at index {i} with a "
                    "different optimizer"
                )
            if isinstance(sched, ReduceLROnPlateau):
                raise ValueError("SequentialLR does not support ReduceLROnPlateau (it needs a "
                                 "metric)")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more "
                f"than the number of milestone points, but got number of schedulers "
                f"{len(schedulers)} and the number of milestones {len(milestones)}"
            )
        self.optimizer = optimizer
        self._schedulers = list(schedulers)
        self._milestones = [int(m) for m in milestones]
        self.last_epoch = last_epoch + 1
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        # Building the schedulers stepped each once: start over with the first one alone.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for sched in self._schedulers:
            sched.last_epoch -= 1
        self._schedulers[0]._initial_step()
        self._step_count = 1
        self._last_lr = self._schedulers[0].get_last_lr()

    def step(self) -> None:  # type: ignore[override]
        """Advance one epoch with the scheduler in charge of it."""
        self.last_epoch += 1
        self._step_count += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        sched = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            sched.step(0)
        else:
            sched.step()
        self._last_lr = sched.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        state = {k: _plain(v) for k, v in self.__dict__.items()
                 if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [sched.state_dict() for sched in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved = state.pop("_schedulers", [])
        if len(saved) != len(self._schedulers):
            raise ValueError(f"loaded SequentialLR state has {len(saved)} schedulers, this one "
                             f"has {len(self._schedulers)}")
        LRScheduler.load_state_dict(self, state)
        for sched, sd in zip(self._schedulers, saved):
            sched.load_state_dict(sd)


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by ``factor`` when a metric has stopped improving for ``patience`` epochs.

    ``step(metric)`` once per epoch (e.g. the validation loss). A value counts as an improvement
    on the best so far when, for ``mode="min"``, it is below best·(1 − threshold)
    (``threshold_mode="rel"``) or best − threshold (``"abs"``); ``"max"`` mirrors this. After
    more than ``patience`` epochs without improvement the lr is reduced (never below
    ``min_lr``; changes smaller than ``eps`` are ignored), then ``cooldown`` epochs pass before
    counting again.

    >>> opt = mg.optim.SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
    >>> for loss in [3.0, 2.0, 2.0, 2.0, 2.0, 2.0]:
    ...     sched.step(loss)
    >>> sched.get_last_lr()                # halved after the 2nd and the 4th flat epoch
    [0.25]
    """

    def __init__(
        self,
        optimizer: Any,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        if not isinstance(getattr(optimizer, "param_groups", None), list):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if factor >= 1.0:
            raise ValueError(f"Factor should be < 1.0, got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode!r} is unknown! Use 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold mode {threshold_mode!r} is unknown! Use 'rel' or 'abs'")
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"expected {n} min_lrs, got {len(min_lr)}")
            self.min_lrs = [float(v) for v in min_lr]
        else:
            self.min_lrs = [float(min_lr)] * n  # type: ignore[arg-type]  # a number here
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.cooldown = cooldown
        self.mode = mode
        self.eps = eps
        self.last_epoch = 0
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self._reset()

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics: Any, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record this epoch's metric and reduce the lr if it has plateaued."""
        current = float(metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else int(epoch)
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return a < best * (1.0 - self.threshold)
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def get_lr(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        n = len(self.optimizer.param_groups)
        if "min_lrs" in state_dict and len(state_dict["min_lrs"]) != n:
            raise ValueError(f"loaded scheduler state has {len(state_dict['min_lrs'])} min_lrs, "
                             f"but the optimizer has {n} parameter groups")
        super().load_state_dict(state_dict)


def _per_group(optimizer: Any, fn: Any, what: str) -> list[Any]:
    n = len(optimizer.param_groups)
    if isinstance(fn, (list, tuple)):
        if len(fn) != n:
            raise ValueError(f"Expected {n} {what}, but got {len(fn)}")
        return list(fn)
    return [fn] * n


def _state_without_functions(sched: LRScheduler) -> dict[str, Any]:
    state = {k: _plain(v) for k, v in sched.__dict__.items()
             if k not in ("optimizer", "lr_lambdas")}
    state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(fn.__dict__)
                           for fn in sched.lr_lambdas]  # type: ignore[attr-defined]
    return state


def _load_without_functions(sched: LRScheduler, state_dict: dict[str, Any]) -> None:
    state = dict(state_dict)
    saved = state.pop("lr_lambdas", None) or []
    LRScheduler.load_state_dict(sched, state)
    for fn, attrs in zip(sched.lr_lambdas, saved):  # type: ignore[attr-defined]
        if attrs is not None:
            fn.__dict__.update(attrs)


def _plain(value: Any) -> Any:
    """Lists for tuples, Python numbers for NumPy scalars: what ``mg.save`` stores."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return value.item()
    return value
