"""Compare analytic derivatives with finite differences (in float64).

``gradcheck`` checks first derivatives (the Jacobian, or random projections of it in
``fast_mode``); ``gradgradcheck`` checks that the recorded backward sweep (``create_graph``)
gives the right first derivative, then its second derivatives by gradchecking that sweep.
Both raise ``GradcheckError`` naming the worst mismatch: input, element, analytic and numeric
values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from microgradnet.autograd.api import grad as _grad
from microgradnet.tensor import Tensor

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError):
    """Analytic and numeric derivatives disagree (raised by ``gradcheck``; a RuntimeError).

    >>> issubclass(mg.GradcheckError, RuntimeError)
    True
    """


def _as_tuple(x: Any) -> tuple[Any, ...]:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _prepare(inputs: Any) -> tuple[list[Any], list[int]]:
    """float64 copies of the differentiable inputs (other arguments pass through)."""
    args, diff = [], []
    for i, a in enumerate(_as_tuple(inputs)):
        if isinstance(a, Tensor) and a.requires_grad:
            t = Tensor._make(a.data.astype(np.float64, copy=True), True, None)
            args.append(t)
            diff.append(i)
        else:
            args.append(a)
    return args, diff


def _outputs(fn: Callable[..., Any], args: Sequence[Any]) -> list[Tensor]:
    outs = [o for o in _as_tuple(fn(*args)) if isinstance(o, Tensor)]
    return [o for o in outs if o.data.dtype.kind in "fc"]


def _flat_outputs(fn: Callable[..., Any], args: Sequence[Any]) -> np.ndarray:
    outs = _outputs(fn, args)  # with grad mode on: fn may itself differentiate (gradgradcheck)
    if not outs:
        return np.zeros(0)
    return np.concatenate([np.asarray(o.data, dtype=np.float64).ravel() for o in outs])


def _numeric_jacobian(fn: Callable[..., Any], args: list[Any], i: int, eps: float) -> np.ndarray:
    """d out / d args[i] by central differences: shape (n_in, n_out)."""
    x = args[i]
    flat = x.data.reshape(-1)  # a view: perturbing it perturbs x
    cols = []
    for k in range(flat.size):
        orig = flat[k]
        flat[k] = orig + eps
        plus = _flat_outputs(fn, args)
        flat[k] = orig - eps
        minus = _flat_outputs(fn, args)
        flat[k] = orig
        cols.append((plus - minus) / (2 * eps))
    if not cols:
        return np.zeros((0, _flat_outputs(fn, args).size))
    return np.stack(cols)


def _analytic_jacobians(fn: Callable[..., Any], args: list[Any], diff: list[int],
                        ) -> list[np.ndarray]:
    """One backward sweep per output element: rows of the Jacobian for every input."""
    outs = _outputs(fn, args)
    sizes = [o.data.size for o in outs]
    n_out = int(np.sum(sizes)) if sizes else 0
    jac = [np.zeros((args[i].data.size, n_out)) for i in diff]
    inputs = [args[i] for i in diff]
    col = 0
    for o in outs:
        if not o.requires_grad:
            col += o.data.size
            continue
        for k in range(o.data.size):
            seed = np.zeros(o.data.size, dtype=o.data.dtype)
            seed[k] = 1.0
            gs = _grad(o, inputs, Tensor._make(seed.reshape(o.data.shape), False, None),
                       retain_graph=True, allow_unused=True)
            for j, g in enumerate(gs):
                if g is not None:
                    jac[j][:, col] = np.asarray(g.data, dtype=np.float64).ravel()
            col += 1
    return jac


def _report(name: str, i: int, x: Tensor, a: np.ndarray, n: np.ndarray, atol: float,
            rtol: float) -> GradcheckError | None:
    bad = ~np.isclose(a, n, rtol=rtol, atol=atol, equal_nan=False)
    if not bad.any():
        return None
    err = np.where(bad, np.abs(a - n), -1.0)
    kin, kout = np.unravel_index(int(np.argmax(err)), err.shape)
    elem = np.unravel_index(kin, x.data.shape) if x.data.ndim else ()
    return GradcheckError(
        f"{name} failed for input {i} (shape {x.data.shape}) at element "
        f"{tuple(int(e) for e in elem)}, output element {kout}: analytic {a[kin, kout]:.8g} vs "
        f"numeric {n[kin, kout]:.8g} (|diff| {abs(a[kin, kout] - n[kin, kout]):.3g}, "
        f"atol={atol}, rtol={rtol}); {int(bad.sum())} of {bad.size} entries differ."
    )


def gradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
    seed: int = 0,
) -> bool:
    """Check ``fn``'s derivatives with respect to every input that requires grad.

    Inputs are copied to float64. With ``fast_mode`` the Jacobian is compared through a random
    projection of the outputs (one backward sweep instead of one per output element).
    Returns True, or raises ``GradcheckError`` with the worst mismatch (False if not raising).

    >>> mg.gradcheck(mg.tanh, mg.tensor([0.5, -1.0], requires_grad=True))
    True
    >>> a = mg.tensor([0.5, -1.0], requires_grad=True)
    >>> mg.gradcheck(lambda x, y: x * y, (a, mg.tensor([2.0, 3.0], requires_grad=True)))
    True
    """
    args, diff = _prepare(inputs)
    if not diff:
        raise ValueError("gradcheck: no input requires grad; nothing to check")
    name = "gradcheck"
    if fast_mode:
        rng = np.random.default_rng(seed)
        outs = _outputs(fn, args)
        us = [rng.standard_normal(o.data.shape) for o in outs]

        def projected(*a: Any) -> Tensor:
            total: Any = 0.0
            for o, u in zip(_outputs(fn, a), us):
                total = total + (o * Tensor._make(u, False, None)).sum()
            return total

        fn_checked: Callable[..., Any] = projected
    else:
        fn_checked = fn
    analytic = _analytic_jacobians(fn_checked, args, diff)
    for j, i in enumerate(diff):
        numeric = _numeric_jacobian(fn_checked, args, i, eps)
        if numeric.shape != analytic[j].shape:
            raise GradcheckError(f"{name}: Jacobian shapes differ for input {i}")
        err = _report(name, i, args[i], analytic[j], numeric, atol, rtol)
        if err is not None:
            if raise_exception:
                raise err
            return False
    return True


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    grad_outputs: Any = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
    seed: int = 0,
) -> bool:
    """Check second derivatives: gradcheck of the (recorded) backward sweep of ``fn``.

    ``grad_outputs`` default to random tensors (that also require grad, so the check covers
    the derivative with respect to them too).

    >>> mg.gradgradcheck(mg.tanh, mg.tensor([0.5, -1.0], requires_grad=True))
    True
    """
    args, diff = _prepare(inputs)
    if not diff:
        raise ValueError("gradgradcheck: no input requires grad; nothing to check")
    outs = _outputs(fn, args)
    rng = np.random.default_rng(seed)
    if grad_outputs is None:
        gos = [Tensor._make(rng.standard_normal(o.data.shape), True, None) for o in outs]
    else:
        gos = [Tensor._make(np.asarray(g.data if isinstance(g, Tensor) else g,
                                       dtype=np.float64).copy(), True, None)
               for g in _as_tuple(grad_outputs)]
    n_args = len(args)

    def first_derivative(*a: Any) -> tuple[Tensor, ...]:
        ins = [a[i] for i in diff]
        o = [t for t in _outputs(fn, a[:n_args]) if t.requires_grad]
        g = list(a[n_args:])[: len(o)]
        if not o:
            return ()
        res = _grad(o, ins, g, create_graph=True, allow_unused=True)
        return tuple(r for r in res if r is not None)

    # The recorded first derivative must itself be right: a rule that is wrong only when the
    # sweep is recorded is consistent with its own derivative, so the second-order check alone
    # would not see it. Compare it with finite differences of fn first.
    err = _check_recorded_first_derivative(fn, args, diff, gos, eps, atol, rtol)
    if err is not None:
        if raise_exception:
            raise err
        return False
    return gradcheck(first_derivative, tuple(args) + tuple(gos), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, fast_mode=fast_mode, seed=seed)


def _check_recorded_first_derivative(fn: Callable[..., Any], args: list[Any], diff: list[int],
                                     gos: list[Any], eps: float, atol: float, rtol: float
                                     ) -> GradcheckError | None:
    """The vector-Jacobian products of the recorded sweep against gos · (numeric Jacobian)."""
    ins = [args[i] for i in diff]
    outs = [t for t in _outputs(fn, args) if t.requires_grad]
    if not outs:
        return None
    rec = _grad(outs, ins, gos[: len(outs)], create_graph=True, allow_unused=True)
    u = np.concatenate([g.data.ravel() for g in gos[: len(outs)]] or [np.zeros(0)])
    only_required = lambda *a: tuple(t for t in _outputs(fn, a) if t.requires_grad)  # noqa: E731
    for i, r in zip(diff, rec):
        numeric = _numeric_jacobian(only_required, args, i, eps) @ u
        analytic = np.zeros(args[i].data.size) if r is None else r.data.ravel()
        err = _report("gradgradcheck (first derivative of the recorded sweep)", i, args[i],
                      analytic.reshape(-1, 1), numeric.reshape(-1, 1), atol, rtol)
        if err is not None:
            return err
    return None
