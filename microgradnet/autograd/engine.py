"""The backward sweep: reverse-mode differentiation over the recorded graph.

Read this file top to bottom to see backpropagation happen:
1. collect the nodes reachable from the outputs (explicit stack, no recursion) and count how many
   consumers each node has inside this graph;
2. start from the outputs with their seed gradients and pop a "ready" node: one whose every
   consumer has already sent its contribution, so its pending gradient is complete;
3. ask the node for the vector-Jacobian products of its inputs (``backward``), check them (one
   per input, numeric, a compatible shape), reduce each to its input's shape (undoing
   broadcasting), and add them to the inputs' pending gradients;
4. accumulate into leaf tensors' ``.grad`` and free the node's saved buffers.

The plain sweep (no ``create_graph``) moves NumPy arrays between nodes whose rule is written
once for arrays and Tensors (``Function._dual_rules``, see ``ops/_dual.py``): no Tensor is made
per gradient. Tensors are made only where they are needed: for hooks, the observer, the
leaves' ``.grad`` and user-defined Functions (which get and return Tensors, as in PyTorch).
The recorded sweep (``create_graph=True``) moves Tensors throughout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy import ndarray

from microgradnet.autograd.function import _FREED, _dual_mode
from microgradnet.autograd.grad_mode import _state
from microgradnet.autograd.graph import count_consumers

__all__ = ["run_backward", "observe_sweep"]

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
    accumulate: bool = False,
) -> list[Any] | None:
    """Backpropagate ``grad_outputs`` from ``outputs``.

    Without ``inputs`` the gradients are accumulated into the leaves' ``.grad`` (``backward``).
    With ``inputs`` they are returned, one per input, and no ``.grad`` is touched (``mg.grad``);
    with ``inputs`` and ``accumulate`` they go into those inputs' ``.grad`` only
    (``backward(inputs=...)``).
    """
    sweep = _Sweep(grad_outputs, create_graph, inputs)
    plain = not create_graph  # arrays between dual-rule nodes (see the module docstring)

    pending: dict[Any, list[Any]] = {}
    roots = []
    for out, g in zip(outputs, grad_outputs):
        node = out.grad_fn
        if node is None:  # an output that is itself a leaf
            _to_leaf(out, g, sweep)
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
    prev_arrays = _dual_mode.arrays
    _state.enabled = create_graph  # with create_graph the sweep itself is recorded
    _dual_mode.arrays = plain
    try:
        while ready:
            node = ready.pop()
            grads = pending.pop(node)
            if node._hooks is not None:
                grads = _run_node_hooks(node, grads, sweep)
            if sweep.capture is not None:
                _capture_outputs(node, grads, sweep)
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
                    _to_leaf(target, g, sweep)
                    continue
                buf = pending.get(target)
                if buf is None:
                    buf = pending[target] = [None] * target._n_out
                prev = buf[k]
                if prev is None:
                    buf[k] = g
                else:
                    g = prev + g
                    # NumPy gives a scalar for 0-d arrays: keep pending gradients arrays
                    buf[k] = np.asarray(g) if plain and type(g) is not ndarray else g
                left = deps[target] - 1
                deps[target] = left
                if left == 0:
                    ready.append(target)
            if not retain_graph:
                node._saved = _FREED  # free the saved buffers as soon as the node has run
                node._out = None
        return _deliver(sweep, accumulate)
    finally:
        _state.enabled = prev_mode
        _dual_mode.arrays = prev_arrays


# -- checking what a backward returned -----------------------------------------------------------
def _wrap(a: Any) -> Any:
    """A constant Tensor over a gradient array of the plain sweep."""
    return Tensor._make(a if type(a) is ndarray else np.asarray(a), False, None)


def _tensors(grads: Any) -> list[Any]:
    return [g if g is None or isinstance(g, Tensor) else _wrap(g) for g in grads]


def _to_array(node: Any, i: int, g: Any) -> ndarray:
    """A gradient returned in the plain sweep, as an array (Tensors unwrap, NumPy scalars and
    array-likes convert); anything that is not numeric is a RuntimeError naming the op."""
    a = g.data if isinstance(g, Tensor) else np.asarray(g)
    if a.dtype.kind not in "fciub":
        raise RuntimeError(
            f"{node.op_name}: backward returned a {type(g).__name__} as the gradient of input "
            f"{i}; a gradient must be a Tensor, an array or a number (or None for no gradient)."
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
        both = np.broadcast_shapes(shape, gshape)
    except ValueError:
        both = None
    if both == gshape:
        return sum_to_shape(g, shape) if isinstance(g, Tensor) else _sum_to_shape_array(g, shape)
    if both == tuple(shape):
        if isinstance(g, Tensor):
            from microgradnet.ops.shape import broadcast_to

            return broadcast_to(g, shape)
        return np.broadcast_to(g, shape)
    raise RuntimeError(
        f"{node.op_name}: backward returned a gradient of shape {gshape} for input {i}, which "
        f"has shape {tuple(shape)}; the gradient must have the input's shape (or a shape that "
        "broadcasts to it or from it)."
    )


# -- delivering gradients: leaves (AccumulateGrad), captures for mg.grad, hooks ----------------
class _Sweep:
    """Per-sweep bookkeeping of where finished gradients go.

    ``leaf``: id(leaf) -> [leaf, summed gradient]; leaves get their gradient once, at the end
    of the sweep, so a leaf's hooks see the total (PyTorch's AccumulateGrad). ``capture``: for
    ``mg.grad``, id(leaf) or (node, output_nr) -> the positions in ``inputs`` it fills.
    ``owned``: ids of arrays somebody else holds (the seeds, every ``.grad`` handed out, what a
    hook returned): such an array is copied before it becomes a ``.grad``, so an in-place
    change of one ``.grad`` (clipping, ``zero_()``) never reaches another tensor.
    """

    __slots__ = ("create_graph", "leaf", "capture", "captured", "inputs", "owned")

    def __init__(self, grad_outputs: Sequence[Any], create_graph: bool,
                 inputs: Sequence[Any] | None) -> None:
        self.create_graph = create_graph
        self.leaf: dict[int, list[Any]] = {}
        self.owned = {id(_arr(g)) for g in grad_outputs}
        self.inputs = inputs
        self.capture: dict[Any, list[int]] | None = None
        self.captured: list[Any] | None = None
        if inputs is not None:
            self.captured = [None] * len(inputs)
            self.capture = {}
            for i, t in enumerate(inputs):
                key = id(t) if t.grad_fn is None else (t.grad_fn, t._output_nr)
                self.capture.setdefault(key, []).append(i)


def _arr(g: Any) -> Any:
    """The array of a gradient that is a Tensor or (in an unrecorded sweep) an ndarray."""
    return g.data if isinstance(g, Tensor) else np.asarray(g)


def _to_leaf(leaf: Any, g: Any, sweep: _Sweep) -> None:
    """Add one contribution to a leaf's gradient; it is delivered once the sweep is over."""
    if sweep.capture is not None and id(leaf) not in sweep.capture:
        return  # mg.grad / backward(inputs=...): leaves that were not asked for get nothing
    entry = sweep.leaf.get(id(leaf))
    if entry is None:
        sweep.leaf[id(leaf)] = [leaf, g]
    else:
        entry[1] = entry[1] + g


