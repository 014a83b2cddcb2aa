"""The training loop of the backpropagation literature, as one function: ``fit``.

    repeat                                      for epoch in 1..epochs:
        for every pattern (batch) p:                for xb, yb in train_data:
            propagate p forward                         output = model(xb)
            compare with the target                     loss = loss_fn(output, yb)
            propagate the errors backward               optimizer.zero_grad(); loss.backward()
            adjust the weights (delta rule)             optimizer.step()
        E = the epoch's global error                 logs["loss"]
    until E < target or the maximum epochs           target_loss / epochs

``fit`` returns a ``History``; callbacks add early stopping and checkpoints; Ctrl-C stops the
loop cleanly and keeps what was learned so far, a non-finite loss stops it cleanly too, and any
other exception carries the ``History`` of the epochs already run as ``exc.history``.
"""

from __future__ import annotations

import math
import os
import string
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from microgradnet.autograd.grad_mode import no_grad
from microgradnet.data.loader import DataLoader
from microgradnet.random import manual_seed
from microgradnet.tensor import Tensor

__all__ = ["fit", "evaluate", "History", "Callback", "EarlyStopping", "ModelCheckpoint"]

STOP_REASONS = ("max_epochs", "target_loss", "early_stopping", "interrupted", "non_finite",
                "error")

MetricFn = Callable[[np.ndarray, np.ndarray], float]
Metrics = str | Sequence[str] | Mapping[str, MetricFn] | None


# --------------------------------------------------------------------------- history


class History:
    """What happened during ``fit``: per-epoch values, epochs run and why training stopped.

    ``history`` maps ``loss``, ``val_loss``, ``accuracy``, ``val_accuracy`` (where computed),
    ``lr`` and ``time`` (wall seconds of each epoch) to one value per epoch. ``stop_reason`` is
    one of ``STOP_REASONS`` or a callback's own reason; ``stop_message`` explains a
    ``"non_finite"`` stop (the epoch and batch whose loss was NaN or inf).

    >>> net = mg.nn.Linear(2, 1)
    >>> h = mg.train.fit(net, mg.nn.MSELoss(), mg.optim.SGD(net.parameters(), lr=0.1),
    ...                  mg.data.make_xor(), epochs=3, progress=False)
    >>> h.epochs_run, h.stop_reason, sorted(h.history)
    (3, 'max_epochs', ['accuracy', 'loss', 'lr', 'time'])
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epochs_run: int = 0
        self.stop_reason: str | None = None
        self.stop_message: str | None = None
        self._stop_request: str | None = None

    def _append(self, logs: Mapping[str, float]) -> None:
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        self.epochs_run += 1

    @property
    def epochs(self) -> list[int]:
        """The epoch numbers 1..epochs_run, for plotting."""
        return list(range(1, self.epochs_run + 1))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __contains__(self, key: object) -> bool:
        return key in self.history

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        return (f"History(epochs_run={self.epochs_run}, stop_reason={self.stop_reason!r}"
                f"{', ' + last if last else ''})")

    def plot(self, path: str | os.PathLike[str] | None = None) -> Any:
        """Plot training against validation loss (and accuracy) per epoch.

        The gap between the two curves shows under- and over-fitting. Needs matplotlib (the
        ``plot`` extra). With ``path`` the figure is saved there. Returns the Figure.
        """
        try:
            import matplotlib
        except ImportError as exc:
            raise ImportError("History.plot needs matplotlib, an optional extra: "
                              "pip install 'microgradnet[plot]'") from exc
        del matplotlib
        keys = [k for k in ("loss", "accuracy") if k in self.history]
        if path is None:
            import matplotlib.pyplot as plt

            fig = plt.figure(figsize=(5 * max(len(keys), 1), 3.6))
        else:
            from matplotlib.figure import Figure

            fig = Figure(figsize=(5 * max(len(keys), 1), 3.6))
        for i, key in enumerate(keys):
            ax = fig.add_subplot(1, len(keys), i + 1)
            ax.plot(self.epochs, self.history[key], label=f"train {key}")
            if f"val_{key}" in self.history:
                ax.plot(self.epochs, self.history[f"val_{key}"], label=f"validation {key}")
            ax.set_xlabel("epoch")
            ax.set_ylabel(key)
            if key == "loss" and min(self.history[key], default=1.0) > 0:
                ax.set_yscale("log")
            ax.legend()
        fig.tight_layout()
        if path is not None:
            fig.savefig(path)
        return fig


# --------------------------------------------------------------------------- callbacks


class Callback:
    """Base class for hooks into ``fit``; override the methods you need.

    ``fit`` sets ``self.model``, ``self.optimizer`` and ``self.history`` before
    ``on_train_begin``. Call ``self.request_stop()`` to end training after this epoch.

    >>> class StopAt2(mg.train.Callback):
    ...     def on_epoch_end(self, epoch, logs):
    ...         if epoch == 2:
    ...             self.request_stop("enough")
    >>> net = mg.nn.Linear(2, 1)
    >>> h = mg.train.fit(net, mg.nn.MSELoss(), mg.optim.SGD(net.parameters(), lr=0.1),
    ...                  mg.data.make_xor(), callbacks=[StopAt2()], progress=False)
    >>> h.epochs_run, h.stop_reason
    (2, 'enough')
    """

    model: Any = None
    optimizer: Any = None
    history: History | None = None

    def on_train_begin(self) -> None:
        """Called once before the first epoch."""

    def on_epoch_begin(self, epoch: int) -> None:
        """Called before the patterns of epoch ``epoch`` (counted from 1) are presented."""

    def on_batch_end(self, batch: int, loss: float) -> None:
        """Called after each weight update with the batch's loss."""

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float]) -> None:
        """Called after each epoch with that epoch's values (the ones added to the history)."""

    def on_train_end(self) -> None:
        """Called once when training ends, however it ends (also after Ctrl-C)."""

    def request_stop(self, reason: str = "early_stopping") -> None:
        """Ask ``fit`` to stop after the current epoch, recording ``reason``."""
        if self.history is not None:
            self.history._stop_request = reason


