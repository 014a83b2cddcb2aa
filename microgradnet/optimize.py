"""SciPy's optimizers fed with exact derivatives: ``minimize`` and ``least_squares``.

SciPy does the optimization; microgradnet supplies what SciPy would otherwise estimate by finite
differences: the gradient (one backward sweep), Hessian-vector products for the Newton-type
methods, and the Jacobian of the residuals (by forward or reverse mode, whichever is cheaper for
the shapes). Exact derivatives cost fewer function evaluations and converge more reliably.

``x0`` is a tensor or an array (``fn`` then receives a tensor of that shape) or a list of
tensors such as ``model.parameters()`` (``fn`` is then called with no argument, reading the
parameters, which are optimized in place). SciPy is the optional extra ``scipy``
(``pip install 'microgradnet[scipy]'``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from microgradnet.autograd import functional as F
from microgradnet.autograd.api import grad
from microgradnet.autograd.grad_mode import enable_grad
from microgradnet.nn.utils import vector_to_parameters
from microgradnet.tensor import Tensor

__all__ = ["minimize", "least_squares"]

# methods of scipy.optimize.minimize that use a gradient / a Hessian-vector product / a Hessian
_GRADIENT_METHODS = {"cg", "bfgs", "newton-cg", "l-bfgs-b", "tnc", "slsqp", "dogleg", "trust-ncg",
                     "trust-krylov", "trust-exact", "trust-constr"}
_HESSP_METHODS = {"newton-cg", "trust-ncg", "trust-krylov", "trust-constr"}
_HESS_METHODS = {"dogleg", "trust-exact"}
_SCIPY_JACS = ("2-point", "3-point", "cs")


def _scipy_optimize() -> Any:
    try:
        import scipy.optimize
    except ImportError as exc:
        raise ImportError(
            "mg.optimize needs SciPy, an optional dependency of microgradnet: install the extra "
            "with pip install 'microgradnet[scipy]' (or pip install scipy)"
        ) from exc
    return scipy.optimize


@functools.lru_cache(maxsize=1)
def _jacobian_has_strategy() -> bool:
    """Whether ``mg.functional.jacobian`` takes ``strategy=`` (forward-mode Jacobians)."""
    return "strategy" in inspect.signature(F.jacobian).parameters


def _pick_mode(mode: str, n: int, m: int) -> str:
    """"auto": forward mode (one pass per unknown) when there are fewer unknowns than
    residuals, else reverse mode (one backward sweep per residual)."""
    if mode == "auto":
        return "forward" if n < m else "reverse"
    return mode


class _Problem:
    """The unknowns as SciPy's flat float64 vector, and ``fn`` evaluated at such a vector."""

    def __init__(self, fn: Callable[..., Any], x0: Any, fn_name: str) -> None:
        if not callable(fn):
            raise TypeError(f"{fn_name}: the function must be callable, got {type(fn).__name__}")
        self.fn, self.fn_name = fn, fn_name
        self.params: list[Tensor] | None = None
        if isinstance(x0, Tensor):
            self.shape, self.dtype = x0.shape, x0.dtype
            start = x0.data
        elif isinstance(x0, (str, bytes)):
            raise TypeError(f"{fn_name}: x0 must be a tensor, an array or a list of parameters, "
                            f"got {type(x0).__name__}")
        elif isinstance(x0, np.ndarray) or np.isscalar(x0) or (
                isinstance(x0, (list, tuple)) and not any(isinstance(v, Tensor) for v in x0)):
            start = np.asarray(x0, dtype=np.float64)
            self.shape, self.dtype = start.shape, start.dtype
        elif isinstance(x0, Iterable):
            self.params = list(x0)
            if not self.params or not all(isinstance(p, Tensor) for p in self.params):
                raise TypeError(f"{fn_name}: x0 must be a tensor, an array or a non-empty list of "
                                "tensors (parameters)")
            if not all(p.requires_grad and p.is_leaf for p in self.params):
                raise ValueError(f"{fn_name}: every tensor in x0 must be a leaf that requires "
                                 "grad (the parameters to optimize)")
            start = np.concatenate([p.data.reshape(-1) for p in self.params])
        else:
            raise TypeError(f"{fn_name}: x0 must be a tensor, an array or a list of parameters, "
                            f"got {type(x0).__name__}")
        if self.params is None and self.dtype.kind != "f":
            raise TypeError(f"{fn_name}: x0 must be floating point, got {self.dtype}")
        self.x0 = np.array(start, dtype=np.float64).reshape(-1)

    # -- evaluating -------------------------------------------------------------------------------
    def tensor_at(self, x: np.ndarray) -> Tensor:
        return Tensor(np.asarray(x, dtype=self.dtype).reshape(self.shape))

    def call(self, x: np.ndarray, *args: Any) -> tuple[Any, list[Tensor]]:
        """fn's output at x, recorded, and the leaves to differentiate with respect to."""
        with enable_grad():
            if self.params is not None:
                vector_to_parameters(Tensor(np.asarray(x, dtype=np.float64)), self.params)
                leaves = self.params
                out = self.fn(*args)
            else:
                leaf = self.tensor_at(x).requires_grad_()
                leaves = [leaf]
                out = self.fn(leaf, *args)
        if not isinstance(out, Tensor):
            raise TypeError(f"{self.fn_name}: the function must return a Tensor, got "
                            f"{type(out).__name__}")
        return out, leaves

    def flat(self, grads: tuple[Any, ...], leaves: list[Tensor]) -> np.ndarray:
        return np.concatenate([np.zeros(p.size) if g is None else
                               np.asarray(g.data, dtype=np.float64).reshape(-1)
                               for g, p in zip(grads, leaves)])

    def split(self, v: np.ndarray, leaves: list[Tensor]) -> list[Tensor]:
        out, offset = [], 0
        for p in leaves:
            out.append(Tensor(np.asarray(v[offset:offset + p.size], dtype=p.dtype)
                              .reshape(p.shape)))
            offset += p.size
        return out

    def finish(self, x: np.ndarray) -> Any:
        """The solution in the caller's form; parameters are set to it in place."""
        if self.params is not None:
            vector_to_parameters(Tensor(np.asarray(x, dtype=np.float64)), self.params)
            return x
        return np.asarray(x).reshape(self.shape)

    # -- derivatives ------------------------------------------------------------------------------
    def value_and_grad(self, x: np.ndarray, *args: Any) -> tuple[float, np.ndarray]:
        out, leaves = self.call(x, *args)
        if out.size != 1:
            raise ValueError(f"{self.fn_name}: the function must return a single number (a "
                             f"one-element tensor), got shape {out.shape}")
        if not out.requires_grad:
            return float(out.item()), np.zeros(self.x0.size)
        return float(out.item()), self.flat(grad(out, leaves, allow_unused=True), leaves)

    def value(self, x: np.ndarray, *args: Any) -> float:
        out, _ = self.call(x, *args)
        return float(out.item())

    def hessp(self, x: np.ndarray, v: np.ndarray, *args: Any) -> np.ndarray:
        """H(x)·v. For a tensor x0 through ``mg.functional.hvp`` (forward over reverse once
        forward mode is available), for parameters by differentiating ∇f·v again."""
        if self.params is None:
            _, hv = F.hvp(lambda t: self.fn(t, *args), self.tensor_at(x),
                          self.tensor_at(v))
            return np.asarray(hv.data, dtype=np.float64).reshape(-1)
        out, leaves = self.call(x, *args)
        with enable_grad():
            gs = grad(out, leaves, create_graph=True, allow_unused=True)
            live = [(g, u) for g, u in zip(gs, self.split(v, leaves))
                    if g is not None and g.requires_grad]
            if not live:
                return np.zeros(self.x0.size)
            gv = sum((g * u).sum() for g, u in live)
            return self.flat(grad(gv, leaves, allow_unused=True), leaves)

    def hess(self, x: np.ndarray, *args: Any) -> np.ndarray:
        n = self.x0.size
        return np.stack([self.hessp(x, e, *args) for e in np.eye(n)], axis=1)

    def residuals(self, x: np.ndarray, *args: Any) -> np.ndarray:
        out, _ = self.call(x, *args)
        return np.asarray(out.data, dtype=np.float64).reshape(-1)

    def jacobian(self, x: np.ndarray, mode: str, m: int, *args: Any) -> np.ndarray:
        """∂r/∂x, shape (m, n): ``mode`` "forward" (one column per unknown) or "reverse" (one
        row per residual); "auto" picks forward when there are fewer unknowns than residuals."""
        n = self.x0.size
        mode = _pick_mode(mode, n, m)
        if self.params is None and _jacobian_has_strategy():  # forward mode available
            J = F.jacobian(lambda t: self.fn(t, *args).reshape(-1), self.tensor_at(x),
                           strategy=f"{mode}-mode")  # type: ignore[call-arg]
            return np.asarray(J.data, dtype=np.float64).reshape(m, n)
        out, leaves = self.call(x, *args)
        r = out.reshape(-1)
        with enable_grad():
            if mode == "reverse":
                rows = [self.flat(grad(r, leaves, Tensor(np.eye(m, dtype=r.dtype)[k]),
                                       retain_graph=True, allow_unused=True), leaves)
                        for k in range(m)]
                return np.stack(rows)
            # forward by the double-vjp trick: u ↦ uᵀJ is linear, its derivative along v is Jv
            u = Tensor(np.zeros(m, dtype=r.dtype), requires_grad=True)
            gs = grad(r, leaves, u, create_graph=True, allow_unused=True)
            live = [(g, i) for i, g in enumerate(gs) if g is not None and g.requires_grad]
            cols = []
            for e in np.eye(n):
                vs = self.split(e, leaves)
                (jv,) = grad([g for g, _ in live], [u], [vs[i] for _, i in live],
                             retain_graph=True, allow_unused=True)
                cols.append(np.zeros(m) if jv is None else np.asarray(jv.data, np.float64))
            return np.stack(cols, axis=1)


