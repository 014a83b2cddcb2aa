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
        assert len(current) == 1 and f"label={op} " in current[0]


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
    assert "2 contributions, complete" in a_node
    mid = [f.source for f in frames if "1 of 2 contributions" in f.source]
    assert mid, "a partial sum should be visible before the second contribution arrives"
    # the sum shown equals the real gradient
    L.backward(retain_graph=True)
    assert f"= {float(a.grad.item()):.4g}" in a_node


def test_current_step_labels_the_gradients_it_passes():
    a, b, L = _example()
    frames = mg.viz.backward_frames(L)
    mul_frame = next(f for f in frames if (f.caption or "").startswith("Step 3 of 3: mul"))
    red = re.findall(r'label="∂(\d): ([^"]+)"', mul_frame.source)
    assert [i for i, _ in red] == ["0", "1"]
    assert len(dot_edges(mul_frame.source)) == len(dot_edges(frames[0].source))


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
