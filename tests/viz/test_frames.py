"""backward_frames follows the engine's own sweep; save_frames writes files and one HTML page."""

from __future__ import annotations

import re

import numpy as np
import pytest

import microgradnet as mg
from microgradnet.autograd import engine
from microgradnet.viz import render
from tests.viz.helpers import dot_edges, dot_nodes, function_nodes, needs_dot


def _example():
    a = mg.tensor(2.0, requires_grad=True, name="a")
    b = mg.tensor(-3.0, requires_grad=True, name="b")
    return a, b, (a * b + a).tanh()


def _engine_order(out):
    seen = []
    with engine.observe_sweep(lambda node, gi, go: seen.append(node.op_name)):
        out.backward(retain_graph=True)
    return seen


def test_one_frame_per_node_the_engine_visits_plus_the_start():
    x = mg.tensor(np.array([0.5, -1.0]), requires_grad=True, name="x")
    w = mg.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True, name="w")
    out = ((x @ w).tanh() * x + x.exp()).sum()
    frames = mg.viz.backward_frames(out)
    visited = _engine_order(out)
    assert len(frames) == len(visited) + 1 == len(function_nodes(out)) + 1
    titles = [f.caption for f in frames]
    assert titles[0].startswith("Before the backward sweep")
    for k, op in enumerate(visited, start=1):
        assert titles[k].startswith(f"Step {k} of {len(visited)}: {op} ")
        current = [v for v in dot_nodes(frames[k].source).values() if "#ffe680" in v]
        assert len(current) == 1 and f"label=<<B>{op}</B>" in current[0]


def test_frames_leave_grad_alone():
    a, b, L = _example()
    frames = mg.viz.backward_frames(L)
    assert a.grad is None and b.grad is None
    L.backward(retain_graph=True)
    ga, gb = a.grad.data.copy(), b.grad.data.copy()
    mg.viz.backward_frames(L)
    assert np.array_equal(a.grad.data, ga) and np.array_equal(b.grad.data, gb)
    assert len(frames) == 4


def test_retained_intermediate_grad_is_restored():
    a = mg.tensor(1.5, requires_grad=True)
    h = a * a
    h.retain_grad()
    out = h.tanh()
    mg.viz.backward_frames(out)
    assert h.grad is None


def test_reuse_shows_contributions_adding_up():
    a, b, L = _example()
    frames = mg.viz.backward_frames(L)
    last = frames[-1].source
    a_node = next(v for v in dot_nodes(last).values() if "<B>a</B>" in v)
    assert "∂E/∂a: all 2 contributions" in a_node
    mid = [f.source for f in frames if "∂E/∂a so far: 1 of 2 contributions" in f.source]
    assert mid, "a partial sum should be visible before the second contribution arrives"
    # the sum shown equals the real gradient
    L.backward(retain_graph=True)
    assert f"= {float(a.grad.item()):.4g}" in a_node


def test_current_step_labels_the_gradients_it_passes():
    a, b, L = _example()
    frames = mg.viz.backward_frames(L)
    mul_frame = next(f for f in frames if (f.caption or "").startswith("Step 3 of 3: mul"))
    red = re.findall(r'label="∂E/∂(\w+) = ([^"]+)"', mul_frame.source)
    g = 1 - float(L.item()) ** 2  # what reaches mul: d tanh, then add passes it on
    assert red == [("a", f"{-3.0 * g:.4g}"), ("b", f"{2.0 * g:.4g}")]
    assert len(dot_edges(mul_frame.source)) == len(dot_edges(frames[0].source))


def test_current_node_shows_the_chain_rule_with_its_numbers():
    a = mg.tensor(0.5, requires_grad=True, name="a")
    out = a.tanh()
    frames = mg.viz.backward_frames(out)
    cur = next(v for v in dot_nodes(frames[1].source).values() if "#ffe680" in v)
    local = 1 - np.tanh(0.5) ** 2
    assert "∂E/∂E = 1" in cur  # the upstream gradient
    assert f"× local ∂E/∂a = 1 − tanh² = 1 − E² = {local:.4g}" in cur
    assert f"→ passes {local:.4g} to a" in cur
    # a tensor used twice shows the sum being formed, then the total
    b = mg.tensor(3.0, requires_grad=True, name="b")
    frames = mg.viz.backward_frames(b * b + b)
    texts = [dot_nodes(f.source)["t0"] for f in frames]
    assert any("∂E/∂b so far: 1 of 3 contributions" in t for t in texts)
    assert "∂E/∂b: all 3 contributions" in texts[-1] and "= 7" in texts[-1]


def test_tooltips_say_what_the_labels_say_at_every_frame():
    a, b, L = _example()
    for f in mg.viz.backward_frames(L):
        for attrs in dot_nodes(f.source).values():
            label = re.sub(r"<[^>]*>", "\n", re.search(r"label=<(.*?)> ", attrs).group(1))
            tip = re.search(r'tooltip="((?:[^"\\]|\\.)*)"', attrs).group(1).replace("\\n", "\n")
            lines = [x for x in label.split("\n") if x]
            assert lines and all(x in tip for x in lines), (lines, tip)
            assert "grad: " not in tip  # never a .grad read at drawing time


def test_freed_graph_and_leaf_outputs_are_clear_errors():
    a, b, L = _example()
    L.backward()
    with pytest.raises(RuntimeError, match="before calling backward"):
        mg.viz.backward_frames(L)
    with pytest.raises(RuntimeError, match="no grad_fn"):
        mg.viz.backward_frames(a)


