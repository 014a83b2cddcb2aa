"""Weight initialisers (``mg.nn.init``), with PyTorch's fan computations and gains.

Each one fills a tensor in place without recording anything and returns it. Every random one
takes ``generator=`` (a ``numpy.random.Generator``; the global one from ``mg.manual_seed``
otherwise).

>>> w = mg.empty(3, 4)
>>> _ = mg.nn.init.xavier_uniform_(w, generator=np.random.default_rng(0))
>>> bool((w.abs() <= (6 / (3 + 4)) ** 0.5).all())
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from microgradnet.autograd.grad_mode import no_grad
from microgradnet.tensor import Tensor

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "constant_",
    "zeros_",
    "ones_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended scale for weights feeding ``nonlinearity`` (PyTorch's table): 1 for
    linear and sigmoid, 5/3 for tanh, √2 for relu, √(2/(1 + slope²)) for leaky_relu, 3/4 for selu.

    >>> mg.nn.init.calculate_gain("relu") == 2 ** 0.5
    True
    """
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel): in·k and out·k, k = Π kernel."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions "
            f"(shape {shape})"
        )
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _check(tensor: Any, op: str) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expected a Tensor (e.g. a Parameter), got {type(tensor).__name__}")
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: np.random.Generator | None = None) -> Tensor:
    """Fill with values drawn uniformly from [a, b).

    >>> w = mg.nn.init.uniform_(mg.empty(2, 3), -1.0, 1.0)
    >>> w.shape, bool((w.abs() <= 1.0).all())
    ((2, 3), True)
    """
    with no_grad():
        return _check(tensor, "uniform_").uniform_(a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: np.random.Generator | None = None) -> Tensor:
    """Fill with values drawn from N(mean, std²).

    >>> _ = mg.manual_seed(0)
    >>> mg.nn.init.normal_(mg.empty(2), 0.0, 1.0)
    tensor([ 0.1257, -0.1321])
    """
    with no_grad():
        return _check(tensor, "normal_").normal_(mean, std, generator=generator)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``.

    >>> mg.nn.init.constant_(mg.empty(2), 0.5)
    tensor([0.5, 0.5])
    """
    with no_grad():
        return _check(tensor, "constant_").fill_(val)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0.

    >>> mg.nn.init.zeros_(mg.empty(2))
    tensor([0., 0.])
    """
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1.

    >>> mg.nn.init.ones_(mg.empty(2))
    tensor([1., 1.])
    """
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: np.random.Generator | None = None) -> Tensor:
    """Glorot & Bengio (2010): uniform in ±gain·√(6/(fan_in + fan_out)).

    >>> w = mg.nn.init.xavier_uniform_(mg.empty(4, 2))  # bound √(6/6) = 1
    >>> bool((w.abs() <= 1.0).all())
    True
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_uniform_"))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: np.random.Generator | None = None) -> Tensor:
    """Glorot & Bengio (2010): N(0, std²) with std = gain·√(2/(fan_in + fan_out)).

    >>> mg.nn.init.xavier_normal_(mg.empty(3, 2)).shape
    (3, 2)
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_normal_"))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: np.random.Generator | None = None) -> Tensor:
    """He et al. (2015): uniform in ±gain·√(3/fan), gain from ``calculate_gain(nonlinearity,
    a)``. With a = √5 this is the default initialisation of ``Linear``: ±1/√fan_in.

    >>> w = mg.nn.init.kaiming_uniform_(mg.empty(100, 100), a=5 ** 0.5)
    >>> bool((w.abs() <= 0.1).all())  # ±1/√100
    True
    """
    fan = _calculate_correct_fan(_check(tensor, "kaiming_uniform_"), mode)
    if fan == 0:
        return tensor  # nothing to scale by (a zero-element tensor), as PyTorch
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: np.random.Generator | None = None) -> Tensor:
    """He et al. (2015): N(0, std²) with std = gain/√fan.

    >>> mg.nn.init.kaiming_normal_(mg.empty(3, 2), nonlinearity="relu").shape
    (3, 2)
    """
    fan = _calculate_correct_fan(_check(tensor, "kaiming_normal_"), mode)
    if fan == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)
