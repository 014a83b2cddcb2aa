"""The computation-graph picture: ``draw_graph`` and ``to_json``.

Both read the recorded graph through its public surface only: ``Tensor.grad_fn`` and each
node's ``next_functions`` (the producing node or the leaf tensor itself, per input), walked
with the engine's own ``microgradnet.autograd.graph`` functions. The walk is iterative, so a
100,000-op chain draws (with ``max_nodes``) as easily as three ops.

Ops and tensors are both drawn: leaf tensors (inputs), parameters (named through ``params=``),
an intermediate tensor after every op, and the outputs. Node ids (``op0``, ``t0``, ...) number
them in the forward (topological) order of a deterministic walk, so the same graph always gets
the same ids.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from microgradnet.autograd.function import Function
from microgradnet.autograd.graph import (
    call_site,
    inputs,
    iter_edges,
    num_outputs,
    op_name,
    output_meta,
    postorder,
    retained_tensors,
    saved_freed,
    saved_output,
    saved_values,
)
from microgradnet.tensor import Tensor
from microgradnet.viz import style
from microgradnet.viz.escape import attr_text, clean_text, html_text
from microgradnet.viz.render import Diagram
from microgradnet.viz.values import kept_constants, kept_inputs, kept_output

__all__ = ["draw_graph", "to_json", "GraphModel", "build_graph"]


class Item:
    """One drawn node: an op application, a tensor, a hidden-nodes note or a collapsed module."""

    __slots__ = ("id", "kind", "obj", "out_nr", "name", "shape", "dtype", "tensor", "module",
                 "hidden", "inputs")

    def __init__(self, id: str, kind: str, obj: Any = None, out_nr: int = 0) -> None:
        self.id = id
        # op | input | parameter | constant | intermediate | output | hidden | module
        self.kind = kind
        self.obj = obj  # the Function node (ops) or the leaf Tensor
        self.out_nr = out_nr
        self.name: str | None = None
        self.shape: tuple[int, ...] | None = None
        self.dtype: np.dtype | None = None
        self.tensor: Tensor | None = None  # the tensor object itself, when it is known
        self.module: str | None = None
        self.hidden: dict[str, int] | None = None  # op name -> count, for 'hidden' notes
        self.inputs: list[str | None] = []  # ops: per forward argument, the id feeding it


class GraphModel:
    """The graph to draw, independent of DOT: items in forward order and edges between them."""

    def __init__(self) -> None:
        self.items: dict[str, Item] = {}
        self.edges: list[tuple[str, str, int | None]] = []  # (source, target, argument index)
        self.outputs: list[str] = []
        self.modules: dict[str, tuple[str, int]] = {}  # path -> (class name, parameter count)
        self.hidden_total = 0
        # Where each recorded node / tensor went (backward frames look steps up here):
        # id(op node) -> item id, (id(node), output_nr) or (id(leaf), -1) -> item id, and
        # item ids merged into a 'hidden' note after building -> that note's id.
        self.op_ids: dict[int, str] = {}
        self.tensor_ids: dict[tuple[int, int], str] = {}
        self.merged: dict[str, str] = {}

    def resolve(self, item_id: str) -> str:
        """The id an item is drawn under now (itself, or the note that absorbed it)."""
        while item_id not in self.items and item_id in self.merged:
            item_id = self.merged[item_id]
        return item_id

    def add(self, item: Item) -> Item:
        self.items[item.id] = item
        return item


# -- reading the graph ---------------------------------------------------------------------


def _resolve_params(params: Any) -> tuple[dict[int, str], dict[str, tuple[str, int]]]:
    """``params=``: a dict name -> Tensor, ``named_parameters()`` pairs, or a module itself."""
    modules: dict[str, tuple[str, int]] = {}
    if params is None:
        return {}, modules
    module_obj = None
    if hasattr(params, "named_parameters") and callable(params.named_parameters):
        module_obj = params
        pairs: Iterable[Any] = params.named_parameters()
    elif isinstance(params, Mapping):
        pairs = params.items()
    else:
        pairs = params
    names: dict[int, str] = {}
    counts: dict[str, int] = {}
    for pair in pairs:
        try:
            name, t = pair
        except (TypeError, ValueError):
            raise TypeError(
                "draw_graph: params= must be a dict name -> Tensor, the pairs from "
                f"model.named_parameters(), or a module; got an item {pair!r}"
            ) from None
        if not isinstance(t, Tensor):
            raise TypeError(f"draw_graph: params[{name!r}] is a {type(t).__name__}, not a Tensor")
        name = str(name)
        names.setdefault(id(t), name)
        path = name.rpartition(".")[0]
        counts[path] = counts.get(path, 0) + t.data.size
    kinds: dict[str, str] = {}
    if module_obj is not None and hasattr(module_obj, "named_modules"):
        for path, m in module_obj.named_modules():
            kinds[str(path)] = type(m).__name__
    for path, n in counts.items():
        modules[path] = (kinds.get(path, "module"), n)
    return names, modules


def _roots(outputs: tuple[Any, ...]) -> list[Tensor]:
    if not outputs:
        raise TypeError("draw_graph: pass at least one output tensor")
    flat: list[Any] = []
    for o in outputs:
        flat.extend(o if isinstance(o, (list, tuple)) else [o])
    for o in flat:
        if not isinstance(o, Tensor):
            raise TypeError(f"draw_graph: outputs must be Tensors, got {type(o).__name__}")
    return flat


def _known_tensors(ops: list[Function], outputs: list[Tensor]) -> dict[tuple[int, int], Tensor]:
    """Intermediate tensor objects we can still reach: outputs, retained and saved tensors."""
    known: dict[tuple[int, int], Tensor] = {}

    def note(t: Any) -> None:
        if isinstance(t, Tensor) and t.grad_fn is not None:
            known.setdefault((id(t.grad_fn), t.output_nr), t)

    for t in outputs:
        note(t)
    for node in ops:
        for t in retained_tensors(node).values():
            note(t)
        for v in saved_values(node):
            note(v)
        for v in kept_inputs(node).values():
            note(v)
    return known


def _out_dtype(node: Function, k: int, in_dtypes: list[np.dtype]) -> np.dtype | None:
    meta = output_meta(node)
    known = meta[k] if k < len(meta) else None
    if known is not None:
        return np.dtype(known[1])
    if in_dtypes:
        try:
            return np.result_type(*in_dtypes)
        except TypeError:
            return None
    return None


def _chain_middles(ops: list[Function], outs: list[Tensor], keep: set[int]) -> dict[int, int]:
    """Ops in the middle of long chains (one input, one use each): id(op) -> run number.

    Done on the raw graph, before any drawing object exists, so a 100,000-op chain costs one
    pass when ``max_nodes`` is set.
    """
    uses: dict[int, int] = {}
    for t in outs:
        if t.grad_fn is not None:
            uses[id(t.grad_fn)] = uses.get(id(t.grad_fn), 0) + 2  # outputs stay visible
    for node in ops:
        for edge in iter_edges(node):
            uses[id(edge[0])] = uses.get(id(edge[0]), 0) + 1
    run_of: dict[int, int] = {}
    runs: list[list[int]] = []
    for node in ops:
        edges = list(iter_edges(node))
        if (len(edges) != 1 or isinstance(edges[0][0], Tensor) or num_outputs(node) != 1
                or uses.get(id(node), 0) != 1 or id(node) in keep
                or uses.get(id(edges[0][0]), 0) != 1):
            continue
        r = run_of.get(id(edges[0][0]))
        if r is None:
            runs.append([id(node)])
            run_of[id(node)] = len(runs) - 1
        else:
            runs[r].append(id(node))
            run_of[id(node)] = r
    middles: dict[int, int] = {}
    for r, run in enumerate(runs):
        if len(run) >= 4:
            for k in run[1:-1]:
                middles[k] = r
    return middles


def build_graph(*outputs: Any, params: Any = None, collapse_chains: bool = False,
                keep: set[int] | None = None) -> GraphModel:
    """Read the recorded graph behind ``outputs`` into a :class:`GraphModel` (no drawing).

    With ``collapse_chains`` the middle of every long chain of single-input, single-use ops
    becomes one 'hidden' note (``keep``: ids of nodes that must stay visible).
    """
    outs = _roots(outputs)
    names, modules = _resolve_params(params)
    model = GraphModel()
    model.modules = modules
    order = postorder(outs)  # forward order: the ids below number nodes in it
    ops = [o for o in order if not isinstance(o, Tensor)]
    middles = _chain_middles(ops, outs, keep or set()) if collapse_chains else {}
    all_ops = ops
    if middles:
        ops = [o for o in ops if id(o) not in middles]
    notes: dict[int, Item] = {}
    known = _known_tensors(ops, outs)
    out_keys = {(id(t.grad_fn), t.output_nr) if t.grad_fn is not None else (id(t), -1)
                for t in outs}

    # Output shapes of each op come from the edges that consume them (or the output tensors).
    shapes: dict[tuple[int, int], tuple[int, ...]] = {}
    for node in all_ops:
        for edge in iter_edges(node):
            if not isinstance(edge[0], Tensor):
                shapes[(id(edge[0]), edge[1])] = tuple(edge[2])
    for (key, t) in known.items():
        shapes[key] = t.data.shape

    tensor_item: dict[tuple[int, int], Item] = {}  # (id(node), k) or (id(leaf), -1) -> Item
    n_ops = n_tensors = 0
    for obj in order:
        if isinstance(obj, Tensor):
            kind = "parameter" if id(obj) in names else "input"
            it = model.add(Item(f"t{n_tensors}", kind, obj, -1))
            n_tensors += 1
            it.name = names.get(id(obj)) or obj.name
            it.shape, it.dtype, it.tensor = obj.data.shape, obj.data.dtype, obj
            if kind == "parameter" and it.name is not None:
                it.module = it.name.rpartition(".")[0] or None
            tensor_item[(id(obj), -1)] = it
            continue
        run = middles.get(id(obj))
        if run is not None:  # a whole chain middle, represented by its first and last op
            note = notes.get(run)
            if note is None:
                note = notes[run] = model.add(Item(f"hidden{run}", "hidden"))
                note.hidden, note.out_nr = {}, 0
                edge = next(iter_edges(obj))
                src = tensor_item[(id(edge[0]), edge[1])]
                model.edges.append((src.id, note.id, None))
                note.dtype = src.dtype
            name = op_name(obj)
            note.hidden[name] = note.hidden.get(name, 0) + 1  # type: ignore[index,union-attr]
            note.out_nr += 2  # the op and the tensor after it
            tensor_item[(id(obj), 0)] = note
            model.op_ids[id(obj)] = note.id
            continue
        consts = kept_constants(obj)
        for const in consts.values():  # constants the op read (recorded under keep_values())
            if (id(const), -2) not in tensor_item:
                it = model.add(Item(f"t{n_tensors}", "constant", const, -2))
                n_tensors += 1
                it.name, it.shape, it.dtype = const.name, const.data.shape, const.data.dtype
                it.tensor = const
                tensor_item[(id(const), -2)] = it
        op = model.add(Item(f"op{n_ops}", "op", obj))
        model.op_ids[id(obj)] = op.id
        n_ops += 1
        in_dtypes = []
        for i, edge in enumerate(inputs(obj)):
            if edge is None:
                c = consts.get(i)
                if c is not None:
                    src = tensor_item[(id(c), -2)]
                    model.edges.append((src.id, op.id, i))
                    if src.dtype is not None:
                        in_dtypes.append(src.dtype)
                op.inputs.append(None if c is None else tensor_item[(id(c), -2)].id)
                continue
            target, k, _ = edge
            src = tensor_item[(id(target), -1) if isinstance(target, Tensor) else (id(target), k)]
            op.inputs.append(src.id)
            model.edges.append((src.id, op.id, i))
            if src.dtype is not None:
                in_dtypes.append(src.dtype)
        for k in range(num_outputs(obj)):
            key = (id(obj), k)
            if key not in shapes and key not in out_keys:
                continue  # an output of a multi-output op that nothing used
            kind = "output" if key in out_keys else "intermediate"
            it = model.add(Item(f"t{n_tensors}", kind, obj, k))
            n_tensors += 1
            kt = known.get(key)
            it.tensor = kt
            it.name = None if kt is None else (names.get(id(kt)) or kt.name)
            it.shape = shapes.get(key)
            it.dtype = kt.data.dtype if kt is not None else _out_dtype(obj, k, in_dtypes)
            tensor_item[key] = it
            model.edges.append((op.id, it.id, None))
    for t in outs:
        key = (id(t.grad_fn), t.output_nr) if t.grad_fn is not None else (id(t), -1)
        model.outputs.append(tensor_item[key].id)
    model.hidden_total = sum(it.out_nr for it in notes.values())
    model.tensor_ids = {k: it.id for k, it in tensor_item.items()}
    _assign_modules(model)
    return model


def _assign_modules(model: GraphModel) -> None:
    """Group ops with the module whose parameters they use.

    An op belongs to module M when one of its inputs is a parameter of M, or comes from an op
    of M that only transformed M's parameters (``W.T`` in ``x @ W.T + b``). Ops of
    parameter-free modules (activations) stay between the clusters.
    """
    pure: set[str] = set()  # ops computed from a single module's parameters only
    for it in model.items.values():
        if it.kind != "op":
            continue
        mods = set()
        only_params = True
        for src in it.inputs:
            if src is None:
                continue
            s = model.items[src]
            if s.kind == "parameter" and s.module is not None:
                mods.add(s.module)
            elif s.kind == "intermediate" and s.module is not None and s.id in pure:
                mods.add(s.module)
            else:
                only_params = False
        if len(mods) == 1:
            it.module = mods.pop()
            if only_params:
                pure.add(it.id)
    for src, dst, _ in model.edges:  # an op's output tensor lives where the op does
        s = model.items[src]
        if s.kind == "op" and s.module is not None:
            d = model.items[dst]
            if d.kind == "intermediate":
                d.module = s.module
                if s.id in pure:
                    pure.add(d.id)


# -- keeping large graphs readable -------------------------------------------------------------


def _limit(model: GraphModel, max_nodes: int | None, keep: set[str]) -> None:
    """Collapse long chains, then (if still too many) hide the nodes farthest from the outputs."""
    if max_nodes is None or len(model.items) <= max_nodes:
        return
    _collapse_chains(model, keep)
    if len(model.items) > max_nodes:
        _truncate(model, max(max_nodes, 2), keep)


def _consumers(model: GraphModel) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for src, dst, _ in model.edges:
        out.setdefault(src, []).append(dst)
    return out


def _hidden_item(model: GraphModel, idx: int, ops: list[Item], extra: int = 0) -> Item:
    h = Item(f"hidden{idx}", "hidden")
    counts: dict[str, int] = {}
    for it in ops:
        name = op_name(it.obj)
        counts[name] = counts.get(name, 0) + 1
    h.hidden = counts
    h.shape = None
    h.inputs = []
    h.name = None
    h.out_nr = len(ops) + extra  # total number of hidden drawn nodes
    return h


def _collapse_chains(model: GraphModel, keep: set[str]) -> None:
    """Replace the middle of every run of single-input, single-use ops by one note."""
    items = model.items
    consumers = _consumers(model)
    outputs = set(model.outputs)
    producer: dict[str, str] = {}
    for src, dst, _ in model.edges:
        if items[src].kind == "op":
            producer[dst] = src

    def linkable(op: Item) -> str | None:
        """The previous op of a chain link, or None if ``op`` can't be part of a chain."""
        srcs = [s for s in op.inputs if s is not None]
        if len(srcs) != 1 or op.id in keep:
            return None
        s = srcs[0]
        outs = consumers.get(op.id, [])
        if items[s].kind != "intermediate" or s in keep or len(outs) != 1 or outs[0] in outputs:
            return None
        if len(consumers.get(outs[0], [])) != 1 or outs[0] in keep:
            return None
        return producer.get(s)

    runs: list[list[Item]] = []
    run_of: dict[str, int] = {}
    for it in items.values():
        if it.kind != "op":
            continue
        prev = linkable(it)
        if prev is None:
            continue
        r = run_of.get(prev)
        if r is None:
            runs.append([it])
            run_of[it.id] = len(runs) - 1
        else:
            runs[r].append(it)
            run_of[it.id] = r
    gone: set[str] = set()
    new_edges: list[tuple[str, str, int | None]] = []
    for idx, run in enumerate(runs):
        if len(run) < 4:
            continue
        middle = run[1:-1]
        h = _hidden_item(model, idx, middle, extra=len(middle))
        first_in = next(s for s in middle[0].inputs if s is not None)
        last_out = consumers[middle[-1].id][0]
        for op in middle:
            gone.add(op.id)
            gone.update(consumers[op.id])
            model.merged[op.id] = h.id
            for c in consumers[op.id]:
                model.merged[c] = h.id
        items[h.id] = h
        new_edges.append((first_in, h.id, None))
        new_edges.append((h.id, consumers[last_out][0], 0))
        nxt = items[consumers[last_out][0]]
        nxt.inputs = [h.id if s == last_out else s for s in nxt.inputs]
    if not gone:
        return
    model.hidden_total = sum(it.out_nr for it in items.values() if it.kind == "hidden")
    for g in gone:
        del items[g]
    model.edges = [e for e in model.edges if e[0] not in gone and e[1] not in gone] + new_edges
    _reorder(model)


