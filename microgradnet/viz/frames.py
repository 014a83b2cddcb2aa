"""The backward sweep, step by step: ``backward_frames`` and ``save_frames``.

The frames come from the engine itself: a step observer (``engine.observe_sweep``) records
every node the real sweep processes, in the engine's order, with the gradient that arrived at
it and the gradients it passed to its inputs. Nothing here re-implements the walk.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from microgradnet.autograd import engine
from microgradnet.autograd.api import grad as _grad
from microgradnet.autograd.graph import leaves as _leaves
from microgradnet.autograd.graph import retained_tensors, topological_order
from microgradnet.tensor import Tensor
from microgradnet.viz import style
from microgradnet.viz.graph import GraphModel, build_graph, render_model
from microgradnet.viz.render import Diagram, RendererNotFound

__all__ = ["backward_frames", "save_frames", "sweep_steps"]


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


def _sum_to(arr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A broadcast gradient summed back to ``shape`` (as the engine does before routing it)."""
    if arr.shape == shape:
        return arr
    lead = arr.ndim - len(shape)
    if lead > 0:
        arr = arr.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and arr.shape[i] != 1)
    return arr.sum(axis=axes, keepdims=True) if axes else arr


def _grad_lines(contribs: list[np.ndarray], uses: int) -> list[str]:
    """'grad 0.5 + 1.5 = 2' for tiny tensors; a summary of the sum otherwise."""
    total = contribs[0] if len(contribs) == 1 else np.sum(contribs, axis=0)
    if len(contribs) == 1 and uses <= 1:
        return ["grad " + style.describe_array(total)]
    done = len(contribs) >= uses
    head = (f"grad: {len(contribs)} contributions, complete" if done
            else f"grad so far: {len(contribs)} of {uses} contributions")
    if all(c.size <= 3 for c in contribs):
        parts = " + ".join(style.describe_array(c) for c in contribs)
        return [head, f"{parts} = {style.describe_array(total)}"]
    return [head, "sum " + style.describe_array(total)]


