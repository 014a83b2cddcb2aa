"""``F.fused(False)``: linear and the losses record elementary ops, with the same values and
gradients as the fused nodes."""

from __future__ import annotations

import numpy as np
import pytest

import microgradnet as mg
import microgradnet.functional as F
from microgradnet.autograd.graph import topological_order

rng = np.random.default_rng(0)
X = rng.normal(size=(4, 3))
P = 1 / (1 + np.exp(-rng.normal(size=(4, 3))))
T = rng.uniform(size=(4, 3))
LABELS = np.array([0, 2, 1, 2])


def _cases():
    yield "linear", lambda x: F.linear(x, mg.tensor(X[:2].copy()), mg.tensor(X[0, :2].copy()))
    yield "linear_nobias", lambda x: F.linear(x, mg.tensor(X[:2].copy()))
    for red in ("mean", "sum", "none"):
        yield f"mse_{red}", lambda x, r=red: F.mse_loss(x, mg.tensor(T), reduction=r)
        yield f"sse_{red}", lambda x, r=red: F.sse_loss(x, mg.tensor(T), reduction=r)
        yield f"ce_{red}", lambda x, r=red: F.cross_entropy(x, mg.tensor(LABELS), reduction=r)
        yield f"bce_{red}", lambda x, r=red: F.binary_cross_entropy(
            x.sigmoid(), mg.tensor(T), weight=mg.tensor(P), reduction=r)
        yield f"bcel_{red}", lambda x, r=red: F.binary_cross_entropy_with_logits(
            x, mg.tensor(T), pos_weight=mg.tensor(P[0]), reduction=r)
    yield "ce_smooth_probs", lambda x: F.cross_entropy(x, mg.tensor(T / T.sum(1, keepdims=True)),
                                                       label_smoothing=0.1)


@pytest.mark.parametrize("name,fn", list(_cases()), ids=[c[0] for c in _cases()])
def test_unfused_matches_fused(name, fn):
    x1 = mg.tensor(X.copy(), requires_grad=True)
    y1 = fn(x1)
    y1.sum().backward()
    x2 = mg.tensor(X.copy(), requires_grad=True)
    with F.fused(False):
        y2 = fn(x2)
    fused_ops = {"linear", "crossentropy", "squarederror", "binarycrossentropy", "bcewithlogits"}
    assert {n.op_name for n in topological_order([y1])} & fused_ops
    assert not {n.op_name for n in topological_order([y2])} & fused_ops
    y2.sum().backward()
    np.testing.assert_allclose(y2.data, y1.data, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x2.grad.data, x1.grad.data, rtol=1e-9, atol=1e-12)


def test_mlp_shows_the_net_input_as_its_own_node():
    mg.manual_seed(0)
    model = mg.nn.MLP([2, 3, 1], activation="sigmoid")
    x = mg.tensor([[0.5, -1.0]])
    with F.fused(False):
        out = model(x)
        assert F._FUSED[0] is False
    assert F._FUSED[0] is True
    names = [n.op_name for n in topological_order([out])]
    assert "linear" not in names and "matmul" in names and "add" in names
    src = mg.viz.draw_graph(out).source
    assert "<B>net</B>" in src
