"""Derivatives of whole functions: ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``, ``vhp``.

Every one is built on the backward sweep (``mg.grad``), exactly as PyTorch's
``torch.autograd.functional``: a Jacobian is one vector-Jacobian product per output element, a
Jacobian-vector product is the derivative of a vector-Jacobian product with respect to its
vector (the "double-vjp trick"), a Hessian is the Jacobian of the gradient.

Shapes follow PyTorch: for one input of shape ``I`` and one output of shape ``O`` the Jacobian has
shape ``O + I``; with a tuple of inputs (or outputs) the result is a tuple (of tuples).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from microgradnet.autograd.api import grad
from microgradnet.autograd.grad_mode import enable_grad

__all__ = ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"]


def _as_tuple(x: Any, what: str, fn_name: str) -> tuple[bool, tuple[Any, ...]]:
    from microgradnet.tensor import Tensor

    if isinstance(x, Tensor):
        return False, (x,)
    if isinstance(x, (tuple, list)) and all(isinstance(t, Tensor) for t in x):
        return True, tuple(x)
    raise TypeError(f"{fn_name}: {what} must be a Tensor or a tuple of Tensors, got {type(x)!r}")


def _prepare(inputs: tuple[Any, ...], fn_name: str, create_graph: bool = False
             ) -> tuple[Any, ...]:
    """The points to differentiate at, as tensors that require grad.

    Normally fresh leaves sharing the inputs' data (the caller's graph is untouched); with
    ``create_graph`` an input that requires grad stays connected through an identity view, so
    the result can be differentiated with respect to it (as PyTorch does).
    """
    out = []
    for t in inputs:
        if t.dtype.kind != "f":
            raise TypeError(
                f"{fn_name}: inputs must be floating point to be differentiated; got {t.dtype}"
            )
        if create_graph and t.requires_grad:
            out.append(t.reshape(t.shape))
        else:
            out.append(t.detach().requires_grad_(True))
    return tuple(out)


def _zeros_for(grads: tuple[Any, ...], like: tuple[Any, ...], strict: bool, fn_name: str,
               what: str = "output") -> tuple[Any, ...]:
    from microgradnet.tensor import Tensor

    res = []
    for i, (g, t) in enumerate(zip(grads, like)):
        if g is None:
            if strict:
                raise RuntimeError(
                    f"{fn_name}: the {what} does not depend on input {i} (strict=True). Pass "
                    "strict=False to get zeros for it."
                )
            g = Tensor(np.zeros(t.shape, dtype=t.dtype))
        res.append(g)
    return tuple(res)


def _grads(outputs: tuple[Any, ...], inputs: tuple[Any, ...], grad_outputs: tuple[Any, ...],
           create_graph: bool, strict: bool, fn_name: str) -> tuple[Any, ...]:
    live = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not live:
        return _zeros_for((None,) * len(inputs), inputs, strict, fn_name)
    gs = grad([o for o, _ in live], inputs, [g for _, g in live], retain_graph=True,
              create_graph=create_graph, allow_unused=True)
    return _zeros_for(gs, inputs, strict, fn_name)


def _check_outputs(outs: Any, fn_name: str) -> tuple[bool, tuple[Any, ...]]:
    return _as_tuple(outs, "the function's output", fn_name)


def vjp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """Vector-Jacobian product vᵀ·J of ``func`` at ``inputs``; returns ``(func(inputs), vjp)``.

    >>> import microgradnet as mg
    >>> out, g = mg.functional.vjp(lambda x: x ** 2, mg.tensor([1.0, 2.0]), mg.tensor([1.0, 1.0]))
    >>> g
    tensor([2., 4.])
    """
    is_tuple, ins = _as_tuple(inputs, "inputs", "vjp")
    with enable_grad():
        ins = _prepare(ins, "vjp", create_graph)
        outs_raw = func(*ins)
        out_tuple, outs = _check_outputs(outs_raw, "vjp")
        vs = _vectors(v, outs, "vjp", "outputs")
        gs = _grads(outs, ins, vs, create_graph, strict, "vjp")
    outs = tuple(o if create_graph else o.detach() for o in outs)
    if not create_graph:
        gs = tuple(g.detach() for g in gs)
    return (outs if out_tuple else outs[0]), (gs if is_tuple else gs[0])


def _vectors(v: Any, like: tuple[Any, ...], fn_name: str, what: str) -> tuple[Any, ...]:
    from microgradnet.tensor import Tensor

    if v is None:
        if len(like) != 1 or like[0].size != 1:
            raise RuntimeError(
                f"{fn_name}: v may be omitted only when the {what} is a single one-element "
                "tensor; pass v with the shape of the " + what
            )
        return (Tensor(np.ones(like[0].shape, dtype=like[0].dtype)),)
    _, vs = _as_tuple(v, "v", fn_name)
    if len(vs) != len(like):
        raise ValueError(f"{fn_name}: v has {len(vs)} tensors but the {what} has {len(like)}")
    for a, b in zip(vs, like):
        if a.shape != b.shape:
            raise ValueError(
                f"{fn_name}: v has shape {a.shape} but the matching {what[:-1]} has shape "
                f"{b.shape}"
            )
    return vs


def jvp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """Jacobian-vector product J·v of ``func`` at ``inputs``; returns ``(func(inputs), jvp)``.

    Computed with two backward sweeps (the double-vjp trick): u ↦ uᵀJ is linear in u, so its
    derivative with respect to u, applied to v, is J·v.

    >>> import microgradnet as mg
    >>> out, t = mg.functional.jvp(lambda x: x ** 2, mg.tensor([1.0, 2.0]), mg.tensor([1.0, 0.0]))
    >>> t
    tensor([2., 0.])
    """
    from microgradnet.tensor import Tensor

    is_tuple, ins = _as_tuple(inputs, "inputs", "jvp")
    with enable_grad():
        ins = _prepare(ins, "jvp", create_graph)
        vs = _vectors(v, ins, "jvp", "inputs")
        out_tuple, outs = _check_outputs(func(*ins), "jvp")
        us = tuple(Tensor(np.zeros(o.shape, dtype=o.dtype), requires_grad=True) for o in outs)
        gs = _grads(outs, ins, us, True, strict, "jvp")
        pairs = [(g, vi) for g, vi in zip(gs, vs) if g.requires_grad]
        if pairs:
            res = grad([g for g, _ in pairs], us, [vi for _, vi in pairs], retain_graph=True,
                       create_graph=create_graph, allow_unused=True)
        else:
            res = (None,) * len(us)
        res = _zeros_for(res, outs, strict, "jvp", "output")
    outs = tuple(o if create_graph else o.detach() for o in outs)  # type: ignore[union-attr]
    if not create_graph:
        res = tuple(r.detach() for r in res)  # type: ignore[union-attr]
    return (outs if out_tuple else outs[0]), (res if out_tuple else res[0])


def jacobian(func: Callable[..., Any], inputs: Any, create_graph: bool = False,
             strict: bool = False) -> Any:
    """The Jacobian of ``func`` at ``inputs``: ∂out[i…]/∂in[j…], shape ``out.shape + in.shape``.

    One backward sweep per output element (reverse mode builds a Jacobian row by row).

    >>> import microgradnet as mg
    >>> mg.functional.jacobian(lambda x: x * x, mg.tensor([1.0, 3.0]))
    tensor([[2., 0.],
            [0., 6.]])
    """
    from microgradnet.tensor import Tensor

    is_tuple, ins = _as_tuple(inputs, "inputs", "jacobian")
    with enable_grad():
        ins = _prepare(ins, "jacobian", create_graph)
        out_tuple, outs = _check_outputs(func(*ins), "jacobian")
        table = []
        for o in outs:
            rows: list[list[Any]] = [[] for _ in ins]
            n = o.size
            for k in range(n):
                e = np.zeros(n, dtype=o.dtype)
                e[k] = 1.0
                if o.requires_grad:
                    gs = grad(o, ins, Tensor(e.reshape(o.shape)), retain_graph=True,
                              create_graph=create_graph, allow_unused=True)
                else:
                    gs = (None,) * len(ins)
                gs = _zeros_for(gs, ins, strict, "jacobian")
                for j, g in enumerate(gs):
                    rows[j].append(g if create_graph else g.detach())  # type: ignore[union-attr]
            blocks = []
            for j, t in enumerate(ins):
                if n == 0:
                    blocks.append(Tensor(np.zeros(o.shape + t.shape, dtype=t.dtype)))
                    continue
                if create_graph:
                    from microgradnet.ops.shape import stack

                    blocks.append(stack(rows[j], 0).reshape(o.shape + t.shape))
                else:
                    arr = np.stack([g.data for g in rows[j]]).reshape(o.shape + t.shape)
                    blocks.append(Tensor(arr))
            table.append(tuple(blocks))
    if not create_graph:
        table = [tuple(b.detach() for b in row) for row in table]
    if out_tuple and is_tuple:
        return tuple(table)
    if out_tuple:
        return tuple(row[0] for row in table)
    return table[0] if is_tuple else table[0][0]


def hessian(func: Callable[..., Any], inputs: Any, create_graph: bool = False,
            strict: bool = False) -> Any:
    """The Hessian of a scalar ``func`` at ``inputs``: the Jacobian of its gradient.

    >>> import microgradnet as mg
    >>> mg.functional.hessian(lambda x: (x ** 3).sum(), mg.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    is_tuple, ins = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs: Any) -> Any:
        out = func(*xs)
        _, outs = _check_outputs(out, "hessian")
        if len(outs) != 1 or outs[0].size != 1:
            raise RuntimeError(
                "hessian: the function must return a single one-element tensor; got "
                f"{len(outs)} output(s) of shape {outs[0].shape}"
            )
        gs = _grads(outs, xs, (_ones_like(outs[0]),), True, strict, "hessian")
        return gs if is_tuple else gs[0]

    return jacobian(gradient, ins if is_tuple else ins[0], create_graph=create_graph,
                    strict=strict)