def minimize(fn: Callable[..., Any], x0: Any, method: str = "BFGS", hessp: bool = True,
             **kwargs: Any) -> Any:
    """``scipy.optimize.minimize`` with the exact gradient (and Hessian-vector products).

    ``fn(x)`` returns a one-element tensor (or ``fn()`` when ``x0`` is a list of parameters,
    which are then optimized in place). The gradient comes from one backward sweep per
    evaluation; for ``Newton-CG``, ``trust-ncg``, ``trust-krylov`` and ``trust-constr`` (with
    ``hessp=True``) Hessian-vector products, and for ``dogleg``/``trust-exact`` the Hessian.
    Other keyword arguments go to SciPy; the result is SciPy's ``OptimizeResult`` with ``x``
    in ``x0``'s shape.

    >>> rosen = lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
    >>> res = mg.optimize.minimize(rosen, np.array([-1.2, 1.0]), method="trust-ncg")
    >>> res.success, np.round(res.x, 4)
    (True, array([1., 1.]))
    """
    opt = _scipy_optimize()
    prob = _Problem(fn, x0, "minimize")
    key = method.lower() if isinstance(method, str) else None
    kw = dict(kwargs)
    fun: Callable[..., Any]
    if key in _GRADIENT_METHODS and "jac" not in kw:
        fun = prob.value_and_grad
        kw["jac"] = True
    else:
        fun = prob.value
    if hessp and "hess" not in kw and "hessp" not in kw:
        if key in _HESSP_METHODS:
            kw["hessp"] = prob.hessp
        elif key in _HESS_METHODS:
            kw["hess"] = prob.hess
    res = opt.minimize(fun, prob.x0.copy(), method=method, **kw)
    res.x = prob.finish(res.x)
    return res


