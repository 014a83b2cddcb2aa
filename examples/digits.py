"""Handwritten digits: an MLP on real data (the 8x8 images bundled with scikit-learn).

1,797 grey-scale images of 8x8 pixels, 10 classes. Each image becomes 64 inputs in [0, 1];
a 64-64-10 tanh network with cross-entropy and SGD with momentum learns them in mini-batches.
Needs the optional extra: ``pip install 'microgradnet[datasets]'`` (nothing is downloaded).

    python examples/digits.py              # --quick: 3 epochs (for tests)

Full run (printed, seed 0):

    1346 training and 451 test images, 64 pixels each
    epoch   1  loss 1.4817  train accuracy 0.675  test accuracy 0.874
    epoch   5  loss 0.1206  train accuracy 0.970  test accuracy 0.945
    epoch  10  loss 0.0665  train accuracy 0.987  test accuracy 0.953
    epoch  15  loss 0.0364  train accuracy 0.995  test accuracy 0.956
    epoch  20  loss 0.0262  train accuracy 0.999  test accuracy 0.962
    epoch  25  loss 0.0181  train accuracy 0.999  test accuracy 0.953
    epoch  30  loss 0.0135  train accuracy 0.999  test accuracy 0.960
    epoch  35  loss 0.0114  train accuracy 0.999  test accuracy 0.965
    epoch  40  loss 0.0119  train accuracy 1.000  test accuracy 0.967
    test accuracy 96.7% after 40 epochs (12.3 s)
"""

from __future__ import annotations

import argparse
import sys
import time

import microgradnet as mg


def main() -> None:
    parser = argparse.ArgumentParser(description="An MLP on the 8x8 digits.")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="3 epochs (for tests)")
    args = parser.parse_args()
    epochs = 3 if args.quick else args.epochs

    try:
        X, y = mg.data.load_digits()
    except ImportError as err:
        sys.exit(str(err))
    X_train, X_test, y_train, y_test = mg.data.train_test_split(X, y, test_size=0.25,
                                                                seed=args.seed, stratify=True)
    print(f"{len(X_train)} training and {len(X_test)} test images, {X.shape[1]} pixels each")

    mg.manual_seed(args.seed)
    model = mg.nn.MLP([64, args.hidden, 10], activation="tanh")
    optimizer = mg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = mg.data.DataLoader((X_train, y_train), batch_size=32, shuffle=True, seed=args.seed)
    started = time.perf_counter()
    history = mg.train.fit(model, mg.nn.CrossEntropyLoss(), optimizer, loader, epochs=epochs,
                           val_data=(X_test, y_test), progress=False)
    seconds = time.perf_counter() - started
    h = history.history
    for epoch in sorted({1, *range(5, epochs + 1, 5), epochs}):
        print(f"epoch {epoch:3d}  loss {h['loss'][epoch - 1]:.4f}  "
              f"train accuracy {h['accuracy'][epoch - 1]:.3f}  "
              f"test accuracy {h['val_accuracy'][epoch - 1]:.3f}")
    test = mg.train.evaluate(model, (X_test, y_test))
    print(f"test accuracy {100 * test['accuracy']:.1f}% after {epochs} epochs "
          f"({seconds:.1f} s)")


if __name__ == "__main__":
    main()
