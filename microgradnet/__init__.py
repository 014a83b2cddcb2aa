"""microgradnet: reverse-mode automatic differentiation on NumPy, readable and fast.

>>> import microgradnet as mg
>>> x = mg.tensor(2.0, requires_grad=True)
>>> y = x * x + 3 * x
>>> y.backward()
>>> x.grad
tensor(7.)
"""

from __future__ import annotations

import builtins as _builtins
import types as _types

import numpy as _np

from microgradnet.autograd import forward_ad
from microgradnet.autograd.api import grad
from microgradnet.autograd.function import Function
from microgradnet.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from microgradnet.creation import (
    arange,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from microgradnet.ops.arithmetic import (
    abs,
    add,
    div,
    divide,
    floor_divide,
    mul,
    multiply,
    neg,
    negative,
    pow,
    power,
    remainder,
    sub,
    subtract,
    true_divide,
)
from microgradnet.ops.comparison import (
    all,
    any,
    eq,
    ge,
    gt,
    isfinite,
    isnan,
    le,
    logical_and,
    logical_not,
    logical_or,
    lt,
    ne,
)
from microgradnet.ops.diagonal import *  # noqa: F403
from microgradnet.ops.einsum import einsum
from microgradnet.ops.elementwise import *  # noqa: F403
from microgradnet.ops.indexing import *  # noqa: F403
from microgradnet.ops.linalg import dot, matmul, outer
from microgradnet.ops.reduction import *  # noqa: F403
from microgradnet.ops.scan import *  # noqa: F403
from microgradnet.ops.shape import *  # noqa: F403
from microgradnet.ops.special import *  # noqa: F403
from microgradnet.random import manual_seed
from microgradnet.tensor import Tensor, get_default_dtype, set_default_dtype  # noqa: I001

float16 = _np.dtype(_np.float16)
float32 = _np.dtype(_np.float32)
float64 = _np.dtype(_np.float64)
int8 = _np.dtype(_np.int8)
int16 = _np.dtype(_np.int16)
int32 = _np.dtype(_np.int32)
int64 = _np.dtype(_np.int64)
uint8 = _np.dtype(_np.uint8)
bool_ = _np.dtype(_np.bool_)
float = float32  # noqa: A001  (PyTorch's alias)
double = float64
long = int64

__version__ = "0.1.0"

from microgradnet import (  # noqa: E402
    data,
    functional,
    integrate,
    linalg,
    nn,
    optim,
    optimize,
    testing,
    train,
    viz,
)
from microgradnet.autograd.anomaly import (  # noqa: E402
    detect_anomaly,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from microgradnet.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402
from microgradnet.compile import compile  # noqa: E402,A004  (mg.compile, as torch.compile)
from microgradnet.serialization import *  # noqa: E402,F403

# Keep this block last. The API is every public name above, except the implementation modules;
# `from microgradnet import *` leaves out the names that would shadow Python's builtins
# (abs, all, any, max, min, pow, round, sum, float, compile: use them as mg.abs, ...).

_SUBPACKAGES = {"autograd", "data", "functional", "integrate", "linalg", "nn", "optim", "optimize",
                "testing", "train", "viz"}
_API = sorted(n for n, v in globals().items()
              if not n.startswith("_") and n != "annotations"
              and (not isinstance(v, _types.ModuleType) or n in _SUBPACKAGES))
__all__ = [n for n in _API if not hasattr(_builtins, n)]


def __dir__() -> list[str]:
    return [*_API, "__version__"]
