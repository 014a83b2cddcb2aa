"""Derivatives of whole functions: ``jacobian``, ``jacfwd``, ``jacrev``, ``hessian``, ``vjp``,
``jvp``, ``hvp``, ``vhp``.

Two modes, as in PyTorch and JAX. Reverse mode (the backward sweep, ``mg.grad``) gives a
vector-Jacobian product uᵀJ per sweep: a Jacobian row by row, one sweep per output element.
Forward mode (``mg.forward_ad``: tangents carried through one forward pass) gives a
Jacobian-vector product J·v per pass: a Jacobian column by column, one pass per input element.
So ``jacobian(..., strategy="auto")`` picks forward mode when there are fewer input than output
elements (a residual vector of a few parameters) and reverse mode otherwise (a loss of many
parameters). Hessians and Hessian-vector products run forward mode over the backward sweep:
the tangent of a gradient computed with ``create_graph=True`` is H·v.

Shapes follow PyTorch: for one input of shape ``I`` and one output of shape ``O`` the Jacobian has
shape ``O + I``; with a tuple of inputs (or outputs) the result is a tuple (of tuples).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from microgradnet.autograd import forward_ad as fwad
from microgradnet.autograd.api import grad
from microgradnet.autograd.grad_mode import enable_grad

__all__ = ["jacobian", "jacfwd", "jacrev", "hessian", "vjp", "jvp", "hvp", "vhp"]


def _as_tuple(x: Any, what: str, fn_name: str) -> tuple[bool, tuple[Any, ...]]:
    from microgradnet.tensor import Tensor

    if isinstance(x, Tensor):
        return False, (x,)
    if isinstance(x, (tuple, list)) and all(isinstance(t, Tensor) for t in x):
        return True, tuple(x)
    raise TypeError(f"{fn_name}: {what} must be a Tensor or a tuple of Tensors, got {type(x)!r}")


def _prepare(inputs: tuple[Any, ...], fn_name: str, create_graph: bool = False,
             grad: bool = True) -> tuple[Any, ...]:
    """The points to differentiate at, as tensors that require grad (``grad``; forward mode
    needs no recording and passes False).

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
        elif create_graph and fwad.tangent_of(t) is not None:
            v = t.reshape(t.shape)  # keeps the tangent of an outer forward-mode transform
            out.append(v.requires_grad_(True) if grad else v)
        else:
            out.append(t.detach().requires_grad_(True) if grad else t.detach())
    return tuple(out)


