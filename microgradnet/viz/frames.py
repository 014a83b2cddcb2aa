"""The backward sweep, step by step: ``backward_frames`` and ``save_frames``.

The frames come from the engine itself: a step observer (``engine.observe_sweep``) records
every node the real sweep processes, in the engine's order, with the gradient that arrived at
it and the gradients it passed to its inputs. Nothing here re-implements the walk.

One layout for all frames: the graph is laid out once (``dot``, every node with room for the
longest text it will ever show) and every frame pins each node at that position, so stepping
changes only colours and numbers. The builder is linear in the size of the graph: each step
records only what it changes (a node's text, an edge's colour), and a frame's DOT source is
written only when it is asked for.
"""

from __future__ import annotations

import base64
import bisect
import html
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from microgradnet.autograd import engine
from microgradnet.autograd.api import grad as _grad
from microgradnet.autograd.graph import (
    inputs,
    iter_edges,
    op_name,
    retained_tensors,
    topological_order,
)
from microgradnet.autograd.graph import leaves as _leaves
from microgradnet.tensor import Tensor
from microgradnet.viz import style
from microgradnet.viz.escape import attr_text, html_text
from microgradnet.viz.graph import (
    GraphModel,
    Item,
    _data_of,
    _hidden_text,
    _limit,
    _rule_name,
    _shape_text,
    build_graph,
)
from microgradnet.viz.render import Diagram, RendererNotFound

__all__ = ["backward_frames", "save_frames", "sweep_steps", "Frame"]


def _retained(outputs: Sequence[Tensor]) -> list[Tensor]:
    """Intermediate tensors with ``retain_grad()``: the sweep writes their ``.grad``."""
    out: list[Tensor] = []
    for node in topological_order(outputs):
        out.extend(retained_tensors(node).values())
    return out


def sweep_steps(outputs: Sequence[Tensor], gradient: Any = None
                ) -> list[tuple[Any, tuple[Any, ...], tuple[Any, ...]]]:
    """Run the real backward sweep once and record ``(node, grads_in, grads_out)`` per step.

    Runs ``mg.grad`` on a retained graph, so no ``.grad`` changes (retained intermediates'
    gradients are put back as they were) and the graph can still be used afterwards.
    """
    outputs = list(outputs)
    leaves = _leaves(outputs)
    if not leaves:
        raise RuntimeError("backward_frames: the output does not depend on any tensor that "
                           "requires grad, so there is no backward sweep to show")
    retained = _retained(outputs)
    before = [t.grad for t in retained]
    steps: list[tuple[Any, tuple[Any, ...], tuple[Any, ...]]] = []

    def observe(node: Any, grads_in: Any, grads_out: Any) -> None:
        steps.append((node, tuple(grads_in), tuple(grads_out)))

    try:
        with engine.observe_sweep(observe):
            _grad(outputs, leaves, grad_outputs=gradient, retain_graph=True, allow_unused=True)
    except RuntimeError as exc:
        if "second time" in str(exc):
            raise RuntimeError(
                "backward_frames: the graph's saved values were already freed by a backward() "
                "call. Draw the frames before calling backward(), or call "
                "backward(retain_graph=True)."
            ) from exc
        raise
    finally:
        for t, g in zip(retained, before):
            t.grad = g
    return steps


def _array(g: Any) -> np.ndarray | None:
    """A gradient the engine handed around (a Tensor or, in the array mode, an ndarray)."""
    if g is None:
        return None
    return np.asarray(g.data if isinstance(g, Tensor) else g)


