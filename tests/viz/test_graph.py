"""draw_graph and to_json: structure of the DOT source and of the JSON export."""

from __future__ import annotations

import json

import numpy as np
import pytest

import microgradnet as mg
from microgradnet.autograd import engine
from microgradnet.viz import style
from tests.viz.helpers import (
    HAS_DOT,
    dot_edges,
    dot_nodes,
    function_nodes,
    label_of,
    needs_dot,
    op_ids,
)


def _example():
    a = mg.tensor(2.0, requires_grad=True, name="a")
    b = mg.tensor(-3.0, requires_grad=True, name="b")
    e = a * b
    d = e + a
    return a, b, d.tanh()


def test_one_node_per_op_labelled_with_its_name():
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    w = mg.tensor(np.ones((3, 4)), requires_grad=True)
    y = ((x @ w).tanh() * 2.0 + x.sum()).sum()
    src = mg.viz.draw_graph(y).source
    ops = op_ids(src)
    assert len(ops) == len(function_nodes(y))
    labels = sorted(label_of(dot_nodes(src)[k]) for k in ops)
    assert labels == sorted(n.op_name for n in function_nodes(y))
    assert {"matmul", "tanh", "mul", "add", "sum"} <= set(labels)


def test_tensor_nodes_and_forward_edges():
    a, b, L = _example()
    src = mg.viz.draw_graph(L).source
    nodes = dot_nodes(src)
    ops = set(op_ids(src))
    tensors = [k for k in nodes if k not in ops]
    # 2 leaves + one tensor after each of the 3 ops (the last one is the output)
    assert len(ops) == 3 and len(tensors) == 5
    edges = dot_edges(src)
    # edges alternate tensor -> op -> tensor, in the direction of the forward sweep
    assert all((s in ops) != (t in ops) for s, t in edges)
    leaf_ids = [k for k in tensors if "<B>a</B>" in nodes[k] or "<B>b</B>" in nodes[k]]
    assert len(leaf_ids) == 2 and all(any(s == k for s, _ in edges) for k in leaf_ids)
    assert not any(t in leaf_ids for _, t in edges)
    # a is used twice (by mul and by add)
    a_id = next(k for k in leaf_ids if "<B>a</B>" in nodes[k])
    assert sum(1 for s, _ in edges if s == a_id) == 2


def test_intermediate_labels_show_shape_and_dtype_not_an_op_name():
    x = mg.tensor(np.ones((2, 3), dtype=np.float64), requires_grad=True)
    y = (x.exp() * x).sum()
    g = json.loads(mg.viz.to_json(y))
    inter = [n for n in g["nodes"] if n["kind"] == "intermediate"]
    assert [n["shape"] for n in inter] == [[2, 3], [2, 3]]
    assert all(n["dtype"] == "float64" for n in inter)
    src = mg.viz.draw_graph(y).source
    op_names = {n.op_name for n in function_nodes(y)}
    for attrs in dot_nodes(src).values():
        if "dashed" in attrs:  # intermediate style
            text = label_of(attrs)
            body = text.split(">", 2)[-1]
            assert "(2, 3) float64" in text
            assert not any(body.startswith(op) for op in op_names)


def test_parameters_inputs_outputs_are_styled_differently():
    w = mg.tensor(np.ones(3), requires_grad=True)
    x = mg.tensor(np.ones(3), requires_grad=True, name="x")
    out = (w * x).sum()
    nodes = dot_nodes(mg.viz.draw_graph(out, params={"layer.weight": w}).source)
    param = next(v for v in nodes.values() if "layer.weight" in v)
    inp = next(v for v in nodes.values() if "<B>x</B>" in v)
    outp = next(v for v in nodes.values() if "<B>output</B>" in v)
    assert "peripheries=2" in param and "peripheries" not in inp
    styles = {label_of(v): v.split("fillcolor=")[1].split()[0] for v in (param, inp, outp)}
    assert len(set(styles.values())) == 3


def test_params_accepts_named_parameters_pairs_and_rejects_junk():
    w = mg.tensor(np.ones(3), requires_grad=True)
    out = (w * w).sum()
    src = mg.viz.draw_graph(out, params=iter([("w0", w)])).source
    assert "<B>w0</B>" in src
    with pytest.raises(TypeError, match="params"):
        mg.viz.draw_graph(out, params={"w": np.ones(3)})
    with pytest.raises(TypeError):
        mg.viz.draw_graph(np.ones(3))