def _unrecorded(ins: tuple[Any, ...], create_graph: bool) -> tuple[Any, ...]:
    """The inputs for forward passes: detached unless the result must stay differentiable."""
    return ins if create_graph else tuple(x.detach() for x in ins)


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

    One forward pass carrying the tangents ``v`` (forward mode, no backward sweep).

    >>> import microgradnet as mg
    >>> out, t = mg.functional.jvp(lambda x: x ** 2, mg.tensor([1.0, 2.0]), mg.tensor([1.0, 0.0]))
    >>> t
    tensor([2., 0.])
    """
    is_tuple, ins = _as_tuple(inputs, "inputs", "jvp")
    vs = _vectors(v, ins, "jvp", "inputs")
    with enable_grad():
        ins = _prepare(ins, "jvp", create_graph, grad=create_graph)
        outs, tangents, out_tuple = _forward_pass(func, ins, vs, "jvp", strict)
    if not create_graph:
        outs = tuple(o.detach() for o in outs)
        tangents = tuple(t.detach() for t in tangents)
    return (outs if out_tuple else outs[0]), (tangents if out_tuple else tangents[0])


def _forward_pass(func: Callable[..., Any], ins: tuple[Any, ...], vs: tuple[Any, ...],
                  fn_name: str, strict: bool) -> tuple[tuple[Any, ...], tuple[Any, ...], bool]:
    """``func(*ins)`` in a dual level with tangents ``vs`` (None: no tangent for that input):
    the outputs (without tangents) and their tangents (zeros where an output got none)."""
    from microgradnet.tensor import Tensor

    with fwad.dual_level():
        duals = [x if t is None else fwad.make_dual(x, t) for x, t in zip(ins, vs)]
        out_tuple, outs = _check_outputs(func(*duals), fn_name)
        pairs = [fwad.unpack_dual(o) for o in outs]
    tangents = []
    for i, (o, p) in enumerate(zip(outs, pairs)):
        t = p.tangent
        if t is None:
            if strict:
                raise RuntimeError(
                    f"{fn_name}: output {i} does not depend on the inputs (strict=True). Pass "
                    "strict=False to get zeros for it."
                )
            t = Tensor(np.zeros(o.shape, dtype=o.dtype))
        tangents.append(t)
    return tuple(p.primal for p in pairs), tuple(tangents), out_tuple


_STRATEGIES = ("auto", "forward-mode", "reverse-mode")


def jacobian(func: Callable[..., Any], inputs: Any, create_graph: bool = False,
             strict: bool = False, vectorize: bool = False, strategy: str = "auto") -> Any:
    """The Jacobian of ``func`` at ``inputs``: ∂out[i…]/∂in[j…], shape ``out.shape + in.shape``.

    ``strategy="reverse-mode"`` builds it row by row (one backward sweep per output element),
    ``"forward-mode"`` column by column (one forward pass with tangents per input element),
    ``"auto"`` (default) whichever needs fewer: forward mode when there are fewer input than
    output elements. ``vectorize`` is accepted for PyTorch compatibility and ignored.

    >>> import microgradnet as mg
    >>> mg.functional.jacobian(lambda x: x * x, mg.tensor([1.0, 3.0]))
    tensor([[2., 0.],
            [0., 6.]])
    """
    if strategy not in _STRATEGIES:
        raise ValueError(f"jacobian: strategy must be one of {_STRATEGIES}, got {strategy!r}")
    is_tuple, ins = _as_tuple(inputs, "inputs", "jacobian")
    with enable_grad():
        ins = _prepare(ins, "jacobian", create_graph)
        if strategy == "forward-mode":
            table, out_tuple = _jacobian_forward(func, _unrecorded(ins, create_graph),
                                                 create_graph, strict)
        else:
            raw = func(*ins)  # recorded: reverse mode sweeps it, "auto" counts its elements
            out_tuple, outs = _check_outputs(raw, "jacobian")
            n_in = sum(t.size for t in ins)
            n_out = sum(o.size for o in outs)
            if strategy == "auto" and n_in < n_out:
                del raw, outs
                table, out_tuple = _jacobian_forward(func, _unrecorded(ins, create_graph),
                                                     create_graph, strict)
            else:
                table = _jacobian_reverse(outs, ins, create_graph, strict)
    if not create_graph:
        table = [tuple(b.detach() for b in row) for row in table]
    if out_tuple and is_tuple:
        return tuple(table)
    if out_tuple:
        return tuple(row[0] for row in table)
    return table[0] if is_tuple else table[0][0]


def _stack_blocks(cols: list[Any], lead: tuple[int, ...], tail: tuple[int, ...], dtype: Any,
                  create_graph: bool, axis_last: bool) -> Any:
    """One Jacobian block from its rows (reverse) or columns (forward)."""
    from microgradnet.tensor import Tensor

    n = len(cols)
    if n == 0:
        return Tensor(np.zeros(lead + tail, dtype=dtype))
    if create_graph:
        from microgradnet.ops.shape import stack

        st = stack(cols, -1 if axis_last else 0)
        return st.reshape(lead + tail)
    arr = np.stack([c.data for c in cols], -1 if axis_last else 0)
    return Tensor(arr.reshape(lead + tail))


def _jacobian_reverse(outs: tuple[Any, ...], ins: tuple[Any, ...], create_graph: bool,
                      strict: bool) -> list[tuple[Any, ...]]:
    """Row by row: one backward sweep per output element."""
    from microgradnet.tensor import Tensor

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
        table.append(tuple(_stack_blocks(rows[j], o.shape, t.shape, t.dtype, create_graph, False)
                           for j, t in enumerate(ins)))
    return table


def _jacobian_forward(func: Callable[..., Any], ins: tuple[Any, ...], create_graph: bool,
                      strict: bool) -> tuple[list[tuple[Any, ...]], bool]:
    """Column by column, all in one forward pass: every input element is a direction, each
    tensor carries one tangent per direction, each op computes its output once and applies
    its JVP rule once per direction (instead of one whole pass of ``func`` per column)."""
    from microgradnet.tensor import Tensor

    k = sum(x.size for x in ins)
    dirs: list[list[Any]] = []
    d = 0
    for x in ins:
        tangents: list[Any] = [None] * k
        for e in range(x.size):
            basis = np.zeros(x.size, dtype=x.dtype)
            basis[e] = 1.0
            tangents[d + e] = Tensor._make(basis.reshape(x.shape), False, None)
        d += x.size
        dirs.append(tangents)
    with fwad.dual_level(), fwad._directions(k):
        duals = [fwad._make_dual_directions(x, tuple(t)) if x.size else x
                 for x, t in zip(ins, dirs)]
        out_tuple, outs = _check_outputs(func(*duals), "jacobian")
        per_out = [fwad.tangent_of(o) for o in outs]
    table = []
    for i, (o, ts) in enumerate(zip(outs, per_out)):
        if ts is None and strict:
            raise RuntimeError(f"jacobian: output {i} does not depend on the inputs "
                               "(strict=True). Pass strict=False to get zeros for it.")
        zero = Tensor._make(np.zeros(o.shape, dtype=o.dtype), False, None)
        cols = [zero if ts is None or t is None else t for t in (ts or (None,) * k)]
        if not create_graph:
            cols = [c.detach() for c in cols]
        row = []
        d = 0
        for x in ins:
            row.append(_stack_blocks(cols[d:d + x.size], o.shape, x.shape, x.dtype,
                                     create_graph, True))
            d += x.size
        table.append(tuple(row))
    return table, out_tuple


def _argnums_call(func: Callable[..., Any], args: tuple[Any, ...], argnums: Any,
                  fn_name: str) -> tuple[Callable[..., Any], tuple[Any, ...], bool]:
    """``func`` as a function of the ``argnums`` arguments only (the others fixed)."""
    many = isinstance(argnums, (tuple, list))
    nums = tuple(argnums) if many else (argnums,)
    if not nums or any(not isinstance(i, int) or isinstance(i, bool) for i in nums):
        raise TypeError(f"{fn_name}: argnums must be an int or a tuple of ints, got {argnums!r}")
    n = len(args)
    idx = []
    for i in nums:
        if not -n <= i < n:
            raise ValueError(f"{fn_name}: argnums {i} is out of range for {n} positional "
                             "arguments")
        idx.append(i % n)

    def inner(*chosen: Any) -> Any:
        full = list(args)
        for i, c in zip(idx, chosen):
            full[i] = c
        return func(*full)

    return inner, tuple(args[i] for i in idx), many


_TRANSFORMS_RUNNING = [0]  # jacfwd/jacrev calls in progress (an inner one keeps its graph)


def _followed(t: Any) -> bool:
    """Whether an outer derivative follows ``t`` (it records or carries a tangent)."""
    return bool(t.requires_grad or fwad.tangent_of(t) is not None)


def _jac_transform(func: Callable[..., Any], argnums: Any, strategy: str,
                   fn_name: str) -> Callable[..., Any]:
    def jac(*args: Any) -> Any:
        from microgradnet.tensor import Tensor

        args = tuple(a if isinstance(a, Tensor) or not isinstance(a, (np.ndarray, float, int))
                     else Tensor(np.asarray(a, dtype=np.float64)) for a in args)
        inner, chosen, many = _argnums_call(func, args, argnums, fn_name)
        # Composed transforms (jacfwd(jacrev(f)), jacrev(jacrev(f)), ...) as torch.func: inside
        # another transform, or on inputs an outer derivative follows, the Jacobian is built
        # with create_graph so that the outer one can differentiate it.
        keep = _TRANSFORMS_RUNNING[0] > 0 or any(
            _followed(a) for a in args if isinstance(a, Tensor))
        _TRANSFORMS_RUNNING[0] += 1
        try:
            return jacobian(inner, chosen if many else chosen[0], create_graph=keep,
                            strategy=strategy)
        finally:
            _TRANSFORMS_RUNNING[0] -= 1

    jac.__name__ = f"{fn_name}_{getattr(func, '__name__', 'func')}"
    jac.__doc__ = f"The Jacobian of {getattr(func, '__name__', 'func')} ({fn_name})."
    return jac


def jacfwd(func: Callable[..., Any], argnums: Any = 0) -> Callable[..., Any]:
    """The function computing ``func``'s Jacobian by forward mode (``torch.func.jacfwd``): one
    forward pass per element of the differentiated argument(s). Choose it when the inputs are
    few and the outputs many (a residual vector of a few parameters).

    ``argnums`` (int or tuple) picks the positional argument(s) to differentiate.

    >>> f = lambda x, y: x * y
    >>> mg.functional.jacfwd(f, argnums=1)(mg.tensor([1.0, 2.0]), mg.tensor([3.0, 4.0]))
    tensor([[1., 0.],
            [0., 2.]])
    """
    return _jac_transform(func, argnums, "forward-mode", "jacfwd")


def jacrev(func: Callable[..., Any], argnums: Any = 0) -> Callable[..., Any]:
    """The function computing ``func``'s Jacobian by reverse mode (``torch.func.jacrev``): one
    backward sweep per output element. Choose it when the outputs are few and the inputs many
    (the gradient of a loss is the one-row case).

    >>> mg.functional.jacrev(lambda x: (x ** 2).sum())(mg.tensor([1.0, 2.0]))
    tensor([2., 4.])
    """
    return _jac_transform(func, argnums, "reverse-mode", "jacrev")


def _gradient_of(func: Callable[..., Any], is_tuple: bool, strict: bool, fn_name: str,
                 value: list[Any]) -> Callable[..., Any]:
    """x ↦ ∇func(x), recorded (``create_graph``), so that tangents flow through the sweep;
    ``value`` receives func(x)."""

    def gradient(*xs: Any) -> Any:
        for x in xs:
            if not x.requires_grad:
                x.requires_grad_(True)  # a fresh leaf (or dual view) made for this call
        out = func(*xs)
        _, outs = _check_outputs(out, fn_name)
        if len(outs) != 1 or outs[0].size != 1:
            raise RuntimeError(
                f"{fn_name}: the function must return a single one-element tensor; got "
                f"{len(outs)} output(s) of shape {outs[0].shape}"
            )
        value.append(outs[0])
        gs = _grads(outs, xs, (_ones_like(outs[0]),), True, strict, fn_name)
        return gs if is_tuple else gs[0]

    return gradient


def hessian(func: Callable[..., Any], inputs: Any, create_graph: bool = False,
            strict: bool = False) -> Any:
    """The Hessian of a scalar ``func`` at ``inputs``: the Jacobian of its gradient, built by
    forward mode over the backward sweep (one forward pass of the gradient computation per input
    element, each giving a column H·eₖ).

    >>> import microgradnet as mg
    >>> mg.functional.hessian(lambda x: (x ** 3).sum(), mg.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    is_tuple, ins = _as_tuple(inputs, "inputs", "hessian")
    gradient = _gradient_of(func, is_tuple, strict, "hessian", [])
    return jacobian(gradient, ins if is_tuple else ins[0], create_graph=create_graph,
                    strict=strict, strategy="forward-mode")


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
    """H·v for a scalar ``func``: returns ``(func(inputs), hvp)`` without forming H.

    Forward mode over reverse: the gradient is computed inside a dual level whose inputs carry
    the tangent ``v``, and the gradient's tangent is H·v (one forward and one backward pass).

    >>> f = lambda x: (x ** 3).sum()  # H = diag(6 x)
    >>> mg.functional.hvp(f, mg.tensor([1.0, 2.0]), mg.tensor([1.0, 0.0]))
    (tensor(9.), tensor([6., 0.]))
    """
    is_tuple, ins = _as_tuple(inputs, "inputs", "hvp")
    vs = _vectors(v, ins, "hvp", "inputs")
    value: list[Any] = []
    with enable_grad():
        ins = _prepare(ins, "hvp", create_graph, grad=create_graph)
        gradient = _gradient_of(func, True, strict, "hvp", value)
        _, res, _ = _forward_pass(gradient, ins, vs, "hvp", strict)
    out = value[0]
    out = fwad.unpack_dual(out).primal if create_graph else out.detach()
    if not create_graph:
        res = tuple(r.detach() for r in res)
    return out, (res if is_tuple else res[0])