def _sum_to(arr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A broadcast gradient summed back to ``shape`` (as the engine does before routing it)."""
    if arr.shape == shape:
        return arr
    lead = arr.ndim - len(shape)
    if lead > 0:
        arr = arr.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and arr.shape[i] != 1)
    return arr.sum(axis=axes, keepdims=True) if axes else arr


# -- the chain rule in words ----------------------------------------------------------------------

# Per op: ("local", derivative of the output with respect to each input) for elementwise ops,
# where the gradient passed back is upstream × local; ("rule", the formula of the gradient
# passed back) for the others. ``{0}``, ``{1}`` name the inputs, ``{out}`` the output.
_RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "add": ("local", ("1", "1")),
    "sub": ("local", ("1", "−1")),
    "mul": ("local", ("{1}", "{0}")),
    "div": ("local", ("1/{1}", "−{0}/{1}²")),
    "neg": ("local", ("−1",)),
    "pow": ("local", ("p·{0}^(p−1)", "{out}·ln {0}")),
    "exp": ("local", ("exp({0}) = {out}",)),
    "log": ("local", ("1/{0}",)),
    "sqrt": ("local", ("1/(2√{0})",)),
    "tanh": ("local", ("1 − tanh² = 1 − {out}²",)),
    "sigmoid": ("local", ("σ(1 − σ) = {out}(1 − {out})",)),
    "relu": ("local", ("1 where {0} > 0, else 0",)),
    "leakyrelu": ("local", ("1 where {0} > 0, else the slope",)),
    "sin": ("local", ("cos {0}",)),
    "cos": ("local", ("−sin {0}",)),
    "abs": ("local", ("sign({0})",)),
    "softplus": ("local", ("σ({0})",)),
    "clone": ("local", ("1",)),
    "cast": ("local", ("1",)),
    "matmul": ("rule", ("∂E/∂{out} @ {1}ᵀ", "{0}ᵀ @ ∂E/∂{out}")),
    "linear": ("rule", ("∂E/∂{out} @ {1}", "(∂E/∂{out})ᵀ @ {0}", "Σ over the batch of ∂E/∂{out}")),
    "sum": ("rule", ("∂E/∂{out} copied to every element",)),
    "mean": ("rule", ("∂E/∂{out} / n, copied to every element",)),
    "reshape": ("rule", ("∂E/∂{out} reshaped back",)),
    "permute": ("rule", ("∂E/∂{out} with the axes put back",)),
    "broadcastto": ("rule", ("∂E/∂{out} summed over the broadcast axes",)),
    "getitem": ("rule", ("∂E/∂{out} scattered into zeros",)),
    "crossentropy": ("rule", ("(softmax({0}) − target) · ∂E/∂{out} / batch",)),
    "squarederror": ("rule", ("(prediction − target) · ∂E/∂{out} (× 2 or 1/n as reduced)",)),
    "softmax": ("rule", ("y·(g − Σ g·y), y = {out}",)),
    "logsoftmax": ("rule", ("g − softmax({0})·Σ g",)),
}


def _short(a: np.ndarray) -> str:
    """Numbers for the chain rule: tiny arrays in full, else shape and norm."""
    if a.size <= 3:
        return style.describe_array(a)
    return f"{_shape_text(a.shape, None)} array, norm {style._fmt(np.linalg.norm(a.ravel()))}"


def _local_value(up: np.ndarray, passed: np.ndarray) -> np.ndarray | None:
    """The elementwise local derivative, read back as passed / upstream where that is exact."""
    if up.shape != passed.shape or up.size == 0 or not np.all(up != 0):
        return None
    with np.errstate(all="ignore"):
        v = passed / up
    return v if np.all(np.isfinite(v)) else None


def _op_lines(op: str, rule: str, out: str, names: list[str | None],
              up: np.ndarray | None, passed: list[np.ndarray | None] | None,
              consts: list[str | None] | None = None) -> list[str]:
    """The text of an op node: its name, then the chain rule (with numbers once it has run).

    ``names``: per argument, the input's name, or None when it gets no gradient (a constant,
    named in ``consts`` when it is drawn).
    """
    kind, forms = _RULES.get(op, ("rule", ()))
    shown = [n for n in names if n is not None]
    consts = consts or [None] * len(names)
    args = [n or c or "c" for n, c in zip(names, consts)] + ["?"] * 3
    lines = [op]
    if up is not None:
        lines.append(f"∂E/∂{out} = {_short(up)}")
    for i, name in enumerate(names):
        if name is None:
            continue
        form = forms[i].format(*args, out=out) if i < len(forms) else None
        if form is None:
            text = f"∂E/∂{name} by {rule}"
        elif kind == "local":
            text = f"× local ∂{out}/∂{name} = {form}"
        else:
            text = f"∂E/∂{name} = {form}"
        g = None if passed is None else passed[i]
        if passed is not None and g is not None and kind == "local" and up is not None:
            lv = _local_value(up, g)
            if lv is not None and form is not None and not form.lstrip("−").isdigit():
                text += f" = {_short(lv)}"
        lines.append(text)
        if passed is not None:
            lines.append(f"→ passes {_short(g)} to {name}" if g is not None
                         else f"→ passes nothing to {name}")
    if len(shown) == 0:
        lines.append("(no input needs a gradient)")
    return lines


# -- the frames --------------------------------------------------------------------------------

class Frame(Diagram):
    """One frame of the backward sweep: a ``Diagram`` whose nodes sit where the shared layout put
    them. Its DOT source is written on first use; ``caption`` says what happens at this step.

    >>> a = mg.tensor(2.0, requires_grad=True, name="a")
    >>> frames = mg.viz.backward_frames((a * a).tanh())
    >>> frames[1].caption.startswith("Step 1 of 2: tanh")
    True
    """

    def __init__(self, sweep: _Sweep, index: int, caption: str, current: str | None) -> None:
        pinned = sweep.layout is not None
        super().__init__(name="backward_sweep", engine="neato" if pinned else "dot")
        self.caption = caption
        self.index = index
        self.current = current
        self._sweep = sweep
        self._built = False

    def _build(self) -> None:
        if not self._built:
            self._built = True
            self._sweep.write(self)

    def __iter__(self, subgraph: bool = False) -> Any:
        self._build()
        return super().__iter__(subgraph=subgraph)

    def pipe(self, format: str | None = None, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        if self._sweep.layout is not None and not args:
            kwargs.setdefault("neato_no_op", 2)  # keep the pinned positions and edge routes
        return super().pipe(format, *args, **kwargs)

    def render(self, *args: Any, **kwargs: Any) -> Any:
        if self._sweep.layout is not None:
            kwargs.setdefault("neato_no_op", 2)
        return super().render(*args, **kwargs)


class _Sweep:
    """Everything the frames share: the model, the layout, each node's text over time."""

    def __init__(self, model: GraphModel, rankdir: str, names: dict[str, str]) -> None:
        self.model = model
        self.rankdir = rankdir
        self.names = names
        # item id -> [(first frame, label lines, style overrides)], in frame order
        self.node_states: dict[str, list[tuple[int, list[str], dict[str, str]]]] = {}
        self.edge_states: dict[int, list[tuple[int, str | None, bool]]] = {}
        self.edge_index = {(s, d): k for k, (s, d, _) in enumerate(model.edges)}
        self.layout: dict[str, Any] | None = None
        self.tips: dict[str, str] = {}
        self.top = "E"  # the symbol of the output in ∂E/∂x (the output's own name if it has one)

    def sym(self, text: str) -> str:
        return text if self.top == "E" else text.replace("∂E/∂", f"∂{self.top}/∂")

    def set_node(self, frame: int, item: str, lines: list[str], attrs: dict[str, str]) -> None:
        lines = [self.sym(line) for line in lines]
        states = self.node_states.setdefault(item, [])
        if states and states[-1][0] == frame:
            states[-1] = (frame, lines, attrs)
        else:
            states.append((frame, lines, attrs))

    def set_edge(self, frame: int, k: int, label: str | None, active: bool) -> None:
        label = None if label is None else self.sym(label)
        self.edge_states.setdefault(k, []).append((frame, label, active))

    @staticmethod
    def _at(states: list[Any], frame: int) -> Any:
        keys = [s[0] for s in states]
        i = bisect.bisect_right(keys, frame) - 1
        return states[i] if i >= 0 else None

    def _label(self, it: Item, lines: list[str]) -> str:
        head = f"<B>{html_text(lines[0], limit=60)}</B>" if lines else ""
        rest = [f'<FONT POINT-SIZE="10">{html_text(s, limit=110)}</FONT>' for s in lines[1:]]
        return "<" + "<BR/>".join([head, *rest]) + ">"

    def _base_attrs(self, it: Item) -> dict[str, str]:
        attrs = dict(style.STYLES[it.kind])
        attrs.pop("fontsize", None)
        if it.kind == "op":
            attrs.update(shape="box", style="rounded,filled")
            attrs["class"] = "op"
        return attrs

    def graph_attrs(self, g: Diagram) -> None:
        g.attr("graph", rankdir=self.rankdir, fontname=style.FONT, nodesep="0.3",
               ranksep="0.45", bgcolor="white", pad="0.2")
        g.attr("node", fontname=style.FONT, fontsize="12", margin="0.12,0.06")
        g.attr("edge", color="#666666", arrowsize="0.7", fontname=style.FONT, fontsize="10")

    def layout_source(self) -> Diagram:
        """The graph with every node and edge holding the longest text it will ever show."""
        g = Diagram(name="layout")
        self.graph_attrs(g)
        for iid, it in self.model.items.items():
            widest: list[str] = []
            for _, lines, _ in self.node_states.get(iid, []):
                for i, line in enumerate(lines):
                    if i >= len(widest):
                        widest.append(line)
                    elif len(line) > len(widest[i]):
                        widest[i] = line
            attrs = self._base_attrs(it)
            g.node(iid, label=self._label(it, widest), **attrs)
        for k, (src, dst, _) in enumerate(self.model.edges):
            labels = [lab for _, lab, _ in self.edge_states.get(k, []) if lab]
            if labels:
                g.edge(src, dst, label=attr_text(max(labels, key=len)))
            else:
                g.edge(src, dst)
        return g

    def do_layout(self) -> None:
        """Lay the graph out once with ``dot``; every frame reuses the positions."""
        try:
            raw = self.layout_source().pipe(format="json")
        except (RendererNotFound, OSError, RuntimeError, ValueError):
            return  # no renderer: frames are left to the renderer (unpinned)
        LAYOUT_CALLS[0] += 1
        data = json.loads(raw)
        objs = data.get("objects", [])
        nodes = {o["name"]: o for o in objs if "pos" in o}
        name = {o["_gvid"]: o["name"] for o in objs}
        by_pair: dict[tuple[str, str], list[Any]] = {}
        for e in sorted(data.get("edges", []), key=lambda e: e["_gvid"]):
            by_pair.setdefault((name[e["tail"]], name[e["head"]]), []).append(e)
        edges = {}
        for k, (src, dst, _) in enumerate(self.model.edges):
            got = by_pair.get((src, dst))
            if got:
                edges[k] = got.pop(0)
        self.layout = {"bb": data["bb"], "nodes": nodes, "edges": edges}

    def write(self, frame: Frame) -> None:
        """Fill ``frame``'s DOT body: the state of every node and edge at its step."""
        k = frame.index
        g = frame
        self.graph_attrs(g)
        lay = self.layout
        if lay is not None:
            g.attr("graph", bb=lay["bb"], splines="true")
            g.attr("node", fixedsize="true")
        for iid, it in self.model.items.items():
            state = self._at(self.node_states.get(iid, []), k)
            lines, extra = (state[1], state[2]) if state else ([iid], {})
            attrs = self._base_attrs(it)
            attrs.update(extra)
            if lay is not None and iid in lay["nodes"]:
                o = lay["nodes"][iid]
                attrs.update(pos=o["pos"], width=str(o["width"]), height=str(o["height"]))
            g.node(iid, label=self._label(it, lines),
                   tooltip=attr_text(self.tips.get(iid, "") + "\n".join(lines)), **attrs)
        for n, (src, dst, _) in enumerate(self.model.edges):
            state = self._at(self.edge_states.get(n, []), k)
            eattrs: dict[str, str] = {}
            if state is not None:
                _, label, active = state
                if active:
                    eattrs.update(color=style.GRAD_EDGE, penwidth="2.5", fontcolor=style.GRAD_EDGE)
                    if label:
                        eattrs["label"] = attr_text(label)
                else:
                    eattrs.update(color="#e7a1a1")
            if lay is not None and n in lay["edges"]:
                lay_e = lay["edges"][n]
                eattrs["pos"] = lay_e["pos"]
                if "label" in eattrs and "lp" in lay_e:
                    eattrs["lp"] = lay_e["lp"]
            g.edge(src, dst, **eattrs)


