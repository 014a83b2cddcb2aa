"""Two moons: a tanh MLP trained with cross-entropy, and the decision boundary it learns.

The two interleaving half circles cannot be separated by a straight line; a hidden layer of
tanh units bends the boundary around them. Training uses mini-batches of 16 shuffled patterns,
SGD with momentum and a validation set to watch for over-fitting. With matplotlib installed the
decision boundary and the loss curves are saved to ``--out``.

    python examples/moons_classifier.py     # --quick: 20 epochs (for tests)

Full run (printed, seed 0):

    epoch   40  loss 0.0900  accuracy 0.957  val_loss 0.1643  val_accuracy 0.920
    epoch   80  loss 0.0822  accuracy 0.973  val_loss 0.0825  val_accuracy 0.980
    epoch  120  loss 0.0845  accuracy 0.970  val_loss 0.0658  val_accuracy 0.980
    epoch  160  loss 0.0692  accuracy 0.970  val_loss 0.0873  val_accuracy 0.960
    epoch  200  loss 0.0687  accuracy 0.973  val_loss 0.1048  val_accuracy 0.950
    final: train accuracy 0.973, validation accuracy 0.950
    wrote out/moons_decision_boundary.png and out/moons_loss.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import microgradnet as mg


def plot_decision_boundary(model, X: np.ndarray, y: np.ndarray, path: Path) -> None:
    """Colour a grid over the plane by the predicted class and draw the points on top."""
    from matplotlib.figure import Figure

    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 250), np.linspace(lo[1], hi[1], 250))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    with mg.no_grad():
        p1 = mg.functional.softmax(model(mg.tensor(grid)), axis=1).numpy()[:, 1]
    fig = Figure(figsize=(6, 4.5))
    ax = fig.add_subplot()
    ax.contourf(gx, gy, p1.reshape(gx.shape), levels=20, cmap="RdBu_r", alpha=0.6)
    ax.contour(gx, gy, p1.reshape(gx.shape), levels=[0.5], colors="k", linewidths=1.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", edgecolors="k", linewidths=0.5, s=18)
    ax.set_title("two moons: P(class 1) and the 0.5 boundary")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description="A tanh MLP on the two moons.")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--noise", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--quick", action="store_true", help="20 epochs (for tests)")
    args = parser.parse_args()
    epochs = 20 if args.quick else args.epochs

    X, y = mg.data.make_moons(n_samples=400, noise=args.noise, seed=args.seed)
    X_train, X_val, y_train, y_val = mg.data.train_test_split(X, y, test_size=0.25,
                                                              seed=args.seed)
    mg.manual_seed(args.seed)
    model = mg.nn.MLP([2, 16, 16, 2], activation="tanh")
    print(model)
    optimizer = mg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = mg.data.DataLoader((X_train, y_train), batch_size=16, shuffle=True, seed=args.seed)
    history = mg.train.fit(model, mg.nn.CrossEntropyLoss(), optimizer, loader, epochs=epochs,
                           val_data=(X_val, y_val), progress=False)
    h = history.history
    for epoch in sorted({1, *range(epochs // 5, epochs + 1, max(epochs // 5, 1))}):
        print(f"epoch {epoch:4d}  loss {h['loss'][epoch - 1]:.4f}  "
              f"accuracy {h['accuracy'][epoch - 1]:.3f}  val_loss {h['val_loss'][epoch - 1]:.4f}"
              f"  val_accuracy {h['val_accuracy'][epoch - 1]:.3f}")
    print(f"final: train accuracy {h['accuracy'][-1]:.3f}, "
          f"validation accuracy {h['val_accuracy'][-1]:.3f}")

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is not installed: no plots (pip install 'microgradnet[plot]')")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    plot_decision_boundary(model, X, y, args.out / "moons_decision_boundary.png")
    history.plot(args.out / "moons_loss.png")
    print(f"wrote {args.out / 'moons_decision_boundary.png'} and {args.out / 'moons_loss.png'}")


if __name__ == "__main__":
    main()