def _truncate(model: GraphModel, max_nodes: int, keep: set[str]) -> None:
    """Keep the ``max_nodes - 1`` nodes nearest the outputs; one note stands for the rest."""
    items = model.items
    preds: dict[str, list[str]] = {}
    for src, dst, _ in model.edges:
        preds.setdefault(dst, []).append(src)
    kept: list[str] = []
    seen: set[str] = set()
    queue = [k for k in model.outputs + sorted(keep) if k in items]
    qi = 0
    budget = max_nodes - 1
    while qi < len(queue) and len(kept) < budget:
        k = queue[qi]
        qi += 1
        if k in seen:
            continue
        seen.add(k)
        kept.append(k)
        queue.extend(p for p in preds.get(k, ()) if p not in seen)
    keep_set = set(kept)
    hidden = [it for k, it in items.items() if k not in keep_set]
    if not hidden:
        return
    ops = [it for it in hidden if it.kind == "op"]
    inner = sum(it.out_nr if it.kind == "hidden" else 1 for it in hidden) - len(ops)
    h = _hidden_item(model, len(items), ops, extra=inner)
    for it in hidden:
        for name, n in (it.hidden or {}).items():
            h.hidden[name] = h.hidden.get(name, 0) + n  # type: ignore[index,union-attr]
    for it in hidden:
        del items[it.id]
        model.merged[it.id] = h.id
    items[h.id] = h
    edges = []
    linked: set[tuple[str, str]] = set()
    for src, dst, i in model.edges:
        if src in keep_set and dst in keep_set:
            edges.append((src, dst, i))
        elif dst in keep_set and (h.id, dst) not in linked:
            linked.add((h.id, dst))
            edges.append((h.id, dst, None))
    model.edges = edges
    model.hidden_total = sum(it.out_nr for it in items.values() if it.kind == "hidden")
    _reorder(model)


