"""Entry points of the backward sweep: ``Tensor.backward`` and ``mg.grad``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from microgradnet.autograd.engine import run_backward

__all__ = ["backward", "grad"]

if TYPE_CHECKING:
    from microgradnet.tensor import Tensor


def _seed(out: Any, g: Any, where: str) -> Any:
    from microgradnet.tensor import Tensor

    if g is None:
        if out.data.size != 1:
            raise RuntimeError(
                f"{where}: the output has shape {out.shape}; backward without a gradient "
                "only works for a single-element output. Pass gradient= (a tensor of the "
                "output's shape), or reduce the output first, e.g. out.sum().backward()."
            )
        return Tensor._make(np.ones(out.data.shape, dtype=out.data.dtype), False, None)
    g = g if isinstance(g, Tensor) else Tensor(np.asarray(g, dtype=out.data.dtype))
    if g.shape != out.shape:
        raise ValueError(
            f"{where}: the gradient has shape {g.shape} but the output has shape {out.shape}; "
            "they must match"
        )
    return g


def _check_differentiable(out: Any, where: str) -> None:
    if not out.requires_grad:
        raise RuntimeError(
            f"{where}: the tensor does not require grad and has no grad_fn, so there is "
            "nothing to differentiate. Create the inputs with requires_grad=True (and make sure "
            "the computation did not run under mg.no_grad())."
        )


def backward(
    tensor: Any,
    gradient: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Sequence[Any] | None = None,
) -> None:
    """Accumulate d tensor / d leaf into every leaf's ``.grad`` (see ``Tensor.backward``)."""
    _check_differentiable(tensor, "backward")
    g = _seed(tensor, gradient, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = [inputs] if hasattr(inputs, "grad_fn") else list(dict.fromkeys(inputs))
        run_backward([tensor], [g], retain_graph, create_graph, inputs, accumulate=True)
        return
    run_backward([tensor], [g], retain_graph, create_graph)


# For type checkers: a gradient is None only for an unused input with allow_unused=True.
@overload
def grad(outputs: Any, inputs: Any, grad_outputs: Any = ..., retain_graph: bool | None = ...,
         create_graph: bool = ..., allow_unused: Literal[False] = ...) -> tuple[Tensor, ...]: ...
@overload
def grad(outputs: Any, inputs: Any, grad_outputs: Any = ..., retain_graph: bool | None = ...,
         create_graph: bool = ..., allow_unused: bool = ...) -> tuple[Tensor | None, ...]: ...
def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Any, ...]:
    """Derivatives of ``outputs`` with respect to ``inputs``, returned (``.grad`` is untouched).

    With ``create_graph=True`` the result is itself differentiable (higher-order derivatives).

    >>> x = mg.tensor(3.0, requires_grad=True)
    >>> (dy,) = mg.grad(x ** 3, x, create_graph=True)  # 3 x^2
    >>> dy
    tensor(27., grad_fn=<Mul>)
    >>> mg.grad(dy, x)  # 6 x
    (tensor(18.),)
    """
    from microgradnet.tensor import Tensor

    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        gos: list[Any] = [None] * len(outs)
    elif isinstance(grad_outputs, Tensor):
        gos = [grad_outputs]
    else:
        gos = list(grad_outputs)
    if len(gos) != len(outs):
        raise ValueError(f"grad: {len(outs)} outputs but {len(gos)} grad_outputs")
    for t in ins:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(
                "grad: every input must be a Tensor that requires grad; one does not "
                "(create it with requires_grad=True)."
            )
    for o in outs:
        _check_differentiable(o, "grad")
    seeds = [_seed(o, g, "grad") for o, g in zip(outs, gos)]
    if retain_graph is None:
        retain_graph = create_graph
    res = run_backward(outs, seeds, retain_graph, create_graph, ins)
    assert res is not None
    out: list[Any] = []
    for i, (t, g) in enumerate(zip(ins, res)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {i} (shape {t.shape}) was not used to compute the outputs, so "
                    "it has no gradient. Pass allow_unused=True to get None for it."
                )
            out.append(None)
            continue
        if g.shape != t.shape:
            from microgradnet.ops._util import sum_to_shape

            g = sum_to_shape(g, t.shape)
        out.append(g if create_graph else g.detach())
    return tuple(out)
