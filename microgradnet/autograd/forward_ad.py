"""Forward-mode differentiation: tensors that carry a tangent (``torch.autograd.forward_ad``).

Inside ``with dual_level():`` a *dual tensor* made by ``make_dual(primal, tangent)`` carries a
tangent (a direction of change of its value). Every op applied to a dual tensor computes its
output as usual and, from its inputs' tangents, the output's tangent: the op's ``jvp(ctx,
*tangents)`` rule, the Jacobian-vector product, written beside its ``backward`` in the same
Function class. ``unpack_dual(y)`` reads ``(primal, tangent)``. One forward pass gives J·v for
one direction v, where reverse mode needs one backward sweep per output element: forward mode
wins when a function has fewer inputs than outputs (``mg.functional.jacfwd``).

Tangents are Tensors and JVP rules are written with microgradnet ops, so forward mode composes
with reverse mode: a gradient computed with ``create_graph=True`` inside a dual level carries
the tangent H·v (Hessian-vector products "forward over reverse", ``mg.functional.hvp``).

>>> import microgradnet.autograd.forward_ad as fwAD
>>> with fwAD.dual_level():
...     x = fwAD.make_dual(mg.tensor([1.0, 2.0]), mg.tensor([1.0, 0.0]))
...     y = (x * x).sum()
...     fwAD.unpack_dual(y).tangent   # d/dt (x + t e0)² summed = 2 x0
tensor(2.)
"""

from __future__ import annotations

import threading
import weakref
from collections import namedtuple
from typing import Any

import numpy as np

from microgradnet.autograd.grad_mode import _state

__all__ = ["dual_level", "make_dual", "unpack_dual", "enter_dual_level", "exit_dual_level",
           "UnpackedDualTensor"]

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])


class _FwState(threading.local):
    """``level``: the id of the active dual level, 0 when none (read by every op: one check);
    ``k``: the number of directions carried at once (0: one tangent per tensor)."""

    def __init__(self) -> None:
        self.level = 0
        self.k = 0


_fw = _FwState()
_counter = [0]
# One entry per dual level active in any thread: while it is empty no op needs to read the
# thread-local ``_fw.level`` (a read costs as much as a third of NumPy's tiny add).
_live: list[None] = []
# Recorded node -> (level, tangents of its outputs): ``saved_output`` re-attaches them, so that a
# backward rule that reads the op's output sees its tangent (forward over reverse).
_out_tangents: weakref.WeakKeyDictionary[Any, tuple[int, tuple[Any, ...]]] = \
    weakref.WeakKeyDictionary()


def enter_dual_level() -> int:
    """Start a dual level (prefer ``with dual_level():``); returns its id."""
    if _fw.level:
        raise RuntimeError(
            "forward_ad: a dual level is already active; nested dual levels are not supported "
            "(as in torch.autograd.forward_ad), so forward mode cannot run inside forward mode: "
            "jacfwd(jacfwd(f)), jvp inside jvp, or jvp/jacfwd/hessian/hvp inside `with "
            "dual_level():`. For second derivatives put reverse mode inside: "
            "jacfwd(jacrev(f)), mg.functional.hessian or hvp (forward over reverse)."
        )
    _counter[0] += 1
    _live.append(None)
    _fw.level = _counter[0]
    return _fw.level


def exit_dual_level(level: int | None = None) -> None:
    """End the active dual level: the tangents made inside it are gone."""
    if level is not None and level != _fw.level:
        raise RuntimeError(f"forward_ad: level {level} is not the active dual level")
    if _fw.level:
        _live.pop()
    _fw.level = 0


class dual_level:
    """Context manager for a scope in which dual tensors carry tangents.

    >>> import microgradnet.autograd.forward_ad as fwAD
    >>> with fwAD.dual_level():
    ...     y = mg.sin(fwAD.make_dual(mg.tensor(0.0), mg.tensor(1.0)))
    ...     fwAD.unpack_dual(y).tangent   # cos(0)
    tensor(1.)
    """

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: object) -> None:
        exit_dual_level()


_TENSOR: list[Any] = []  # [Tensor], filled on first use (tensor.py imports this module)


def _tensor_cls() -> Any:
    if not _TENSOR:
        from microgradnet.tensor import Tensor

        _TENSOR.append(Tensor)
    return _TENSOR[0]


def tangent_of(t: Any) -> Any:
    """The tangent ``t`` carries at the active level, or None."""
    m = getattr(t, "_meta", None)
    if m:
        entry = m.get("fw")
        if entry is not None and entry[0] == _fw.level:
            return entry[1]
    return None


