"""``MLP``: the multilayer perceptron of the backpropagation literature in one call.

>>> net = mg.nn.MLP([2, 4, 1], activation="sigmoid", output_activation="sigmoid")
>>> [name for name, _ in net.named_parameters()]
['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np

from microgradnet._checks import as_size
from microgradnet.nn import init as _init
from microgradnet.nn.layers import (
    ELU,
    GELU,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ModuleList,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from microgradnet.nn.module import Module, _TensorLayer
from microgradnet.tensor import Tensor

__all__ = ["MLP"]

ACTIVATIONS: dict[str, Callable[[], Module]] = {
    "sigmoid": Sigmoid,
    "logistic": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "gelu": GELU,
    "softplus": Softplus,
    "softmax": Softmax,
    "log_softmax": LogSoftmax,
    "identity": Identity,
    "linear": Identity,
}


class _Lambda(Module):
    """Wraps a plain function (such as ``F.relu``) as a module."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: Any) -> Any:
        return self.fn(x)

    def extra_repr(self) -> str:
        return getattr(self.fn, "__name__", repr(self.fn))


def _activation(spec: Any, what: str) -> Module:
    if spec is None:
        return Identity()
    if isinstance(spec, Module):
        return spec
    if isinstance(spec, str):
        make = ACTIVATIONS.get(spec.lower())
        if make is None:
            raise ValueError(f"MLP: unknown {what} {spec!r}; choose one of "
                             f"{', '.join(sorted(ACTIVATIONS))}, a Module or a function")
        return make()
    if isinstance(spec, type) and issubclass(spec, Module):
        return spec()
    if callable(spec):
        return _Lambda(spec)
    raise TypeError(f"MLP: {what} must be a name, a Module or a function, got "
                    f"{type(spec).__name__}")


class MLP(_TensorLayer):
    """A fully connected feed-forward network: ``Linear`` layers of the given ``sizes`` with
    ``activation`` after every hidden layer and ``output_activation`` after the last one.

    ``MLP([2, 4, 1], activation="sigmoid", output_activation="sigmoid")`` is the 2-4-1 network
    of the classic XOR experiment. ``layers[i]`` is the i-th ``Linear`` (weights
    ``layers.i.weight`` of shape (sizes[i+1], sizes[i])).

    Args:
        sizes: units per layer, input first, output last (at least two numbers).
        activation: for the hidden layers: a name ("sigmoid", "tanh", "relu", "leaky_relu",
            "elu", "gelu", "softplus", "identity"), a Module or a function.
        output_activation: the same for the output layer; ``None`` (the default) leaves it
            linear, which is what ``CrossEntropyLoss``/``BCEWithLogitsLoss`` expect.
        init: ``None`` keeps ``Linear``'s default (uniform in ±1/√fan_in); ``"classic"`` draws
            every weight and bias uniformly from [-1, 1] as the original algorithm does; a number
            r draws them from [-r, r]; ``"xavier_uniform"``, ``"xavier_normal"``,
            ``"kaiming_uniform"``, ``"kaiming_normal"`` initialise the weights that way and zero
            the biases; a function is called on each ``Linear`` layer.
        bias: whether the layers have biases (the classic "bias unit" with constant input 1).
        dtype: parameter dtype (default: ``mg.get_default_dtype()``).
        generator: a ``numpy.random.Generator`` for the initial weights (else the global one).

    >>> net = mg.nn.MLP([2, 4, 1], activation="tanh")
    >>> net(mg.zeros(3, 2)).shape
    (3, 1)
    >>> net.layers[0]
    Linear(in_features=2, out_features=4, bias=True)
    """

    def __init__(self, sizes: Sequence[int], activation: Any = "sigmoid",
                 output_activation: Any = None, init: Any = None, bias: bool = True,
                 dtype: Any = None, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
            raise TypeError(f"MLP: sizes must be a list of ints, got {type(sizes).__name__}")
        sizes = [as_size(s, "MLP: sizes") for s in sizes]
        if len(sizes) < 2 or any(s <= 0 for s in sizes):
            raise ValueError(f"MLP: sizes must list at least two positive layer sizes (input "
                             f"first, output last), got {sizes}")
        self.sizes = sizes
        self.layers = ModuleList(
            Linear(n_in, n_out, bias=bias, dtype=dtype, generator=generator)
            for n_in, n_out in zip(sizes[:-1], sizes[1:])
        )
        self.activation = _activation(activation, "activation")
        self.output_activation = _activation(output_activation, "output_activation")
        if init is not None:
            self.reset_parameters(init, generator)

    def reset_parameters(self, init: Any = None,
                         generator: np.random.Generator | None = None) -> None:
        """Draw new weights (see ``init`` in the class docstring)."""
        layers = list(self.layers)
        if init is None:
            for layer in layers:
                layer.reset_parameters(generator)
            return
        if isinstance(init, str) and init == "classic":
            init = 1.0
        if isinstance(init, (int, float)) and not isinstance(init, bool):
            r = float(init)
            for layer in layers:
                for p in layer.parameters():
                    _init.uniform_(p, -r, r, generator)
            return
        if isinstance(init, str):
            fills: dict[str, Callable[..., Any]] = {
                "xavier_uniform": _init.xavier_uniform_, "xavier_normal": _init.xavier_normal_,
                "kaiming_uniform": _init.kaiming_uniform_, "kaiming_normal": _init.kaiming_normal_}
            fill = fills.get(init)
            if fill is None:
                raise ValueError(f"MLP: unknown init {init!r}; use None, 'classic', a number, "
                                 "'xavier_uniform', 'xavier_normal', 'kaiming_uniform', "
                                 "'kaiming_normal' or a function of a Linear layer")
            for layer in layers:
                fill(layer.weight, generator=generator)
                if layer.bias is not None:
                    _init.zeros_(layer.bias)
            return
        if callable(init):
            fn: Callable[[Any], Any] = init
            for layer in layers:
                fn(layer)
            return
        raise TypeError(f"MLP: init must be None, 'classic', a number, an initialiser name or a "
                        f"function, got {type(init).__name__}")

    def forward(self, x: Any) -> Tensor:
        m = cast("dict[str, Module]", self._modules)  # self.activation etc., without a miss
        act = m["activation"]  # per read (see Linear.forward)
        *hidden, last = cast("list[Module]", [*m["layers"]._modules.values()])
        for layer in hidden:
            x = act(layer(x))
        return m["output_activation"](last(x))

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}"