def test_grad_not_computed_yet_then_values():
    a, b, L = _example()
    L.retain_grad()
    before = mg.viz.draw_graph(L, show_grad=True).source
    assert before.count("grad not computed yet") == 3  # a, b and the retained output
    assert "grad 0" not in before
    L.backward(retain_graph=True)
    after = mg.viz.draw_graph(L, show_grad=True).source
    assert "grad not computed yet" not in after
    assert f"grad {float(a.grad.item()):.4g}" in after and "grad 1" in after
    # an intermediate that does not retain its gradient says so instead of showing a number
    (x,) = [mg.tensor(1.0, requires_grad=True)]
    y = x * 2.0
    z = (y * y).sum()
    z.backward()
    nodes = dot_nodes(mg.viz.draw_graph(z, show_grad=True).source)
    assert sum("not retained" in v for v in nodes.values()) >= 1


def test_gradient_magnitude_is_the_fill_colour():
    small = mg.tensor(100.0, requires_grad=True, name="small")  # gets grad 1
    large = mg.tensor(1.0, requires_grad=True, name="large")  # gets grad 100
    out = small * large
    plain = dot_nodes(mg.viz.draw_graph(out, show_grad=True).source)
    out.backward()
    nodes = dot_nodes(mg.viz.draw_graph(out, show_grad=True).source)

    def fill(ns, name):
        node = next(v for v in ns.values() if f"<B>{name}</B>" in v)
        return node.split("fillcolor=")[1].split()[0]

    assert fill(nodes, "small") != fill(nodes, "large")
    assert fill(nodes, "large") == f'"{style._GRAD_SCALE[-1]}"'  # the darkest: the largest
    assert fill(plain, "large") == fill(plain, "small")  # no gradients: the kind's colour


def test_values_for_tiny_tensors_and_summaries_for_large():
    small = mg.tensor([1.0, -2.5], requires_grad=True, name="small")
    big = mg.tensor(np.arange(100.0), requires_grad=True, name="big")
    src = mg.viz.draw_graph(small.sum() + big.sum(), show_data=True).source
    assert "data [1, -2.5]" in src
    line = next(v for v in dot_nodes(src).values() if "<B>big</B>" in v)
    for word in ("mean 49.5", "std", "min 0", "max 99", "norm"):
        assert word in line


def test_tooltips_carry_op_shapes_saved_rule_and_call_site():
    x = mg.tensor(np.ones((2, 2)), requires_grad=True, name="x")
    y = (x * x).sum()  # this line is the call site
    nodes = dot_nodes(mg.viz.draw_graph(y).source)
    mul = next(v for v in nodes.values() if "label=mul" in v)
    tip = mul.split('tooltip="')[1]
    assert "op: mul (Mul)" in tip and "Mul.backward" in tip
    assert "x (2, 2) float64" in tip  # a saved tensor, by name
    assert "test_graph.py" in tip  # where the user made it


def test_to_json_is_stable_and_complete():
    def build():
        a, b, L = _example()
        return L

    one, two = build(), build()
    assert mg.viz.to_json(one) == mg.viz.to_json(two)
    assert mg.viz.to_json(one) == mg.viz.to_json(one)
    doc = json.loads(mg.viz.to_json(one))
    ids = [n["id"] for n in doc["nodes"]]
    assert ids == ["t0", "t1", "op0", "t2", "op1", "t3", "op2", "t4"]
    assert [n["op"] for n in doc["nodes"] if n["kind"] == "op"] == ["mul", "add", "tanh"]
    assert all(e["source"] in ids and e["target"] in ids for e in doc["edges"])
    pos = {k: i for i, k in enumerate(ids)}
    assert all(pos[e["source"]] < pos[e["target"]] for e in doc["edges"])  # forward order
    assert doc["outputs"] == ["t4"] and doc["hidden"] == 0


def test_graph_of_the_backward_sweep_can_be_drawn():
    x = mg.tensor(0.5, requires_grad=True, name="x")
    (dy,) = mg.grad(x.tanh(), x, create_graph=True)
    doc = json.loads(mg.viz.to_json(dy))
    ops = [n["op"] for n in doc["nodes"] if n["kind"] == "op"]
    assert "tanh" in ops and "mul" in ops and len(ops) >= 3
    assert len(op_ids(mg.viz.draw_graph(dy).source)) == len(function_nodes(dy))