def _set_tangent(t: Any, tangent: Any, level: int | None = None) -> None:
    if t._meta is None:
        t._meta = {}
    t._meta["fw"] = (_fw.level if level is None else level, tangent)


def _fresh_view(t: Any) -> Any:
    """A new tensor over ``t``'s data: in the graph when ``t`` is (a differentiable view)."""
    Tensor = _tensor_cls()
    if t.requires_grad and _state.enabled:
        from microgradnet.ops.shape import Reshape

        level, _fw.level = _fw.level, 0
        try:
            return Reshape.apply(t, t.shape)
        finally:
            _fw.level = level
    v = Tensor._make(t.data, False, None)
    v._vc = t._shared_version()
    return v


def make_dual(tensor: Any, tangent: Any, *, level: int | None = None) -> Any:
    """A view of ``tensor`` carrying ``tangent`` (same shape; cast to its dtype) in the active
    dual level.

    >>> import microgradnet.autograd.forward_ad as fwAD
    >>> with fwAD.dual_level():
    ...     x = fwAD.make_dual(mg.tensor(3.0), mg.tensor(1.0))
    ...     fwAD.unpack_dual(x * x).tangent
    tensor(6.)
    """
    Tensor = _tensor_cls()
    if not _fw.level:
        raise RuntimeError("make_dual: no dual level is active; use it inside "
                           "`with mg.forward_ad.dual_level():`")
    if level is not None and level != _fw.level:
        raise RuntimeError(f"make_dual: level {level} is not the active dual level")
    if not isinstance(tensor, Tensor):
        raise TypeError(f"make_dual: the primal must be a Tensor, got {type(tensor).__name__}")
    if tensor.dtype.kind not in "fc":
        raise TypeError(f"make_dual: only floating-point tensors carry tangents, got "
                        f"{tensor.dtype}")
    if not isinstance(tangent, Tensor):
        tangent = Tensor(np.asarray(tangent, dtype=tensor.dtype))
    if tangent.shape != tensor.shape:
        raise ValueError(f"make_dual: the tangent has shape {tangent.shape} but the primal has "
                         f"shape {tensor.shape}; they must be equal")
    if tangent.dtype != tensor.dtype:
        tangent = tangent.to(tensor.dtype)
    out = _fresh_view(tensor)
    _set_tangent(out, tangent)
    return out


def _make_dual_directions(tensor: Any, tangents: tuple[Any, ...]) -> Any:
    """A view of ``tensor`` carrying one tangent per direction (None: zero), for ``jacfwd``:
    all columns of a Jacobian in one forward pass (see ``apply_dual``)."""
    out = _fresh_view(tensor)
    _set_tangent(out, tuple(tangents))
    return out


class _directions:
    """Inside it, dual tensors carry ``k`` tangents each (one forward pass, k columns)."""

    def __init__(self, k: int) -> None:
        self.k = k

    def __enter__(self) -> None:
        _fw.k = self.k

    def __exit__(self, *exc: object) -> None:
        _fw.k = 0


