"""Parameters as one flat vector and back (``torch.nn.utils``), for solvers that want a vector.

Quasi-Newton methods and SciPy's solvers work on a single vector x; a model keeps its weights in
many tensors. ``parameters_to_vector`` joins them (in the order given), ``vector_to_parameters``
writes a vector back into them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from microgradnet.autograd.grad_mode import no_grad
from microgradnet.ops.shape import cat
from microgradnet.tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _param_list(parameters: Iterable[Tensor] | Tensor, fn: str) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: expected Tensors, but one of the parameters is "
                            f"{type(p).__name__}")
    return params


def parameters_to_vector(parameters: Iterable[Tensor] | Tensor) -> Tensor:
    """All parameters flattened and joined into one 1-d tensor (recorded: gradients flow back).

    >>> a, b = mg.ones((2, 2)), mg.zeros(3)
    >>> mg.nn.utils.parameters_to_vector([a, b])
    tensor([1., 1., 1., 1., 0., 0., 0.])
    """
    params = _param_list(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor] | Tensor) -> None:
    """Copy consecutive slices of the 1-d tensor ``vec`` into the parameters, in place.

    The parameters keep their identity (optimizers and modules still hold them); each one's
    version counter is bumped, so a graph that saved the old value notices.

    >>> a, b = mg.zeros((2, 2)), mg.zeros(3)
    >>> mg.nn.utils.vector_to_parameters(mg.arange(7.0), [a, b])
    >>> a
    tensor([[0., 1.],
            [2., 3.]])
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, but got "
                        f"{type(vec).__name__}")
    params = _param_list(parameters, "vector_to_parameters")
    total = sum(p.size for p in params)
    if vec.ndim != 1 or vec.size != total:
        raise ValueError(f"vector_to_parameters: vec has shape {vec.shape} but the parameters "
                         f"have {total} elements in total; expected shape ({total},)")
    flat = vec.data
    offset = 0
    with no_grad():
        for p in params:
            n = p.size
            np.copyto(p.data, flat[offset:offset + n].reshape(p.shape), casting="unsafe")
            p._bump()
            offset += n
