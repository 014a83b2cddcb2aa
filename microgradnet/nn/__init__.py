"""Neural-network building blocks: Module, layers, the MLP, losses, initialisers.

``mg.nn.functional`` is ``mg.functional``; ``mg.nn.init`` holds the initialisers.
"""

import sys as _sys

from microgradnet import functional
from microgradnet.nn import init, utils
from microgradnet.nn.layers import (
    ELU,
    GELU,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ModuleList,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from microgradnet.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SSELoss,
)
from microgradnet.nn.mlp import MLP
from microgradnet.nn.module import Module, Parameter

# ``import microgradnet.nn.functional as F`` works too, and gives the very same module.
_sys.modules.setdefault(__name__ + ".functional", functional)

__all__ = [
    "functional",
    "init",
    "utils",
    "Module",
    "Parameter",
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
    "MLP",
    "MSELoss",
    "SSELoss",
    "L1Loss",
    "CrossEntropyLoss",
    "NLLLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
]
