"""draw_network: columns, captions, bias nodes, weight colours and widths, elision, values."""

from __future__ import annotations

import re

import numpy as np
import pytest

import microgradnet as mg
from microgradnet.viz import style
from tests.viz.helpers import dot_edges, dot_nodes, needs_dot
from tests.viz.models import make_mlp


def _captions(src):
    return re.findall(r"cap\d+ \[label=<<B>([^<]*)</B>", src)


def test_xor_network_columns_captions_and_bias_nodes():
    net = make_mlp([2, 4, 1])
    src = mg.viz.draw_network(net).source
    assert _captions(src) == ["input", "hidden 1", "output"]
    nodes = dot_nodes(src)
    neurons = [k for k in nodes if k.startswith("n")]
    assert len(neurons) == 2 + 4 + 1
    assert [k for k in nodes if k.startswith("bias")] == ["bias0", "bias1"]
    assert "always outputs 1" in nodes["bias0"]
    edges = dot_edges(src)
    assert len(edges) == 2 * 4 + 4 * 1 + 4 + 1  # weights, then one edge per bias
    assert mg.viz.draw_network(net).engine == "neato"
    # positions are pinned, so neato cannot reorder the neurons
    assert all(re.search(r'pos="[-\d.]+,[-\d.]+!"', nodes[k]) for k in neurons)
    assert "sigmoid" in src


def test_weights_colour_is_sign_and_width_is_magnitude():
    net = make_mlp([2, 3, 1])
    w = net.layers[0].weight
    w.data[...] = np.array([[1.0, -0.5], [0.25, -1.0], [0.0, 0.5]], dtype=w.data.dtype)
    src = mg.viz.draw_network(net).source
    attrs = {(s, t): line for s, t, line in re.findall(r"(\w+) -> (\w+) \[(.*)\]", src)}
    pos, neg = attrs[("n0_0", "n1_0")], attrs[("n0_1", "n1_0")]
    assert 'color="#1f77b4' in pos and 'color="#d62728' in neg
    width = {k: float(re.search(r"penwidth=([\d.]+)", v).group(1)) for k, v in attrs.items()
             if k[0].startswith("n0")}
    assert width[("n0_0", "n1_0")] > width[("n0_1", "n1_0")] > width[("n0_0", "n1_2")]
    plain = mg.viz.draw_network(net, show_weights=False, show_bias=False).source
    assert "penwidth" not in plain and "bias" not in plain


def test_large_layers_are_elided_with_n_more():
    net = make_mlp([784, 128, 10])
    src = mg.viz.draw_network(net, max_neurons_per_layer=12).source
    nodes = dot_nodes(src)
    assert "… 773 more" in nodes["more0"] and "… 117 more" in nodes["more1"]
    assert "more2" not in nodes  # 10 outputs fit
    assert sum(k.startswith("n0_") for k in nodes) == 11
    assert "n0_0" in nodes and "n0_783" in nodes  # first and last stay
    assert _captions(src) == ["input", "hidden 1", "output"]
    assert "784 units" in src
    with pytest.raises(ValueError, match="max_neurons_per_layer"):
        mg.viz.draw_network(net, max_neurons_per_layer=1)


def test_activations_and_deltas_for_one_pattern():
    net = make_mlp([2, 3, 1])
    x = np.array([1.0, 0.0], dtype=np.float32)
    target = 1.0
    src = mg.viz.draw_network(net, activations=x,
                              deltas=lambda out: ((out - target) ** 2).sum()).source
    # hand-computed forward and backward for the same pattern
    W1, b1 = net.layers[0].weight.data, net.layers[0].bias.data
    W2, b2 = net.layers[1].weight.data, net.layers[1].bias.data
    h = 1 / (1 + np.exp(-(W1 @ x + b1)))
    y = W2 @ h + b2
    d2 = 2 * (y - target)
    d1 = (W2.T @ d2) * h * (1 - h)
    nodes = dot_nodes(src)
    for j in range(3):
        assert f"activation {h[j]:.6g}"[:16] in nodes[f"n1_{j}"]
        # δ is the classic error signal −∂E/∂net (the opposite sign of the gradient)
        tip = re.search(r"δ = −∂E/∂net = ([-\d.e]+)", nodes[f"n1_{j}"]).group(1)
        assert float(tip) == pytest.approx(-d1[j], rel=1e-4, abs=1e-6)
    assert float(re.search(r"δ = −∂E/∂net = ([-\d.e]+)", nodes["n2_0"]).group(1)) == \
        pytest.approx(-d2[0], rel=1e-4)
    label = re.search(r'label="([^"]*)"', nodes["n2_0"]).group(1)
    assert f"δ {style._fmt(-d2[0])}" in label  # the label shows the same sign
    assert all(p.grad is None for p in net.parameters())  # the deltas left .grad alone


def test_sigmoid_output_delta_matches_the_classic_formula():
    """δ_k = (t_k − o_k)·o_k(1 − o_k) for a sigmoid output under E = ½Σ(t − o)²."""
    mg.manual_seed(1)
    net = mg.nn.MLP([2, 3, 1], activation="sigmoid", output_activation="sigmoid")
    x, t = np.array([1.0, 0.5]), 1.0
    src = mg.viz.draw_network(net, activations=x,
                              deltas=lambda o: 0.5 * ((t - o) ** 2).sum()).source
    with mg.no_grad():
        o = float(net(mg.tensor(x[None])).item())
    d = float(re.search(r"δ = −∂E/∂net = ([-\d.e]+)", dot_nodes(src)["n2_0"]).group(1))
    assert d == pytest.approx((t - o) * o * (1 - o), rel=1e-4) and d > 0


def test_network_source_names_its_layout_engine_and_has_a_legend():
    src = mg.viz.draw_network(make_mlp([2, 2, 1]), activations=[1.0, 0.0],
                              deltas=lambda out: out.sum()).source
    assert "layout=neato" in src  # so 'dot -Tsvg network.gv' keeps the pinned positions
    legend = dot_nodes(src)["legend"]
    assert "weight &gt; 0" in legend and "activation" in legend and "−∂E/∂net" in legend


def test_explicit_deltas_and_errors():
    net = make_mlp([2, 2, 1])
    src = mg.viz.draw_network(net, deltas=[np.array([0.5, -0.5]), np.array([1.0])]).source
    assert "δ 0.5" in src and "δ -0.5" in src
    with pytest.raises(ValueError, match="one per layer"):
        mg.viz.draw_network(net, deltas=[np.array([1.0])])
    with pytest.raises(ValueError, match="needs activations"):
        mg.viz.draw_network(net, deltas=lambda out: out.sum())
    with pytest.raises(ValueError, match="3 values"):
        mg.viz.draw_network(net, activations=[1.0, 2.0, 3.0])
    with pytest.raises(TypeError):
        mg.viz.draw_network(object())


@needs_dot
def test_network_renders():
    svg = mg.viz.draw_network(make_mlp([2, 4, 1]), activations=[0.0, 1.0]).pipe(format="svg")
    assert b"hidden 1" in svg