def _capture_outputs(node: Any, grads: list[Any], sweep: _Sweep) -> None:
    """mg.grad with a non-leaf input: its gradient is the node's complete output gradient."""
    assert sweep.capture is not None and sweep.captured is not None
    for k, g in enumerate(grads):
        where = sweep.capture.get((node, k))
        if where is not None and g is not None:
            for i in where:
                sweep.captured[i] = g


def _deliver(sweep: _Sweep, accumulate: bool) -> list[Any] | None:
    """End of the sweep: run each leaf's hooks on its total gradient, then accumulate it into
    ``.grad`` (or capture it for mg.grad). Gradients come out in their tensor's dtype."""
    captured = sweep.captured
    for leaf, g in sweep.leaf.values():
        g = _as_tensor(g, leaf.data.dtype)
        hooks = leaf._meta.get("hooks") if leaf._meta else None
        if hooks:
            for fn in list(hooks):
                g = _call_hook(fn, g, leaf, sweep)
        if captured is None:
            _accumulate(leaf, g, sweep)
        else:
            assert sweep.capture is not None
            for i in sweep.capture[id(leaf)]:
                captured[i] = g
    if captured is None:
        return None
    assert sweep.inputs is not None
    for i, (t, g) in enumerate(zip(sweep.inputs, captured)):
        if g is not None:
            captured[i] = g = _as_tensor(g, t.data.dtype)
            if accumulate:
                _accumulate(t, g, sweep)
    return None if accumulate else captured


