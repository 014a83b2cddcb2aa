"""The layered neuron diagram of a multilayer perceptron: ``draw_network``.

Columns of neurons (input, hidden 1, ..., output), a bias node under each column that feeds the
next layer (the "pseudo-input that always outputs 1"), and weights as edges: blue positive, red
negative, width proportional to the magnitude. Positions are pinned (``neato`` with fixed
``pos``) so the neuron order never moves between renders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from microgradnet.autograd.api import grad as _grad
from microgradnet.autograd.grad_mode import no_grad
from microgradnet.tensor import Tensor
from microgradnet.viz import style
from microgradnet.viz.escape import attr_text, html_text
from microgradnet.viz.render import Diagram

__all__ = ["draw_network"]

DX = 2.4  # inches between columns
DY = 0.62  # inches between neurons


def _is_linear(m: Any) -> bool:
    w = getattr(m, "weight", None)
    return isinstance(w, Tensor) and w.data.ndim == 2 and "linear" in type(m).__name__.lower()


def _act_name(mods: Sequence[Any]) -> str | None:
    names = [type(m).__name__ for m in mods if m is not None
             and type(m).__name__ not in ("Identity",)]
    names = [getattr(m, "extra_repr", lambda: "")() if n == "_Lambda" else n
             for n, m in zip(names, [m for m in mods if m is not None
                                     and type(m).__name__ != "Identity"])]
    return " → ".join(n.lower() for n in names) or None


def _structure(model: Any) -> tuple[list[Any], list[list[Any]]]:
    """The Linear layers in order and, for each, the activation modules applied after it."""
    if _is_linear(model):
        return [model], [[]]
    layers = getattr(model, "layers", None)
    if layers is not None and hasattr(model, "activation"):  # mg.nn.MLP
        linears = [m for m in layers if _is_linear(m)]
        acts = [[model.activation] for _ in linears[:-1]]
        acts.append([getattr(model, "output_activation", None)])
        return linears, acts
    if not hasattr(model, "named_modules"):
        raise TypeError(f"draw_network: expected an MLP, a Linear layer or a module made of "
                        f"Linear layers and activations, got {type(model).__name__}")
    linears = []
    acts = []
    for _, m in list(model.named_modules())[1:]:
        if _is_linear(m):
            linears.append(m)
            acts.append([])
        elif linears and not list(m.parameters()) and not list(m.children()):
            acts[-1].append(m)
    if not linears:
        raise ValueError(f"draw_network: {type(model).__name__} has no Linear layers to draw")
    return linears, acts


def _shown(n: int, limit: int) -> tuple[list[int], int]:
    """Indices of the neurons drawn in a layer of ``n`` and how many are elided."""
    if n <= limit:
        return list(range(n)), 0
    keep = max(limit - 1, 2)
    head = keep - keep // 2
    tail = keep // 2
    return list(range(head)) + list(range(n - tail, n)), n - keep


def _apply(mods: Sequence[Any], x: Any) -> Any:
    for m in mods:
        if m is not None:
            x = m(x)
    return x


def _forward_values(linears: list[Any], acts: list[list[Any]], pattern: Any,
                    loss: Callable[[Tensor], Tensor] | None) -> tuple[list[np.ndarray],
                                                                     list[np.ndarray] | None]:
    """Activations of every layer for one input pattern; δ = −∂E/∂net per layer if ``loss``."""
    x = pattern if isinstance(pattern, Tensor) else Tensor(np.asarray(pattern))
    n_in = linears[0].weight.data.shape[1]
    if x.data.size != n_in:
        raise ValueError(f"draw_network: the input pattern has {x.data.size} values but the "
                         f"network has {n_in} inputs")
    x = x.reshape(1, n_in).to(linears[0].weight.data.dtype)
    values = [x.data[0].copy()]
    zs = []
    if loss is None:
        with no_grad():
            for lin, act in zip(linears, acts):
                z = x @ lin.weight.T
                if getattr(lin, "bias", None) is not None:
                    z = z + lin.bias
                x = _apply(act, z)
                values.append(np.asarray(x.data).reshape(-1))
        return values, None
    for lin, act in zip(linears, acts):
        z = x @ lin.weight.T
        if getattr(lin, "bias", None) is not None:
            z = z + lin.bias
        zs.append(z)
        x = _apply(act, z)
        values.append(np.asarray(x.data).reshape(-1))
    out = loss(x)
    ds = _grad(out, zs, allow_unused=True)
    # The classic error signal of the backpropagation texts: δ = −∂E/∂net.
    deltas = [np.zeros(z.data.shape[1]) if d is None else -np.asarray(d.data).reshape(-1)
              for z, d in zip(zs, ds)]
    return values, deltas


def draw_network(
    model: Any,
    show_weights: bool = True,
    show_bias: bool = True,
    max_neurons_per_layer: int = 12,
    activations: Any = None,
    deltas: Any = None,
    title: str | None = None,
) -> Diagram:
    """The layered picture of an MLP: neurons in columns, bias nodes, weights as edges.

    Args:
        show_weights: colour edges by sign (blue +, red -) and width by magnitude; ``False``
            draws plain connections.
        show_bias: draw each layer's bias as a node that always outputs 1.
        max_neurons_per_layer: larger layers show their first and last neurons and one
            "… n more" node.
        activations: one input pattern; every neuron then shows (and is coloured by) its
            activation for it.
        deltas: the error signals δ = −∂E/∂net of each non-input layer (the sign convention of
            the backpropagation texts: δ_k = (t_k − o_k)·o_k(1 − o_k) for a sigmoid output
            under E = ½Σ(t − o)²): a list of arrays, or a function ``loss(output) -> scalar``
            (needs ``activations``) to compute them with one backward sweep (``.grad`` is
            not touched).
        title: a caption above the picture.

    The DOT source names its layout engine (``layout=neato``), so ``dot -Tsvg network.gv``
    draws it as intended too; a legend explains the colours.

    >>> import microgradnet as mg
    >>> g = mg.viz.draw_network(mg.nn.MLP([2, 4, 1]))
    >>> "hidden 1" in g.source
    True
    """
    if not isinstance(max_neurons_per_layer, int) or max_neurons_per_layer < 3:
        raise ValueError("draw_network: max_neurons_per_layer must be an int >= 3, got "
                         f"{max_neurons_per_layer!r}")
    linears, acts = _structure(model)
    sizes = [linears[0].weight.data.shape[1]] + [lin.weight.data.shape[0] for lin in linears]
    for i, lin in enumerate(linears[1:], start=1):
        if lin.weight.data.shape[1] != sizes[i]:
            raise ValueError(f"draw_network: layer {i} expects {lin.weight.data.shape[1]} inputs "
                             f"but the layer before it has {sizes[i]} outputs")
    values: list[np.ndarray] | None = None
    delta_list: list[np.ndarray] | None = None
    if callable(deltas) and not isinstance(deltas, (list, tuple)):
        if activations is None:
            raise ValueError("draw_network: deltas=loss_fn needs activations= (the input "
                             "pattern) to run the network on")
        values, delta_list = _forward_values(linears, acts, activations, deltas)
    else:
        if activations is not None:
            values, _ = _forward_values(linears, acts, activations, None)
        if deltas is not None:
            delta_list = [np.asarray(getattr(d, "data", d)).reshape(-1) for d in deltas]
            if len(delta_list) != len(linears):
                raise ValueError(f"draw_network: deltas has {len(delta_list)} arrays; expected "
                                 f"one per layer after the input ({len(linears)})")

    g = Diagram(name="network", engine="neato")
    g.attr("graph", layout="neato", splines="false", outputorder="edgesfirst",
           fontname=style.FONT, bgcolor="white", pad="0.3")
    g.attr("node", fontname=style.FONT, fontsize="9", shape="circle", fixedsize="true",
           style="filled", fillcolor="#ffffff", color="#333333")
    g.attr("edge", arrowsize="0.4", color="#999999")
    if title:
        g.attr("graph", label=attr_text(title), labelloc="t", fontsize="12")

    radius = 0.42 if values is None and delta_list is None else 0.8
    dy = max(DY, radius + 0.2)
    shown = [_shown(n, max_neurons_per_layer) for n in sizes]
    rows = max(len(s) + (1 if hid else 0) for s, hid in shown)
    top = (rows - 1) * dy / 2
    ids: list[dict[int, str]] = []
    n_layers = len(sizes)
    vmax = [float(np.max(np.abs(v))) if v.size else 0.0 for v in values] if values else []
    dmax = max((float(np.max(np.abs(d))) for d in delta_list if d.size), default=0.0) \
        if delta_list else 0.0
    for layer, (n, (idx, hidden)) in enumerate(zip(sizes, shown)):
        x = layer * DX
        count = len(idx) + (1 if hidden else 0)
        y0 = (count - 1) * dy / 2
        if layer == 0:
            caption = "input"
        elif layer == n_layers - 1:
            caption = "output"
        else:
            caption = f"hidden {layer}"
        act = _act_name(acts[layer - 1]) if layer > 0 else None
        sub = f"{n:,} unit{'s' if n != 1 else ''}" + (f" · {act}" if act else "")
        g.node(f"cap{layer}", label=f"<<B>{html_text(caption)}</B><BR/>"
               f'<FONT POINT-SIZE="8">{html_text(sub)}</FONT>>',
               shape="plaintext", fixedsize="false", style="", pos=f"{x:.3f},{top + 0.75:.3f}!")
        ids.append({})
        column: list[int | None] = list(idx)
        if hidden:
            column.insert(len(idx) - len(idx) // 2, None)  # the "… n more" note
        for row, j in enumerate(column):
            y = y0 - row * dy
            if j is None:
                g.node(f"more{layer}", label=attr_text(f"… {hidden:,} more"), shape="box",
                       fixedsize="false", style="filled", color="white", fontcolor="#555555",
                       pos=f"{x:.3f},{y:.3f}!")
                continue
            nid = f"n{layer}_{j}"
            attrs: dict[str, str] = {"width": f"{radius:.2f}"}
            lines = []
            tip = [f"{caption} neuron {j}"]
            if values is not None:
                v = float(values[layer][j])
                attrs["fillcolor"] = style.value_colour(v, vmax[layer] or 1.0)
                if vmax[layer] and abs(v) / vmax[layer] > 0.6:  # dark fill: white text
                    attrs["fontcolor"] = "white"
                lines.append(style._fmt(v))
                tip.append(f"activation {v:.6g}")
            if delta_list is not None and layer > 0:
                d = float(delta_list[layer - 1][j])
                lines.append("δ " + style._fmt(d))
                tip.append(f"error signal δ = −∂E/∂net = {d:.6g}")
                attrs["color"] = style.value_colour(d, dmax or 1.0) if dmax else "#333333"
                attrs["penwidth"] = "2.5"
            label = attr_text("\n".join(lines)) if lines else attr_text("")
            g.node(nid, label=label, tooltip=attr_text("\n".join(tip)),
                   pos=f"{x:.3f},{y:.3f}!", **attrs)
            ids[layer][j] = nid
        if show_bias and layer < n_layers - 1 and getattr(linears[layer], "bias", None) \
                is not None:
            bid = f"bias{layer}"
            yb = y0 - count * dy - 0.15
            g.node(bid, label="1", shape="circle", style="filled,dashed", fillcolor="#f2f2f2",
                   color="#777777", width="0.34",
                   tooltip=attr_text(f"bias unit feeding layer {layer + 1}: a pseudo-input "
                                     "that always outputs 1; its weights are the biases"),
                   pos=f"{x + DX * 0.35:.3f},{yb:.3f}!")
    _legend(g, show_weights, values is not None, delta_list is not None, show_bias,
            bottom=-(rows - 1) * dy / 2 - dy - 0.5)
    for layer, lin in enumerate(linears):
        busy = len(ids[layer]) * len(ids[layer + 1]) > 60  # many edges: thinner, lighter
        w = lin.weight.data
        wmax = float(np.max(np.abs(w))) if w.size else 0.0
        b = getattr(lin, "bias", None)
        bdata = None if b is None else b.data
        for j, dst in ids[layer + 1].items():
            for i, src in ids[layer].items():
                _edge(g, src, dst, float(w[j, i]), wmax, show_weights, f"w[{j},{i}]", busy=busy)
            if show_bias and bdata is not None:
                bmax = float(np.max(np.abs(bdata))) if bdata.size else 0.0
                _edge(g, f"bias{layer}", dst, float(bdata[j]), max(wmax, bmax), show_weights,
                      f"b[{j}]", dashed=True, busy=busy)
    return g


def _edge(g: Diagram, src: str, dst: str, w: float, wmax: float, show: bool, name: str,
          dashed: bool = False, busy: bool = False) -> None:
    attrs = {"tooltip": attr_text(f"{name} = {w:.6g}")}
    if show:
        attrs["color"] = style.weight_colour(w) + ("77" if busy else "cc")
        scale = 1.6 if busy else 3.2
        attrs["penwidth"] = f"{0.2 + scale * (abs(w) / wmax if wmax > 0 else 0):.2f}"
    if dashed:
        attrs["style"] = "dashed"
    g.edge(src, dst, **attrs)


def _legend(g: Diagram, weights: bool, values: bool, deltas: bool, bias: bool,
            bottom: float) -> None:
    """What the colours mean, as a small table under the first column."""
    rows = []
    if weights:
        rows.append('<TR><TD><TABLE BORDER="0" CELLSPACING="1" CELLPADDING="0"><TR>'
                    '<TD BGCOLOR="#1f77b4" WIDTH="12" HEIGHT="4"></TD>'
                    '<TD BGCOLOR="#d62728" WIDTH="12" HEIGHT="4"></TD></TR></TABLE></TD>'
                    '<TD ALIGN="LEFT">weight &gt; 0 (blue) / &lt; 0 (red), width ∝ |w|</TD></TR>')
    if values:
        rows.append('<TR><TD BGCOLOR="#a6c8e4"> </TD><TD ALIGN="LEFT">fill: activation '
                    "(blue +, red −, white 0)</TD></TR>")
    if deltas:
        rows.append('<TR><TD BORDER="2" COLOR="#d62728"> </TD><TD ALIGN="LEFT">ring: error '
                    "signal δ = −∂E/∂net (blue +, red −)</TD></TR>")
    if bias:
        rows.append('<TR><TD>1</TD><TD ALIGN="LEFT">bias unit (always outputs 1)</TD></TR>')
    if not rows:
        return
    label = ('<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2"><TR><TD COLSPAN="2" '
             'ALIGN="LEFT"><B>legend</B></TD></TR>' + "".join(rows) + "</TABLE>>")
    g.node("legend", label=label, shape="plaintext", fixedsize="false", style="",
           fontsize="9", pos=f"{DX * 0.5:.3f},{bottom:.3f}!")
