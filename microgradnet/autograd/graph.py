"""Read-only walks over the recorded graph, shared by the engine and viz.

The graph is read through its public surface only. A node is a ``Function`` application; its
``next_functions`` holds, per forward argument, ``None`` (a constant) or an edge
``(target, output_nr, shape)`` where ``target`` is the node that produced the argument or the
leaf ``Tensor`` itself (``target._is_tensor`` tells which). Every walk here uses an explicit
stack, never recursion, so a 100,000-op chain is as easy as three ops, and visits inputs in
argument order, so the same graph always gives the same order.

Roots are nodes or tensors; a tensor made by an op stands for its ``grad_fn``.

The second half is the public way to read one node (what viz, the docs and error messages
need): ``op_name``, ``inputs``, ``num_outputs``, ``output_meta``, ``saved_values``,
``saved_freed``, ``saved_output``, ``retained_tensors``, ``hooks`` and ``call_site``. Nothing
outside ``autograd/`` reads a node's private fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

__all__ = [
    "call_site",
    "count_consumers",
    "hooks",
    "inputs",
    "iter_edges",
    "leaves",
    "num_outputs",
    "op_name",
    "output_meta",
    "postorder",
    "retained_tensors",
    "saved_freed",
    "saved_output",
    "saved_values",
    "topological_order",
]


def count_consumers(roots: Sequence[Any]) -> dict[Any, int]:
    """For every node reachable from ``roots``, the number of edges that point at it.

    ``roots`` are Function nodes. Leaf tensors are not counted, and a root nobody consumes is
    absent from the result. The engine runs a node once its count of pending contributions
    drops to zero (the child counts of Kahn's algorithm).

    >>> import microgradnet as mg
    >>> x = mg.tensor(2.0, requires_grad=True)
    >>> y = x * 3
    >>> z = y * y  # y is used twice
    >>> count_consumers([z.grad_fn])[y.grad_fn]
    2
    """
    deps: dict[Any, int] = {}
    stack = list(dict.fromkeys(roots))  # a root given twice must not count its edges twice
    seen = set(stack)
    while stack:
        node = stack.pop()
        for edge in node.next_functions:
            if edge is None:
                continue
            target = edge[0]
            if target._is_tensor:
                continue
            deps[target] = deps.get(target, 0) + 1
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return deps


def iter_edges(node: Any) -> Iterator[tuple[Any, int, tuple[int, ...]]]:
    """The edges ``(target, output_nr, shape)`` into ``node``, in argument order.

    Constant arguments (``None`` edges) are skipped; a leaf tensor or an unrecorded node has no
    edges.

    >>> import microgradnet as mg
    >>> x = mg.tensor([1.0, 2.0], requires_grad=True)
    >>> [(t is x, k, shape) for t, k, shape in iter_edges((x * 2.0).grad_fn)]
    [(True, 0, (2,))]
    """
    if node._is_tensor:
        return
    for edge in node.next_functions or ():
        if edge is not None:
            yield edge


def _start(obj: Any) -> Any:
    """A tensor made by an op stands for its node; leaves and nodes stand for themselves."""
    is_tensor = getattr(obj, "_is_tensor", None)
    if is_tensor is None:
        raise TypeError(f"postorder: roots must be Tensors or graph nodes (tensor.grad_fn), "
                        f"got a {type(obj).__name__}")
    if is_tensor and obj.grad_fn is not None:
        return obj.grad_fn
    return obj


def postorder(roots: Iterable[Any]) -> list[Any]:
    """Every node and leaf tensor reachable from ``roots``, each after all of its inputs.

    A depth-first walk in argument order: the first input's whole history comes first, then the
    second's, then the node itself. Each object appears once, however often it is reused. This
    is the forward order viz numbers its nodes in.

    >>> import microgradnet as mg
    >>> a = mg.tensor(1.0, requires_grad=True, name="a")
    >>> b = mg.tensor(2.0, requires_grad=True, name="b")
    >>> [o.name if o._is_tensor else o.op_name for o in postorder([a * b + a])]
    ['a', 'b', 'mul', 'add']
    """
    order: list[Any] = []
    seen: set[int] = set()  # ids: a Tensor's == is elementwise, so never hash on equality
    stack: list[tuple[Any, bool]] = [(_start(r), False) for r in reversed(list(roots))]
    while stack:
        obj, inputs_done = stack.pop()
        if inputs_done:
            order.append(obj)
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        stack.append((obj, True))
        if obj._is_tensor:
            continue
        # Pushed in reverse so that they are popped, and so visited, in argument order.
        for edge in reversed(obj.next_functions or ()):
            if edge is not None and id(edge[0]) not in seen:
                stack.append((edge[0], False))
    return order


def topological_order(roots: Iterable[Any]) -> list[Any]:
    """The Function nodes reachable from ``roots`` in forward order (inputs before consumers).

    Reversed, it is an order the backward sweep could run the nodes in: every consumer before
    the nodes it reads.

    >>> import microgradnet as mg
    >>> x = mg.tensor(1.0, requires_grad=True)
    >>> [n.op_name for n in topological_order([(x * 2.0).exp()])]
    ['mul', 'exp']
    """
    return [o for o in postorder(roots) if not o._is_tensor]


def leaves(roots: Iterable[Any]) -> list[Any]:
    """The leaf tensors reachable from ``roots`` (the graph's inputs), in first-visit order.

    >>> import microgradnet as mg
    >>> w = mg.tensor(1.0, requires_grad=True, name="w")
    >>> x = mg.tensor(2.0, requires_grad=True, name="x")
    >>> [t.name for t in leaves([(x * w) * x])]
    ['x', 'w']
    """
    return [o for o in postorder(roots) if o._is_tensor]


# -- reading one node ------------------------------------------------------------------------------
def op_name(node: Any) -> str:
    """The op's lower-case name (``add``, ``matmul``, ...), as pictures and errors show it.

    >>> import microgradnet as mg
    >>> op_name((mg.tensor(1.0, requires_grad=True) * 2).grad_fn)
    'mul'
    """
    return str(node.op_name)


def inputs(node: Any) -> tuple[Any, ...]:
    """One entry per forward argument: ``None`` for a constant (an argument that needs no
    gradient), else the edge ``(target, output_nr, shape)``; ``target`` is the producing node or
    the leaf tensor itself (``target._is_tensor``).

    >>> import microgradnet as mg
    >>> x = mg.tensor([1.0, 2.0], requires_grad=True)
    >>> [e if e is None else (e[0] is x, e[1], e[2]) for e in inputs(mg.sub(2.0, x).grad_fn)]
    [None, (True, 0, (2,))]
    """
    return tuple(node.next_functions or ())


def num_outputs(node: Any) -> int:
    """How many outputs the op produced (``split`` makes several; most ops one).

    >>> import microgradnet as mg
    >>> num_outputs(mg.split(mg.zeros(4, requires_grad=True), 2)[0].grad_fn)
    2
    """
    return int(node._n_out)


def output_meta(node: Any) -> tuple[tuple[tuple[int, ...], np.dtype] | None, ...]:
    """``(shape, dtype)`` of each output where the node knows it, else None for that output.

    Multi-output nodes always know; a single-output node knows when it kept its output for the
    derivative (exp, tanh, ...). Otherwise read the shape off a consumer's edge (``inputs``).

    >>> import microgradnet as mg
    >>> output_meta(mg.tensor([1.0, 2.0], requires_grad=True).exp().grad_fn)
    (((2,), dtype('float32')),)
    """
    meta = getattr(node, "_out_meta", None)
    if meta is not None:
        return tuple((tuple(s), np.dtype(d)) for s, d in meta)
    out = saved_output(node)
    if out is not None:
        return ((out.shape, out.dtype),)
    return (None,) * num_outputs(node)


def saved_freed(node: Any) -> bool:
    """True once a backward without ``retain_graph`` released what the node saved.

    >>> import microgradnet as mg
    >>> x = mg.tensor(2.0, requires_grad=True)
    >>> y = x * x
    >>> saved_freed(y.grad_fn)
    False
    >>> y.backward()
    >>> saved_freed(y.grad_fn)
    True
    """
    from microgradnet.autograd.function import _FREED

    return node._saved is _FREED


def saved_values(node: Any) -> tuple[Any, ...]:
    """What the op saved for its derivative (Tensors and arrays), without the in-place check
    ``ctx.saved_tensors`` makes; ``()`` when it saved nothing or after it was freed.

    >>> import microgradnet as mg
    >>> x, w = mg.tensor(2.0, requires_grad=True), mg.tensor(3.0)
    >>> [v is x for v in saved_values((x * w).grad_fn)]
    [True, False]
    >>> saved_values((x * 3.0).grad_fn)  # d(3x)/dx needs the 3, not x
    (None, 3.0)
    """
    saved = node._saved
    if saved is None or saved_freed(node):
        return ()
    return tuple(saved)


def saved_output(node: Any) -> np.ndarray | None:
    """The op's own output array if it kept it for its derivative (exp, tanh, sigmoid, ...).

    >>> import microgradnet as mg
    >>> saved_output(mg.tensor(0.0, requires_grad=True).exp().grad_fn)
    array(1., dtype=float32)
    """
    out = getattr(node, "_out", None)
    return np.asarray(out) if isinstance(out, (np.ndarray, np.generic)) else None


def retained_tensors(node: Any) -> dict[int, Any]:
    """output_nr -> tensor, for outputs on which ``retain_grad()`` was called and which are
    still alive (the sweep writes their ``.grad``).

    >>> import microgradnet as mg
    >>> y = mg.tensor(1.0, requires_grad=True) * 2
    >>> y.retain_grad()
    >>> retained_tensors(y.grad_fn)[0] is y
    True
    """
    st = node._hooks
    if st is None:
        return {}
    out = {}
    for k, ref in st.retained.items():
        t = ref()
        if t is not None:
            out[k] = t
    return out


def hooks(node: Any) -> dict[int, list[Any]]:
    """output_nr -> the functions registered on that output's gradient (a copy).

    >>> import microgradnet as mg
    >>> y = mg.tensor(1.0, requires_grad=True) * 2
    >>> h = y.register_hook(print)
    >>> hooks(y.grad_fn)
    {0: [<built-in function print>]}
    """
    st = node._hooks
    if st is None:
        return {}
    return {k: list(v) for k, v in st.hooks.items() if v}


def call_site(node: Any) -> str | None:
    """Where in user code the op was recorded ('file:line in function'), when known.

    Ops that saved something (or any op under ``mg.detect_anomaly()``) remember it.

    >>> import microgradnet as mg
    >>> x = mg.tensor(2.0, requires_grad=True)
    >>> call_site((x * x).grad_fn) is not None
    True
    """
    return node.site