def _as_tensor(g: Any, dtype: Any) -> Any:
    """A gradient as a Tensor of ``dtype`` (the tensor's own dtype, as PyTorch gives it)."""
    if not isinstance(g, Tensor):  # an array (or 0-d NumPy scalar) of the plain sweep
        g = Tensor._make(np.asarray(g), False, None)
    if g.data.dtype != dtype:
        g = g.to(dtype)  # recorded when the sweep is (create_graph)
    return g


def _own(g: Any, sweep: _Sweep) -> Any:
    """``g`` as a gradient nobody else holds, ready to be stored as a ``.grad``: a fresh,
    writable array (copied if it is a view, read-only or already handed out); with
    create_graph a recorded copy, so the result stays differentiable."""
    arr = g.data
    if arr.base is not None or not arr.flags.writeable or id(arr) in sweep.owned:
        if sweep.create_graph:
            from microgradnet.ops.elementwise import clone

            g = clone(g)
        else:
            g = Tensor._make(arr.copy(), False, None)
    elif not sweep.create_graph:
        g = g.detach()
    sweep.owned.add(id(g.data))
    return g


def _accumulate(t: Any, g: Any, sweep: _Sweep) -> None:
    """Add a finished gradient to ``t.grad`` (the new sum is a fresh array, never shared)."""
    if t.grad is None:
        t.grad = _own(g, sweep)
    else:
        if not sweep.create_graph:
            g = g.detach()
        t.grad = t.grad + g
        sweep.owned.add(id(t.grad.data))


def _hook_name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


def _call_hook(fn: Any, g: Any, t: Any, sweep: _Sweep) -> Any:
    """Run one gradient hook and check what it gave back: None (keep ``g``) or a Tensor of
    ``g``'s shape (its dtype is made ``g``'s)."""
    r = fn(g)
    if r is None:
        return g
    if not isinstance(r, Tensor):
        raise TypeError(
            f"hook {_hook_name(fn)!r} returned a {type(r).__name__}; a gradient hook must "
            f"return None or a Tensor of the gradient's shape {g.shape}"
        )
    if r.shape != g.shape:
        raise RuntimeError(
            f"hook {_hook_name(fn)!r} returned a gradient of shape {r.shape} for a tensor of "
            f"shape {g.shape}; a gradient hook must keep the shape"
        )
    if r.data.dtype != g.data.dtype:
        if r.data.dtype.kind not in "fc":
            raise RuntimeError(
                f"hook {_hook_name(fn)!r} returned a {r.data.dtype} gradient for a "
                f"{g.data.dtype} tensor; return a floating-point Tensor"
            )
        r = r.to(g.data.dtype)
    sweep.owned.add(id(r.data))  # the hook's caller may keep it: copy before storing in .grad
    return r


def _run_node_hooks(node: Any, grads: list[Any], sweep: _Sweep) -> list[Any]:
    """A node's output gradients are complete: cast each to its tensor's dtype, run that
    output's hooks, and store the ``.grad`` of outputs that called ``retain_grad()``."""
    st = node._hooks
    if not st.hooks and not st.retained:
        return grads
    for k, g in enumerate(grads):
        if g is None:
            continue
        fns = st.hooks.get(k)
        ref = st.retained.get(k)
        t = ref() if ref is not None else None
        if not fns and t is None:
            continue
        as_array = not isinstance(g, Tensor)
        dtype = t.data.dtype if t is not None else st.dtypes.get(k, _arr(g).dtype)
        g = _as_tensor(g, dtype)
        for fn in list(fns or ()):
            g = _call_hook(fn, g, t, sweep)
        if t is not None:
            _accumulate(t, g, sweep)
        grads[k] = g.data if as_array else g
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


from microgradnet.tensor import Tensor  # noqa: E402  (tensor.py imports this module first)
