"""Grad mode: whether operations record the graph (thread-local, like PyTorch)."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Generator
from typing import Any, TypeVar

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]

F = TypeVar("F", bound=Callable[..., Any])


class _State(threading.local):
    """Per-thread state read on every op: grad recording, anomaly detection, call site."""

    def __init__(self) -> None:
        self.enabled = True
        self.anomaly = False
        # The user-code line of the outermost built-in module call (see nn.Module.__call__): ops
        # recorded inside it take this as their call site instead of walking the stack again.
        self.site: tuple[Any, int] | None = None


_state = _State()
# One entry per thread with anomaly mode on (kept by ``set_anomaly``): while it is empty,
# recording a node skips reading the thread-local flag.
_anomaly_on: list[None] = []


def set_anomaly(mode: bool) -> None:
    """Set this thread's anomaly mode (the one place that writes it, keeping ``_anomaly_on``)."""
    mode = bool(mode)
    if mode != _state.anomaly:
        if mode:
            _anomaly_on.append(None)
        else:
            _anomaly_on.pop()
        _state.anomaly = mode


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad are being recorded.

    >>> mg.is_grad_enabled()
    True
    >>> with mg.no_grad():
    ...     mg.is_grad_enabled()
    False
    """
    return _state.enabled


class _GradMode:
    """Context manager and decorator that sets grad mode for its block or function."""

    _mode: bool = True

    def __init__(self, fn: Callable[..., Any] | None = None) -> None:
        self._prev: list[bool] = []
        self._fn = fn
        if fn is not None:
            functools.update_wrapper(self, fn)

    def __enter__(self) -> None:
        self._prev.append(_state.enabled)
        _state.enabled = self._mode

    def __exit__(self, *exc: object) -> None:
        _state.enabled = self._prev.pop()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._fn is None:  # used as @no_grad(): wrap the function
            fn = args[0]
            return type(self)(fn)
        if inspect.isgeneratorfunction(self._fn):
            return self._generator(self._fn(*args, **kwargs))
        with type(self)():
            return self._fn(*args, **kwargs)

    def _generator(self, gen: Generator[Any, Any, Any]) -> Generator[Any, Any, Any]:
        """Run a decorated generator's body in this mode, step by step (PyTorch): the mode is
        set while the body runs, and the caller's mode is back at every ``yield``."""
        mode = type(self)
        try:
            with mode():
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with mode():
                        gen.close()
                    raise
                except BaseException as exc:
                    with mode():
                        response = gen.throw(exc)
                else:
                    with mode():
                        response = gen.send(request)
        except StopIteration as stop:
            return stop.value


class no_grad(_GradMode):
    """Disable graph recording: ``with mg.no_grad():`` or ``@mg.no_grad()`` (on a generator
    function too: its body runs without recording, the caller's mode is back at each yield).

    >>> x = mg.tensor([1.0, 2.0], requires_grad=True)
    >>> with mg.no_grad():
    ...     y = x * 2
    >>> y.requires_grad  # not recorded: no graph, no gradient
    False
    """

    _mode = False


class enable_grad(_GradMode):
    """Enable graph recording inside a ``no_grad`` block or function.

    >>> x = mg.tensor(1.0, requires_grad=True)
    >>> with mg.no_grad():
    ...     with mg.enable_grad():
    ...         y = x * 2
    >>> y.requires_grad
    True
    """

    _mode = True


class set_grad_enabled:
    """Set grad mode to ``mode`` (a function call, or a context manager that restores it).

    >>> with mg.set_grad_enabled(False):
    ...     mg.is_grad_enabled()
    False
    >>> mg.is_grad_enabled()  # restored on exit
    True
    """

    def __init__(self, mode: bool) -> None:
        self._prev = _state.enabled
        _state.enabled = bool(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _state.enabled = self._prev
