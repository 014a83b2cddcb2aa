"""The integrators behind ``odeint``: Dormand–Prince 5(4) with error control, RK4 and Euler.

Each works on a Tensor state ``y`` of any shape and a 1-d Tensor of increasing output times, and
is written in microgradnet ops, so that the whole solve is recorded (the direct mode of
differentiation) unless grad mode is off. The step-size decisions (accepting a step, the next
step length) are made on plain NumPy numbers: they choose the grid, they are not differentiated,
exactly as in torchdiffeq.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from microgradnet.tensor import Tensor

Func = Callable[[Tensor, Tensor], Tensor]

# -- Dormand–Prince 5(4) (Dormand & Prince 1980; Hairer, Nørsett & Wanner, Table II.5.2) ---------
_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
_A = (
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),  # = the 5th-order weights
)
_B4 = (5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40)
_ERR = tuple(b5 - b4 for b5, b4 in zip(_A[-1] + (0.0,), _B4))  # 5th- minus 4th-order weights
# weights giving y at the middle of a step (Shampine 1986), for the 4th-order dense output
_MID = (6025192743 / 30085553152 / 2, 0.0, 51252292925 / 65400821598 / 2,
        -2691868925 / 45128329728 / 2, 187940372067 / 1594534317056 / 2,
        -1776094331 / 19743644256 / 2, 11237099 / 235043384 / 2)

SAFETY, IFACTOR, DFACTOR = 0.9, 10.0, 0.2
DEFAULT_MAX_NUM_STEPS = 100_000


def _rms(x: np.ndarray) -> float:
    return math.sqrt(float(np.mean(np.square(x)))) if x.size else 0.0


def _combine(y: Tensor, h: float, weights: tuple[float, ...], ks: list[Tensor]) -> Tensor:
    """y + h Σ wᵢ kᵢ (zero weights skipped)."""
    acc = None
    for w, k in zip(weights, ks):
        if w != 0.0:
            term = k * w
            acc = term if acc is None else acc + term
    return y if acc is None else y + acc * h


class _Stats:
    """Counts kept by a solve: accepted and rejected steps (read by tests and benchmarks)."""

    def __init__(self) -> None:
        self.accepted = 0
        self.rejected = 0
        self.steps: list[float] = []


def _initial_step(func: Func, t0: Tensor, y0: Tensor, f0: Tensor, order: int, rtol: float,
                  atol: float) -> float:
    """A first step length from the size of y0, f0 and a trial Euler step (Hairer II.4)."""
    y, f = y0.data, f0.data
    scale = atol + np.abs(y) * rtol
    d0, d1 = _rms(y / scale), _rms(f / scale)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    y1 = Tensor._make(np.asarray(y + h0 * f), False, None)
    f1 = func(t0.detach() + h0, y1).data
    d2 = _rms((f1 - f) / scale) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / (order + 1))
    return min(100 * h0, h1)


def dopri5(func: Func, y0: Tensor, t: Tensor, rtol: float, atol: float,
           options: dict[str, Any], stats: _Stats | None = None) -> list[Tensor]:
    """y at each time of ``t`` (increasing) by adaptive Dormand–Prince 5(4) with dense output.

    Steps are taken freely (not clipped to the output times); each requested time inside a
    step is read off the step's 4th-order interpolating polynomial, as torchdiffeq does.
    """
    max_steps = int(options.get("max_num_steps", DEFAULT_MAX_NUM_STEPS))
    times = t.data
    t_now = t[0]
    y_now = y0
    f_now = func(t_now, y_now)
    h = options.get("first_step")
    h = float(h) if h is not None else _initial_step(func, t_now, y_now, f_now, 4, rtol, atol)
    out = [y0]
    # the last accepted step: (t_start, t_end, h, stages, y_end, y_start)
    step: tuple[Tensor, Tensor, float, list[Tensor], Tensor, Tensor] | None = None
    coeffs: list[Tensor] | None = None
    attempts = 0
    for i in range(1, len(times)):
        while step is None or times[i] > float(step[1].data):
            t_start = t_now if step is None else step[1]
            y_start, f_start = (y_now, f_now) if step is None else (step[4], step[3][6])
            while True:  # attempt steps from t_start until one is accepted
                attempts += 1
                if attempts > max_steps:
                    raise RuntimeError(
                        f"odeint: max_num_steps ({max_steps}) exceeded at t = "
                        f"{float(t_start.data):.6g}; the problem may be stiff. Raise "
                        "options={'max_num_steps': n}, loosen rtol/atol, or use a fixed-step "
                        "method"
                    )
                if float(t_start.data) + h == float(t_start.data):
                    raise RuntimeError(f"odeint: step size underflow at t = "
                                       f"{float(t_start.data):.6g} (h = {h:.3g})")
                ks = [f_start]
                for row, c in zip(_A, _C[1:]):
                    yi = _combine(y_start, h, row, ks)
                    ks.append(func(t_start + c * h, yi))
                y_new = yi  # the last stage is evaluated at the 5th-order solution (FSAL)
                err = h * sum(w * k.data for w, k in zip(_ERR, ks) if w != 0.0)
                tol = atol + rtol * np.maximum(np.abs(y_start.data), np.abs(y_new.data))
                ratio = _rms(np.asarray(err / tol))
                accepted = ratio <= 1.0
                if stats is not None:
                    if accepted:
                        stats.accepted += 1
                        stats.steps.append(h)
                    else:
                        stats.rejected += 1
                h_used = h
                if ratio == 0.0:
                    h = h * IFACTOR
                else:
                    dfactor = 1.0 if ratio < 1.0 else DFACTOR
                    h = h * min(IFACTOR, max(SAFETY / ratio ** (1 / 5), dfactor))
                if accepted:
                    step = (t_start, t_start + h_used, h_used, ks, y_new, y_start)
                    coeffs = None
                    break
        t_start, _, h_step, ks, y_end, y_begin = step
        if coeffs is None:  # the dense output of this step, built once when first needed
            coeffs = _interp_coeffs(y_begin, y_end, _combine(y_begin, h_step, _MID, ks), ks[0],
                                    ks[6], h_step)
        x = (t[i] - t_start) / h_step
        c0, c1, c2, c3, c4 = coeffs
        out.append(c0 + x * (c1 + x * (c2 + x * (c3 + x * c4))))
    return out


def _interp_coeffs(y0: Tensor, y1: Tensor, y_mid: Tensor, f0: Tensor, f1: Tensor,
                   h: float) -> list[Tensor]:
    """Coefficients (constant first) of the quartic through y0, y_mid, y1 with slopes f0, f1."""
    a = (f1 - f0) * (2 * h) - (y1 + y0) * 8 + y_mid * 16
    b = (f0 * 5 - f1 * 3) * h + y0 * 18 + y1 * 14 - y_mid * 32
    c = (f1 - f0 * 4) * h - y0 * 11 - y1 * 5 + y_mid * 16
    return [y0, f0 * h, c, b, a]


def _fixed_grid(t: Tensor, step_size: float | None) -> Iterator[tuple[Tensor, Tensor]]:
    """The intervals of a fixed-step method's grid: the output times, or t0 + k·h ending exactly
    at t[-1]. Made one at a time, so that an unrecorded solve keeps O(1) of them."""
    if step_size is None:
        for k in range(t.shape[0] - 1):
            yield t[k], t[k + 1]
        return
    t0, t1 = float(t.data[0]), float(t.data[-1])
    n = math.ceil((t1 - t0) / step_size + 1)
    prev = t[0]
    for k in range(1, n):
        cur = t[-1] if k == n - 1 else t[0] + k * step_size
        yield prev, cur
        prev = cur


def _euler_step(func: Func, t0: Tensor, h: Tensor, y: Tensor) -> Tensor:
    return h * func(t0, y)


def _rk4_step(func: Func, t0: Tensor, h: Tensor, y: Tensor) -> Tensor:
    """One step of Kutta's 3/8 rule (torchdiffeq's "rk4"), fourth order."""
    k1 = func(t0, y)
    k2 = func(t0 + h / 3, y + h * k1 / 3)
    k3 = func(t0 + h * (2 / 3), y + h * (k2 - k1 / 3))
    k4 = func(t0 + h, y + h * (k1 - k2 + k3))
    return (k1 + (k2 + k3) * 3 + k4) * (h * 0.125)


def fixed_step(method: str, func: Func, y0: Tensor, t: Tensor, options: dict[str, Any],
               stats: _Stats | None = None) -> list[Tensor]:
    """y at each time of ``t`` by Euler or RK4 on a fixed grid, linear interpolation between.

    The grid is ``t`` itself, or t[0] + k·step_size (its last point moved to t[-1]).
    """
    step_size = options.get("step_size")
    if step_size is not None and not step_size > 0:
        raise ValueError(f"odeint: options['step_size'] must be positive, got {step_size!r}")
    step_fn = _rk4_step if method == "rk4" else _euler_step
    times = t.data
    out = [y0]
    j = 1
    y = y0
    for g0, g1 in _fixed_grid(t, step_size):
        y1 = y + step_fn(func, g0, g1 - g0, y)
        if stats is not None:
            stats.accepted += 1
        b = float(g1.data)
        while j < len(times) and b >= times[j]:
            if step_size is None:  # the grid is t itself: this step ends at t[j]
                out.append(y1)
            else:  # interpolate, so that the result depends on t[j] (its gradient is ~f)
                out.append(y + (t[j] - g0) / (g1 - g0) * (y1 - y))
            j += 1
        y = y1
    return out
