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

from microgradnet.autograd.function import _FREED
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

    pending: dict[Any, list[Any]] = {}
    roots = []
    for out, g in zip(outputs, grad_outputs):
        node = out.grad_fn
        if node is None:  # an output that is itself a leaf
            _to_leaf(out, g, create_graph, capture, captured, given)
            continue
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
    _state.enabled = create_graph  # with create_graph the sweep itself is recorded
    try:
        while ready:
            node = ready.pop()
            grads = pending.pop(node)
            if node._hooks is not None:
                grads = _run_node_hooks(node, grads)
            if capture is not None:
                for k, g in enumerate(grads):
                    i = capture.get((node, k))
                    if i is not None:
                        captured[i] = g
            if node._n_out > 1:
                grads = _materialize(node, grads)

            in_grads = node.backward(node, *grads)
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            if anomaly:
                _check_anomaly(node, in_grads)
            if observer is not None:
                observer(node, grads, in_grads)

            for edge, g in zip(node.next_functions, in_grads):
                if edge is None or g is None:
                    continue
                target, k, shape = edge
                if g.data.shape != shape:
                    g = _reduce_to_shape(g, shape, node)
                if target._is_tensor:
                    _to_leaf(target, g, create_graph, capture, captured, given)
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
    return captured


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


def _materialize(node: Any, grads: list[Any]) -> list[Any]:
    """Outputs of a multi-output node that received no gradient get zeros (as PyTorch)."""
    import numpy as np

    from microgradnet.tensor import Tensor

    out = list(grads)
    for k, g in enumerate(out):
        if g is None:
            shape, dtype = node._out_meta[k]
            out[k] = Tensor._make(np.zeros(shape, dtype), False, None)
    return out


def _reduce_to_shape(g: Any, shape: tuple[int, ...], node: Any) -> Any:
    """Sum a broadcast gradient back to its input's shape (the chain rule for broadcasting)."""
    from microgradnet.ops._util import sum_to_shape

    try:
        return sum_to_shape(g, shape)
    except ValueError:
        raise RuntimeError(
            f"{node.op_name}: its backward returned a gradient of shape {tuple(g.shape)} for "
            f"an input of shape {shape}; the gradient must have the input's shape (or broadcast "
            "to it)."
        ) from None


def _check_anomaly(node: Any, in_grads: tuple[Any, ...]) -> None:
    import numpy as np

    for i, g in enumerate(in_grads):
        if g is not None and g.data.dtype.kind in "fc" and not np.all(np.isfinite(g.data)):
            bad = "nan" if np.isnan(g.data).any() else "inf"
            raise RuntimeError(
                f"Anomaly detected: the backward of '{node.op_name}' returned {bad} values in "
                f"its gradient for input {i}. The forward op was created at "
                f"{node.site or 'an unknown place'}."
            )