def least_squares(residuals: Callable[..., Any], x0: Any, method: str = "lm",
                  jac: Any = "auto", **kwargs: Any) -> Any:
    """``scipy.optimize.least_squares`` with the exact Jacobian of the residuals.

    Minimizes ½‖r(x)‖² for residuals ``r(x)`` of any shape (flattened). ``jac="auto"`` computes
    the Jacobian by forward mode when there are fewer unknowns than residuals (one pass per
    unknown) and by reverse mode otherwise (one backward sweep per residual); ``"forward"`` and
    ``"reverse"`` force one; SciPy's ``"2-point"``, ``"3-point"`` or a callable are passed on.
    The result is SciPy's ``OptimizeResult``, ``x`` in ``x0``'s shape.

    >>> t = np.linspace(0, 1, 20)
    >>> y = 2.0 * np.exp(-1.5 * t)
    >>> res = mg.optimize.least_squares(lambda p: p[0] * mg.exp(-p[1] * mg.tensor(t)) - y,
    ...                                 np.array([1.0, 1.0]))
    >>> np.round(res.x, 6)
    array([2. , 1.5])
    """
    opt = _scipy_optimize()
    prob = _Problem(residuals, x0, "least_squares")
    m = prob.residuals(prob.x0, *kwargs.get("args", ())).size
    if isinstance(jac, str) and jac in ("auto", "forward", "reverse"):
        mode = jac

        def jac_fn(x: np.ndarray, *args: Any) -> np.ndarray:
            return prob.jacobian(x, mode, m, *args)

        jac_arg: Any = jac_fn
    elif callable(jac) or jac in _SCIPY_JACS:
        jac_arg = jac
    else:
        raise ValueError(f"least_squares: jac must be 'auto', 'forward', 'reverse', one of "
                         f"SciPy's {_SCIPY_JACS} or a callable, got {jac!r}")
    res = opt.least_squares(prob.residuals, prob.x0.copy(), jac=jac_arg, method=method, **kwargs)
    res.x = prob.finish(res.x)
    return res