def _ones_like(t: Any) -> Any:
    from microgradnet.tensor import Tensor

    return Tensor(np.ones(t.shape, dtype=t.dtype))


def vhp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """vᵀ·H for a scalar ``func``: returns ``(func(inputs), vhp)`` without forming H.

    >>> f = lambda x: (x ** 3).sum()  # H = diag(6 x)
    >>> mg.functional.vhp(f, mg.tensor([1.0, 2.0]), mg.tensor([0.0, 1.0]))
    (tensor(9.), tensor([ 0., 12.]))
    """
    is_tuple, ins = _as_tuple(inputs, "inputs", "vhp")
    with enable_grad():
        ins = _prepare(ins, "vhp", create_graph)
        _, outs = _check_outputs(func(*ins), "vhp")
        if len(outs) != 1 or outs[0].size != 1:
            raise RuntimeError("vhp: the function must return a single one-element tensor")
        vs = _vectors(v, ins, "vhp", "inputs")
        gs = _grads(outs, ins, (_ones_like(outs[0]),), True, strict, "vhp")
        pairs = [(g, vi) for g, vi in zip(gs, vs) if g.requires_grad]
        if pairs:
            res = grad([g for g, _ in pairs], ins, [vi for _, vi in pairs], retain_graph=True,
                       create_graph=create_graph, allow_unused=True)
        else:
            res = (None,) * len(ins)
        res = _zeros_for(res, ins, strict, "vhp")
    out = outs[0] if create_graph else outs[0].detach()
    if not create_graph:
        res = tuple(r.detach() for r in res)  # type: ignore[union-attr]
    return out, (res if is_tuple else res[0])


def hvp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """H·v for a scalar ``func`` (equal to vᵀ·H: a Hessian of a smooth function is symmetric).

    >>> f = lambda x: (x ** 3).sum()  # H = diag(6 x)
    >>> mg.functional.hvp(f, mg.tensor([1.0, 2.0]), mg.tensor([1.0, 0.0]))
    (tensor(9.), tensor([6., 0.]))
    """
    return vhp(func, inputs, v, create_graph, strict)
