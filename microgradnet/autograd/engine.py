"""The backward sweep: reverse-mode differentiation over the recorded graph.

Read this file top to bottom to see backpropagation happen:
1. collect the nodes reachable from the outputs (explicit stack, no recursion) and count how many
   consumers each node has inside this graph;
2. start from the outputs with their seed gradients and pop a "ready" node: one whose every
   consumer has already sent its contribution, so its pending gradient is complete;
3. ask the node for the vector-Jacobian products of its inputs (``backward``), reduce each to
   its input's shape (undoing broadcasting), and add them to the inputs' pending gradients;
4. accumulate into leaf tensors' ``.grad`` and free the node's saved buffers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy import ndarray

from microgradnet.autograd.function import _FREED, _sweep
from microgradnet.autograd.grad_mode import _state
from microgradnet.autograd.graph import count_consumers

# Observer called as ``observer(node, grads_in, grads_out)`` for every node processed; None when
# unused. viz.backward_frames and tests set it with ``observe_sweep``; nobody writes a second walk.
_observer: Callable[..., Any] | None = None


class observe_sweep:
    """Context manager installing a step observer for the backward sweeps run inside it."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def __enter__(self) -> None:
        global _observer
        self._prev = _observer
        _observer = self.fn

    def __exit__(self, *exc: object) -> None:
        global _observer
        _observer = self._prev


def run_backward(
    outputs: Sequence[Any],
    grad_outputs: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence[Any] | None = None,
) -> list[Any] | None:
    """Backpropagate ``grad_outputs`` from ``outputs``.

    Without ``inputs`` the gradients are accumulated into the leaves' ``.grad`` (``backward``);
    with ``inputs`` they are returned, one per input, and no ``.grad`` is touched (``mg.grad``).
    """
    capture: dict[Any, int] | None = None
    captured: list[Any] | None = None
    # Arrays already owned by someone (the seeds, grads handed to a leaf): never hand one to a
    # leaf again, so an in-place change of one .grad (clipping, zero_grad) cannot reach another.
    given = {id(g.data) for g in grad_outputs}
    if inputs is not None:
        captured = [None] * len(inputs)
        capture = {}
        for i, t in enumerate(inputs):
            capture[t if t.grad_fn is None else (t.grad_fn, t._output_nr)] = i

    # The plain sweep (no create_graph) moves NumPy arrays between nodes whose rules are written
    # for both kinds (``_dual_rules``); Tensors are made only where a hook, the observer, a
    # leaf or a user-defined Function needs one. The recorded sweep moves Tensors throughout.
    plain = not create_graph
    pending: dict[Any, list[Any]] = {}
    roots = []
    for out, g in zip(outputs, grad_outputs):
        node = out.grad_fn
        if node is None:  # an output that is itself a leaf
            _to_leaf(out, g, create_graph, capture, captured, given)
            continue
        if plain:
            g = g.data
        buf = pending.get(node)
        if buf is None:
            buf = pending[node] = [None] * node._n_out
            roots.append(node)
        k = out._output_nr
        buf[k] = g if buf[k] is None else buf[k] + g

    deps = count_consumers(roots)
    ready = [n for n in roots if n not in deps]
    anomaly = _state.anomaly
    observer = _observer

    prev_mode = _state.enabled
    prev_arrays = _sweep.arrays
    _state.enabled = create_graph  # with create_graph the sweep itself is recorded
    _sweep.arrays = plain
    try:
        while ready:
            node = ready.pop()
            grads = pending.pop(node)
            if node._hooks is not None:
                if plain:
                    grads = _arrays(_run_node_hooks(node, _tensors(grads)))
                else:
                    grads = _run_node_hooks(node, grads)
            if capture is not None:
                for k, g in enumerate(grads):
                    i = capture.get((node, k))
                    if i is not None:
                        captured[i] = _wrap(g) if plain and g is not None else g
            if node._n_out > 1:
                grads = _materialize(node, grads, plain)

            if plain and not node._dual_rules:  # a user Function: Tensors in, Tensors out
                in_grads = node.backward(node, *_tensors(grads))
            else:
                in_grads = node.backward(node, *grads)
            edges = node.next_functions
            if type(in_grads) is not tuple:
                in_grads = tuple(in_grads) if type(in_grads) is list else (in_grads,)
            if len(in_grads) != len(edges):
                in_grads = _check_count(node, in_grads)
            if anomaly:
                _check_anomaly(node, in_grads)
            if observer is not None:
                if plain:
                    observer(node, _tensors(grads), _tensors(in_grads))
                else:
                    observer(node, grads, in_grads)

            i = -1
            for edge, g in zip(edges, in_grads):
                i += 1
                if edge is None or g is None:
                    continue
                if plain:
                    if type(g) is not ndarray:
                        g = _to_array(node, i, g)
                elif not isinstance(g, Tensor):
                    g = _to_tensor(node, i, g)
                target, k, shape = edge
                if g.shape != shape:
                    g = _fit_shape(g, shape, node, i)
                if target._is_tensor:
                    _to_leaf(target, _wrap(g) if plain else g, create_graph, capture, captured,
                             given)
                    continue
                buf = pending.get(target)
                if buf is None:
                    buf = pending[target] = [None] * target._n_out
                prev = buf[k]
                buf[k] = g if prev is None else prev + g
                left = deps[target] - 1
                deps[target] = left
                if left == 0:
                    ready.append(target)
            if not retain_graph:
                node._saved = _FREED  # free the saved buffers as soon as the node has run
                node._out = None
    finally:
        _state.enabled = prev_mode
        _sweep.arrays = prev_arrays
    return captured


