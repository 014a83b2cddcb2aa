"""Sphinx configuration: furo theme, MyST Markdown pages, executed MyST-NB tutorials."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.abspath("_ext"))

# The executed pages use tiny arrays. A multi-threaded BLAS only adds overhead there, and on a
# busy machine (a shared CI runner, a parallel test run) it can slow them down several times.
# The kernels that execute the pages inherit this environment.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# Figures must reach the page: a CI-wide MPLBACKEND=Agg would make plt.show() a silent no-op.
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"

project = "microgradnet"
author = "the microgradnet developers"
copyright = "2026, the microgradnet developers"

extensions = [
    "myst_nb",  # MyST Markdown pages and executed text notebooks (tutorials)
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "mathml_math",  # equations as MathML at build time: they render offline, no CDN
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "myst-nb", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**/.ipynb_checkpoints", "README.md"]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# Tutorials are executed on every build; a failing cell (or assertion) fails the build.
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 300
nb_execution_show_tb = True

autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_static_path = ["_static"]
html_css_files = ["pictures.css"]  # graph pictures at their natural, readable size
html_math_renderer = "mathml"
html_title = "microgradnet"
suppress_warnings = ["mystnb.unknown_mime_type"]


def _escape_bars(app, what, name, obj, options, lines):  # noqa: ANN001
    """Docstrings write |x| for absolute values; reST would read it as a substitution.

    Table rows (``+---+`` borders and lines that begin and end with ``|``) are left alone.
    """
    for i, line in enumerate(lines):
        stripped = line.strip()
        is_table = stripped.startswith("+") or (
            stripped.startswith("|") and stripped.endswith("|") and stripped.count("|") > 2
        )
        if "|" in line and not is_table:
            lines[i] = line.replace("|", r"\|")


def setup(app):  # noqa: ANN001
    app.connect("autodoc-process-docstring", _escape_bars)
