"""Anomaly mode: find the forward op whose backward produced NaN or inf.

Inside ``mg.detect_anomaly()`` every recorded node remembers the line of user code that created
it, and the backward sweep checks each gradient it computes; the first non-finite one stops the
sweep with an error naming the op and that line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from microgradnet.autograd.grad_mode import _state, set_anomaly

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled"]


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly`` (for this thread).

    >>> with mg.detect_anomaly():
    ...     mg.is_anomaly_enabled()
    True
    >>> mg.is_anomaly_enabled()
    False
    """
    return _state.anomaly


class detect_anomaly:
    """Context manager and decorator enabling anomaly detection for its block.

    >>> import microgradnet as mg
    >>> x = mg.tensor([0.0], requires_grad=True)
    >>> with mg.detect_anomaly():
    ...     y = mg.sqrt(x) * 0.0
    ...     y.sum().backward()  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    RuntimeError: Anomaly detected: the backward of 'sqrt' returned ...
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        self._prev.append(_state.anomaly)
        set_anomaly(self.check_nan)

    def __exit__(self, *exc: object) -> None:
        set_anomaly(self._prev.pop())

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


class set_detect_anomaly:
    """Turn anomaly detection on or off (a call, or a context manager that restores it).

    >>> with mg.set_detect_anomaly(True):
    ...     mg.is_anomaly_enabled()
    True
    >>> mg.is_anomaly_enabled()  # restored on exit
    False
    """

    def __init__(self, mode: bool) -> None:
        self._prev = _state.anomaly
        set_anomaly(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        set_anomaly(self._prev)
