"""Layers: ``Linear``, the activations, ``Softmax``, ``Dropout``, ``Flatten``, ``Identity``, and
the containers ``Sequential`` and ``ModuleList``.

>>> net = mg.nn.Sequential(mg.nn.Linear(2, 3), mg.nn.Tanh(), mg.nn.Linear(3, 1))
>>> net(mg.zeros(5, 2)).shape
(5, 1)
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any, cast, overload

import numpy as np

from microgradnet import functional as F
from microgradnet._checks import as_size
from microgradnet.nn import init
from microgradnet.nn.module import Module, Parameter, _TensorLayer
from microgradnet.tensor import Tensor, as_dtype, get_default_dtype

__all__ = [
    "Linear",
    "Identity",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "GELU",
    "Softplus",
    "Softmax",
    "LogSoftmax",
    "Dropout",
    "Flatten",
    "Sequential",
    "ModuleList",
]


class Linear(_TensorLayer):
    """A fully connected layer: y = x Wᵀ + b, weight of shape (out_features, in_features).

    Initialised as PyTorch's: weight and bias uniform in ±1/√in_features (``kaiming_uniform_``
    with a = √5). ``generator`` makes the draw reproducible without touching the global seed.

    >>> Linear(2, 3)
    Linear(in_features=2, out_features=3, bias=True)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = None, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        in_features = as_size(in_features, "Linear: in_features")
        out_features = as_size(out_features, "Linear: out_features")
        if in_features < 0 or out_features < 0:
            raise ValueError(f"Linear: sizes must be >= 0, got in_features={in_features}, "
                             f"out_features={out_features}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        dt = as_dtype(dtype) or get_default_dtype()
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dt))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """Draw fresh weights: uniform in ±1/√in_features, the bias likewise."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound, generator)

    def forward(self, x: Any) -> Tensor:
        # self.weight, read from the registry directly: on Python 3.11 a registered name first
        # misses the instance dict, which builds and drops an AttributeError (~1 µs a read).
        p = self._parameters
        return F.linear(x, cast(Tensor, p["weight"]), p["bias"])

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """Returns its input unchanged (a placeholder; arguments are accepted and ignored).

    >>> mg.nn.Identity(54, unused=True)(mg.tensor([-1.0, 2.0]))
    tensor([-1.,  2.])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class Sigmoid(_TensorLayer):
    """The logistic function σ(x) = 1/(1 + e^−x), the classic unit of backpropagation.

    >>> mg.nn.Sigmoid()(mg.tensor([-1.0, 2.0]))
    tensor([0.2689, 0.8808])
    """

    def forward(self, x: Any) -> Tensor:
        return F.sigmoid(x)


class Tanh(_TensorLayer):
    """The hyperbolic tangent, a zero-centred sigmoid.

    >>> mg.nn.Tanh()(mg.tensor([-1.0, 2.0]))
    tensor([-0.7616,  0.964 ])
    """

    def forward(self, x: Any) -> Tensor:
        return F.tanh(x)


class ReLU(_TensorLayer):
    """max(x, 0).

    >>> mg.nn.ReLU()(mg.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """

    def forward(self, x: Any) -> Tensor:
        return F.relu(x)