def _resolve_monitor(monitor: str, logs: Mapping[str, float]) -> tuple[str, float] | None:
    """The monitored value, falling back from ``val_x`` to ``x`` without validation data."""
    if monitor in logs:
        return monitor, logs[monitor]
    if monitor.startswith("val_") and monitor[4:] in logs:
        return monitor[4:], logs[monitor[4:]]
    return None


def _better(mode: str, monitor: str) -> Callable[[float, float, float], bool]:
    if mode == "auto":
        mode = "max" if "acc" in monitor else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min', 'max' or 'auto', got {mode!r}")
    if mode == "min":
        return lambda new, best, delta: new < best - delta
    return lambda new, best, delta: new > best + delta


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    Without validation data ``val_loss`` falls back to the training ``loss``. With
    ``restore_best_weights`` the model gets the weights of its best epoch back at the end.

    >>> net = mg.nn.Linear(2, 1)
    >>> frozen = mg.optim.SGD(net.parameters(), lr=0.0)  # the loss never improves
    >>> h = mg.train.fit(net, mg.nn.MSELoss(), frozen, mg.data.make_xor(), epochs=50,
    ...                  callbacks=[mg.train.EarlyStopping(patience=2)], progress=False)
    >>> h.epochs_run, h.stop_reason
    (3, 'early_stopping')
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 10, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False) -> None:
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor = monitor
        self.patience = int(patience)
        self.min_delta = abs(float(min_delta))
        self.restore_best_weights = restore_best_weights
        self._better = _better(mode, monitor)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self._wait = 0
        self._best_state: dict[str, Any] | None = None

    def on_train_begin(self) -> None:
        self.best, self.best_epoch, self.stopped_epoch = None, None, None
        self._wait, self._best_state = 0, None

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float]) -> None:
        found = _resolve_monitor(self.monitor, logs)
        if found is None:
            raise KeyError(f"EarlyStopping: {self.monitor!r} is not computed; "
                           f"available: {', '.join(logs)}")
        value = found[1]
        if self.best is None or self._better(value, self.best, self.min_delta):
            self.best, self.best_epoch, self._wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_state = {k: v.detach().clone() if isinstance(v, Tensor) else v
                                    for k, v in self.model.state_dict().items()}
        else:
            self._wait += 1
            if self._wait >= self.patience:
                self.stopped_epoch = epoch
                self.request_stop("early_stopping")

    def on_train_end(self) -> None:
        if self.restore_best_weights and self._best_state is not None:
            self.model.load_state_dict(self._best_state)


