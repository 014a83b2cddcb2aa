"""Rendering: real Graphviz ``dot`` when it is installed, else the pip-installable fallback.

Building a diagram and its DOT source never needs an executable. Rendering (``.pipe()``,
``.render()``, Jupyter display) looks for a renderer when it is asked for, in this order:

1. ``dot`` on ``PATH`` (the Graphviz package: every format, the reference layout);
2. the ``graphviz-pure`` binary (``pip install 'microgradnet[render]'``: a Rust port of dot in
   a wheel, installs in a second without root, renders SVG and PNG but not PDF);
3. otherwise :class:`RendererNotFound`, an error that says how to install either.

Why this order: ``dot`` is the reference and does every format, but needs a system package;
the wheel makes ``microgradnet demo`` draw out of the box where no system package can be added.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import graphviz
from graphviz.backend import dot_command

__all__ = ["Diagram", "RendererNotFound", "find_renderer"]

PURE_FORMATS = frozenset({"svg", "png", "jpg", "jpeg", "jpe", "json", "json0", "dot", "gv",
                          "xdot", "plain", "plain-ext", "canon", "dot_json", "xdot_json"})

INSTALL_HINT = (
    "Install Graphviz to render it: 'apt install graphviz' (Debian/Ubuntu), 'brew install "
    "graphviz' (macOS), 'conda install graphviz' or https://graphviz.org/download/; or, without "
    "root, pip install 'microgradnet[render]' (the graphviz-pure renderer: SVG and PNG only). "
    "The DOT source is always available as diagram.source (diagram.save('x.gv') writes it)."
)


class RendererNotFound(graphviz.ExecutableNotFound):
    """No Graphviz renderer could be found (or it cannot produce the requested format).

    >>> issubclass(mg.viz.RendererNotFound, RuntimeError)  # catch it to fall back to DOT text
    True
    """

    def __init__(self, message: str) -> None:
        RuntimeError.__init__(self, message)

    def __str__(self) -> str:
        return str(self.args[0])


def _pure_binary() -> str | None:
    """The graphviz-pure executable installed with this Python, or on PATH."""
    names = ("graphviz-pure.exe", "graphviz-pure") if os.name == "nt" else ("graphviz-pure",)
    dirs = [sysconfig.get_path("scripts"), os.path.dirname(sys.executable)]
    for d in dirs:
        for n in names:
            p = os.path.join(d, n) if d else None
            if p and os.path.isfile(p) and os.access(p, os.X_OK):
                return p
    return shutil.which("graphviz-pure")


def find_renderer() -> tuple[str, str] | None:
    """``(kind, path)`` of the renderer that would be used: ``"dot"`` or ``"graphviz-pure"``.

    >>> find_renderer() is None or find_renderer()[0] in ("dot", "graphviz-pure")
    True
    """
    dot = shutil.which("dot")
    if dot:
        return ("dot", dot)
    pure = _pure_binary()
    if pure:
        return ("graphviz-pure", pure)
    return None


@contextlib.contextmanager
def _renderer(fmt: str | None) -> Iterator[str]:
    """Point the graphviz package at our renderer for one call; clear errors when there is none."""
    found = find_renderer()
    if found is None:
        raise RendererNotFound("cannot render the diagram: the Graphviz 'dot' executable was "
                               "not found. " + INSTALL_HINT)
    kind, path = found
    if kind == "dot":
        yield kind
        return
    base = (fmt or "pdf").split(":")[0]
    if base not in PURE_FORMATS:
        raise RendererNotFound(
            f"cannot render format {base!r}: only the graphviz-pure fallback renderer is "
            "installed and it renders SVG and PNG (not PDF or GIF). Install Graphviz for other "
            "formats ('apt install graphviz', 'brew install graphviz' or "
            "https://graphviz.org/download/), or ask for format='svg' or 'png'."
        )
    prev = dot_command.DOT_BINARY
    dot_command.DOT_BINARY = Path(path)
    try:
        yield kind
    finally:
        dot_command.DOT_BINARY = prev


class Diagram(graphviz.Digraph):
    """A ``graphviz.Digraph`` that renders with whichever renderer is installed.

    Displays inline in Jupyter (as SVG) like any ``Digraph``.

    >>> d = mg.viz.Diagram()
    >>> d.edge("x", "y")
    >>> "x -> y" in d.source
    True
    """

    def pipe(self, format: str | None = None, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        with _renderer(format or self.format) as kind:
            if kind != "dot":  # the fallback warns about font metrics on every label: noise
                kwargs.setdefault("quiet", True)
            try:
                return super().pipe(format, *args, **kwargs)
            except graphviz.ExecutableNotFound as exc:  # the binary vanished after the lookup
                raise RendererNotFound(f"cannot render the diagram ({exc}). "
                                       + INSTALL_HINT) from None

    def render(self, *args: Any, **kwargs: Any) -> Any:
        with _renderer(kwargs.get("format") or self.format) as kind:
            if kind != "dot":
                kwargs.setdefault("quiet", True)
            return super().render(*args, **kwargs)