class LeakyReLU(_TensorLayer):
    """x for x > 0, negative_slope·x otherwise.

    >>> mg.nn.LeakyReLU(0.1)(mg.tensor([-1.0, 2.0]))
    tensor([-0.1,  2. ])
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Any) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(_TensorLayer):
    """x for x > 0, alpha·(eˣ − 1) otherwise.

    >>> mg.nn.ELU()(mg.tensor([-1.0, 2.0]))
    tensor([-0.6321,  2.    ])
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x: Any) -> Tensor:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(_TensorLayer):
    """x·Φ(x), exact by default, or its tanh approximation with ``approximate="tanh"``.

    >>> mg.nn.GELU()(mg.tensor([-1.0, 2.0]))
    tensor([-0.1587,  1.9545])
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x: Any) -> Tensor:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(_TensorLayer):
    """log(1 + e^(beta·x))/beta, linear above ``threshold`` (a smooth ReLU).

    >>> mg.nn.Softplus()(mg.tensor([-1.0, 2.0]))
    tensor([0.3133, 2.1269])
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, x: Any) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(_TensorLayer):
    """Softmax along ``dim`` (default the last axis): a probability distribution per row.

    >>> mg.nn.Softmax()(mg.tensor([-1.0, 2.0]))
    tensor([0.0474, 0.9526])
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(_TensorLayer):
    """Log of the softmax along ``dim`` (pair it with ``NLLLoss``).

    >>> mg.nn.LogSoftmax()(mg.tensor([-1.0, 2.0]))
    tensor([-3.0486, -0.0486])
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return F.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Dropout(_TensorLayer):
    """During training, zero each input with probability ``p`` and scale the rest by 1/(1−p);
    in evaluation mode (``model.eval()``) pass the input through unchanged.

    >>> drop = mg.nn.Dropout(p=0.5)
    >>> drop.eval()(mg.ones(3))
    tensor([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def forward(self, x: Any) -> Tensor:
        return F.dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Flatten(_TensorLayer):
    """Merge axes ``start_dim``..``end_dim`` into one (default: all but the batch axis).

    >>> mg.nn.Flatten()(mg.zeros(2, 3, 4)).shape
    (2, 12)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Tensor) -> Tensor:
        shape = x.shape
        nd = max(len(shape), 1)
        s, e = self.start_dim, self.end_dim
        if not (-nd <= s < nd and -nd <= e < nd):
            raise ValueError(f"Flatten: dims ({s}, {e}) are out of range for shape {shape}")
        s, e = s % nd, e % nd
        if s > e:
            raise ValueError(f"Flatten: start_dim {self.start_dim} comes after end_dim "
                             f"{self.end_dim} for shape {shape}")
        if len(shape) == 0:
            return x.reshape(1)
        merged = int(np.prod(shape[s:e + 1], dtype=np.int64))
        return x.reshape(shape[:s] + (merged,) + shape[e + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


def _index(i: int, n: int, kind: str) -> int:
    i = int(i)
    if not -n <= i < n:
        raise IndexError(f"{kind} index {i} is out of range for length {n}")
    return i % n


class Sequential(Module):
    """Modules applied one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Children are named ``0``, ``1``, ... (or by the keys of an ``OrderedDict``), so parameters
    are called ``0.weight``, ``2.bias``, ...

    >>> model = mg.nn.Sequential(mg.nn.Linear(2, 3), mg.nn.ReLU())
    >>> model(mg.zeros(5, 2)).shape
    (5, 3)
    """

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, m in modules[0].items():
                self.add_module(str(name), m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    @overload
    def __getitem__(self, idx: int) -> Module: ...

    @overload
    def __getitem__(self, idx: slice) -> Sequential: ...

    def __getitem__(self, idx: int | slice) -> Module:
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        return cast(Module, items[_index(idx, len(items), "Sequential")][1])

    def __setitem__(self, idx: int, module: Module) -> None:
        key = list(self._modules)[_index(idx, len(self._modules), "Sequential")]
        self.add_module(key, module)

    def __delitem__(self, idx: int | slice) -> None:
        keys = list(self._modules)
        doomed = keys[idx] if isinstance(idx, slice) else [keys[_index(idx, len(keys),
                                                                       "Sequential")]]
        for k in doomed:
            del self._modules[k]
        # keep the numbering 0..n-1 when the children were numbered
        if all(k.isdigit() for k in self._modules):
            mods = list(self._modules.values())
            self._modules.clear()
            for i, m in enumerate(mods):
                self._modules[str(i)] = m

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(cast("list[Module]", [*self._modules.values()]))

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        for m in modules:
            self.append(m)
        return self

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)  # type: ignore[misc]  # registered children are never None here
        return x


class ModuleList(Module):
    """A list of modules whose parameters are registered (``self.blocks = ModuleList(...)``);
    it has no ``forward``: iterate over it in yours.

    >>> blocks = mg.nn.ModuleList([mg.nn.Linear(2, 2), mg.nn.Linear(2, 1)])
    >>> len(blocks), len(list(blocks.parameters()))
    (2, 4)
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    @overload
    def __getitem__(self, idx: int) -> Module: ...

    @overload
    def __getitem__(self, idx: slice) -> ModuleList: ...

    def __getitem__(self, idx: int | slice) -> Module:
        mods = cast("list[Module]", list(self._modules.values()))
        if isinstance(idx, slice):
            return ModuleList(mods[idx])
        return mods[_index(idx, len(mods), "ModuleList")]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(str(_index(idx, len(self), "ModuleList")), module)

    def __delitem__(self, idx: int | slice) -> None:
        mods = list(self._modules.values())
        del mods[idx]
        self._modules.clear()
        for i, m in enumerate(mods):
            self._modules[str(i)] = m

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(cast("list[Module]", [*self._modules.values()]))

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Add each of ``modules`` at the end."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index``."""
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)
