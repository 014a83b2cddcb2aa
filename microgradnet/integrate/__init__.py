"""Differentiable ODE integration: ``odeint`` and ``odeint_adjoint`` (torchdiffeq's interface).

``odeint(func, y0, t)`` solves dy/dt = func(t, y) from y(t[0]) = y0 and returns y at every time
of ``t``, stacked: shape ``(len(t), *y0.shape)``. Two ways to differentiate the result:

- ``odeint`` records every solver step, and the backward sweep runs back through them (the
  *direct* mode, "discretise then optimise"): exact derivatives of the computed numbers, memory
  growing with the number of steps.
- ``odeint_adjoint`` records nothing; its backward pass integrates the adjoint ODE backwards in
  time (Chen et al. 2018, "Neural Ordinary Differential Equations"): gradients accurate to the
  solver tolerance, memory independent of the number of steps.

Methods: ``"dopri5"`` (adaptive Dormand–Prince 5(4), error control by ``rtol``/``atol``, dense
output at the requested times), ``"rk4"`` (Kutta's 3/8 rule, as torchdiffeq's ``rk4``) and
``"euler"``, fixed-step with ``options={"step_size": h}`` (default: the requested times).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from microgradnet.autograd.api import grad
from microgradnet.autograd.function import Function
from microgradnet.autograd.grad_mode import enable_grad, no_grad
from microgradnet.integrate import _solvers
from microgradnet.ops.shape import cat, stack
from microgradnet.tensor import Tensor

__all__ = ["odeint", "odeint_adjoint"]

METHODS = ("dopri5", "rk4", "euler")
_OPTIONS = {"dopri5": {"first_step", "max_num_steps"}, "rk4": {"step_size"},
            "euler": {"step_size"}}


# -- checking and normalising the arguments -----------------------------------------------------
def _check(func: Any, y0: Any, t: Any, rtol: float, atol: float, method: str,
           options: dict[str, Any] | None, fn: str) -> tuple[Any, Tensor, dict[str, Any]]:
    if not callable(func):
        raise TypeError(f"{fn}: func must be callable as func(t, y), got {type(func).__name__}")
    if method not in METHODS:
        raise ValueError(f"{fn}: unknown method {method!r}; choose one of {', '.join(METHODS)}")
    options = dict(options or {})
    unknown = set(options) - _OPTIONS[method]
    if unknown:
        raise ValueError(f"{fn}: method {method!r} takes the options "
                         f"{sorted(_OPTIONS[method])}, got unknown {sorted(unknown)}")
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if not (isinstance(tol, (int, float, np.floating)) and tol >= 0):
            raise ValueError(f"{fn}: {name} must be a non-negative number, got {tol!r}")
    ys = y0 if isinstance(y0, (tuple, list)) else (y0,)
    for y in ys:
        if not isinstance(y, Tensor):
            raise TypeError(f"{fn}: y0 must be a Tensor (or a tuple of Tensors), got "
                            f"{type(y).__name__}")
        if y.dtype.kind != "f":
            raise TypeError(f"{fn}: y0 must be floating point, got {y.dtype}")
    dtype = ys[0].dtype
    if not isinstance(t, Tensor):
        t = Tensor(np.asarray(t, dtype=dtype))
    if t.ndim != 1 or t.shape[0] < 1:
        raise ValueError(f"{fn}: t must be a 1-d tensor of times, got shape {t.shape}")
    if t.dtype != dtype:
        t = t.to(dtype)
    steps = np.diff(t.data)
    if t.shape[0] > 1 and not ((steps > 0).all() or (steps < 0).all()):
        raise ValueError(f"{fn}: t must be strictly increasing or strictly decreasing")
    return y0, t, options


class _Flat:
    """A tuple state (or a state of any shape) seen as one flat vector, and back."""

    def __init__(self, ys: Sequence[Tensor]) -> None:
        self.shapes = [y.shape for y in ys]
        self.sizes = [y.size for y in ys]

    def join(self, ys: Sequence[Tensor]) -> Tensor:
        return cat([y.reshape(-1) for y in ys]) if len(ys) > 1 else ys[0].reshape(-1)

    def split(self, flat: Tensor) -> list[Tensor]:
        out, offset = [], 0
        for shape, n in zip(self.shapes, self.sizes):
            out.append(flat[offset:offset + n].reshape(shape) if len(self.sizes) > 1
                       else flat.reshape(shape))
            offset += n
        return out


def _wrap(func: Any, y0: Any, fn: str) -> tuple[Callable[[Tensor, Tensor], Tensor], Tensor,
                                                 Callable[[Tensor], Any]]:
    """(flat func, flat y0, unflatten of the stacked solution) for a Tensor or tuple state."""
    is_tuple = isinstance(y0, (tuple, list))
    ys = tuple(y0) if is_tuple else (y0,)
    flat = _Flat(ys)
    checked = [False]

    def flat_func(t: Tensor, y: Tensor) -> Tensor:
        parts = flat.split(y)
        out = func(t, tuple(parts)) if is_tuple else func(t, parts[0])
        outs = tuple(out) if is_tuple else (out,)
        if not checked[0]:
            for o, shape in zip(outs, flat.shapes):
                if not isinstance(o, Tensor):
                    raise TypeError(f"{fn}: func(t, y) must return a Tensor, got "
                                    f"{type(o).__name__}")
                if o.shape != shape:
                    raise ValueError(f"{fn}: func(t, y) returned shape {o.shape} but y has "
                                     f"shape {shape}; dy/dt must have the shape of y")
            checked[0] = True
        return flat.join(outs)

    def unflatten(sol: Tensor) -> Any:
        n = sol.shape[0]
        parts = []
        offset = 0
        for shape, size in zip(flat.shapes, flat.sizes):
            parts.append(sol[:, offset:offset + size].reshape((n, *shape)))
            offset += size
        return tuple(parts) if is_tuple else parts[0]

    return flat_func, flat.join(ys), unflatten


def _integrate(func: Callable[[Tensor, Tensor], Tensor], y0: Tensor, t: Tensor, rtol: float,
               atol: float, method: str, options: dict[str, Any],
               stats: _solvers._Stats | None = None) -> Tensor:
    """Stacked solution of the flat problem; decreasing times are run as increasing ones."""
    if t.shape[0] > 1 and t.data[1] < t.data[0]:  # integrate backwards in time: s = -t
        def reversed_func(s: Tensor, y: Tensor) -> Tensor:
            return -func(-s, y)

        return _integrate(reversed_func, y0, -t, rtol, atol, method, options, stats)
    if t.shape[0] == 1:
        return stack([y0])
    if method == "dopri5":
        ys = _solvers.dopri5(func, y0, t, rtol, atol, options, stats)
    else:
        ys = _solvers.fixed_step(method, func, y0, t, options, stats)
    return stack(ys)


# -- the public functions -------------------------------------------------------------------------
def odeint(func: Callable[[Tensor, Any], Any], y0: Any, t: Any, rtol: float = 1e-7,
           atol: float = 1e-9, method: str = "dopri5", options: dict[str, Any] | None = None
           ) -> Any:
    """Solve dy/dt = func(t, y) from y(t[0]) = y0; y at each time of ``t``, stacked on axis 0.

    Differentiable with respect to ``y0``, ``t`` and every tensor ``func`` uses, by recording
    every solver step (the backward sweep runs back through them). ``y0`` may be a tuple of
    tensors; the result is then a tuple. ``t`` may decrease (integration backwards in time).

    >>> k = mg.tensor(0.5, dtype=mg.float64, requires_grad=True)
    >>> y = mg.integrate.odeint(lambda t, y: -k * y, mg.tensor([1.0], dtype=mg.float64),
    ...                         mg.tensor([0.0, 2.0], dtype=mg.float64))
    >>> round(y[1, 0].item(), 6), round(float(np.exp(-1.0)), 6)  # e^(-k t)
    (0.367879, 0.367879)
    >>> y[1, 0].backward(); round(k.grad.item(), 6)             # d/dk e^(-2k) = -2 e^(-2k)
    -0.735759
    """
    y0, t, options = _check(func, y0, t, rtol, atol, method, options, "odeint")
    flat_func, flat_y0, unflatten = _wrap(func, y0, "odeint")
    return unflatten(_integrate(flat_func, flat_y0, t, rtol, atol, method, options))


class _AdjointSolve(Function):
    """The ODE solve as one node: forward integrates unrecorded, backward solves the adjoint ODE.

    Inputs: the flat y0, the times and the parameters; output: the stacked flat solution.
    """

    @staticmethod
    def forward(ctx: Any, y0: Tensor, t: Tensor, *params: Tensor, func: Any = None,
                settings: Any = None) -> np.ndarray:
        rtol, atol, method, options = settings[0]
        with no_grad():
            sol = _integrate(func, y0.detach(), t.detach(), rtol, atol, method, options)
        ctx.func, ctx.settings, ctx.params = func, settings, params
        ctx.sol, ctx.times = sol.data, t.data.copy()
        return sol.data

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Any, ...]:
        func, params = ctx.func, ctx.params
        rtol, atol, method, options = ctx.settings[1]
        sol, times, g = ctx.sol, ctx.times, grad_out.data
        n, size = sol.shape
        live = [p for p in params if p.requires_grad]
        p_sizes = [p.size for p in live]
        want_t = ctx.needs_input_grad[1]

        def aug_dynamics(s: Tensor, state: Tensor) -> Tensor:
            """d/ds of (y, a, a_t, a_p): (f, −aᵀ∂f/∂y, −aᵀ∂f/∂t, −aᵀ∂f/∂p)."""
            arr = state.data
            y = Tensor._make(arr[:size].copy(), True, None)
            a = arr[size:2 * size]
            ts = Tensor._make(np.array(s.data), want_t, None)
            with enable_grad():
                f = func(ts, y)
                wrt = [y] + ([ts] if want_t else []) + live
                if f.requires_grad:
                    vjps = grad(f, wrt, Tensor._make(-a, False, None), allow_unused=True)
                else:
                    vjps = (None,) * len(wrt)
            parts = [f.data.reshape(-1)]
            vjp_y = vjps[0]
            parts.append(np.zeros(size, f.dtype) if vjp_y is None else vjp_y.data.reshape(-1))
            rest = list(vjps[1:])
            vjp_t = rest.pop(0) if want_t else None
            parts.append(np.zeros(1, f.dtype) if vjp_t is None
                         else np.asarray(vjp_t.data, f.dtype).reshape(1))
            for v, m in zip(rest, p_sizes):
                parts.append(np.zeros(m, f.dtype) if v is None else v.data.reshape(-1))
            return Tensor._make(np.concatenate(parts), False, None)

        adj_y = g[-1].copy()
        adj_t = np.zeros(1, dtype=sol.dtype)
        adj_p = [np.zeros(m, dtype=sol.dtype) for m in p_sizes]
        time_grads = np.zeros(n, dtype=sol.dtype)
        with no_grad():
            for i in range(n - 1, 0, -1):
                if want_t:  # dL/dt_i = g_i · f(t_i, y_i)
                    f_i = func(Tensor(times[i:i + 1].reshape(())), Tensor(sol[i])).data
                    time_grads[i] = np.sum(f_i * g[i])
                    adj_t -= time_grads[i]
                state = np.concatenate([sol[i], adj_y, adj_t] + adj_p)
                span = Tensor(times[[i, i - 1]])
                end = _integrate(aug_dynamics, Tensor(state), span, rtol, atol, method,
                                 options)[1].data
                adj_y = end[size:2 * size] + g[i - 1]
                adj_t = end[2 * size:2 * size + 1]
                offset = 2 * size + 1
                adj_p = []
                for m in p_sizes:
                    adj_p.append(end[offset:offset + m])
                    offset += m
        time_grads[0] = adj_t[0]
        grads_p = iter(Tensor(a.reshape(p.shape)) for a, p in zip(adj_p, live))
        out_p = [next(grads_p) if p.requires_grad else None for p in params]
        return (Tensor(adj_y), Tensor(time_grads) if want_t else None, *out_p)


def odeint_adjoint(func: Callable[[Tensor, Any], Any], y0: Any, t: Any, rtol: float = 1e-7,
                   atol: float = 1e-9, method: str = "dopri5",
                   options: dict[str, Any] | None = None, *, adjoint_rtol: float | None = None,
                   adjoint_atol: float | None = None, adjoint_method: str | None = None,
                   adjoint_options: dict[str, Any] | None = None,
                   adjoint_params: Sequence[Tensor] | None = None) -> Any:
    """``odeint`` whose gradients come from the adjoint ODE, solved backwards in time.

    Nothing is recorded during the solve, so memory does not grow with the number of steps. The
    parameters to differentiate are ``adjoint_params`` (default: ``func.parameters()`` when
    ``func`` is an ``nn.Module``, else none); gradients also reach ``y0`` and ``t``. The
    adjoint solve uses ``adjoint_rtol``/``adjoint_atol``/``adjoint_method``/``adjoint_options``
    (default: the forward ones). First derivatives only.

    >>> k = mg.tensor(0.5, dtype=mg.float64, requires_grad=True)
    >>> y = mg.integrate.odeint_adjoint(lambda t, y: -k * y, mg.tensor([1.0], dtype=mg.float64),
    ...                                 mg.tensor([0.0, 2.0], dtype=mg.float64),
    ...                                 adjoint_params=[k])
    >>> y[1, 0].backward(); round(k.grad.item(), 6)             # -2 e^(-2k), as odeint
    -0.735759
    """
    y0, t, options = _check(func, y0, t, rtol, atol, method, options, "odeint_adjoint")
    a_method = method if adjoint_method is None else adjoint_method
    a_options = options if adjoint_options is None else adjoint_options
    _check(func, y0, t, rtol, atol, a_method, a_options, "odeint_adjoint")
    if adjoint_params is None:
        adjoint_params = tuple(func.parameters()) if hasattr(func, "parameters") else ()
    params = tuple(adjoint_params)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"odeint_adjoint: adjoint_params must be Tensors, got "
                            f"{type(p).__name__}")
    flat_func, flat_y0, unflatten = _wrap(func, y0, "odeint_adjoint")
    settings = ((rtol, atol, method, options),
                (rtol if adjoint_rtol is None else adjoint_rtol,
                 atol if adjoint_atol is None else adjoint_atol, a_method, dict(a_options or {})))
    sol = _AdjointSolve.apply(flat_y0, t, *params, func=flat_func, settings=settings)
    return unflatten(sol)