def _wrap(a: Any) -> Any:
    """A constant Tensor over a gradient array of the plain sweep."""
    return Tensor._make(a if type(a) is ndarray else np.asarray(a), False, None)


def _tensors(grads: Any) -> list[Any]:
    return [g if g is None or isinstance(g, Tensor) else _wrap(g) for g in grads]


def _arrays(grads: Any) -> list[Any]:
    return [g.data if isinstance(g, Tensor) else g for g in grads]


def _what(g: Any) -> str:
    return type(g).__name__


def _to_array(node: Any, i: int, g: Any) -> ndarray:
    """A gradient returned in the plain sweep, as an array (Tensors unwrap, NumPy scalars and
    array-likes convert); anything that is not numeric is a RuntimeError naming the op."""
    a = g.data if isinstance(g, Tensor) else np.asarray(g)
    if a.dtype.kind not in "fciub":
        raise RuntimeError(
            f"{node.op_name}: backward returned a {_what(g)} as the gradient of input {i}; a "
            "gradient must be a Tensor, an array or a number (or None for no gradient)."
        )
    return a


def _to_tensor(node: Any, i: int, g: Any) -> Any:
    """A non-Tensor gradient returned in the recorded sweep, as a constant Tensor."""
    return _wrap(_to_array(node, i, g))


def _check_count(node: Any, in_grads: tuple[Any, ...]) -> tuple[Any, ...]:
    """One gradient per forward argument: extra trailing Nones are dropped (as PyTorch)."""
    n = len(node.next_functions)
    if len(in_grads) > n and all(g is None for g in in_grads[n:]):
        return in_grads[:n]
    raise RuntimeError(
        f"{node.op_name}: backward returned {len(in_grads)} gradient(s) but forward took {n} "
        f"input(s); return exactly one gradient (or None) per input of forward, in order."
    )


def _fit_shape(g: Any, shape: tuple[int, ...], node: Any, i: int) -> Any:
    """A gradient of another shape than its input: one broadcast *from* the input's shape is
    summed back (the chain rule for broadcasting), one that broadcasts *to* it is expanded;
    anything else is a RuntimeError naming the op, the input and both shapes."""
    from microgradnet.ops._util import _sum_to_shape_array, sum_to_shape

    gshape = tuple(g.shape)
    try:
        if np.broadcast_shapes(shape, gshape) == gshape:
            if isinstance(g, Tensor):
                return sum_to_shape(g, shape)
            return _sum_to_shape_array(g, shape)
        if np.broadcast_shapes(shape, gshape) == tuple(shape):
            if isinstance(g, Tensor):
                from microgradnet.ops.shape import broadcast_to

                return broadcast_to(g, shape)
            return np.broadcast_to(g, shape)
    except ValueError:
        pass
    raise RuntimeError(
        f"{node.op_name}: backward returned a gradient of shape {gshape} for input {i}, which "
        f"has shape {tuple(shape)}; the gradient must have the input's shape (or a shape that "
        "broadcasts to it or from it)."
    )


def _to_leaf(leaf: Any, g: Any, create_graph: bool, capture: Any, captured: Any,
             given: set[int]) -> None:
    """Deliver a finished gradient to a leaf: capture it (mg.grad) or add it to ``.grad``."""
    if capture is not None:
        i = capture.get(leaf)
        if i is not None:
            captured[i] = g if captured[i] is None else captured[i] + g
        return
    hooks = leaf._meta.get("hooks") if leaf._meta else None
    if hooks:
        for fn in hooks:
            r = fn(g)
            if r is not None:
                g = r
    if g.data.dtype != leaf.data.dtype:
        g = g.to(leaf.data.dtype)
    if not create_graph:
        g = g.detach()
        arr = g.data
        if arr.base is not None or not arr.flags.writeable or id(arr) in given:
            g.data = arr = arr.copy()
        given.add(id(arr))
    if leaf.grad is None:
        leaf.grad = g
    else:
        leaf.grad = leaf.grad + g


def _run_node_hooks(node: Any, grads: list[Any]) -> list[Any]:
    hooks = node._hooks
    for k in range(len(grads)):
        for fn in hooks.get(k, ()):
            if grads[k] is not None:
                r = fn(grads[k])
                if r is not None:
                    grads[k] = r
    retained = hooks.get("retain")
    if retained:
        for k, ref in retained.items():
            t = ref()
            if t is not None and grads[k] is not None:
                g = grads[k] if _state.enabled else grads[k].detach()
                t.grad = g if t.grad is None else t.grad + g
    return grads


def _materialize(node: Any, grads: list[Any], plain: bool) -> list[Any]:
    """Outputs of a multi-output node that received no gradient get zeros (as PyTorch)."""
    out = list(grads)
    for k, g in enumerate(out):
        if g is None:
            shape, dtype = node._out_meta[k]
            z = np.zeros(shape, dtype)
            out[k] = z if plain else Tensor._make(z, False, None)
    return out


def _check_anomaly(node: Any, in_grads: tuple[Any, ...]) -> None:
    for i, g in enumerate(in_grads):
        if g is None:
            continue
        a = g.data if isinstance(g, Tensor) else np.asarray(g)
        if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
            bad = "nan" if np.isnan(a).any() else "inf"
            raise RuntimeError(
                f"Anomaly detected: the backward of '{node.op_name}' returned {bad} values in "
                f"its gradient for input {i}. The forward op was created at "
                f"{node.site or 'an unknown place'}."
            )


from microgradnet.tensor import Tensor  # noqa: E402  (tensor.py imports the engine lazily)