def _reorder(model: GraphModel) -> None:
    """Restore a forward (topological) order after notes replaced nodes; ties keep old order."""
    items = model.items
    indeg: dict[str, int] = dict.fromkeys(items, 0)
    succ: dict[str, list[str]] = {}
    for src, dst, _ in model.edges:
        indeg[dst] += 1
        succ.setdefault(src, []).append(dst)
    rank = {k: i for i, k in enumerate(items)}
    ready = [(rank[k], k) for k, d in indeg.items() if d == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, k = heapq.heappop(ready)
        order.append(k)
        for d in succ.get(k, ()):
            indeg[d] -= 1
            if indeg[d] == 0:
                heapq.heappush(ready, (rank[d], d))
    model.items = {k: items[k] for k in order}


# -- text ------------------------------------------------------------------------------------


def _shape_text(shape: tuple[int, ...] | None, dtype: np.dtype | None) -> str:
    if shape is None:
        s = "shape ?"
    elif shape == ():
        s = "scalar"
    else:
        s = "(" + ", ".join(str(n) for n in shape) + ")"
    return f"{s} {dtype}" if dtype is not None else s


def _grad_of(it: Item) -> Any:
    return it.tensor.grad if it.tensor is not None and _grad_tracked(it) else None


def _grad_tracked(it: Item) -> bool:
    """Does ``.grad`` mean anything here: a leaf, or an intermediate that retains its grad?"""
    if it.kind in ("input", "parameter"):
        return True
    t = it.tensor
    return t is not None and bool(getattr(t, "retains_grad", False))


def _grad_text(it: Item) -> str:
    if not _grad_tracked(it):
        return "not retained (call .retain_grad() before backward)"
    g = it.tensor.grad if it.tensor is not None else None
    return style.NOT_COMPUTED if g is None else style.describe_array(g.data)


def _data_of(it: Item) -> np.ndarray | None:
    if it.tensor is not None:
        return it.tensor.data
    if it.kind in ("intermediate", "output"):
        kept = kept_output(it.obj, it.out_nr)
        if kept is not None:
            return kept
        if it.out_nr == 0:
            return saved_output(it.obj)
    return None


def _hidden_text(it: Item) -> str:
    counts = sorted((it.hidden or {}).items(), key=lambda kv: (-kv[1], kv[0]))
    what = ", ".join(f"{name} ×{n:,}" for name, n in counts[:3])
    if len(counts) > 3:
        what += ", …"
    n_ops = sum(n for _, n in counts)
    return f"… {it.out_nr:,} nodes hidden ({n_ops:,} ops: {what})" if what else \
        f"… {it.out_nr:,} nodes hidden"


def _saved_text(node: Function) -> str:
    if saved_freed(node):
        return "freed by backward (pass retain_graph=True to keep them)"
    parts = []
    for v in saved_values(node):
        if isinstance(v, Tensor):
            parts.append(f"{v.name or 'tensor'} {_shape_text(v.data.shape, v.data.dtype)}")
        elif isinstance(v, np.ndarray):
            parts.append(f"array {_shape_text(v.shape, v.dtype)}")
        else:
            parts.append(clean_text(repr(v))[:40])
    out = saved_output(node)
    if out is not None:
        parts.append(f"its output {_shape_text(out.shape, out.dtype)}")
    return ", ".join(parts) if parts else "nothing"


def _rule_name(node: Function) -> str:
    fn = type(node).backward
    return getattr(fn, "__qualname__", type(node).__name__ + ".backward")


def _op_details(model: GraphModel, it: Item) -> dict[str, Any]:
    node = it.obj
    ins = [None if e is None else list(e[2]) for e in inputs(node)]
    return {
        "op": op_name(node),
        "class": type(node).__name__,
        "rule": _rule_name(node),
        "site": call_site(node),
        "saved": _saved_text(node),
        "input_shapes": ins,
    }


def _tensor_lines(it: Item, show_data: bool, show_grad: bool) -> list[str]:
    lines = [_shape_text(it.shape, it.dtype)]
    if show_data:
        d = _data_of(it)
        if d is not None:
            lines.append("data " + style.describe_array(d))
    if show_grad and _grad_tracked(it):
        lines.append("grad " + _grad_text(it))
    return lines


def _tooltip(model: GraphModel, it: Item) -> str:
    if it.kind == "op":
        d = _op_details(model, it)
        shapes = ", ".join("constant" if s is None else _shape_text(tuple(s), None)
                           for s in d["input_shapes"])
        return (f"op: {d['op']} ({d['class']})\ninputs: {shapes}\nsaved for backward: "
                f"{d['saved']}\nderivative rule: {d['rule']}\ncreated at: "
                f"{d['site'] or 'unknown (recorded when the op saves tensors, or under '}"
                + ("" if d["site"] else "mg.detect_anomaly())"))
    if it.kind == "hidden":
        return _hidden_text(it)
    if it.kind == "module":
        return it.name or ""
    lines = [f"{it.kind}: {it.name or '(unnamed)'}", f"shape {_shape_text(it.shape, it.dtype)}"]
    data = _data_of(it)
    if data is not None:
        lines.append("data: " + style.describe_array(data))
    lines.append("grad: " + ("none (a constant: nothing to learn)" if it.kind == "constant"
                             else _grad_text(it)))
    if it.module:
        lines.append(f"module: {it.module}")
    return "\n".join(lines)


def _label(it: Item, show_data: bool, show_grad: bool) -> Any:
    """Plain label for ops and notes; an HTML-like label (name bold, details small) for tensors."""
    if it.kind == "op":
        return attr_text(op_name(it.obj))
    if it.kind == "hidden":
        return attr_text(_hidden_text(it).replace(" (", "\n("))
    if it.kind == "module":
        return attr_text(it.name or "")
    parts = []
    if it.name:
        parts.append(f"<B>{html_text(it.name)}</B>")
    elif it.kind in ("output", "constant"):
        parts.append(f"<B>{it.kind}</B>")
    for line in _tensor_lines(it, show_data, show_grad):
        parts.append(f'<FONT POINT-SIZE="9">{html_text(line, limit=90)}</FONT>')
    return "<" + "<BR/>".join(parts) + ">"


# -- the public functions ------------------------------------------------------------------------


def _highlight_raw(outputs: list[Tensor], highlight: Any) -> set[int]:
    """ids of the nodes / leaf tensors to highlight."""
    if highlight is None:
        return set()
    if isinstance(highlight, str):
        if highlight != "nonfinite":
            raise ValueError(f"draw_graph: highlight={highlight!r}; pass a node, a tensor, a list "
                             "of them, or 'nonfinite'")
        return _nonfinite_nodes(outputs)
    targets = highlight if isinstance(highlight, (list, tuple, set)) else [highlight]
    wanted = set()
    for h in targets:
        if isinstance(h, Tensor):
            wanted.add(id(h) if h.grad_fn is None else id(h.grad_fn))
        elif isinstance(h, Function) or hasattr(h, "next_functions"):
            wanted.add(id(h))
        else:
            node = getattr(h, "node", None)  # an error that carries its node
            if node is None:
                raise TypeError(f"draw_graph: cannot highlight a {type(h).__name__}; pass a "
                                "Function node (tensor.grad_fn) or a Tensor")
            wanted.add(id(node))
    return wanted


def _nonfinite_nodes(outputs: list[Tensor]) -> set[int]:
    """The ops whose backward first turned finite gradients into NaN or inf (the culprits)."""
    from microgradnet.viz.frames import sweep_steps

    bad: set[int] = set()
    for node, grads_in, grads_out in sweep_steps(outputs):
        fin_in = all(g is None or np.all(np.isfinite(g.data)) for g in grads_in)
        fin_out = all(g is None or np.all(np.isfinite(g.data)) for g in grads_out)
        if fin_in and not fin_out:
            bad.add(id(node))
    return bad


def _collapse(model: GraphModel) -> dict[str, str]:
    """Map every item of a module to one box per module (``collapse_modules=True``)."""
    remap: dict[str, str] = {}
    boxes: dict[str, Item] = {}
    for it in list(model.items.values()):
        if it.module is None or it.kind == "output":
            continue
        box = boxes.get(it.module)
        if box is None:
            box = Item(f"m{len(boxes)}", "module")
            cls, n = model.modules.get(it.module, ("module", 0))
            box.name = f"{it.module}\n{cls}\n{n:,} parameters"
            box.module = None
            boxes[it.module] = box
        remap[it.id] = box.id
    if not remap:
        return remap
    new_items: dict[str, Item] = {}
    for k, it in model.items.items():
        if k in remap:
            box = model.items.get(remap[k]) or boxes[it.module or ""]
            new_items.setdefault(box.id, box)
        else:
            new_items[k] = it
    model.items = new_items
    for it in new_items.values():
        it.inputs = [None if s is None else remap.get(s, s) for s in it.inputs]
    edges, seen = [], set()
    for src, dst, i in model.edges:
        s, d = remap.get(src, src), remap.get(dst, dst)
        if s == d or (s, d) in seen:
            continue
        seen.add((s, d))
        edges.append((s, d, i))
    model.edges = edges
    return remap


def _prepare(outputs: tuple[Any, ...], params: Any, max_nodes: int | None, highlight: Any,
             collapse_modules: bool) -> tuple[GraphModel, set[str]]:
    if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 2):
        raise ValueError(f"draw_graph: max_nodes must be an int >= 2 or None, got {max_nodes!r}")
    outs = _roots(outputs)
    raw = _highlight_raw(outs, highlight)
    model = build_graph(*outs, params=params, keep=raw,
                        collapse_chains=max_nodes is not None)
    notes = sum(1 for it in model.items.values() if it.kind == "hidden")
    if notes and max_nodes is not None and \
            len(model.items) - notes + model.hidden_total <= max_nodes:
        model = build_graph(*outs, params=params)  # small enough without hiding anything
    marked = {it.id for it in model.items.values()
              if it.obj is not None and id(it.obj) in raw
              and (it.kind == "op" or it.out_nr == -1)}
    if collapse_modules:
        _collapse(model)
    _limit(model, max_nodes, marked | set(model.outputs))
    return model, marked