def test_highlight_a_node_or_tensor():
    a, b, L = _example()
    add = L.grad_fn.next_functions[0][0]
    nodes = dot_nodes(mg.viz.draw_graph(L, highlight=add).source)
    marked = [k for k, v in nodes.items() if "penwidth=3" in v]
    assert len(marked) == 1 and "label=add" in nodes[marked[0]]
    nodes = dot_nodes(mg.viz.draw_graph(L, highlight=[b]).source)
    assert [k for k, v in nodes.items() if "penwidth=3" in v and "<B>b</B>" in v]
    with pytest.raises(TypeError):
        mg.viz.draw_graph(L, highlight=3)


def test_highlight_nonfinite_finds_the_op_whose_backward_broke():
    x = mg.tensor([0.0, 1.0], requires_grad=True)
    y = (x.sqrt() * 2.0).sum()  # d sqrt / dx is inf at 0
    nodes = dot_nodes(mg.viz.draw_graph(y, highlight="nonfinite").source)
    marked = [v for v in nodes.values() if "penwidth=3" in v]
    assert len(marked) == 1 and "label=sqrt" in marked[0]
    assert x.grad is None


def _chain(n):
    x = mg.tensor(1.0, requires_grad=True, name="x")
    y = x
    for _ in range(n):
        y = y * 1.0
    return y


def test_deep_chain_is_iterative_and_collapsed_by_max_nodes():
    y = _chain(100_000)  # a recursive walk would overflow the stack
    nodes = dot_nodes(mg.viz.draw_graph(y, max_nodes=50).source)
    assert len(nodes) <= 50
    note = next(v for v in nodes.values() if "hidden" in v)
    assert "99,996 ops" in note and "mul ×99,996" in note


def test_chain_collapse_counts_what_it_hid():
    y = _chain(300)
    full = json.loads(mg.viz.to_json(y))
    doc = json.loads(mg.viz.to_json(y, max_nodes=50))
    assert len(full["nodes"]) == 601 and full["hidden"] == 0
    assert doc["hidden"] == 2 * 296  # each hidden op and the tensor after it
    assert len(doc["nodes"]) - 1 + doc["hidden"] == len(full["nodes"])
    assert [n["op"] for n in doc["nodes"] if n["kind"] == "op"] == ["mul"] * 4
    # small enough: nothing is hidden
    assert json.loads(mg.viz.to_json(_chain(10), max_nodes=50))["hidden"] == 0


def test_max_nodes_truncates_wide_graphs_and_counts_what_it_hid():
    ws = [mg.tensor(float(i), requires_grad=True) for i in range(60)]
    total = ws[0] * ws[0]
    for w in ws[1:]:
        total = total + w * w
    full = json.loads(mg.viz.to_json(total))
    small = json.loads(mg.viz.to_json(total, max_nodes=40))
    assert len(small["nodes"]) <= 40
    hidden = [n for n in small["nodes"] if n["kind"] == "hidden"]
    assert len(hidden) == 1
    assert len(small["nodes"]) - 1 + small["hidden"] == len(full["nodes"])
    assert small["outputs"][0] in {n["id"] for n in small["nodes"]}
    with pytest.raises(ValueError, match="max_nodes"):
        mg.viz.draw_graph(total, max_nodes=1)


def test_multi_output_and_multiple_roots():
    x = mg.tensor(np.arange(4.0), requires_grad=True)
    y1, y2 = (x * 2.0).sum(), (x * x).sum()
    doc = json.loads(mg.viz.to_json(y1, y2))
    assert len(doc["outputs"]) == 2
    assert [n["kind"] for n in doc["nodes"]].count("input") == 1


def test_engine_observer_is_restored():
    a, b, L = _example()
    mg.viz.draw_graph(L, highlight="nonfinite")
    assert engine._observer is None