LAYOUT_CALLS = [0]  # how many times the frames' shared layout ran (the tests count it)


def _display_names(model: GraphModel) -> dict[str, str]:
    """A short name per tensor for the chain-rule text: its own name, else one made up."""
    names: dict[str, str] = {}
    seen: dict[str, int] = {}
    out = set(model.outputs)
    for it in model.items.values():
        if it.kind in ("op", "hidden", "module"):
            continue
        if it.name:
            base = it.name
        elif it.id in out:
            base = "E" if len(out) == 1 and (it.shape is None or int(np.prod(it.shape)) == 1) \
                else "out"
        elif it.kind in ("input", "constant"):
            base = "x" if it.kind == "input" else "const"
        else:
            base = op_name(it.obj)
        n = seen.get(base, 0) + 1
        seen[base] = n
        names[it.id] = base if n == 1 else f"{base}{n}"
    return names


def _tensor_lines(sweep: _Sweep, it: Item, show_data: bool, grad: list[str]) -> list[str]:
    lines = [sweep.names.get(it.id, it.id), _shape_text(it.shape, it.dtype)]
    if show_data:
        d = _data_of(it)
        if d is not None:
            lines.append("data " + style.describe_array(d))
    return lines + grad


def _grad_text(name: str, values: list[np.ndarray], arrived: int, uses: int) -> list[str]:
    """'∂E/∂a = 0.5 + 1.5 = 2' for a gradient summed from several consumers."""
    if not values:
        if arrived == 0:
            return [f"∂E/∂{name}: not computed yet"]
        return [f"∂E/∂{name}: nothing arrived yet ({arrived} of {uses})"]
    total = values[0] if len(values) == 1 else np.sum(values, axis=0)
    if uses <= 1:
        return [f"∂E/∂{name} = {style.describe_array(total)}"]
    if len(values) == 1:
        sums = style.describe_array(total)
    elif all(v.size <= 3 for v in values):
        sums = " + ".join(style.describe_array(v) for v in values) + \
            f" = {style.describe_array(total)}"
    else:
        sums = "sum " + style.describe_array(total)
    if arrived < uses:
        return [f"∂E/∂{name} so far: {arrived} of {uses} contributions", sums]
    return [f"∂E/∂{name}: all {uses} contributions", sums]


