"""Under- and over-fitting: too few, about right and too many hidden nodes on the same data.

Forty noisy samples of sin(x) over two periods are the training set; two hundred fresh
samples are the validation set. The noise has variance 0.09, so no network can beat a mean
squared error of about 0.09 on new data. One hidden node cannot bend enough to follow two
periods (under-fitting: both errors stay high). Six hidden nodes follow the curve. Two layers
of 128 hidden nodes, trained just as long, bend through the noise of the forty training
points (over-fitting: the training error falls far below the noise level while the
validation error rises). ``History`` records both errors per epoch; the plot shows them.

    python examples/under_over_fitting.py   # --quick: a few hundred epochs (for tests)

Full run (printed, seed 0):

    40 training and 200 validation samples of sin(x) + noise, noise variance 0.09; Adam, 4000 epochs
                     hidden  train MSE  val MSE  best val MSE (epoch)
    too few             [1]     0.4935   0.4876        0.4839 (  25)
    about right         [6]     0.0678   0.1744        0.1181 ( 465)
    too many     [128, 128]     0.0148   0.2911        0.1186 (  66)
    wrote out/under_over_fitting.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import microgradnet as mg

MODELS = (("too few", [1]), ("about right", [6]), ("too many", [128, 128]))
NOISE = 0.3
X_RANGE = (-2 * np.pi, 2 * np.pi)


def train_one(hidden: list[int], train_data, val_data, epochs: int, seed: int):
    mg.manual_seed(seed)
    model = mg.nn.MLP([1, *hidden, 1], activation="tanh")
    optimizer = mg.optim.Adam(model.parameters(), lr=0.01)
    history = mg.train.fit(model, mg.nn.MSELoss(), optimizer, train_data, epochs=epochs,
                           val_data=val_data, progress=False)
    return model, history


def plot(results, train_data, val_data, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 6.5))
    grid = np.linspace(*X_RANGE, 400, dtype=np.float32)[:, None]
    for i, (label, hidden, model, history) in enumerate(results):
        ax = fig.add_subplot(2, len(results), i + 1)
        ax.plot(val_data[0], val_data[1], ".", color="0.75", ms=3, label="validation")
        ax.plot(train_data[0], train_data[1], "o", color="C0", ms=5, label="training")
        with mg.no_grad():
            ax.plot(grid, model(mg.tensor(grid)).numpy(), color="C3", label="network")
        ax.set_title(f"{label}: hidden layers {hidden}")
        ax.set_ylim(-2, 2)
        ax.legend(loc="upper left", fontsize=8)
        ax = fig.add_subplot(2, len(results), len(results) + i + 1)
        ax.plot(history.epochs, history.history["loss"], label="training error")
        ax.plot(history.epochs, history.history["val_loss"], label="validation error")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description="Too few, right and too many hidden nodes.")
    parser.add_argument("--epochs", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--quick", action="store_true", help="300 epochs (for tests)")
    args = parser.parse_args()
    epochs = 300 if args.quick else args.epochs

    train_data = mg.data.make_sine(n_samples=40, noise=NOISE, x_range=X_RANGE, seed=args.seed)
    val_data = mg.data.make_sine(n_samples=200, noise=NOISE, x_range=X_RANGE,
                                 seed=args.seed + 1)
    print(f"{len(train_data[0])} training and {len(val_data[0])} validation samples of "
          f"sin(x) + noise, noise variance {NOISE**2:.2f}; Adam, {epochs} epochs")
    print(f"{'':12s} {'hidden':>10s} {'train MSE':>10s} {'val MSE':>8s} "
          f"{'best val MSE (epoch)':>21s}")
    results = []
    for label, hidden in MODELS:
        model, history = train_one(hidden, train_data, val_data, epochs, args.seed)
        h = history.history
        best = int(np.argmin(h["val_loss"]))
        print(f"{label:12s} {str(hidden):>10s} {h['loss'][-1]:10.4f} {h['val_loss'][-1]:8.4f} "
              f"{h['val_loss'][best]:13.4f} ({best + 1:4d})")
        results.append((label, hidden, model, history))

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is not installed: no plot (pip install 'microgradnet[plot]')")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    plot(results, train_data, val_data, args.out / "under_over_fitting.png")
    print(f"wrote {args.out / 'under_over_fitting.png'}")


if __name__ == "__main__":
    main()