class ModelCheckpoint(Callback):
    """Save the model's ``state_dict`` with ``mg.save`` after each epoch (or each improvement).

    ``path`` may contain ``{epoch}`` and log names, e.g. ``"ckpt-{epoch:03d}.npz"``. Files are
    written to a temporary name first and then renamed, so an interrupted run never leaves a
    half-written checkpoint. ``last_path`` is the newest file written.

    >>> import os, tempfile
    >>> net = mg.nn.Linear(2, 1)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     ckpt = mg.train.ModelCheckpoint(os.path.join(d, "ckpt-{epoch}.npz"))
    ...     _ = mg.train.fit(net, mg.nn.MSELoss(), mg.optim.SGD(net.parameters(), lr=0.1),
    ...                      mg.data.make_xor(), epochs=2, callbacks=[ckpt], progress=False)
    ...     sorted(os.listdir(d))
    ['ckpt-1.npz', 'ckpt-2.npz']
    """

    def __init__(self, path: str | os.PathLike[str], monitor: str = "val_loss",
                 save_best_only: bool = False, mode: str = "auto", every: int = 1) -> None:
        if every < 1:
            raise ValueError(f"ModelCheckpoint: every must be >= 1, got {every}")
        self.path = os.fspath(path)
        try:
            self._fields = {name.split(".")[0].split("[")[0]
                            for _, name, _, _ in string.Formatter().parse(self.path)
                            if name is not None}
        except ValueError as e:
            raise ValueError(f"ModelCheckpoint: {self.path!r} is not a valid path template "
                             f"({e}); write literal braces as {{{{ and }}}}") from None
        if "" in self._fields or any(name.isdigit() for name in self._fields):
            raise ValueError(f"ModelCheckpoint: {self.path!r} has a positional field; name "
                             "the field, e.g. {epoch}")
        self.monitor = monitor
        self.save_best_only = save_best_only
        self.every = int(every)
        self._better = _better(mode, monitor)
        self.best: float | None = None
        self.last_path: str | None = None

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float]) -> None:
        if epoch % self.every:
            return
        if self.save_best_only:
            found = _resolve_monitor(self.monitor, logs)
            if found is None:
                raise KeyError(f"ModelCheckpoint: {self.monitor!r} is not computed; "
                               f"available: {', '.join(logs)}")
            if self.best is not None and not self._better(found[1], self.best, 0.0):
                return
            self.best = found[1]
        fields = {"epoch": epoch, **logs}
        unknown = sorted(self._fields - set(fields))
        if unknown:
            raise ValueError(f"ModelCheckpoint: {self.path!r} names "
                             f"{', '.join('{' + u + '}' for u in unknown)}, which this run does "
                             f"not compute; the fields are {', '.join(fields)}")
        self.save(self.path.format(**fields))

    def save(self, path: str) -> None:
        """Write the model's state_dict to ``path`` atomically (``mg.save`` renames a temporary)."""
        import microgradnet

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        microgradnet.save(self.model.state_dict(), target)
        self.last_path = str(target)


# --------------------------------------------------------------------------- metrics


def _target_kind(y: np.ndarray) -> str | None:
    """'labels' for integer classes, 'onehot'/'binary' for 0/1 float targets, None otherwise."""
    if y.dtype.kind in "iub":
        return "labels"
    if y.dtype.kind != "f" or y.size == 0 or not np.all((y == 0) | (y == 1)):
        return None
    if y.ndim >= 2 and y.shape[-1] > 1:
        return "onehot" if np.all(y.sum(axis=-1) == 1) else None
    return "binary"


def _uses_logits(loss_fn: Any) -> bool:
    name = getattr(loss_fn, "__name__", None) or type(loss_fn).__name__
    return "logits" in name.lower()


