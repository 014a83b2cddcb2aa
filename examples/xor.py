"""XOR, the classic test of backpropagation, trained the way the textbook pseudo-code reads.

A 2-2-1 (or 2-4-1) network of sigmoid units with a bias on every unit, the global error
E = 1/2 sum_p sum_k (t_pk - o_pk)^2 (``mg.nn.SSELoss``), online learning (the weights change
after every pattern) and the delta rule with momentum, dw(n) = -lr dE/dw + alpha dw(n-1)
(``mg.optim.SGD(lr, momentum)``). Training stops when E falls below a target or after a
maximum number of epochs. The explicit loop below is what ``mg.train.fit`` runs; the last
part trains the same network with ``fit`` and gets the same numbers.

    python examples/xor.py                 # the 2-2-1 network, then 2-4-1 with fit
    python examples/xor.py --hidden 4      # --quick: at most 300 epochs (for tests)

Full run (printed, seed 0):

    2-2-1 sigmoid network, SSE, online SGD lr=0.5 momentum=0.9, target E < 0.01
    epoch    1  E = 0.5322
    epoch  100  E = 0.3651
    epoch  200  E = 0.0101
    epoch  201  E = 0.0100
      input 0 0  target 0  output 0.058
      input 0 1  target 1  output 0.934
      input 1 0  target 1  output 0.934
      input 1 1  target 0  output 0.087
    converged after 201 epochs
    fit, 2-2-1: 201 epochs, stopped by target_loss, E = 0.0100, accuracy 1.00
    the explicit loop and fit agree
    fit, 2-4-1: 139 epochs, stopped by target_loss, E = 0.0098, accuracy 1.00
"""

from __future__ import annotations

import argparse

import microgradnet as mg


def train_by_hand(hidden: int, max_epochs: int, target: float, seed: int) -> int:
    """The pseudo-code, one line per step; returns the number of epochs run."""
    X, T = mg.data.make_xor()
    mg.manual_seed(seed)  # initialise all weights with small random numbers
    net = mg.nn.MLP([2, hidden, 1], activation="sigmoid", output_activation="sigmoid")
    sse = mg.nn.SSELoss()  # E_p = 1/2 sum_k (t_k - o_k)^2
    opt = mg.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
    print(f"2-{hidden}-1 sigmoid network, SSE, online SGD lr=0.5 momentum=0.9, "
          f"target E < {target}")
    epoch, E = 0, float("inf")
    while epoch < max_epochs and E >= target:  # repeat ... until E < target or max epochs
        epoch += 1
        E = 0.0
        for p in range(len(X)):  # for every pattern in the training set
            x, t = mg.tensor(X[p : p + 1]), mg.tensor(T[p : p + 1])
            o = net(x)  # present the pattern, propagate it forward
            E_p = sse(o, t)  # error of this pattern
            opt.zero_grad()
            E_p.backward()  # propagate the errors backward: dE_p/dw for every weight
            opt.step()  # adjust the weights: delta rule with momentum
            E += E_p.item()  # accumulate the global error
        if epoch == 1 or epoch % 100 == 0 or E < target:
            print(f"epoch {epoch:4d}  E = {E:.4f}")
    with mg.no_grad():
        outputs = net(mg.tensor(X)).numpy()[:, 0]
    for x, t, o in zip(X.tolist(), T[:, 0].tolist(), outputs.tolist()):
        print(f"  input {x[0]:.0f} {x[1]:.0f}  target {t:.0f}  output {o:.3f}")
    print("converged" if E < target else "not converged (a local minimum? try another --seed)",
          f"after {epoch} epochs")
    return epoch


def train_with_fit(hidden: int, max_epochs: int, target: float, seed: int) -> int:
    """The same training through ``mg.train.fit`` (patterns presented in order)."""
    X, T = mg.data.make_xor()
    mg.manual_seed(seed)
    net = mg.nn.MLP([2, hidden, 1], activation="sigmoid", output_activation="sigmoid")
    opt = mg.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
    loader = mg.data.DataLoader((X, T), batch_size=1)  # online mode, in order
    history = mg.train.fit(net, mg.nn.SSELoss(), opt, loader, epochs=max_epochs,
                           target_loss=target, progress=False)
    print(f"fit, 2-{hidden}-1: {history.epochs_run} epochs, stopped by {history.stop_reason}, "
          f"E = {history.history['loss'][-1]:.4f}, accuracy "
          f"{history.history['accuracy'][-1]:.2f}")
    return history.epochs_run


def main() -> None:
    parser = argparse.ArgumentParser(description="XOR by backpropagation, as in the textbook.")
    parser.add_argument("--hidden", type=int, default=2, help="hidden units (default 2)")
    parser.add_argument("--epochs", type=int, default=5000, help="maximum epochs")
    parser.add_argument("--target", type=float, default=0.01, help="stop when E < target")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="at most 300 epochs (for tests)")
    args = parser.parse_args()
    max_epochs = min(args.epochs, 300) if args.quick else args.epochs
    by_hand = train_by_hand(args.hidden, max_epochs, args.target, args.seed)
    by_fit = train_with_fit(args.hidden, max_epochs, args.target, args.seed)
    print("the explicit loop and fit agree" if by_hand == by_fit else
          f"the explicit loop ({by_hand}) and fit ({by_fit}) differ")
    if args.hidden == 2:
        train_with_fit(4, max_epochs, args.target, args.seed)


if __name__ == "__main__":
    main()
