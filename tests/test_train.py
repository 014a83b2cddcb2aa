"""fit, evaluate, History and the callbacks."""

from __future__ import annotations

import builtins
from pathlib import Path

import numpy as np
import pytest

import microgradnet as mg
from microgradnet import data, train
from microgradnet.train import Callback, EarlyStopping, History, ModelCheckpoint


def _xor_net(seed: int = 0):
    mg.manual_seed(seed)
    model = mg.nn.MLP([2, 4, 1], activation="sigmoid", output_activation="sigmoid")
    return model, mg.nn.SSELoss(), mg.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)


def _moons_net(seed: int = 0):
    mg.manual_seed(seed)
    model = mg.nn.MLP([2, 8, 2], activation="tanh")
    return model, mg.nn.CrossEntropyLoss(), mg.optim.SGD(model.parameters(), lr=0.1,
                                                         momentum=0.9)


def _weights(model) -> dict[str, np.ndarray]:
    return {k: np.array(v.data if isinstance(v, mg.Tensor) else v)
            for k, v in model.state_dict().items()}


class Recorder(Callback):
    """Records every hook call; optionally raises KeyboardInterrupt at a given epoch."""

    def __init__(self, interrupt_at: int | None = None) -> None:
        self.calls: list[str] = []
        self.batch_losses: list[float] = []
        self.weights: dict[int, dict[str, np.ndarray]] = {}
        self.interrupt_at = interrupt_at
        self.epoch = 0

    def on_train_begin(self) -> None:
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch: int) -> None:
        self.epoch = epoch
        self.calls.append(f"epoch_begin {epoch}")

    def on_batch_end(self, batch: int, loss: float) -> None:
        self.batch_losses.append(loss)
        if self.epoch == self.interrupt_at:
            raise KeyboardInterrupt

    def on_epoch_end(self, epoch, logs) -> None:
        self.calls.append(f"epoch_end {epoch}")
        self.weights[epoch] = _weights(self.model)

    def on_train_end(self) -> None:
        self.calls.append("train_end")


def test_stops_at_max_epochs_with_a_full_history() -> None:
    model, loss_fn, opt = _xor_net()
    hist = train.fit(model, loss_fn, opt, data.make_xor(), epochs=5, progress=False)
    assert isinstance(hist, History)
    assert hist.epochs_run == 5 and hist.stop_reason == "max_epochs"
    assert set(hist.history) == {"loss", "accuracy", "lr", "time"}
    assert all(len(v) == 5 for v in hist.history.values())
    assert hist["lr"] == [0.5] * 5 and min(hist["time"]) > 0
    assert hist.epochs == [1, 2, 3, 4, 5]


def test_stops_when_the_global_error_falls_below_the_target() -> None:
    model, loss_fn, opt = _xor_net()
    hist = train.fit(model, loss_fn, opt, data.make_xor(), epochs=5000, target_loss=0.05,
                     batch_size=1, seed=0, progress=False)
    assert hist.stop_reason == "target_loss"
    assert hist["loss"][-1] < 0.05 <= min(hist["loss"][:-1])
    assert hist.epochs_run < 5000 and hist["accuracy"][-1] == 1.0


def test_epoch_loss_sums_sum_losses_and_averages_mean_losses() -> None:
    X, y = data.make_sine(10, seed=0)
    for loss_fn, expected in ((mg.nn.SSELoss(), "sum"), (mg.nn.MSELoss(), "mean")):
        mg.manual_seed(0)
        model = mg.nn.MLP([1, 3, 1], activation="tanh")
        rec = Recorder()
        hist = train.fit(model, loss_fn, mg.optim.SGD(model.parameters(), lr=0.01),
                         data.DataLoader((X, y), batch_size=4), epochs=1, callbacks=[rec],
                         progress=False)
        b = rec.batch_losses
        assert len(b) == 3
        want = sum(b) if expected == "sum" else (4 * b[0] + 4 * b[1] + 2 * b[2]) / 10
        assert hist["loss"][0] == pytest.approx(want, rel=1e-6)
        assert "accuracy" not in hist.history  # regression: no accuracy