def backward_frames(
    output: Tensor,
    gradient: Any = None,
    params: Any = None,
    show_data: bool = True,
    rankdir: str = "LR",
    max_nodes: int | None = None,
) -> list[Frame]:
    """Diagrams of the backward sweep, one per step, for teaching.

    Frame 0 shows the graph before the sweep with the seed gradient at the output; frame k
    highlights the k-th node the engine processes (in the engine's own order) and writes the
    chain rule at it with its numbers: the gradient that arrived, the local derivative, and
    what it passes to each input (red edges). A tensor used more than once shows its
    contributions adding up. Every frame has the same layout (computed once, positions
    pinned). ``max_nodes`` collapses long chains as ``draw_graph`` does (steps inside a
    collapsed chain become one frame). ``.grad`` values are left as they were; the graph must
    not have been freed by ``backward()`` yet.

    >>> import microgradnet as mg
    >>> a = mg.tensor(2.0, requires_grad=True)
    >>> frames = mg.viz.backward_frames(a * a + a)
    >>> len(frames)   # before the sweep, then add and mul in the engine's order
    3
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"backward_frames: output must be a Tensor, got {type(output).__name__}")
    if output.grad_fn is None:
        raise RuntimeError("backward_frames: the output has no grad_fn (it is a leaf or was "
                           "computed without grad), so there is no sweep to show")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"backward_frames: rankdir must be 'LR' or 'TB' (or 'RL', 'BT'), "
                         f"got {rankdir!r}")
    if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 2):
        raise ValueError(f"backward_frames: max_nodes must be an int >= 2 or None, "
                         f"got {max_nodes!r}")
    steps = sweep_steps([output], gradient)
    model = build_graph(output, params=params, collapse_chains=max_nodes is not None)
    _limit(model, max_nodes, set(model.outputs))
    sweep = _Sweep(model, rankdir, _display_names(model))
    items = model.items
    sweep.top = items[model.outputs[0]].name or "E"

    # How many consumers each tensor has (in the recorded graph, hidden parts included).
    uses: dict[str, int] = {}
    for node in topological_order([output]):
        for target, k, _ in iter_edges(node):
            key = (id(target), -1) if isinstance(target, Tensor) else (id(target), k)
            tid = model.tensor_ids.get(key)
            if tid is not None:
                uses[tid] = uses.get(tid, 0) + 1
    out_id = model.outputs[0]
    seed = (np.ones(output.data.shape, output.data.dtype) if gradient is None
            else np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient))
    uses[out_id] = uses.get(out_id, 0) + 1
    values: dict[str, list[np.ndarray]] = {out_id: [seed]}
    arrived: dict[str, int] = {out_id: 1}

    def tensor_state(frame: int, tid: str, changed: bool) -> None:
        it = items[tid]
        name = sweep.names.get(tid, tid)
        grad = [] if it.kind == "constant" else _grad_text(
            name, values.get(tid, []), arrived.get(tid, 0), uses.get(tid, 1))
        if tid == out_id and arrived.get(tid, 0) == 1 and len(values[tid]) == 1:
            grad = [f"∂E/∂{name} = {style.describe_array(seed)} (the seed)"]
        attrs = dict(style.HIGHLIGHT) if changed else {}
        if values.get(tid) and arrived.get(tid, 0) >= uses.get(tid, 1) and it.kind != "op":
            attrs.setdefault("fillcolor", "#fde0dd" if it.kind != "output" else "#f8cecc")
            if "filled" not in style.STYLES[it.kind].get("style", ""):
                attrs["style"] = style.STYLES[it.kind].get("style", "") + ",filled"
        sweep.set_node(frame, tid, _tensor_lines(sweep, it, show_data, grad), attrs)

    def op_inputs(it: Item) -> list[str | None]:
        return [None if s is None or items[s].kind == "constant" else s for s in it.inputs]

    def op_state(frame: int, it: Item, up: np.ndarray | None,
                 passed: list[np.ndarray | None] | None, attrs: dict[str, str]) -> None:
        ins = op_inputs(it)
        names = [None if s is None else sweep.names.get(s, s) for s in ins]
        consts = [None if s is None else sweep.names.get(s, s) for s in it.inputs]
        out_t = next((d for s, d, _ in model.edges if s == it.id), None)
        out = sweep.names.get(out_t, "out") if out_t else "out"
        sweep.set_node(frame, it.id, _op_lines(op_name(it.obj), _rule_name(it.obj), out, names,
                                               up, passed, consts), attrs)

    # Frame 0: every node in its starting state.
    for start in items.values():
        if start.kind == "op":
            op_state(0, start, None, None, {})
            sweep.tips[start.id] = (f"{type(start.obj).__name__}: derivative rule "
                                    f"{_rule_name(start.obj)}\n")
        elif start.kind == "hidden":
            sweep.set_node(0, start.id, _hidden_text(start).replace(" (", "\n(").split("\n"), {})
        elif start.kind != "module":
            tensor_state(0, start.id, False)
    n_steps = len(steps)
    captions = [f"Before the backward sweep: the seed ∂E/∂{sweep.top} = "
                f"{style.describe_array(seed)} waits at the output; {n_steps} "
                f"op{'s' if n_steps != 1 else ''} to go."]
    currents: list[str | None] = [out_id]  # where each frame happens (the page pans there)
    frame = 0
    prev_current: str | None = None
    prev_edges: list[int] = []
    prev_changed: list[str] = []
    first = 0
    for k, (node, grads_in, grads_out) in enumerate(steps, start=1):
        op_id = model.resolve(model.op_ids.get(id(node), ""))
        it = items.get(op_id)
        if it is None:
            continue
        hidden = it.kind == "hidden"
        if not (hidden and prev_current == op_id):
            frame += 1
            # what was current / red at the last frame goes back to its resting look
            if prev_current is not None and items[prev_current].kind == "op":
                states = sweep.node_states[prev_current]
                sweep.set_node(frame, prev_current, states[-1][1], dict(style.DONE_OP))
            elif prev_current is not None:
                sweep.set_node(frame, prev_current, sweep.node_states[prev_current][-1][1], {})
            for e_old in prev_edges:
                sweep.set_edge(frame, e_old, None, False)
            for tid in prev_changed:
                tensor_state(frame, tid, False)
            prev_edges, prev_changed = [], []
            currents.append(op_id)
            captions.append("")
        up_arrs = [_array(g) for g in grads_in]
        up = next((a for a in up_arrs if a is not None), None)
        passed: list[np.ndarray | None] = []
        for edge, g in zip(inputs(node), grads_out):
            arr = _array(g)
            if edge is None:
                passed.append(None)
                continue
            target, out_nr, shape = edge
            key = (id(target), -1) if isinstance(target, Tensor) else (id(target), out_nr)
            tid = model.tensor_ids.get(key)
            if arr is not None:
                arr = _sum_to(arr, tuple(shape))
            passed.append(arr)
            if tid is None:
                continue
            tid = model.resolve(tid)
            if tid not in items or items[tid].kind == "hidden":
                continue
            arrived[tid] = arrived.get(tid, 0) + 1
            if arr is not None:
                values.setdefault(tid, []).append(arr)
            e = sweep.edge_index.get((tid, op_id))
            if e is not None and not hidden:
                label = None if arr is None else f"∂E/∂{sweep.names.get(tid, tid)} = {_short(arr)}"
                sweep.set_edge(frame, e, label, True)
                prev_edges.append(e)
            tensor_state(frame, tid, True)
            prev_changed.append(tid)
        if hidden:
            note = items[op_id]
            sweep.set_node(frame, op_id, sweep.node_states[op_id][0][1], dict(style.CURRENT))
            first = k if prev_current != op_id else first
            captions[frame] = (f"Steps {first}–{k} of {n_steps}: the sweep runs through the "
                               f"collapsed chain ({note.out_nr:,} hidden nodes).")
        else:
            op_state(frame, it, up, passed, dict(style.CURRENT, style="rounded,filled"))
            names = [sweep.names.get(s, s) for s in op_inputs(it) if s is not None]
            sent = [f"{_short(p)} to {n}" for p, n in
                    zip([p for p, s in zip(passed, op_inputs(it)) if s is not None], names)
                    if p is not None]
            to = " and ".join(sent) if len(sent) <= 2 else ", ".join(sent)
            captions[frame] = (f"Step {k} of {n_steps}: {op_name(node)} receives "
                               f"{_short(up) if up is not None else 'no gradient'} and, by the "
                               f"chain rule (upstream × local derivative), passes back "
                               f"{to or 'nothing'}.")
        prev_current = op_id
    sweep.do_layout()
    return [Frame(sweep, i, sweep.sym(captions[i]), currents[i]) for i in range(len(captions))]


# -- writing the frames -------------------------------------------------------------------------

_XML_HEAD = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_ID = re.compile(r'(\bid="|xlink:href="#|href="#|url\(#)')
_PT = re.compile(r'^(<svg[^>]*?\b(?:width|height)=")([\d.]+)pt"', re.MULTILINE)

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
html, body {{ margin: 0; height: 100%; }}
body {{ font-family: Helvetica, Arial, sans-serif; display: flex; flex-direction: column;
       color: #222; }}
header {{ padding: .5em 1em .4em; border-bottom: 1px solid #ddd; background: #fafafa; }}
h1 {{ font-size: 1.15em; margin: 0 0 .4em; }}
.controls {{ display: flex; flex-wrap: wrap; gap: .5em; align-items: center; }}
.controls button {{ font-size: 1em; padding: .2em .7em; }}
input[type=range] {{ flex: 1; min-width: 12em; max-width: 36em; }}
#counter {{ min-width: 5.5em; font-variant-numeric: tabular-nums; }}
.hint {{ color: #666; font-size: .85em; }}
#caption {{ font-size: 1.05em; margin: .5em 0 0; min-height: 2.6em; line-height: 1.3; }}
#view {{ flex: 1; overflow: hidden; position: relative; cursor: grab; background: #fff;
        touch-action: none; }}
#view.dragging {{ cursor: grabbing; }}
#stage {{ position: absolute; left: 0; top: 0; transform-origin: 0 0; }}
.frame {{ display: none; }} .frame.on {{ display: block; }}
.frame svg, .frame img {{ display: block; }}
</style></head>
<body>
<header>
<h1>{title}</h1>
<div class="controls">
<button id="prev" type="button" title="previous step (left arrow)">&#9664; back</button>
<input id="slider" type="range" min="0" max="{last}" value="0" aria-label="step">
<button id="next" type="button" title="next step (right arrow)">next &#9654;</button>
<span id="counter">step 0 / {last}</span>
<button id="zoomout" type="button" title="zoom out (-)">&minus;</button>
<button id="zoomin" type="button" title="zoom in (+)">+</button>
<button id="fit" type="button" title="fit the whole graph in the window (0)">fit</button>
<span class="hint">&larr;/&rarr; step &middot; +/&minus; zoom &middot; drag or scroll to pan,
ctrl+scroll to zoom</span>
</div>
<p id="caption" aria-live="polite"></p>
</header>
<div id="view"><div id="stage">
{frames}
</div></div>
<script>
(function () {{
  var frames = document.querySelectorAll('.frame');
  var slider = document.getElementById('slider');
  var counter = document.getElementById('counter');
  var caption = document.getElementById('caption');
  var view = document.getElementById('view');
  var stage = document.getElementById('stage');
  var s = 1, tx = 0, ty = 0, k = 0, W = 1, H = 1, minFont = 12;
  var first = frames[0].querySelector('svg, img');
  if (first) {{
    W = parseFloat(first.getAttribute('width')) || first.naturalWidth || 1;
    H = parseFloat(first.getAttribute('height')) || first.naturalHeight || 1;
    var sizes = [];
    first.querySelectorAll('text').forEach(function (t) {{
      var f = parseFloat(t.getAttribute('font-size')); if (f) sizes.push(f); }});
    if (sizes.length) minFont = Math.min.apply(null, sizes);
  }}
  function apply() {{
    stage.style.transform = 'translate(' + tx + 'px,' + ty + 'px) scale(' + s + ')';
  }}
  function fitScale() {{
    return Math.min(view.clientWidth / W, view.clientHeight / H);
  }}
  function readable() {{ return 12 / minFont; }}  // smallest text at 12 px
  function zoomAt(f, cx, cy) {{
    var ns = Math.max(0.05, Math.min(8, s * f));
    tx = cx - (cx - tx) * ns / s; ty = cy - (cy - ty) * ns / s; s = ns; apply();
  }}
  function fit() {{
    s = fitScale(); tx = (view.clientWidth - W * s) / 2; ty = (view.clientHeight - H * s) / 2;
    apply();
  }}
  function home() {{
    s = Math.max(fitScale(), readable());
    tx = (view.clientWidth - W * s) / 2;   // centred; a larger picture starts at its top
    ty = Math.max(0, (view.clientHeight - H * s) / 2);
    apply();
  }}
  function current() {{
    var id = frames[k].getAttribute('data-current');
    if (!id) return null;
    var titles = frames[k].querySelectorAll('g.node > title');
    for (var i = 0; i < titles.length; i++)
      if (titles[i].textContent === id) return titles[i].parentNode;
    return null;
  }}
  function follow() {{  // keep the current node in view
    var g = current(); if (!g) return;
    var r = g.getBoundingClientRect(), v = view.getBoundingClientRect(), m = 24;
    var dx = 0, dy = 0;
    if (r.left < v.left + m || r.right > v.right - m)
      dx = (v.left + v.width / 2) - (r.left + r.width / 2);
    if (r.top < v.top + m || r.bottom > v.bottom - m)
      dy = (v.top + v.height / 2) - (r.top + r.height / 2);
    if (dx || dy) {{ tx += dx; ty += dy; apply(); }}
  }}
  function show(n, keepHash) {{
    k = Math.max(0, Math.min(frames.length - 1, n));
    for (var i = 0; i < frames.length; i++) frames[i].classList.toggle('on', i === k);
    slider.value = k; counter.textContent = 'step ' + k + ' / ' + (frames.length - 1);
    caption.textContent = frames[k].getAttribute('data-caption');
    if (!keepHash && history.replaceState) history.replaceState(null, '', '#step=' + k);
    follow();
  }}
  function fromHash() {{
    var m = /step=(\\d+)/.exec(location.hash); return m ? +m[1] : 0;
  }}
  slider.addEventListener('input', function () {{ show(+slider.value); }});
  document.getElementById('prev').onclick = function () {{ show(k - 1); }};
  document.getElementById('next').onclick = function () {{ show(k + 1); }};
  document.getElementById('zoomin').onclick = function () {{
    zoomAt(1.25, view.clientWidth / 2, view.clientHeight / 2); }};
  document.getElementById('zoomout').onclick = function () {{
    zoomAt(0.8, view.clientWidth / 2, view.clientHeight / 2); }};
  document.getElementById('fit').onclick = fit;
  document.addEventListener('keydown', function (e) {{
    if (e.target && e.target.tagName === 'INPUT' && e.target.type !== 'range') return;
    var c = [view.clientWidth / 2, view.clientHeight / 2];
    if (e.key === 'ArrowLeft') {{ show(k - 1); e.preventDefault(); }}
    else if (e.key === 'ArrowRight' || e.key === ' ') {{ show(k + 1); e.preventDefault(); }}
    else if (e.key === 'Home') show(0);
    else if (e.key === 'End') show(frames.length - 1);
    else if (e.key === '+' || e.key === '=') zoomAt(1.25, c[0], c[1]);
    else if (e.key === '-') zoomAt(0.8, c[0], c[1]);
    else if (e.key === '0') fit();
  }});
  view.addEventListener('wheel', function (e) {{
    e.preventDefault();
    var r = view.getBoundingClientRect();
    if (e.ctrlKey || e.metaKey) zoomAt(e.deltaY < 0 ? 1.1 : 0.9, e.clientX - r.left,
                                       e.clientY - r.top);
    else {{ tx -= e.deltaX; ty -= e.deltaY; apply(); }}
  }}, {{ passive: false }});
  var drag = null;
  view.addEventListener('pointerdown', function (e) {{
    drag = [e.clientX - tx, e.clientY - ty]; view.classList.add('dragging');
    view.setPointerCapture(e.pointerId);
  }});
  view.addEventListener('pointermove', function (e) {{
    if (drag) {{ tx = e.clientX - drag[0]; ty = e.clientY - drag[1]; apply(); }}
  }});
  view.addEventListener('pointerup', function () {{
    drag = null; view.classList.remove('dragging'); }});
  window.addEventListener('hashchange', function () {{ show(fromHash(), true); }});
  window.addEventListener('resize', function () {{ home(); follow(); }});
  home();
  show(fromHash(), true);
}})();
</script>
</body></html>
"""


