"""``keep_values()``: remember every recorded node's output value (and its constant inputs).

An op keeps only what its derivative needs, so after the forward pass most intermediate values
are gone: ``draw_graph(show_data=True)`` could show data only at leaves. Inside
``keep_values()`` the autograd hook ``function.on_record`` hands every recorded node's output
to this module, which keeps it (with the constant tensors the op read, such as the inputs and
targets of a loss) for as long as the node lives.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from microgradnet.autograd import function as _function
from microgradnet.tensor import Tensor

__all__ = ["keep_values", "kept_output", "kept_constants", "kept_inputs"]

# node -> (outputs as a tuple of arrays, {argument index: constant tensor},
#          {argument index: recorded input tensor})
_kept: weakref.WeakKeyDictionary[Any, tuple[tuple[Any, ...], dict[int, Tensor],
                                            dict[int, Tensor]]] = weakref.WeakKeyDictionary()


def _record(node: Any, out: Any, args: tuple[Any, ...]) -> None:
    outs = tuple(getattr(o, "data", o) for o in out) if type(out) is tuple else \
        (getattr(out, "data", out),)
    consts: dict[int, Tensor] = {}
    ins: dict[int, Tensor] = {}
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            (ins if a.requires_grad else consts)[i] = a
    _kept[node] = (outs, consts, ins)  # type: ignore[assignment]  # a non-array output as is


class keep_values:
    """Context manager: nodes recorded inside it keep their output values for the pictures.

    Costs one reference per recorded node (the output array the forward made anyway), so use
    it for small graphs you want to look at, as micrograd's ``draw_dot`` does by default.

    >>> import microgradnet as mg
    >>> a = mg.tensor(2.0, requires_grad=True, name="a")
    >>> with mg.viz.keep_values():
    ...     out = (a * 3.0).tanh()
    >>> "data 6" in mg.viz.draw_graph(out, show_data=True).source   # a·3 is shown
    True
    """

    def __enter__(self) -> keep_values:
        self._prev = _function.on_record
        _function.on_record = _record
        return self

    def __exit__(self, *exc: object) -> None:
        _function.on_record = self._prev


def kept_output(node: Any, k: int = 0) -> np.ndarray | None:
    """Output ``k`` of ``node`` if it was recorded inside ``keep_values()``, else None."""
    entry = _kept.get(node)
    if entry is None or k >= len(entry[0]):
        return None
    return np.asarray(entry[0][k])


def kept_constants(node: Any) -> dict[int, Tensor]:
    """The constant tensors ``node`` read (argument index -> tensor), under ``keep_values()``."""
    entry = _kept.get(node)
    return {} if entry is None else entry[1]


def kept_inputs(node: Any) -> dict[int, Tensor]:
    """The input tensors ``node`` read (argument index -> tensor), under ``keep_values()``: how
    the pictures find an intermediate tensor's name."""
    entry = _kept.get(node)
    return {} if entry is None else entry[2]