def test_online_mode_updates_once_per_pattern() -> None:
    model, loss_fn, opt = _xor_net()
    rec = Recorder()
    train.fit(model, loss_fn, opt, data.make_xor(), epochs=3, batch_size=1, callbacks=[rec],
              progress=False)
    assert len(rec.batch_losses) == 12
    assert rec.calls[0] == "train_begin" and rec.calls[-1] == "train_end"
    assert rec.calls[1:3] == ["epoch_begin 1", "epoch_end 1"]


def test_validation_and_accuracy() -> None:
    X, y = data.make_moons(120, seed=0)
    Xv, yv = data.make_moons(60, seed=1)
    model, loss_fn, opt = _moons_net()
    hist = train.fit(model, loss_fn, opt, data.DataLoader((X, y), batch_size=16, shuffle=True,
                                                          seed=0),
                     epochs=40, val_data=(Xv, yv), progress=False)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert len(hist[key]) == 40
    assert hist["val_accuracy"][-1] > 0.8 and hist["accuracy"][-1] > 0.8
    assert hist["loss"][-1] < hist["loss"][0]
    final = train.evaluate(model, (Xv, yv), loss_fn)
    assert final["accuracy"] == pytest.approx(hist["val_accuracy"][-1])
    assert final["loss"] == pytest.approx(hist["val_loss"][-1], rel=1e-5)


def test_same_seed_same_training() -> None:
    X, y = data.make_moons(64, seed=0)
    runs = []
    for _ in range(2):
        model, loss_fn, opt = _moons_net(seed=3)
        runs.append(train.fit(model, loss_fn, opt, (X, y), epochs=4, batch_size=8, seed=5,
                              progress=False)["loss"])
    assert runs[0] == runs[1]
    model, loss_fn, opt = _moons_net(seed=3)
    other = train.fit(model, loss_fn, opt, (X, y), epochs=4, batch_size=8, seed=6,
                      progress=False)["loss"]
    assert other != runs[0]


class _Fixed:
    """A 'model' returning fixed outputs, to test the accuracy rules exactly."""

    def __init__(self, out) -> None:
        self.out = np.asarray(out, dtype=np.float32)

    def __call__(self, x):
        return mg.tensor(self.out)


def test_accuracy_rules() -> None:
    X = np.zeros((4, 2), np.float32)
    # a single sigmoid output: threshold 0.5
    y01 = np.array([[1.0], [0.0], [0.0], [0.0]], np.float32)
    assert train.evaluate(_Fixed([[0.7], [0.2], [0.6], [0.4]]), (X, y01))["accuracy"] == 0.75
    # logits (BCEWithLogitsLoss): threshold 0
    logits = _Fixed([[0.3], [-0.2], [0.1], [-0.4]])
    y1010 = np.array([[1.0], [0.0], [1.0], [0.0]], np.float32)
    with_logits = train.evaluate(logits, (X, y1010), mg.nn.BCEWithLogitsLoss())
    assert with_logits["accuracy"] == 1.0
    assert train.evaluate(logits, (X, y1010))["accuracy"] == 0.5  # 0.5 threshold: all "0"s
    # several outputs: argmax against labels, or against one-hot targets
    scores = _Fixed([[2, 1, 0], [0, 3, 1], [0, 0, 1], [5, 0, 0]])
    labels = np.array([0, 1, 2, 2])
    assert train.evaluate(scores, (X, labels))["accuracy"] == 0.75
    assert train.evaluate(scores, (X, data.one_hot(labels, 3)))["accuracy"] == 0.75
    # regression targets: no accuracy unless asked for
    reg = np.array([[0.3], [1.2], [0.0], [2.0]], np.float32)
    assert "accuracy" not in train.evaluate(_Fixed(reg), (X, reg))
    assert train.evaluate(_Fixed(reg), (X, reg), metrics=None) == {}
    custom = train.evaluate(_Fixed(reg), (X, reg),
                            metrics={"mae": lambda o, t: float(np.abs(o - t).mean())})
    assert custom == {"mae": 0.0}
    with pytest.raises(ValueError, match="unknown metric"):
        train.evaluate(_Fixed(reg), (X, reg), metrics="f1")


