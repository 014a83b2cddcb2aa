"""L-BFGS: a quasi-Newton method that re-evaluates the loss through a closure (PyTorch's algorithm).

L-BFGS keeps the last ``history_size`` pairs (s, y) of parameter changes s and gradient changes
y, and from them builds the product of an approximate inverse Hessian with the gradient by the
two-loop recursion (Nocedal & Wright, Algorithm 7.4). Each ``step(closure)`` runs up to
``max_iter`` such iterations on the whole parameter vector. The step length is ``lr`` (the very
first one is shortened to ``min(1, 1/‖g‖₁)·lr``), or is found by a line search satisfying the
strong Wolfe conditions, bracketing and then zooming with cubic interpolation (minFunc's, as
``torch.optim.LBFGS``). Every number follows ``torch.optim.LBFGS`` step for step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from microgradnet.autograd.grad_mode import enable_grad, no_grad
from microgradnet.optim.optimizer import Optimizer, ParamsT, _check_nonneg
from microgradnet.tensor import Tensor

__all__ = ["LBFGS"]

_LINE_SEARCHES = (None, "strong_wolfe")
_ARRAY_KEYS = ("d", "prev_flat_grad")
_LIST_KEYS = ("old_dirs", "old_stps")


def _cubic_minimum(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                   bounds: tuple[float, float] | None = None) -> float:
    """Minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, kept in bounds.

    Without a real minimiser (the cubic has no turning point) it returns the bounds' midpoint.
    """
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = np.sqrt(disc)
    if x1 <= x2:
        t = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        t = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(t, lo), hi)


def _strong_wolfe(evaluate: Callable[[float], tuple[float, np.ndarray]], t: float,
                  d: np.ndarray, f: float, g: np.ndarray, gtd: float, c1: float = 1e-4,
                  c2: float = 0.9, tolerance_change: float = 1e-9, max_ls: int = 25
                  ) -> tuple[float, np.ndarray, float, int]:
    """A step t along d meeting the strong Wolfe conditions; returns (f, g, t, evaluations).

    ``evaluate(t)`` gives the loss and flat gradient at x + t·d. First a bracket [a, b] holding
    an acceptable step is found by growing t (cubic extrapolation, at most tenfold); then the
    bracket shrinks by cubic interpolation, nudged away from its ends when progress stalls.
    """
    d_norm = np.abs(d).max()
    f_new, g_new = evaluate(t)
    evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    # -- bracketing ------------------------------------------------------------------------
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, bf, bg, bgtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev,
                                                                                     gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:  # sufficient decrease and curvature: accept t
            bracket, bf, bg, bgtd = [t], [f_new], [g_new], [gtd_new]
            done = True
            break
        if gtd_new >= 0:  # the slope turned: a minimum lies between t_prev and t
            bracket, bf, bg, bgtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev,
                                                                                     gtd_new]
            break
        # still descending: extrapolate, at least 1% beyond t and at most 10 t
        t_next = _cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:  # never bracketed: fall back to [0, t]
        bracket, bf, bg, bgtd = [0.0, t], [f, f_new], [g, g_new], [gtd, gtd_new]

    # -- zoom ----------------------------------------------------------------------------------
    stalled = False
    low, high = (0, 1) if bf[0] <= bf[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_minimum(bracket[0], bf[0], bgtd[0], bracket[1], bf[1], bgtd[1])
        # an interpolant too close to an end of the bracket makes little progress; the second
        # time (or when it lies on an end) move it a tenth of the bracket inside instead
        a, b = min(bracket), max(bracket)
        margin = 0.1 * (b - a)
        if min(b - t, t - a) < margin:
            if stalled or t >= b or t <= a:
                t = b - margin if abs(t - b) < abs(t - a) else a + margin
                stalled = False
            else:
                stalled = True
        else:
            stalled = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bf[low]:
            bracket[high], bf[high], bg[high], bgtd[high] = t, f_new, g_new, gtd_new
            low, high = (0, 1) if bf[0] <= bf[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bf[high], bg[high], bgtd[high] = (bracket[low], bf[low], bg[low],
                                                                 bgtd[low])
            bracket[low], bf[low], bg[low], bgtd[low] = t, f_new, g_new, gtd_new
    return bf[low], bg[low], bracket[low], evals


class LBFGS(Optimizer):
    """Limited-memory BFGS on all parameters at once, as ``torch.optim.LBFGS``.

    ``step(closure)`` needs a closure that clears the gradients, computes the loss, calls
    ``backward()`` and returns the loss: L-BFGS evaluates it several times per step (up to
    ``max_eval``). Best on smooth, deterministic (full-batch) problems of moderate size, where
    it converges in far fewer evaluations than gradient descent.

    Args:
        params: the tensors to optimize (one parameter group only).
        lr: the step length (the first step is shortened to ``min(1, 1/‖g‖₁)·lr``).
        max_iter: iterations per ``step()`` call.
        max_eval: closure evaluations per ``step()`` call (default ``max_iter * 5 // 4``).
        tolerance_grad: stop when every gradient component is at most this in size.
        tolerance_change: stop when the loss or the parameters change less than this.
        history_size: how many (s, y) pairs the inverse-Hessian approximation remembers.
        line_search_fn: ``None`` (fixed step ``lr``) or ``"strong_wolfe"``.

    >>> w = mg.tensor([-1.5, 2.0], dtype=mg.float64, requires_grad=True)
    >>> opt = mg.optim.LBFGS([w], line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2   # Rosenbrock
    ...     loss.backward()
    ...     return loss
    >>> for _ in range(5):
    ...     _ = opt.step(closure)
    >>> np.round(w.numpy(), 4)                  # the minimum, after 55 evaluations
    array([1., 1.])
    >>> opt.state[w]["func_evals"]
    55
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params: list[Tensor] = self.param_groups[0]["params"]

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_nonneg(group, "lr", "learning rate")
        for key in ("max_iter", "max_eval", "history_size"):
            value = group[key]
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"LBFGS: {key} must be a positive integer, got {value!r}")
        _check_nonneg(group, "tolerance_grad", "tolerance_grad")
        _check_nonneg(group, "tolerance_change", "tolerance_change")
        if group["line_search_fn"] not in _LINE_SEARCHES:
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got "
                             f"{group['line_search_fn']!r}")

    # -- the flat parameter vector -----------------------------------------------------------------
    def _flat_grad(self) -> np.ndarray:
        parts = []
        for p in self._params:
            g = p.grad
            if g is None:
                parts.append(np.zeros(p.size, dtype=p.dtype))
            else:
                parts.append((g.data if isinstance(g, Tensor) else np.asarray(g)).reshape(-1))
        return np.concatenate(parts)

    def _add(self, t: float, d: np.ndarray) -> None:
        """Parameters += t·d (d flat), in place, bumping each version counter."""
        offset = 0
        for p in self._params:
            n = p.size
            step = (t * d[offset:offset + n]).reshape(p.shape)
            np.add(p.data, step, out=p.data, casting="unsafe")
            p._bump()
            offset += n

    def _set(self, values: list[np.ndarray]) -> None:
        for p, v in zip(self._params, values):
            p.data[...] = v
            p._bump()

    def _evaluate(self, closure: Callable[[], Any]) -> tuple[Any, float, np.ndarray]:
        with enable_grad():
            out = closure()
        return out, float(out), self._flat_grad()

    # -- the step ----------------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss of the first evaluation."""
        if closure is None:
            raise RuntimeError("LBFGS.step needs a closure that clears the gradients, computes "
                               "the loss, calls backward() and returns the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        # L-BFGS has one global state; it is kept under the first parameter (as PyTorch does)
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss, loss, flat_grad = self._evaluate(closure)
        self._check_finite(flat_grad)
        evals = 1
        state["func_evals"] += 1
        if np.abs(flat_grad).max() <= tol_grad:
            return orig_loss

        # what the last step() left (None before the first iteration, which sets them)
        d: Any = state.get("d")
        t: Any = state.get("t")
        old_dirs: Any = state.get("old_dirs")
        old_stps: Any = state.get("old_stps")
        ro: Any = state.get("ro")
        H_diag: Any = state.get("H_diag")
        prev_flat_grad: Any = state.get("prev_flat_grad")
        prev_loss: Any = state.get("prev_loss")

        with no_grad():
            n_iter = 0
            while n_iter < max_iter:
                n_iter += 1
                state["n_iter"] += 1
                # -- direction: -H g by the two-loop recursion -----------------------------------
                if state["n_iter"] == 1:
                    d = -flat_grad
                    old_dirs, old_stps, ro, H_diag = [], [], [], 1.0
                else:
                    y = flat_grad - prev_flat_grad
                    s = d * t
                    ys = y.dot(s)
                    if ys > 1e-10:  # keep the pair only if the curvature is positive
                        if len(old_dirs) == history_size:
                            old_dirs.pop(0)
                            old_stps.pop(0)
                            ro.pop(0)
                        old_dirs.append(y)
                        old_stps.append(s)
                        ro.append(1.0 / ys)
                        H_diag = ys / y.dot(y)  # scale of the initial inverse Hessian
                    k = len(old_dirs)
                    alpha = [0.0] * k
                    q = -flat_grad
                    for i in range(k - 1, -1, -1):
                        alpha[i] = old_stps[i].dot(q) * ro[i]
                        q = q - alpha[i] * old_dirs[i]
                    d = q * H_diag
                    for i in range(k):
                        beta = old_dirs[i].dot(d) * ro[i]
                        d = d + (alpha[i] - beta) * old_stps[i]
                prev_flat_grad = flat_grad.copy()
                prev_loss = loss

                # -- step length -------------------------------------------------------------------
                t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
                gtd = flat_grad.dot(d)
                if gtd > -tol_change:  # not a descent direction any more
                    break
                ls_evals = 0
                if group["line_search_fn"] == "strong_wolfe":
                    x0 = [p.data.copy() for p in self._params]

                    def along(step: float, x0: list[np.ndarray] = x0, d: np.ndarray = d
                              ) -> tuple[float, np.ndarray]:
                        self._add(step, d)
                        _, f, g = self._evaluate(closure)
                        self._set(x0)
                        return f, g

                    loss, flat_grad, t, ls_evals = _strong_wolfe(along, t, d, loss, flat_grad,
                                                                 gtd)
                    self._add(t, d)
                    opt_cond = np.abs(flat_grad).max() <= tol_grad
                else:
                    self._add(t, d)
                    opt_cond = False
                    if n_iter != max_iter:  # the last iteration's loss would go unused
                        _, loss, flat_grad = self._evaluate(closure)
                        opt_cond = np.abs(flat_grad).max() <= tol_grad
                        ls_evals = 1
                evals += ls_evals
                state["func_evals"] += ls_evals

                # -- stopping tests ------------------------------------------------------------
                if n_iter == max_iter or evals >= max_eval or opt_cond:
                    break
                if np.abs(d * t).max() <= tol_change:
                    break
                if abs(loss - prev_loss) < tol_change:
                    break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    def _check_finite(self, flat_grad: np.ndarray) -> None:
        if not np.isfinite(flat_grad).all():
            raise RuntimeError(
                "LBFGS.step: the closure's gradient has non-finite values (NaN or inf). Nothing "
                "was updated. Check the loss for log(0) or overflow (mg.detect_anomaly() names "
                "the op)."
            )

    # -- state dicts -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """PyTorch's layout: the global state under parameter 0 (arrays and lists copied).

        >>> w = mg.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = mg.optim.LBFGS([w])
        >>> opt.state_dict()["param_groups"][0]["history_size"]
        100
        """
        out = super().state_dict()
        for s in out["state"].values():
            for key in _LIST_KEYS:
                if key in s:
                    s[key] = [np.array(v, copy=True) for v in s[key]]
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()``; the flat buffers must have the parameters' total size."""
        saved = state_dict.get("state", {}) if isinstance(state_dict, dict) else {}
        numel = sum(p.size for p in self._params)
        restored: dict[str, Any] = {}
        for key, values in saved.items():
            for name, v in values.items():
                if name in _ARRAY_KEYS and v is not None:
                    v = _flat(v, numel, name)
                elif name in _LIST_KEYS:
                    v = [_flat(a, numel, name) for a in v]
                elif name == "ro":
                    v = [float(np.asarray(a.data if isinstance(a, Tensor) else a)) for a in v]
                elif isinstance(v, (Tensor, np.ndarray)):
                    v = np.asarray(v.data if isinstance(v, Tensor) else v).item()
                restored[name] = v
            if int(key) != 0:
                raise ValueError(f"LBFGS keeps its state under parameter 0, got state for {key}")
        super().load_state_dict({"state": {}, "param_groups": state_dict["param_groups"]})
        self._params = self.param_groups[0]["params"]
        if restored:
            self.state[self._params[0]] = restored


def _flat(value: Any, numel: int, name: str) -> np.ndarray:
    arr = np.array(value.data if isinstance(value, Tensor) else value, copy=True)
    if arr.shape != (numel,):
        raise ValueError(f"loaded LBFGS state has {name!r} of shape {arr.shape}; the parameters "
                         f"have {numel} elements in total")
    return arr
