"""Sphinx extension: equations become MathML when the site is built, so they render offline.

Browsers draw MathML natively (no script, no network): the page needs nothing from a CDN,
unlike MathJax. The LaTeX is converted with ``latex2mathml`` (pure Python, the docs extra);
numbered equations (``$$ ... $$ (label)`` in MyST) get their number on the right, as usual.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from latex2mathml.converter import convert
from sphinx.locale import _
from sphinx.util.math import get_node_equation_number


def _mathml(latex: str, display: str) -> str:
    return convert(latex.strip(), display=display)


def visit_inline(self: Any, node: nodes.math) -> None:
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate nohighlight"))
    self.body.append(_mathml(node.astext(), "inline") + "</span>")
    raise nodes.SkipNode


def visit_block(self: Any, node: nodes.math_block) -> None:
    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node["number"]:
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    parts = [p for p in node.astext().split("\n\n") if p.strip()]
    for part in parts:
        if r"\\" in part and r"\begin" not in part:
            part = r"\begin{aligned}" + part + r"\end{aligned}"
        self.body.append(_mathml(part, "block"))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def setup(app: Any) -> dict[str, Any]:
    app.add_html_math_renderer("mathml", (visit_inline, None), (visit_block, None))
    app.add_css_file("mathml.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