def test_ctrl_c_stops_cleanly_and_keeps_history_and_checkpoint(tmp_path: Path) -> None:
    model, loss_fn, opt = _xor_net()
    rec = Recorder(interrupt_at=3)
    ckpt = ModelCheckpoint(tmp_path / "last.npz", monitor="loss")
    hist = train.fit(model, loss_fn, opt, data.make_xor(), epochs=10, batch_size=2,
                     callbacks=[rec, ckpt], progress=False)
    assert hist.stop_reason == "interrupted"
    assert hist.epochs_run == 2 and len(hist["loss"]) == 2
    assert rec.calls[-1] == "train_end"
    saved = mg.load(tmp_path / "last.npz")
    for key, value in rec.weights[2].items():
        np.testing.assert_array_equal(np.asarray(saved[key]), value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.npz"]  # no temporary files


def test_checkpoint_every_epoch_and_best_only(tmp_path: Path) -> None:
    model, loss_fn, opt = _xor_net()
    ckpt = ModelCheckpoint(tmp_path / "ep{epoch:02d}.npz")
    rec = Recorder()
    train.fit(model, loss_fn, opt, data.make_xor(), epochs=3, callbacks=[rec, ckpt],
              progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ep01.npz", "ep02.npz", "ep03.npz"]
    assert ckpt.last_path == str(tmp_path / "ep03.npz")
    model.load_state_dict(mg.load(tmp_path / "ep02.npz"))
    for key, value in _weights(model).items():
        np.testing.assert_array_equal(value, rec.weights[2][key])

    # save_best_only: a metric that improves at epochs 1 and 3 only
    values = iter([3.0, 4.0, 1.0, 2.0])
    best_dir = tmp_path / "best"
    best = ModelCheckpoint(best_dir / "e{epoch}.npz", monitor="score", save_best_only=True)
    model, loss_fn, opt = _xor_net()
    train.fit(model, loss_fn, opt, data.make_xor(), epochs=4, callbacks=[best],
              metrics={"score": lambda o, t: next(values)}, progress=False)
    assert sorted(p.name for p in best_dir.iterdir()) == ["e1.npz", "e3.npz"]


def test_early_stopping_and_restoring_the_best_weights() -> None:
    values = iter([3.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    stop = EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    rec = Recorder()
    model, loss_fn, opt = _xor_net()
    hist = train.fit(model, loss_fn, opt, data.make_xor(), epochs=7, callbacks=[rec, stop],
                     metrics={"score": lambda o, t: next(values)}, progress=False)
    assert hist.stop_reason == "early_stopping" and hist.epochs_run == 4
    assert stop.best_epoch == 2 and stop.stopped_epoch == 4
    for key, value in _weights(model).items():
        np.testing.assert_array_equal(value, rec.weights[2][key])
        assert not np.array_equal(value, rec.weights[4][key])


def test_early_stopping_falls_back_to_the_training_loss() -> None:
    model, loss_fn, opt = _xor_net()
    stop = EarlyStopping(patience=1, min_delta=1e9)  # nothing counts as an improvement
    hist = train.fit(model, loss_fn, opt, data.make_xor(), epochs=10, callbacks=[stop],
                     progress=False)
    assert hist.stop_reason == "early_stopping" and hist.epochs_run == 2
    with pytest.raises(KeyError, match="nope"):
        train.fit(model, loss_fn, opt, data.make_xor(), epochs=1,
                  callbacks=[EarlyStopping(monitor="nope")], progress=False)


class _Sched:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def step(self, *args) -> None:
        self.calls.append(args)


class ReduceLROnPlateau(_Sched):
    """Named like the plateau scheduler: gets the monitored value."""


def test_schedulers_are_stepped_once_per_epoch() -> None:
    X, y = data.make_moons(40, seed=0)
    model, loss_fn, opt = _moons_net()
    plain, plateau = _Sched(), ReduceLROnPlateau()
    hist = train.fit(model, loss_fn, opt, (X, y), epochs=3, scheduler=plain, progress=False)
    assert plain.calls == [(), (), ()]
    hist = train.fit(model, loss_fn, opt, (X, y), epochs=2, val_data=(X, y), scheduler=plateau,
                     progress=False)
    assert plateau.calls == [(v,) for v in hist["val_loss"]]

    model, loss_fn, opt = _moons_net()
    step = mg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    hist = train.fit(model, loss_fn, opt, (X, y), epochs=5, scheduler=step, progress=False)
    assert hist["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])


def test_progress_is_silent_when_off_and_plain_lines_without_a_terminal(capsys) -> None:
    model, loss_fn, opt = _xor_net()
    train.fit(model, loss_fn, opt, data.make_xor(), epochs=20, progress=False)
    assert capsys.readouterr().err == ""
    train.fit(model, loss_fn, opt, data.make_xor(), epochs=20, progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("epoch  1/20  loss ") and "accuracy" in lines[0]
    assert lines[-1].startswith("epoch 20/20")
    assert 3 <= len(lines) <= 12  # every few epochs, not every epoch


def test_bad_arguments() -> None:
    model, loss_fn, opt = _xor_net()
    with pytest.raises(ValueError, match="epochs"):
        train.fit(model, loss_fn, opt, data.make_xor(), epochs=-1, progress=False)
    with pytest.raises(TypeError):
        train.fit(model, loss_fn, opt, 42, progress=False)
    with pytest.raises(ValueError, match="no batches"):
        empty = (np.zeros((0, 2), np.float32), np.zeros((0, 1), np.float32))
        train.fit(model, loss_fn, opt, empty, epochs=1, progress=False)
    per_pattern = mg.nn.SSELoss(reduction="none")
    with pytest.raises(ValueError, match="scalar"):
        train.fit(model, per_pattern, opt, data.make_xor(), epochs=1, progress=False)


def test_history_plot(tmp_path: Path, monkeypatch) -> None:
    hist = History()
    for i in range(3):
        hist._append({"loss": 1.0 / (i + 1), "val_loss": 1.2 / (i + 1), "accuracy": 0.5})
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(builtins, "__import__", no_matplotlib)
        with pytest.raises(ImportError, match=r"microgradnet\[plot\]"):
            hist.plot()
    pytest.importorskip("matplotlib")
    fig = hist.plot(tmp_path / "loss.png")
    assert (tmp_path / "loss.png").stat().st_size > 1000
    assert len(fig.axes) == 2


# --- issue 12: nothing is lost when training ends badly ---

class _NaNAt:
    """A loss that becomes NaN (or whose gradient becomes NaN) at one (epoch, batch) call."""

    def __init__(self, call: int, grad_only: bool = False) -> None:
        self.inner, self.call, self.calls, self.grad_only = mg.nn.SSELoss(), call, 0, grad_only
        self.reduction = "sum"

    def __call__(self, output, target):
        self.calls += 1
        loss = self.inner(output, target)
        if self.calls == self.call:
            if self.grad_only:  # value 0, gradient 0 * inf = NaN
                return loss + mg.sqrt((output - output.detach()).abs()).sum()
            return loss * float("nan")
        return loss


def test_a_non_finite_loss_stops_cleanly_naming_epoch_and_batch() -> None:
    model, _, opt = _xor_net()
    rec = Recorder()
    with pytest.warns(RuntimeWarning, match=r"loss is nan at epoch 3, batch 2"):
        hist = train.fit(model, _NaNAt(call=6), opt, data.make_xor(), epochs=10, batch_size=2,
                         callbacks=[rec], progress=False)
    assert hist.stop_reason == "non_finite" and hist.epochs_run == 2
    assert "epoch 3, batch 2" in hist.stop_message and len(hist["loss"]) == 2
    assert rec.calls[-1] == "train_end"
    assert all(np.isfinite(p.data).all() for p in model.parameters())  # no NaN step taken
    assert "non_finite" in train.STOP_REASONS
    model, _, opt = _xor_net()
    with pytest.raises(FloatingPointError, match="epoch 3, batch 2") as err:
        train.fit(model, _NaNAt(call=6), opt, data.make_xor(), epochs=10, batch_size=2,
                  progress=False, nonfinite="raise")
    assert err.value.history.epochs_run == 2
    assert err.value.history.stop_reason == "non_finite"
    with pytest.raises(ValueError, match="nonfinite must be"):
        train.fit(model, mg.nn.SSELoss(), opt, data.make_xor(), nonfinite="skip")


def test_an_exception_inside_fit_keeps_the_history_and_ends_the_callbacks() -> None:
    # the optimizer refuses a NaN gradient in epoch 3; NumPy's divide-by-zero (sqrt' at 0) and
    # invalid (inf * 0 in abs') warnings are that NaN being made on purpose, as PyTorch makes it
    model, _, opt = _xor_net()
    rec = Recorder()
    with pytest.raises(RuntimeError, match="non-finite") as err, \
            np.errstate(divide="ignore", invalid="ignore"):
        train.fit(model, _NaNAt(call=3, grad_only=True), opt, data.make_xor(), epochs=10,
                  callbacks=[rec], progress=False)
    hist = err.value.history
    assert isinstance(hist, History) and hist.epochs_run == 2 and len(hist["loss"]) == 2
    assert hist.stop_reason == "error" and rec.calls[-1] == "train_end"

    # a callback fails at the end of epoch 2: the epochs run are kept
    class Boom(Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 2:
                raise ZeroDivisionError("boom")

    model, loss_fn, opt = _xor_net()
    rec = Recorder()
    with pytest.raises(ZeroDivisionError) as err:
        train.fit(model, loss_fn, opt, data.make_xor(), epochs=5, callbacks=[rec, Boom()],
                  progress=False)
    assert err.value.history.epochs_run == 2 and rec.calls[-1] == "train_end"

    # on_train_end of every callback runs even when one of them fails
    class BadEnd(Callback):
        def on_train_end(self):
            raise OSError("disk full")

    rec = Recorder()
    with pytest.raises(OSError, match="disk full") as err:
        train.fit(model, loss_fn, opt, data.make_xor(), epochs=2,
                  callbacks=[BadEnd(), rec], progress=False)
    assert err.value.history.epochs_run == 2 and rec.calls[-1] == "train_end"
    # ... and while training itself fails, its error is the one raised
    rec = Recorder()
    with pytest.warns(RuntimeWarning, match="BadEnd.on_train_end raised"):
        with pytest.raises(ZeroDivisionError):
            train.fit(model, loss_fn, opt, data.make_xor(), epochs=5,
                      callbacks=[BadEnd(), Boom(), rec], progress=False)
    assert rec.calls[-1] == "train_end"


def test_checkpoint_path_fields_are_checked(tmp_path: Path) -> None:
    model, loss_fn, opt = _xor_net()
    ckpt = ModelCheckpoint(tmp_path / "ck_{name}.npz")
    with pytest.raises(ValueError, match=r"\{name\}.*fields are epoch, loss, accuracy, lr, time"):
        train.fit(model, loss_fn, opt, data.make_xor(), epochs=1, callbacks=[ckpt],
                  progress=False)
    with pytest.raises(ValueError, match="not a valid path template"):
        ModelCheckpoint(tmp_path / "ck_{epoch.npz")
    with pytest.raises(ValueError, match="positional field"):
        ModelCheckpoint(tmp_path / "ck_{}.npz")
    ok = ModelCheckpoint(tmp_path / "ck_{epoch}_{loss:.3f}.npz")
    train.fit(model, loss_fn, opt, data.make_xor(), epochs=1, callbacks=[ok], progress=False)
    assert Path(ok.last_path).name.startswith("ck_1_")