def test_save_frames_writes_numbered_files_and_a_self_contained_page(tmp_path):
    if render.find_renderer() is None:
        pytest.skip("no Graphviz renderer installed")
    a, b, L = _example()
    frames = mg.viz.backward_frames(L)
    written = mg.viz.save_frames(frames, tmp_path / "sweep")
    names = sorted(p.name for p in written)
    assert names == ["frame_000.svg", "frame_001.svg", "frame_002.svg", "frame_003.svg",
                     "index.html"]
    page = (tmp_path / "sweep" / "index.html").read_text()
    assert page.count('class="frame"') == 4 and 'type="range"' in page
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from a network
    assert "<script src" not in page and "<link" not in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # frames' SVG ids made unique within the page


def test_save_frames_png_and_html_file_target(tmp_path):
    if render.find_renderer() is None:
        pytest.skip("no Graphviz renderer installed")
    frames = mg.viz.backward_frames(_example()[2])
    written = mg.viz.save_frames(frames, tmp_path / "steps.html", format="png")
    assert (tmp_path / "frame_000.png").read_bytes().startswith(b"\x89PNG")
    page = (tmp_path / "steps.html").read_text()
    assert page.count("data:image/png;base64,") == 4 and written[-1].name == "steps.html"
    with pytest.raises(ValueError, match="format"):
        mg.viz.save_frames(frames, tmp_path, format="gif")


def test_save_frames_without_a_renderer_writes_sources(tmp_path, monkeypatch):
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    monkeypatch.setattr(render, "_pure_binary", lambda: None)
    frames = mg.viz.backward_frames(_example()[2])
    with pytest.raises(render.RendererNotFound, match="wrote the DOT sources"):
        mg.viz.save_frames(frames, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"frame_00{k}.gv" for k in range(4)]


@needs_dot
def test_frames_render_with_dot():
    for f in mg.viz.backward_frames(_example()[2]):
        assert b"<svg" in f.pipe(format="svg")


def _node_boxes(svg: str) -> dict[str, str]:
    """node id -> the geometry of its outline, read from a rendered SVG frame."""
    out = {}
    for m in re.finditer(r'<g id="[^"]*" class="node[^"]*">\s*<title>([^<]+)</title>(.*?)</g>',
                         svg, re.DOTALL):
        shape = re.search(r'<(?:polygon|path|ellipse)[^>]*?(?:points|d|cx)="([^"]+)"', m.group(2))
        out[m.group(1)] = shape.group(1) if shape else ""
    return out


@needs_dot
def test_every_frame_has_the_same_layout():
    x = mg.tensor(np.array([0.5, -1.0]), requires_grad=True, name="x")
    w = mg.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True, name="w")
    out = ((x @ w).tanh() * x + x.exp()).sum()
    frames = mg.viz.backward_frames(out, rankdir="TB")
    boxes = [_node_boxes(f.pipe(format="svg").decode()) for f in frames]
    assert len(boxes[0]) == len(dot_nodes(frames[0].source)) > 5
    for b in boxes[1:]:
        assert b == boxes[0]  # stepping moves nothing: the same outline at the same place
    sizes = {re.search(r'<svg width="([^"]+)" height="([^"]+)"', f.pipe(format="svg").decode())
             .groups() for f in frames}
    assert len(sizes) == 1
    assert "label=" not in frames[1].source.split("\n")[1]  # no caption inside the picture


def test_the_layout_runs_once_and_the_builder_is_linear(monkeypatch):
    from microgradnet.viz import frames as fr

    def chain(n):
        x = mg.tensor(0.1, requires_grad=True, name="x")
        y = x
        for _ in range(n):
            y = y * 1.001
        return y

    calls = []
    real = fr._Sweep.do_layout
    monkeypatch.setattr(fr._Sweep, "do_layout", lambda self: calls.append(1) or real(self))
    counted = {"n": 0}
    real_set = fr._Sweep.set_node

    def counting(self, *args):
        counted["n"] += 1
        return real_set(self, *args)

    monkeypatch.setattr(fr._Sweep, "set_node", counting)
    f100 = mg.viz.backward_frames(chain(100))
    n100 = counted["n"]
    counted["n"] = 0
    mg.viz.backward_frames(chain(200))
    n200 = counted["n"]
    assert calls == [1, 1]  # one layout per call, whatever the number of frames
    assert len(f100) == 101
    assert 1.8 < n200 / n100 < 2.2  # work per step is constant: linear in the graph's size
    # a 1,000-op chain with max_nodes: a handful of frames, built in well under a few seconds
    import time

    t = time.perf_counter()
    frames = mg.viz.backward_frames(chain(1000), max_nodes=30)
    assert time.perf_counter() - t < 5
    assert len(frames) < 20
    assert any("collapsed chain" in f.caption for f in frames)
    assert all(len(dot_nodes(f.source)) <= 30 for f in frames[:2])


def test_page_is_addressable_zoomable_and_steps_with_the_keyboard(tmp_path):
    if render.find_renderer() is None:
        pytest.skip("no Graphviz renderer installed")
    mg.viz.save_frames(mg.viz.backward_frames(_example()[2]), tmp_path)
    page = (tmp_path / "index.html").read_text()
    assert "#step=" in page and "location.hash" in page  # index.html#step=5 opens step 5
    assert "ArrowRight" in page and "ArrowLeft" in page
    assert 'id="zoomin"' in page and 'id="fit"' in page and "wheel" in page
    assert page.count("data-caption=") == 4
    assert "12 / minFont" in page  # the default zoom keeps the smallest text at 12 px


def test_a_named_output_is_the_symbol_of_the_chain_rule():
    a = mg.tensor(0.5, requires_grad=True, name="a")
    L = a.tanh()
    L.name = "L"
    frames = mg.viz.backward_frames(L)
    assert "∂L/∂a" in frames[1].source and "∂E/∂" not in frames[1].source
    assert "∂L/∂L = 1" in frames[0].caption