def draw_graph(
    *outputs: Any,
    params: Any = None,
    show_data: bool = False,
    show_grad: bool = False,
    rankdir: str = "LR",
    max_nodes: int | None = 400,
    collapse_modules: bool = False,
    group_modules: bool = True,
    highlight: Any = None,
) -> Diagram:
    """Draw the recorded computation graph behind ``outputs`` as a ``graphviz.Digraph``.

    One node per op application (labelled ``add``, ``matmul``, ...) and per tensor: inputs
    (yellow), parameters (green, double border, named from ``params=``), intermediates
    (dashed) and outputs (red). Edges point the way the forward sweep went. Hover a node in the
    SVG for the details: shapes, what the op saved, its derivative rule and where it was made.

    Args:
        params: names for parameters: ``dict(model.named_parameters())``, the pairs from
            ``model.named_parameters()``, or the model itself (also gives module clusters).
        show_data / show_grad: values of tiny tensors, else mean/std/min/max/norm; with
            ``show_grad`` tensors are filled by gradient size (log scale, darker = larger) and a
            gradient not computed yet says so (never 0).
        max_nodes: above this many nodes, long chains are collapsed and then the nodes farthest
            from the outputs are hidden behind a note that says how many were hidden.
        collapse_modules: draw each module (found through ``params``) as one box.
        group_modules: draw the ops of each module inside a labelled cluster.
        highlight: a node (``t.grad_fn``), a tensor, a list of them, or ``"nonfinite"`` to
            find the op whose backward first produced NaN/inf.

    >>> import microgradnet as mg
    >>> x = mg.tensor([1.0, 2.0], requires_grad=True, name="x")
    >>> g = mg.viz.draw_graph((x * x).sum())
    >>> "mul" in g.source and "sum" in g.source
    True
    """
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_graph: rankdir must be 'LR' or 'TB' (or 'RL', 'BT'), "
                         f"got {rankdir!r}")
    model, marked = _prepare(outputs, params, max_nodes, highlight, collapse_modules)
    return render_model(model, show_data=show_data, show_grad=show_grad, rankdir=rankdir,
                        marked=marked, group_modules=group_modules and not collapse_modules)