@needs_dot
def test_renders_to_svg_with_dot():
    a, b, L = _example()
    L.backward(retain_graph=True)
    svg = mg.viz.draw_graph(L, show_data=True, show_grad=True).pipe(format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert ">tanh<" in svg and "Tanh.backward" in svg  # label and tooltip


def test_dot_flag_matches_machine():
    import shutil

    assert HAS_DOT == (shutil.which("dot") is not None)


def _mlp_loss():
    from tests.viz.models import make_mlp

    net = make_mlp([2, 4, 1])
    x = mg.tensor(np.ones((3, 2), dtype=np.float32), name="x")
    return net, ((net(x) - 1.0) ** 2).mean()


def test_module_clusters_with_parameter_counts():
    net, loss = _mlp_loss()
    src = mg.viz.draw_graph(loss, params=net).source
    assert "subgraph cluster_0" in src and "subgraph cluster_1" in src
    assert "layers.0 (Linear): 12 parameters" in src or "layers.0 (module): 12 parameters" in src
    assert "5 parameters" in src
    doc = json.loads(mg.viz.to_json(loss, params=dict(net.named_parameters())))
    mods = {n["name"]: n.get("module") for n in doc["nodes"] if n["kind"] == "parameter"}
    assert mods == {"layers.0.weight": "layers.0", "layers.0.bias": "layers.0",
                    "layers.1.weight": "layers.1", "layers.1.bias": "layers.1"}
    # the activation between the layers belongs to neither Linear
    assert any(n["kind"] == "op" and "module" not in n for n in doc["nodes"])


def test_collapse_modules_draws_one_box_per_module():
    net, loss = _mlp_loss()
    full = dot_nodes(mg.viz.draw_graph(loss, params=net).source)
    boxes = dot_nodes(mg.viz.draw_graph(loss, params=net, collapse_modules=True).source)
    assert sorted(k for k in boxes if k.startswith("m")) == ["m0", "m1"]
    assert "12 parameters" in boxes["m0"] and "box3d" in boxes["m0"]
    assert len(boxes) < len(full)
    assert not any("layers.0.weight" in v for v in boxes.values())


def test_keep_values_shows_a_value_at_every_node_and_draws_constants():
    x = mg.tensor([[1.0, 2.0]], name="x")
    y = mg.tensor([[1.0]], name="y")
    w = mg.tensor([[0.5, -0.25]], requires_grad=True, name="w")
    with mg.viz.keep_values():
        out = (((x * w).sum(axis=1, keepdims=True) + 0.5).tanh() - y).sum()
    src = mg.viz.draw_graph(out, show_data=True).source
    tensors = {k: v for k, v in dot_nodes(src).items() if "class=op" not in v}
    assert tensors and all("data " in v for v in tensors.values())
    # the constants x and y are drawn, with their values, and feed the ops that read them
    names = {k for k, v in tensors.items() if "<B>x</B>" in v or "<B>y</B>" in v}
    assert len(names) == 2 and all(any(s == k for s, _ in dot_edges(src)) for k in names)
    # the value shown is the real intermediate value
    assert "data [0.5]" in src  # x·w summed (0.5 - 0.5 = 0) + 0.5
    # outside keep_values nothing is kept: only leaves and saved outputs have data
    out2 = ((x * w).sum(axis=1, keepdims=True) + 0.5).tanh().sum()
    src2 = mg.viz.draw_graph(out2, show_data=True).source
    assert "<B>x</B>" not in src2


def test_keep_values_restores_the_hook_and_nests():
    from microgradnet.autograd import function

    assert function.on_record is None
    with mg.viz.keep_values():
        with mg.viz.keep_values():
            pass
        assert function.on_record is not None
    assert function.on_record is None


def test_gradient_colours_come_with_a_legend():
    x = mg.tensor([1.0, 2.0], requires_grad=True, name="x")
    w = mg.tensor([3.0, 1e-3], requires_grad=True, name="w")
    out = (x * w).sum()
    out.backward()
    src = mg.viz.draw_graph(out, show_grad=True).source
    legend = dot_nodes(src)["legend"]
    assert "size of the gradient" in legend and legend.count("BGCOLOR") == 6
    assert f"{style.magnitude(x.grad.data):.4g}" in legend  # the largest, in absolute terms
    assert "legend" not in dot_nodes(mg.viz.draw_graph(out).source)  # no colours, no legend


def test_keep_values_finds_the_names_of_intermediate_tensors():
    w = mg.tensor([0.5, -0.25], requires_grad=True, name="w")
    with mg.viz.keep_values():
        h = w * 2.0
        h.name = "h"
        out = h.tanh().sum()
    assert "<B>h</B>" in mg.viz.draw_graph(out).source
    out2 = (w * 2.0).tanh().sum()  # outside keep_values: h is not reachable, so no name
    assert "<B>h</B>" not in mg.viz.draw_graph(out2).source
