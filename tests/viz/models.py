"""The MLP the viz tests draw: the real ``mg.nn.MLP`` when it exists, else a tiny stand-in
with the same surface (``layers`` of Linear with ``weight`` (out, in) and ``bias``,
``activation``, ``named_parameters``, ``named_modules``)."""

from __future__ import annotations

import numpy as np

import microgradnet as mg


class Linear:
    def __init__(self, n_in, n_out, rng):
        self.weight = mg.tensor(rng.uniform(-1, 1, (n_out, n_in)).astype(np.float32),
                                requires_grad=True)
        self.bias = mg.tensor(rng.uniform(-1, 1, n_out).astype(np.float32), requires_grad=True)

    def __call__(self, x):
        return x @ self.weight.T + self.bias

    def parameters(self):
        return [self.weight, self.bias]

    def children(self):
        return []


class Sigmoid:
    def __call__(self, x):
        return 1.0 / (1.0 + (-x).exp())

    def parameters(self):
        return []

    def children(self):
        return []


class StandInMLP:
    def __init__(self, sizes, seed=0):
        rng = np.random.default_rng(seed)
        self.layers = [Linear(a, b, rng) for a, b in zip(sizes[:-1], sizes[1:])]
        self.activation = Sigmoid()
        self.output_activation = None

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)

    def named_parameters(self):
        for i, layer in enumerate(self.layers):
            yield f"layers.{i}.weight", layer.weight
            yield f"layers.{i}.bias", layer.bias

    def named_modules(self):
        yield "", self
        for i, layer in enumerate(self.layers):
            yield f"layers.{i}", layer

    def parameters(self):
        return [p for _, p in self.named_parameters()]


def make_mlp(sizes, seed=0):
    """The real MLP (sigmoid hidden layers, linear output) if nn has landed, else the stand-in."""
    MLP = getattr(getattr(mg, "nn", None), "MLP", None)
    if MLP is None:
        return StandInMLP(sizes, seed)
    return MLP(sizes, activation="sigmoid", generator=np.random.default_rng(seed))