def _n_correct(output: np.ndarray, target: np.ndarray, logits: bool) -> int:
    """Correct predictions: argmax for several outputs, a threshold for a single one."""
    if output.ndim >= 2 and output.shape[-1] > 1:
        pred = output.argmax(axis=-1)
        true = target.argmax(axis=-1) if target.shape == output.shape else target
        return int(np.sum(pred == true.reshape(pred.shape)))
    pred = output.reshape(-1) > (0.0 if logits else 0.5)
    return int(np.sum(pred == (target.reshape(-1) > 0.5)))


class _Meter:
    """Accumulates an epoch's loss and metrics over batches."""

    def __init__(self, reduction: str, accuracy: bool, logits: bool,
                 custom: Mapping[str, MetricFn]) -> None:
        self.sum_reduction = reduction == "sum"
        self.accuracy, self.logits, self.custom = accuracy, logits, custom
        self.n = 0
        self.loss = 0.0
        self.correct = 0
        self.sums = dict.fromkeys(custom, 0.0)
        self.has_loss = False

    def add(self, loss: float | None, output: np.ndarray, target: np.ndarray) -> None:
        n = len(target) if target.ndim else 1
        if loss is not None:
            self.has_loss = True
            # 'sum' losses (SSELoss, the classic global error) add up over the epoch;
            # 'mean' losses are averaged over all patterns.
            self.loss += loss if self.sum_reduction else loss * n
        if self.accuracy:
            self.correct += _n_correct(output, target, self.logits)
        for name, fn in self.custom.items():
            self.sums[name] += float(fn(output, target)) * n
        self.n += n

    def result(self, prefix: str = "") -> dict[str, float]:
        out: dict[str, float] = {}
        n = max(self.n, 1)
        if self.has_loss:
            out[prefix + "loss"] = self.loss if self.sum_reduction else self.loss / n
        if self.accuracy:
            out[prefix + "accuracy"] = self.correct / n
        for name, total in self.sums.items():
            out[prefix + name] = total / n
        return out


def _targets_of(loader: Any) -> np.ndarray | None:
    dataset = getattr(loader, "dataset", None)
    arrays = getattr(dataset, "arrays", None)
    return arrays[1] if arrays is not None and len(arrays) > 1 else None


def _metric_plan(metrics: Metrics, targets: np.ndarray | None) -> tuple[bool, dict[str, MetricFn]]:
    """Whether to compute accuracy, and any custom metric functions."""
    if metrics is None:
        return False, {}
    if isinstance(metrics, str):
        metrics = [metrics]
    if isinstance(metrics, Mapping):
        return False, dict(metrics)
    accuracy = False
    for m in metrics:
        if m == "auto":
            accuracy = targets is not None and _target_kind(targets) is not None
        elif m == "accuracy":
            accuracy = True
        else:
            raise ValueError(f"unknown metric {m!r}; use 'auto', 'accuracy', None or a dict "
                             "of name -> fn(output, target)")
    return accuracy, {}


def _as_loader(data: Any, batch_size: int | None, shuffle: bool, seed: int | None) -> Any:
    if isinstance(data, (tuple, list)):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, seed=seed)
    if isinstance(data, Iterable):
        return data
    raise TypeError(f"expected a DataLoader or an (X, y) pair, got {type(data).__name__}")


def _scalar(loss: Any) -> Tensor:
    if not isinstance(loss, Tensor) or loss.size != 1:
        shape = getattr(loss, "shape", type(loss).__name__)
        raise ValueError(f"fit: loss_fn must return a scalar Tensor, got {shape}; "
                         "use reduction='mean' or 'sum'")
    return loss


def _compiled_step(model: Any, loss_fn: Any, optimizer: Any) -> Any:
    """fit's training step as one ``mg.compile``d function (returns loss and output)."""
    from microgradnet.compile import compile as compile_step

    def train_step(xb: Tensor, yb: Tensor) -> tuple[Tensor, Tensor]:
        output = model(xb)
        loss = _scalar(loss_fn(output, yb))
        if not np.isfinite(loss.data):  # fit stops before this batch's step (a replay guard)
            return loss, output
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss, output

    return compile_step(train_step)


def _set_mode(model: Any, training: bool) -> None:
    if hasattr(model, "train") and callable(model.train):
        model.train(training)