def render_model(model: GraphModel, *, show_data: bool = False, show_grad: bool = False,
                 rankdir: str = "LR", marked: set[str] | None = None,
                 group_modules: bool = True, overrides: dict[str, dict[str, Any]] | None = None,
                 extra_lines: dict[str, list[str]] | None = None,
                 edge_labels: dict[tuple[str, str], str] | None = None,
                 title: str | None = None) -> Diagram:
    """DOT for a :class:`GraphModel` (used by ``draw_graph`` and the backward frames)."""
    g = Diagram(name="computation_graph")
    g.attr("graph", rankdir=rankdir, fontname=style.FONT, nodesep="0.25", ranksep="0.35",
           bgcolor="white")
    g.attr("node", fontname=style.FONT, fontsize="11", height="0.3", margin="0.08,0.04")
    g.attr("edge", color="#666666", arrowsize="0.7", fontname=style.FONT, fontsize="9")
    if title:
        g.attr("graph", label=attr_text(title), labelloc="t", fontsize="13")
    marked = marked or set()
    overrides = overrides or {}
    largest = 0.0
    if show_grad:
        for it in model.items.values():
            gr = _grad_of(it)
            if gr is not None:
                largest = max(largest, style.magnitude(gr.data))

    def node_stmt(target: Any, it: Item) -> None:
        attrs = dict(style.STYLES[it.kind])
        if it.kind == "op":
            attrs["class"] = "op"
        if show_grad and it.kind != "op":
            gr = _grad_of(it)
            if gr is not None:
                attrs["fillcolor"] = style.grad_colour(style.magnitude(gr.data), largest)
                if attrs["fillcolor"] in style.DARK:
                    attrs["fontcolor"] = "white"
                if "filled" not in attrs.get("style", ""):
                    attrs["style"] = attrs.get("style", "") + ",filled"
        if it.id in marked:
            attrs.update(style.HIGHLIGHT)
        attrs.update(overrides.get(it.id, {}))
        label = _label(it, show_data, show_grad)
        if extra_lines and it.id in extra_lines:
            label = _with_lines(it, label, extra_lines[it.id])
        target.node(it.id, label=label, tooltip=attr_text(_tooltip(model, it)),
                    **{k: str(v) for k, v in attrs.items()})

    clusters: dict[str, list[Item]] = {}
    for it in model.items.values():
        if group_modules and it.module is not None and it.kind != "output":
            clusters.setdefault(it.module, []).append(it)
        else:
            node_stmt(g, it)
    for i, (path, members) in enumerate(clusters.items()):
        cls, n = model.modules.get(path, ("module", 0))
        with g.subgraph(name=f"cluster_{i}") as c:
            c.attr(label=attr_text(f"{path} ({cls}): {n:,} parameters"), style="rounded,dashed",
                   color="#6c8ebf", fontcolor="#3b5b8c", fontsize="10")
            for it in members:
                node_stmt(c, it)
    if show_grad and largest > 0:
        g.node("legend", label=style.grad_legend(largest), shape="plaintext",
               tooltip="gradient colours: darker = larger, four decades below the largest")
    edge_labels = edge_labels or {}
    for src, dst, _ in model.edges:
        lab = edge_labels.get((src, dst))
        if lab is None:
            g.edge(src, dst)
        else:
            g.edge(src, dst, label=attr_text(lab), fontcolor=style.GRAD_EDGE,
                   color=style.GRAD_EDGE, penwidth="2")
    return g