def _inline_svg(svg: str, prefix: str) -> str:
    """An SVG document made embeddable: no XML header, ids unique within the page, sizes in
    CSS pixels (one layout unit = 1 px, so the page can compute text sizes and zoom)."""
    svg = _XML_HEAD.sub("", svg, count=1)
    svg = _PT.sub(lambda m: m.group(1) + m.group(2) + '"', svg)
    svg = _PT.sub(lambda m: m.group(1) + m.group(2) + '"', svg)
    return _ID.sub(lambda m: m.group(1) + prefix, svg)


def save_frames(frames: Sequence[Any], path: str | Path, format: str = "svg",  # noqa: A002
                html_page: bool = True, title: str = "The backward sweep, step by step"
                ) -> list[Path]:
    """Write ``frame_000.svg``, ``frame_001.svg``, ... and ``index.html``, a page to step through.

    ``path`` is a directory, or a ``.html`` file (the frames go next to it). The HTML page is
    self-contained (frames embedded, plain JavaScript, no network): it fits the graph to the
    window at a readable size, zooms and pans (buttons, keys, mouse), steps with the arrow keys,
    and opens at a given step from the address (``index.html#step=5``). Without a renderer the
    DOT sources (``frame_000.gv``, ...) are written and ``RendererNotFound`` says how to install
    one. Returns the paths written.

    >>> import tempfile
    >>> from pathlib import Path
    >>> x = mg.tensor([1.0, 2.0], requires_grad=True)
    >>> frames = mg.viz.backward_frames((x * x).sum())
    >>> with tempfile.TemporaryDirectory() as d:
    ...     try:
    ...         written = mg.viz.save_frames(frames, d)
    ...     except mg.viz.RendererNotFound:  # no renderer: only the .gv sources
    ...         pass
    ...     sorted(p.stem for p in Path(d).glob("frame_*"))
    ['frame_000', 'frame_001', 'frame_002']
    """
    if format not in ("svg", "png"):
        raise ValueError(f"save_frames: format must be 'svg' or 'png', got {format!r}")
    if not frames:
        raise ValueError("save_frames: no frames to write")
    p = Path(path)
    if p.suffix.lower() in (".html", ".htm"):
        directory, page = p.parent, p
    else:
        directory, page = p, p / "index.html"
    directory.mkdir(parents=True, exist_ok=True)
    width = max(3, len(str(len(frames) - 1)))
    written: list[Path] = []
    blocks: list[str] = []
    for k, fr in enumerate(frames):
        stem = directory / f"frame_{k:0{width}d}"
        try:
            data = fr.pipe(format=format)
        except RendererNotFound as exc:
            for j, f2 in enumerate(frames):
                src = directory / f"frame_{j:0{width}d}.gv"
                src.write_text(f2.source, encoding="utf-8")
                written.append(src)
            raise RendererNotFound(f"save_frames wrote the DOT sources ({len(frames)} .gv files "
                                   f"in {directory}) but could not render them: {exc}") from None
        out = stem.with_suffix("." + format)
        out.write_bytes(data)
        written.append(out)
        caption = html.escape(getattr(fr, "caption", "") or f"frame {k}", quote=True)
        current = html.escape(getattr(fr, "current", None) or "", quote=True)
        if format == "svg":
            body = _inline_svg(data.decode("utf-8"), f"f{k}_")
        else:
            body = (f'<img alt="frame {k}" src="data:image/png;base64,'
                    f'{base64.b64encode(data).decode("ascii")}">')
        blocks.append(f'<div class="frame" id="frame{k}" data-caption="{caption}" '
                      f'data-current="{current}">\n{body}\n</div>')
    if html_page:
        page.write_text(_PAGE.format(title=html.escape(title), last=len(frames) - 1,
                                     frames="\n".join(blocks)), encoding="utf-8")
        written.append(page)
    return written