def _run_eval(model: Any, loader: Any, loss_fn: Any, accuracy: bool,
              custom: Mapping[str, MetricFn], prefix: str = "") -> dict[str, float]:
    was_training = getattr(model, "training", True)
    _set_mode(model, False)
    meter = _Meter(getattr(loss_fn, "reduction", "mean"), accuracy, _uses_logits(loss_fn), custom)
    try:
        with no_grad():
            for xb, yb in loader:
                output = model(xb)
                loss = None if loss_fn is None else _scalar(loss_fn(output, yb)).item()
                meter.add(loss, output.data, yb.data)
    finally:
        _set_mode(model, bool(was_training))
    return meter.result(prefix)


def evaluate(model: Any, data: Any, loss_fn: Any = None, metrics: Metrics = "auto",
             batch_size: int | None = None) -> dict[str, float]:
    """Loss (when ``loss_fn`` is given) and metrics of ``model`` on ``data``, without gradients.

    ``data`` is a ``DataLoader`` or an ``(X, y)`` pair (evaluated in batches of
    ``batch_size``, default all at once). ``metrics="auto"`` computes accuracy for
    classification targets (integer labels, or 0/1 targets): argmax over several outputs, a
    0.5 threshold on a single sigmoid output (0 when the loss takes logits).

    >>> net = mg.nn.Linear(2, 1)
    >>> _ = mg.nn.init.zeros_(net.weight), mg.nn.init.zeros_(net.bias)
    >>> mg.train.evaluate(net, mg.data.make_xor(), mg.nn.MSELoss())  # outputs all 0
    {'loss': 0.5, 'accuracy': 0.5}
    """
    loader = _as_loader(data, batch_size, False, None)
    accuracy, custom = _metric_plan(metrics, _targets_of(loader))
    return _run_eval(model, loader, loss_fn, accuracy, custom)


# --------------------------------------------------------------------------- progress


def _in_notebook() -> bool:
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # noqa: BLE001
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _format_logs(logs: Mapping[str, float], short: bool = False) -> str:
    parts = []
    for key, value in logs.items():
        if key in ("lr", "time"):
            continue
        text = f"{value:.3f}" if "accuracy" in key else f"{value:.4g}"
        parts.append(f"{key.replace('accuracy', 'acc') if short else key} {text}")
    return "  ".join(parts)


_BAR = "{desc} {n_fmt}/{total_fmt} |{bar:16}| [{elapsed}<{remaining}]{postfix}"