def backward_frames(
    output: Tensor,
    gradient: Any = None,
    params: Any = None,
    show_data: bool = True,
    rankdir: str = "LR",
) -> list[Diagram]:
    """Diagrams of the backward sweep, one per step, for teaching.

    Frame 0 shows the graph before the sweep with the seed gradient at the output; frame k
    highlights the k-th node the engine processes (in the engine's own order), the gradient
    that arrived at it, and the gradients it passes to its inputs (red edges). A tensor used
    more than once shows its contributions adding up before it propagates. ``.grad`` values
    are left as they were; the graph must not have been freed by ``backward()`` yet.

    >>> import microgradnet as mg
    >>> a = mg.tensor(2.0, requires_grad=True)
    >>> frames = mg.viz.backward_frames(a * a + a)
    >>> len(frames)   # before the sweep, then mul and add... in the engine's order
    3
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"backward_frames: output must be a Tensor, got {type(output).__name__}")
    if output.grad_fn is None:
        raise RuntimeError("backward_frames: the output has no grad_fn (it is a leaf or was "
                           "computed without grad), so there is no sweep to show")
    steps = sweep_steps([output], gradient)
    model = build_graph(output, params=params)
    op_of = {id(it.obj): it.id for it in model.items.values() if it.kind == "op"}
    tensor_of: dict[tuple[int, int], str] = {}
    uses: dict[str, int] = {}
    for it in model.items.values():
        if it.kind != "op":
            key = (id(it.obj), -1 if it.kind in ("input", "parameter") else it.out_nr)
            tensor_of[key] = it.id
    for src, dst, _ in model.edges:
        if model.items[dst].kind == "op":
            uses[src] = uses.get(src, 0) + 1
    out_id = model.outputs[0]
    seed = (np.ones(output.data.shape, output.data.dtype) if gradient is None
            else np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient))
    contribs: dict[str, list[np.ndarray]] = {out_id: [seed]}
    uses[out_id] = 1
    n = len(steps)
    frames = [_frame(model, contribs, uses, set(), None, {}, show_data, rankdir,
                     f"Before the backward sweep: the seed gradient d(output)/d(output) = "
                     f"{style.describe_array(seed)} waits at the output ({n} ops to go)")]
    done: set[str] = set()
    for k, (node, grads_in, grads_out) in enumerate(steps, start=1):
        op_id = op_of[id(node)]
        edge_labels: dict[tuple[str, str], str] = {}
        for i, (edge, g) in enumerate(zip(node.next_functions, grads_out)):
            if edge is None or g is None:
                continue
            target, out_nr, shape = edge
            src = tensor_of[(id(target), -1) if target._is_tensor else (id(target), out_nr)]
            arr = _sum_to(np.asarray(g.data), tuple(shape))
            contribs.setdefault(src, []).append(arr)
            edge_labels[(src, op_id)] = f"∂{i}: {style.describe_array(arr)}"
        arrived = ", ".join(style.describe_array(np.asarray(g.data)) for g in grads_in
                            if g is not None)
        title = (f"Step {k} of {n}: {node.op_name} receives grad {arrived} and passes "
                 f"{len(edge_labels)} gradient{'s' if len(edge_labels) != 1 else ''} back "
                 f"(rule {type(node).backward.__qualname__})")
        frames.append(_frame(model, contribs, uses, done, op_id, edge_labels, show_data,
                             rankdir, title))
        done.add(op_id)
    return frames


def _frame(model: GraphModel, contribs: dict[str, list[np.ndarray]], uses: dict[str, int],
           done: set[str], current: str | None, edge_labels: dict[tuple[str, str], str],
           show_data: bool, rankdir: str, title: str) -> Diagram:
    overrides: dict[str, dict[str, Any]] = {d: dict(style.DONE_OP) for d in done}
    if current is not None:
        overrides[current] = dict(style.CURRENT)
    lines = {tid: _grad_lines(c, uses.get(tid, 1)) for tid, c in contribs.items() if c}
    for it in model.items.values():
        if it.kind in ("input", "parameter", "intermediate") and it.id not in lines:
            lines[it.id] = ["grad " + style.NOT_COMPUTED]
    g = render_model(model, show_data=show_data, rankdir=rankdir, overrides=overrides,
                     extra_lines=lines, edge_labels=edge_labels, title=title,
                     group_modules=False)
    g.caption = title  # type: ignore[attr-defined]
    return g


# -- writing the frames -------------------------------------------------------------------------

_XML_HEAD = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_ID = re.compile(r'(\bid="|xlink:href="#|href="#|url\(#)')

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 1em; }}
.controls {{ display: flex; gap: .6em; align-items: center; margin-bottom: .6em; }}
input[type=range] {{ flex: 1; max-width: 40em; }}
.frame {{ display: none; }} .frame.on {{ display: block; }}
.frame svg, .frame img {{ max-width: 100%; height: auto; }}
.caption {{ color: #333; margin: .3em 0 .8em; min-height: 2.4em; }}
</style></head>
<body>
<h1>{title}</h1>
<div class="controls">
<button id="prev" type="button">&#9664; back</button>
<input id="slider" type="range" min="0" max="{last}" value="0" aria-label="step">
<button id="next" type="button">next &#9654;</button>
<span id="counter">0 / {last}</span>
</div>
{frames}
<script>
(function () {{
  var frames = document.querySelectorAll('.frame');
  var slider = document.getElementById('slider');
  var counter = document.getElementById('counter');
  function show(k) {{
    k = Math.max(0, Math.min(frames.length - 1, k));
    for (var i = 0; i < frames.length; i++) frames[i].classList.toggle('on', i === k);
    slider.value = k; counter.textContent = k + ' / ' + (frames.length - 1);
  }}
  slider.addEventListener('input', function () {{ show(+slider.value); }});
  document.getElementById('prev').onclick = function () {{ show(+slider.value - 1); }};
  document.getElementById('next').onclick = function () {{ show(+slider.value + 1); }};
  document.addEventListener('keydown', function (e) {{
    if (e.key === 'ArrowLeft') show(+slider.value - 1);
    if (e.key === 'ArrowRight') show(+slider.value + 1);
  }});
  show(0);
}})();
</script>
</body></html>
"""


def _inline_svg(svg: str, prefix: str) -> str:
    """An SVG document made embeddable: no XML header, ids unique within the page."""
    svg = _XML_HEAD.sub("", svg, count=1)
    return _ID.sub(lambda m: m.group(1) + prefix, svg)


def save_frames(frames: Sequence[Any], path: str | Path, format: str = "svg",  # noqa: A002
                html_page: bool = True, title: str = "The backward sweep, step by step"
                ) -> list[Path]:
    """Write ``frame_000.svg``, ``frame_001.svg``, ... and ``index.html``, a page with a slider.

    ``path`` is a directory, or a ``.html`` file (the frames go next to it). The HTML page is
    self-contained (frames embedded, a few lines of plain JavaScript, no network). Without a
    renderer the DOT sources (``frame_000.gv``, ...) are written and ``RendererNotFound``
    says how to install one. Returns the paths written.

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
        caption = html.escape(getattr(fr, "caption", "") or f"frame {k}")
        if format == "svg":
            body = _inline_svg(data.decode("utf-8"), f"f{k}_")
        else:
            body = (f'<img alt="frame {k}" src="data:image/png;base64,'
                    f'{base64.b64encode(data).decode("ascii")}">')
        blocks.append(f'<div class="frame" id="frame{k}"><p class="caption">{caption}</p>\n'
                      f"{body}\n</div>")
    if html_page:
        page.write_text(_PAGE.format(title=html.escape(title), last=len(frames) - 1,
                                     frames="\n".join(blocks)), encoding="utf-8")
        written.append(page)
    return written
