"""autograd.graph: the read-only walks shared by the engine and viz."""

from __future__ import annotations

import random

import numpy as np
import pytest

import microgradnet as mg
from microgradnet.autograd import engine
from microgradnet.autograd.graph import (
    count_consumers,
    iter_edges,
    leaves,
    postorder,
    topological_order,
)


def leaf(name: str, value: float = 1.0) -> mg.Tensor:
    return mg.tensor(value, requires_grad=True, name=name)


def labels(objs: list) -> list[str]:
    return [o.name if o._is_tensor else o.op_name for o in objs]


def test_the_engine_uses_this_count_consumers():
    assert engine.count_consumers is count_consumers


def test_chain_in_forward_order():
    x = leaf("x")
    y = (x * 2.0).exp().sum()
    assert labels(postorder([y])) == ["x", "mul", "exp", "sum"]
    assert labels(topological_order([y])) == ["mul", "exp", "sum"]
    assert leaves([y]) == [x]


def test_diamond_visits_the_shared_node_once_before_both_users():
    x = leaf("x")
    a = x.exp()
    left, right = a.sin(), a.cos()
    z = left + right
    order = postorder([z])
    assert labels(order) == ["x", "exp", "sin", "cos", "add"]
    assert [o for o in order if o is a.grad_fn] == [a.grad_fn]
    # The other argument order puts the other branch first: inputs in argument order.
    assert labels(postorder([right + left])) == ["x", "exp", "cos", "sin", "add"]


def test_reuse_and_order_of_arguments():
    a, b = leaf("a"), leaf("b")
    ba = b * a
    baa = ba * a
    y = baa + b
    assert postorder([y]) == [b, a, ba.grad_fn, baa.grad_fn, y.grad_fn]
    assert leaves([y]) == [b, a]
    assert count_consumers([y.grad_fn]) == {ba.grad_fn: 1, baa.grad_fn: 1}


def test_consumer_counts_on_a_diamond_count_edges_not_nodes():
    x = leaf("x")
    a = x.exp()
    z = a * a + a.sin()  # a: twice by mul, once by sin
    deps = count_consumers([z.grad_fn])
    assert deps[a.grad_fn] == 3
    assert z.grad_fn not in deps  # nobody consumes the root
    assert all(not n._is_tensor for n in deps)  # leaves are not counted
    assert sorted(deps.values()) == [1, 1, 3]


def test_multi_output_node_appears_once_and_edges_name_the_output():
    x = mg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True, name="x")
    p, q = mg.split(x, 2)
    y = (q * 3.0 + p).sum()
    split = p.grad_fn
    assert q.grad_fn is split
    ops = topological_order([y])
    assert [n.op_name for n in ops].count(split.op_name) == 1
    assert ops.index(split) < ops.index(y.grad_fn)
    mul = (q * 3.0).grad_fn
    assert [(t is split, k, s) for t, k, s in iter_edges(mul)] == [(True, 1, (2,))]
    assert count_consumers([y.grad_fn])[split] == 2  # one edge per used output
    assert leaves([y]) == [x]


def test_roots_may_be_tensors_or_nodes_and_several():
    x, w = leaf("x"), leaf("w")
    y1, y2 = x * w, x.exp()
    assert postorder([y1, y2]) == postorder([y1.grad_fn, y2.grad_fn])
    assert labels(postorder([y1, y2])) == ["x", "w", "mul", "exp"]
    assert labels(postorder([y2, y1])) == ["x", "exp", "w", "mul"]
    assert postorder([x]) == [x] and leaves([x]) == [x] and topological_order([x]) == []


def test_constants_are_not_edges():
    x = leaf("x")
    node = (x * mg.tensor(2.0)).grad_fn  # the constant argument has a None edge
    assert node.next_functions[1] is None
    assert [e[0] for e in iter_edges(node)] == [x]
    assert list(iter_edges(x)) == []
    assert leaves([node]) == [x]


def test_random_graphs_are_topologically_ordered_and_deterministic():
    rng = random.Random(0)
    for _ in range(20):
        pool = [leaf(f"l{i}", 0.5) for i in range(3)]
        for _ in range(rng.randrange(1, 25)):
            a, b = rng.choice(pool), rng.choice(pool)
            pool.append(a * b if rng.random() < 0.5 else a.sin())
        roots = [pool[-1], rng.choice(pool)]
        order = postorder(roots)
        assert order == postorder(roots)
        pos = {id(o): i for i, o in enumerate(order)}
        assert len(pos) == len(order)  # nothing twice
        for o in order:
            if not o._is_tensor:
                assert all(pos[id(t)] < pos[id(o)] for t, _, _ in iter_edges(o))
        # count_consumers agrees with counting the edges between reachable nodes by hand.
        nodes = [r.grad_fn for r in roots if r.grad_fn is not None]
        expected: dict = {}
        for n in topological_order(nodes):
            for t, _, _ in iter_edges(n):
                if not t._is_tensor:
                    expected[t] = expected.get(t, 0) + 1
        assert count_consumers(nodes) == expected
        assert count_consumers(nodes + nodes) == expected  # repeated roots count once


def test_a_100000_op_chain_needs_no_recursion():
    x = leaf("x")
    y = x
    for _ in range(100_000):
        y = y * 1.0
    order = postorder([y])  # a recursive walk would blow Python's ~1000-frame limit
    assert len(order) == 100_001 and order[0] is x and order[-1] is y.grad_fn
    assert len(topological_order([y])) == 100_000
    assert leaves([y]) == [x]
    deps = count_consumers([y.grad_fn])
    assert len(deps) == 99_999 and set(deps.values()) == {1}


def test_walks_reject_what_is_not_a_tensor_or_node():
    with pytest.raises(TypeError, match="postorder: .*list"):
        postorder([[1.0]])


# -- the public read API for one node --------------------------------------------------------------
def test_node_read_api_reports_name_inputs_saved_values_and_freeing():
    from microgradnet.autograd import graph

    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * mg.tensor(3.0)  # a tensor factor: mul saves x for its derivative (not for a number)
    y = h.exp()
    node = y.grad_fn
    assert graph.op_name(node) == "exp"
    (edge,) = graph.inputs(node)
    assert edge[0] is h.grad_fn and edge[1] == 0 and edge[2] == (2,)
    assert graph.num_outputs(node) == 1
    assert graph.output_meta(node) == (((2,), np.dtype(np.float32)),)
    np.testing.assert_allclose(graph.saved_output(node), np.exp([3.0, 6.0]), rtol=1e-6)
    assert graph.saved_values(h.grad_fn)[0] is x
    assert graph.call_site(h.grad_fn) is not None and "test_graph.py" in graph.call_site(h.grad_fn)
    assert not graph.saved_freed(node)
    y.sum().backward()
    assert graph.saved_freed(node) and graph.saved_values(h.grad_fn) == ()


def test_node_read_api_reports_retained_tensors_hooks_and_multi_output_meta():
    from microgradnet.autograd import graph

    x = mg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    a, b = mg.split(x, 2)
    assert graph.num_outputs(a.grad_fn) == 2
    assert graph.output_meta(a.grad_fn) == (((2,), np.dtype(np.float32)),) * 2
    assert graph.output_meta((a * 2).grad_fn) == (None,)
    b.retain_grad()
    h = b.register_hook(print)
    assert graph.retained_tensors(b.grad_fn) == {1: b}
    assert graph.hooks(b.grad_fn) == {1: [print]}
    h.remove()
    assert graph.hooks(b.grad_fn) == {}
    assert graph.retained_tensors((a * 2).grad_fn) == {}