class _Progress:
    """A tqdm bar on a terminal or in a notebook with ipywidgets; plain lines elsewhere."""

    def __init__(self, epochs: int, enabled: bool) -> None:
        self.epochs, self.bar, self.plain = epochs, None, False
        self.every = max(1, epochs // 10)
        if not enabled:
            return
        stream = sys.stderr
        if _in_notebook():
            try:
                import ipywidgets  # noqa: F401
                from tqdm.notebook import tqdm as notebook_tqdm

                self.bar = notebook_tqdm(total=epochs, desc="epoch")
                return
            except ImportError:
                pass
        if getattr(stream, "isatty", lambda: False)():
            from tqdm import tqdm

            try:
                size = os.get_terminal_size(stream.fileno())
            except (AttributeError, OSError, ValueError):
                size = os.terminal_size((0, 0))
            # some pseudo-terminals report a 0 x 0 size, which makes tqdm draw nothing
            ok = size.columns > 0 and size.lines > 0
            self.bar = tqdm(total=epochs, desc="epoch", file=stream, bar_format=_BAR,
                            dynamic_ncols=ok, ncols=None if ok else 120,
                            nrows=None if ok else 24)
        else:
            self.plain = True

    def update(self, epoch: int, logs: Mapping[str, float]) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(_format_logs(logs, short=True), refresh=True)
        elif self.plain and (epoch == 1 or epoch % self.every == 0 or epoch == self.epochs):
            width = len(str(self.epochs))
            print(f"epoch {epoch:>{width}}/{self.epochs}  {_format_logs(logs)}",
                  file=sys.stderr, flush=True)

    def close(self, history: History) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.plain and history.stop_reason != "max_epochs":
            print(f"stopped ({history.stop_reason}) after {history.epochs_run} epochs",
                  file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- fit


def _is_plateau_scheduler(scheduler: Any) -> bool:
    return any(cls.__name__ == "ReduceLROnPlateau" for cls in type(scheduler).__mro__)


def _current_lr(optimizer: Any) -> float | None:
    groups = getattr(optimizer, "param_groups", None)
    if groups:
        return float(groups[0]["lr"])
    return None


def fit(
    model: Any,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    optimizer: Any,
    train_data: Any,
    epochs: int = 100,
    target_loss: float | None = None,
    val_data: Any = None,
    scheduler: Any = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
    seed: int | None = None,
    metrics: Metrics = "auto",
    batch_size: int | None = None,
    nonfinite: str = "stop",
    compile: bool = False,
) -> History:
    """Train ``model`` by backpropagation: the classic loop of the literature (see the module).

    Args:
        train_data: a ``DataLoader`` or an ``(X, y)`` pair, presented in batches of
            ``batch_size`` (shuffled with ``seed``) or all at once when it is ``None``.
        epochs: the maximum number of passes over the training set.
        target_loss: stop as soon as an epoch's training loss falls below it. The epoch's
            loss adds up the batch losses for ``reduction="sum"`` losses (``SSELoss``: the
            classic global error E) and averages them over the patterns otherwise.
        val_data: evaluated after every epoch into ``val_loss`` (and ``val_accuracy``).
        scheduler: stepped once per epoch; ``ReduceLROnPlateau`` gets ``val_loss`` (or
            ``loss``).
        progress: a progress bar; ``False`` for silence.
        seed: seeds ``mg.manual_seed`` and the shuffling of an ``(X, y)`` pair.
        compile: run each training step through ``mg.compile`` (trace once, replay flat
            NumPy code; bit for bit the same training). Off by default: eager steps keep
            hooks, tracebacks and debugging exactly as written. See docs/compile.md.
        metrics: ``"auto"`` (accuracy for classification targets), ``"accuracy"``, ``None``,
            or a dict of name -> ``fn(output, target)`` on NumPy arrays.
        nonfinite: what a NaN or infinite batch loss does: ``"stop"`` (default) ends training
            before that batch's step, with ``stop_reason == "non_finite"``, a
            ``RuntimeWarning`` and ``history.stop_message`` naming the epoch and batch;
            ``"raise"`` raises ``FloatingPointError`` instead.

    Returns:
        A ``History``; Ctrl-C ends training cleanly with ``stop_reason == "interrupted"``.
        Any exception raised inside (by the optimizer, a callback, the model) propagates with
        the ``History`` of the epochs already run attached as ``exc.history``
        (``stop_reason == "error"``). Callbacks' ``on_train_end`` runs however training ends.

    >>> X, y = mg.data.make_xor()
    >>> net = mg.nn.MLP([2, 4, 1], activation="tanh", output_activation="sigmoid")
    >>> opt = mg.optim.SGD(net.parameters(), lr=0.5)
    >>> history = mg.train.fit(net, mg.nn.MSELoss(), opt, (X, y), epochs=5, progress=False)
    >>> history.epochs, len(history.history["loss"])
    ([1, 2, 3, 4, 5], 5)
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
    if nonfinite not in ("stop", "raise"):
        raise ValueError(f"fit: nonfinite must be 'stop' or 'raise', got {nonfinite!r}")
    if seed is not None:
        manual_seed(seed)
    loader = _as_loader(train_data, batch_size, batch_size is not None, seed)
    val_loader = None if val_data is None else _as_loader(val_data, None, False, None)
    accuracy, custom = _metric_plan(metrics, _targets_of(loader))
    reduction = getattr(loss_fn, "reduction", "mean")
    logits = _uses_logits(loss_fn)

    step = _compiled_step(model, loss_fn, optimizer) if compile else None
    history = History()
    callbacks = list(callbacks)
    for cb in callbacks:
        cb.model, cb.optimizer, cb.history = model, optimizer, history
    bar = _Progress(int(epochs), progress)
    history.stop_reason = "max_epochs"
    error: BaseException | None = None
    try:
        for cb in callbacks:
            cb.on_train_begin()
        for epoch in range(1, int(epochs) + 1):
            started = time.perf_counter()
            lr = _current_lr(optimizer)
            for cb in callbacks:
                cb.on_epoch_begin(epoch)
            _set_mode(model, True)
            meter = _Meter(reduction, accuracy, logits, custom)
            for batch, (xb, yb) in enumerate(loader):  # present every pattern (batch)
                if step is not None:
                    loss, output = step(xb, yb)           # the same step, replayed
                    value = loss.item()
                    if not math.isfinite(value):          # the step did not update
                        _non_finite(history, value, epoch, batch, nonfinite)
                        break
                else:
                    output = model(xb)                    # forward sweep
                    loss = _scalar(loss_fn(output, yb))   # error against the targets
                    value = loss.item()
                    if not math.isfinite(value):
                        _non_finite(history, value, epoch, batch, nonfinite)
                        break
                    optimizer.zero_grad()
                    loss.backward()                       # backward sweep: dE/dw
                    optimizer.step()                      # weight update (delta rule)
                meter.add(value, output.data, yb.data)
                for cb in callbacks:
                    cb.on_batch_end(batch, value)
            if history.stop_reason == "non_finite":
                break
            if meter.n == 0:
                raise ValueError("fit: the training data yielded no batches")
            logs = meter.result()                         # the epoch's global error
            if val_loader is not None:
                logs.update(_run_eval(model, val_loader, loss_fn, accuracy, custom, "val_"))
            if lr is not None:
                logs["lr"] = lr
            if scheduler is not None:
                if _is_plateau_scheduler(scheduler):
                    scheduler.step(logs.get("val_loss", logs["loss"]))
                else:
                    scheduler.step()
            logs["time"] = time.perf_counter() - started
            history._append(logs)
            bar.update(epoch, logs)
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            if target_loss is not None and logs["loss"] < target_loss:
                history.stop_reason = "target_loss"
                break
            if history._stop_request is not None:
                history.stop_reason = history._stop_request
                break
    except KeyboardInterrupt:
        history.stop_reason = "interrupted"
    except BaseException as exc:
        error = exc
        if history.stop_reason != "non_finite":  # nonfinite="raise" keeps its reason
            history.stop_reason = "error"
        _attach_history(exc, history)
        raise
    finally:
        _set_mode(model, True)
        bar.close(history)
        _end_callbacks(callbacks, history, error)
    if history.stop_reason == "non_finite":
        warnings.warn(str(history.stop_message), RuntimeWarning, stacklevel=2)
    return history


def _non_finite(history: History, value: float, epoch: int, batch: int, mode: str) -> None:
    """Record (or raise) a NaN/inf loss: nothing of that batch reached the weights."""
    history.stop_message = (
        f"fit: the loss is {value} at epoch {epoch}, batch {batch + 1}; training stopped before "
        f"that batch's step, so the weights are those after {history.epochs_run} full epochs "
        "and the batches before it. Try a smaller learning rate, or look for log(0) or "
        "overflow in the loss (mg.detect_anomaly() names the op).")
    history.stop_reason = "non_finite"
    if mode == "raise":
        raise FloatingPointError(history.stop_message)


def _attach_history(exc: BaseException, history: History) -> None:
    try:
        exc.history = history  # type: ignore[attr-defined]
    except (AttributeError, TypeError):  # pragma: no cover - an exception type with __slots__
        pass


def _end_callbacks(callbacks: Sequence[Callback], history: History,
                   error: BaseException | None) -> None:
    """``on_train_end`` of every callback, even when one of them (or training) failed."""
    first: Exception | None = None
    for cb in callbacks:
        try:
            cb.on_train_end()
        except Exception as exc:  # noqa: BLE001 - reported below, after the others ran
            if error is not None:
                warnings.warn(f"fit: {type(cb).__name__}.on_train_end raised {exc!r} while "
                              f"training was ending with {error!r}", RuntimeWarning,
                              stacklevel=3)
            elif first is None:
                first = exc
    if first is not None:
        _attach_history(first, history)
        raise first


def __dir__() -> list[str]:  # dir() and tab completion show the API, not the imports
    return sorted(__all__)
