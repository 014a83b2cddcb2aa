"""The documentation site: every page is reachable, every tutorial asserts, the build is clean.

The structural checks are instant and always run. The full build (Sphinx with ``-W``, which
executes every tutorial and how-to page) takes one to three minutes, so it runs only when
asked for, with ``MICROGRADNET_DOCS=1`` (and when the ``docs`` extra is installed):

    MICROGRADNET_DOCS=1 python -m pytest tests/test_docs.py
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
TOCTREE = re.compile(r"```\{toctree\}\n(.*?)```", re.S)
CODE_CELL = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)```", re.S)


def _pages() -> set[str]:
    """Every Markdown page of the site, as a docname ('concepts', 'howto/custom-op')."""
    return {p.relative_to(DOCS).with_suffix("").as_posix() for p in DOCS.rglob("*.md")
            if "_build" not in p.parts and p.name != "README.md"}


def _toctree_entries(text: str) -> list[str]:
    entries = []
    for block in TOCTREE.findall(text):
        entries += [line.strip() for line in block.splitlines()
                    if line.strip() and not line.strip().startswith(":")]
    return entries


def test_every_page_is_in_the_toctree_and_every_entry_exists() -> None:
    entries = _toctree_entries((DOCS / "index.md").read_text(encoding="utf-8"))
    pages = _pages()
    assert len(entries) == len(set(entries)), "a page is listed twice"
    missing = sorted(set(entries) - pages)
    assert not missing, f"the toctree lists pages that do not exist: {missing}"
    orphans = sorted(pages - set(entries) - {"index"})
    assert not orphans, f"pages not in any toctree of docs/index.md: {orphans}"


def test_the_issue_pages_exist() -> None:
    required = {
        "getting-started", "concepts", "engine", "comparison", "api", "training",
        "tutorials/backprop-from-the-ground-up", "tutorials/learning-rate-and-momentum",
        "tutorials/under-and-over-fitting", "tutorials/seeing-the-graph",
        "howto/custom-op", "howto/check-gradients", "howto/jacobian-hessian",
        "howto/nonlinear-system", "howto/train-mlp", "howto/save-load", "howto/visualize",
    }
    assert required <= _pages()


@pytest.mark.parametrize("page", sorted(p.name for p in (DOCS / "tutorials").glob("*.md")))
def test_tutorials_are_executed_and_assert_their_claims(page: str) -> None:
    text = (DOCS / "tutorials" / page).read_text(encoding="utf-8")
    assert text.startswith("---\nfile_format: mystnb"), "not an executed (MyST-NB) page"
    cells = CODE_CELL.findall(text)
    asserts = sum(len(re.findall(r"^\s*(assert |np\.testing\.assert_)", c, re.M))
                  for c in cells)
    assert asserts >= 3, f"{page} executes {len(cells)} cells but checks only {asserts} claims"


def test_the_checks_above_can_fail() -> None:
    assert _toctree_entries("```{toctree}\n:maxdepth: 1\n\nconcepts\nhowto/x\n```") == [
        "concepts", "howto/x"]
    assert not CODE_CELL.findall("```python\nassert True\n```")   # plain code is not executed


def _have_docs_tools() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("sphinx", "myst_nb", "furo"))


@pytest.mark.skipif(os.environ.get("MICROGRADNET_DOCS") != "1",
                    reason="slow (1-3 min): set MICROGRADNET_DOCS=1 to build the site")
@pytest.mark.skipif(not _have_docs_tools(), reason="needs the docs extra: pip install -e '.[docs]'")
def test_site_builds_with_warnings_as_errors(tmp_path: Path) -> None:
    out = tmp_path / "html"
    env = dict(os.environ, MPLBACKEND="Agg")   # as headless CI often sets: pictures must survive
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    # -W guards against import failures that would otherwise leave the API page empty
    api = (out / "api.html").read_text(encoding="utf-8")
    for name in ("microgradnet.grad", "microgradnet.nn.mlp.MLP", "microgradnet.train.fit",
                 "microgradnet.viz.draw_graph", "microgradnet.save"):
        assert f'id="{name}"' in api, f"{name} is missing from the API reference"
    # the executed tutorials produced their pictures
    for page in ("learning-rate-and-momentum", "under-and-over-fitting", "seeing-the-graph"):
        html = (out / "tutorials" / f"{page}.html").read_text(encoding="utf-8")
        assert "<img" in html, f"{page} rendered no pictures"


@pytest.mark.skipif(not _have_docs_tools() or importlib.util.find_spec("latex2mathml") is None,
                    reason="needs the docs extra: pip install -e '.[docs]'")
def test_equations_render_offline_as_mathml(tmp_path: Path) -> None:
    """A page built with the site's configuration has its equations as MathML and fetches
    nothing: no MathJax, no CDN, no script or style from another host."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(DOCS / '_ext')!r})\n"
        f"sys.path.insert(0, {str(DOCS.parent)!r})\n"
        f"exec(compile(open({str(DOCS / 'conf.py')!r}, encoding='utf-8').read(), 'conf.py', "
        "'exec'))\n"
        f"html_static_path = [{str(DOCS / '_static')!r}]\n", encoding="utf-8")
    (src / "index.md").write_text(
        "# Equations\n\nInline $o_j = \\sigma(\\mathrm{net}_j)$ and a numbered one:\n\n"
        "$$\\mathrm{net}_j = \\sum_i w_{ij}\\, x_i + \\theta_j$$ (eq-net)\n\n"
        "$$\\delta_k = (t_k - o_k)\\, o_k (1 - o_k).$$ (eq-delta)\n\n"
        "Equation {eq}`eq-delta` uses {eq}`eq-net`.\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", "-d",
         str(tmp_path / "doctrees"), str(src), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    page = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    assert page.count("<math") == 3 and 'class="eqno">(2)' in page
    assert "\\sum" not in page and "\\delta" not in page  # no raw LaTeX left for a script
    assert "cdn" not in page.lower()
    assert not re.search(r"<script[^>]*mathjax|MathJax\s*=|window\.MathJax", page, re.I)
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page)
    assert not [s for s in scripts if "math" in s.lower()], scripts
    remote = re.findall(r'<(?:script|link)[^>]+(?:src|href)="((?:https?:)?//[^"]+)"', page)
    assert not remote, remote
