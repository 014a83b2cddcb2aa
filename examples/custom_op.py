"""A user-defined operation: subclass ``mg.Function``, write forward and backward, check it.

The op is softsign, s(x) = x / (1 + |x|), a smooth squashing function like tanh whose tails
approach ±1 slowly. Its derivative is s'(x) = 1 / (1 + |x|)^2. ``forward`` works on NumPy
arrays; ``backward`` is written with microgradnet ops, so the op also has a second derivative
(``mg.gradgradcheck`` verifies it). A twin with a wrong backward shows that ``mg.gradcheck``
catches the mistake. Finally the op trains a small network on XOR like any built-in
activation.

    python examples/custom_op.py            # --quick: fewer training epochs

Full run (printed):

    gradcheck(Softsign): passed
    gradgradcheck(Softsign): passed
    gradcheck(WrongSoftsign) failed as it should: gradcheck failed for input 0 (shape (3, 4))
      at element (0, 1), output element 1: analytic 0.51140358 vs numeric 0.26153363 ...
    XOR with a softsign hidden layer, 2-4-1, full-batch gradient descent:
    epoch    1  E = 0.5064
    epoch  400  E = 0.0157
    epoch  800  E = 0.0052
    epoch 1200  E = 0.0030
    epoch 1600  E = 0.0021
    epoch 2000  E = 0.0016
    outputs for (0,0) (0,1) (1,0) (1,1): 0.017 0.972 0.969 0.032
"""

from __future__ import annotations

import argparse

import numpy as np

import microgradnet as mg


class Softsign(mg.Function):
    """s(x) = x / (1 + |x|). Derivative: 1 / (1 + |x|)^2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data / (1.0 + np.abs(x.data))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1.0 + x.abs()) ** 2  # microgradnet ops: differentiable again


class WrongSoftsign(mg.Function):
    """The same forward with a classic slip in the derivative: the square is forgotten."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data / (1.0 + np.abs(x.data))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1.0 + x.abs())


def softsign(x: mg.Tensor) -> mg.Tensor:
    return Softsign.apply(x)


def check() -> None:
    # float64 inputs away from the kink of |x| at 0, where finite differences are unreliable
    rng = np.random.default_rng(0)
    values = rng.uniform(0.2, 3.0, size=(3, 4)) * rng.choice([-1.0, 1.0], size=(3, 4))
    x = mg.tensor(values, dtype=mg.float64, requires_grad=True)
    mg.gradcheck(softsign, (x,))
    print("gradcheck(Softsign): passed")
    mg.gradgradcheck(softsign, (x,))
    print("gradgradcheck(Softsign): passed")
    try:
        mg.gradcheck(WrongSoftsign.apply, (x,))
    except mg.GradcheckError as err:
        print(f"gradcheck(WrongSoftsign) failed as it should: {str(err).splitlines()[0]}")
    else:
        raise SystemExit("gradcheck accepted a wrong derivative")


def train_xor(epochs: int) -> float:
    """A 2-4-1 network with a softsign hidden layer, trained by plain gradient descent."""
    X = mg.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    t = mg.tensor([[0.0], [1.0], [1.0], [0.0]])
    rng = np.random.default_rng(1)
    W1 = mg.tensor(rng.uniform(-1, 1, (2, 4)), requires_grad=True, name="W1")
    b1 = mg.tensor(np.zeros(4), requires_grad=True, name="b1")
    W2 = mg.tensor(rng.uniform(-1, 1, (4, 1)), requires_grad=True, name="W2")
    b2 = mg.tensor(np.zeros(1), requires_grad=True, name="b2")
    params = (W1, b1, W2, b2)
    lr = 0.5
    print("XOR with a softsign hidden layer, 2-4-1, full-batch gradient descent:")
    for epoch in range(1, epochs + 1):
        o = mg.sigmoid(softsign(X @ W1 + b1) @ W2 + b2)
        E = 0.5 * ((t - o) ** 2).sum()  # the global error
        for p in params:
            p.grad = None
        E.backward()
        with mg.no_grad():
            for p in params:
                p -= lr * p.grad  # the delta rule
        if epoch == 1 or epoch % (epochs // 5) == 0:
            print(f"epoch {epoch:4d}  E = {E.item():.4f}")
    with mg.no_grad():
        o = mg.sigmoid(softsign(X @ W1 + b1) @ W2 + b2)
    print("outputs for (0,0) (0,1) (1,0) (1,1): " + " ".join(f"{v:.3f}" for v in o.numpy()[:, 0]))
    return E.item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (for tests)")
    args = parser.parse_args()
    check()
    train_xor(epochs=200 if args.quick else 2000)


if __name__ == "__main__":
    main()