def _with_lines(it: Item, label: Any, lines: list[str]) -> Any:
    """Add lines (gradients during the sweep) to a node's label."""
    extra = "<BR/>".join(f'<FONT POINT-SIZE="9" COLOR="{style.GRAD_EDGE}">'
                         f"{html_text(line, limit=90)}</FONT>" for line in lines)
    s = str(label)
    if s.startswith("<") and s.endswith(">"):
        return s[:-1] + "<BR/>" + extra + ">"
    return "<" + html_text(s.replace("\\n", "\n")) + "<BR/>" + extra + ">"


def to_json(
    *outputs: Any,
    params: Any = None,
    show_data: bool = False,
    show_grad: bool = False,
    max_nodes: int | None = None,
    collapse_modules: bool = False,
    indent: int | None = None,
) -> str:
    """The graph ``draw_graph`` draws, as JSON: ``{"nodes": [...], "edges": [...], ...}``.

    Node ids are stable (the same graph gives the same ids, in forward order): ops are
    ``op0, op1, ...`` and tensors ``t0, t1, ...``.

    >>> import microgradnet as mg, json
    >>> x = mg.tensor(2.0, requires_grad=True)
    >>> [n["id"] for n in json.loads(mg.viz.to_json(x * x))["nodes"]]
    ['t0', 'op0', 't1']
    """
    model, _ = _prepare(outputs, params, max_nodes, None, collapse_modules)
    nodes = []
    for it in model.items.values():
        d: dict[str, Any] = {"id": it.id, "kind": it.kind}
        if it.kind == "op":
            d.update(_op_details(model, it))
            d["inputs"] = list(it.inputs)
        elif it.kind == "hidden":
            d["hidden_nodes"] = it.out_nr
            d["hidden_ops"] = dict(sorted((it.hidden or {}).items()))
            d["label"] = _hidden_text(it)
        elif it.kind == "module":
            d["label"] = it.name
        else:
            d["name"] = it.name
            d["shape"] = None if it.shape is None else list(it.shape)
            d["dtype"] = None if it.dtype is None else str(it.dtype)
            if show_data:
                data = _data_of(it)
                d["data"] = None if data is None else style.describe_array(data)
            if show_grad:
                d["grad"] = _grad_text(it)
        if it.module is not None:
            d["module"] = it.module
        nodes.append(d)
    doc = {
        "nodes": nodes,
        "edges": [{"source": s, "target": t, "argument": i} for s, t, i in model.edges],
        "outputs": list(model.outputs),
        "modules": {p: {"class": c, "parameters": n} for p, (c, n) in model.modules.items()},
        "hidden": model.hidden_total,
    }
    return json.dumps(doc, indent=indent)