def unpack_dual(tensor: Any, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of a tensor: the tangent is None when it carries none.

    >>> import microgradnet.autograd.forward_ad as fwAD
    >>> with fwAD.dual_level():
    ...     p, t = fwAD.unpack_dual(fwAD.make_dual(mg.tensor(1.0), mg.tensor(2.0)))
    >>> p, t
    (tensor(1.), tensor(2.))
    """
    tangent = tangent_of(tensor)
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    return UnpackedDualTensor(_fresh_view(tensor), tangent)


def tangent_sum(*terms: Any) -> Any:
    """The sum of the tangent terms that are not None (None when all are: a zero tangent);
    JVP rules of ops with several inputs add one term per input that has a tangent."""
    total = None
    for t in terms:
        if t is not None:
            total = t if total is None else total + t
    return total


# -- the propagation, called by Function.apply while a level is active ---------------------------

def apply_dual(cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``cls.apply(*args)`` plus the output tangent(s) from ``cls.jvp``.

    With several directions at once (``_fw.k`` > 0, used by ``jacfwd``) a tangent is a tuple of
    k tangents (None: zero in that direction): the primal is computed once and the JVP rule
    applied once per direction.
    """
    from microgradnet.autograd.function import _new

    Tensor = _TENSOR[0] if _TENSOR else _tensor_cls()
    tangents = [tangent_of(a) if isinstance(a, Tensor) else None for a in args]
    level, k = _fw.level, _fw.k
    _fw.level = 0  # the primal computation and the JVP rule itself carry no tangents
    try:
        if all(t is None for t in tangents):
            return cls.apply(*args, **kwargs)
        jvp = getattr(cls, "jvp", None)
        if jvp is None:
            raise RuntimeError(
                f"{cls.__name__.lower()}: no forward-mode rule. A Function used in forward mode "
                "(mg.forward_ad, jacfwd, jvp, hvp) must define jvp(ctx, *tangents) returning "
                "the output tangent from the input tangents (None for inputs without one); or "
                "use reverse mode (mg.functional.jacrev / vjp)."
            )
        recorded = _state.enabled and any(isinstance(a, Tensor) and a.requires_grad
                                          for a in args)
        prev = _state.enabled
        if recorded:
            out = cls.apply(*args, **kwargs)
            first = out[0] if isinstance(out, tuple) else out
            ctx = first.grad_fn
            if ctx is None:  # integer or bool output: nothing to carry
                return out
        else:
            ctx = _new(cls)
            ctx.next_functions = ()  # not in any graph, but keeps what forward saves
            ctx._saved = None
            ctx._hooks = None
            ctx._site = None
            _state.enabled = False
            try:
                out = _wrap(cls, cls.forward(ctx, *args, **kwargs), args)
            finally:
                _state.enabled = prev
            if not any(_requires_grad(t) for t in tangents):
                _state.enabled = False  # no reverse mode through the tangents: record nothing
        try:
            outs = out if isinstance(out, tuple) else (out,)
            if k:
                per_dir = []
                for j in range(k):  # a direction no input moves in gives no tangent
                    tj = [None if ta is None else ta[j] for ta in tangents]
                    per_dir.append(() if all(t is None for t in tj) else _as_tuple(jvp(ctx, *tj)))
                final = []
                for i, o in enumerate(outs):
                    ts = tuple(_normalize(o, r[i] if i < len(r) else None) for r in per_dir)
                    final.append(None if all(t is None for t in ts) else ts)
            else:
                res = _as_tuple(jvp(ctx, *tangents))
                final = [_normalize(o, r) for o, r in zip(outs, res)]
        finally:
            _state.enabled = prev
        for o, t in zip(outs, final):
            if t is not None:
                _set_tangent(o, t, level)
        if recorded:
            _out_tangents[ctx] = (level, tuple(final))
        return out
    finally:
        _fw.level = level


def _as_tuple(res: Any) -> tuple[Any, ...]:
    return res if isinstance(res, tuple) else (res,)


def _requires_grad(t: Any) -> bool:
    if isinstance(t, tuple):
        return any(x is not None and x.requires_grad for x in t)
    return t is not None and t.requires_grad


def restore_tangent(ctx: Any, t: Any) -> Any:
    """Give ``t``, a saved output of ``ctx`` rebuilt as a Tensor, the tangent that output got."""
    entry = _out_tangents.get(ctx)
    if entry is not None and entry[0] == _fw.level:
        tangents = entry[1]
        k = t._output_nr
        if k < len(tangents) and tangents[k] is not None:
            _set_tangent(t, tangents[k], entry[0])
    return t


def _wrap(cls: Any, raw: Any, args: tuple[Any, ...]) -> Any:
    """The forward's result as (a tuple of) constant Tensors (what an unrecorded apply returns)."""
    Tensor = _TENSOR[0]
    if type(raw) is tuple:
        res = []
        for k, o in enumerate(raw):
            t = Tensor._make(np.asarray(o.data if isinstance(o, Tensor) else o), False, None)
            t._output_nr = k
            res.append(t)
        return tuple(res)
    arr = raw.data if isinstance(raw, Tensor) else np.asarray(raw)
    t = Tensor._make(arr, False, None)
    if cls._view_of >= 0:
        base = args[cls._view_of]
        if np.may_share_memory(arr, base.data):
            t._vc = base._shared_version()
    return t


def _normalize(out: Any, tangent: Any) -> Any:
    """``tangent`` as a Tensor of ``out``'s shape and dtype (None: a zero tangent)."""
    if tangent is None or out.data.dtype.kind not in "fc":
        return None
    Tensor = _TENSOR[0]
    if not isinstance(tangent, Tensor):
        tangent = Tensor._make(np.asarray(tangent, dtype=out.data.dtype), False, None)
    if tangent.shape != out.shape:
        from microgradnet.ops.shape import broadcast_to

        tangent = broadcast_to(tangent, out.shape)
    if tangent.dtype != out.dtype:
        tangent = tangent.to(out.dtype)
    return tangent
