"""Colours, node styles and the short text that describes an array (values or a summary)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["STYLES", "describe_array", "grad_colour", "weight_colour", "value_colour"]

FONT = "Helvetica"

# One look per kind of node: the kind stays readable from the outline even when the fill
# shows the gradient's magnitude.
STYLES: dict[str, dict[str, str]] = {
    "op": {"shape": "ellipse", "style": "filled", "fillcolor": "#eeeeee", "color": "#555555"},
    "input": {"shape": "box", "style": "rounded,filled", "fillcolor": "#fff2cc",
              "color": "#b59a3a"},
    "parameter": {"shape": "box", "style": "filled", "fillcolor": "#d5e8d4",
                  "color": "#3d7a3a", "peripheries": "2"},
    "constant": {"shape": "box", "style": "rounded,filled", "fillcolor": "#f2f2f2",
                 "color": "#888888"},
    "intermediate": {"shape": "box", "style": "rounded,dashed", "color": "#999999"},
    "output": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#f8cecc",
               "color": "#b85450"},
    "hidden": {"shape": "note", "style": "filled", "fillcolor": "#ffffff", "color": "#777777",
               "fontcolor": "#555555"},
    "module": {"shape": "box3d", "style": "filled", "fillcolor": "#dae8fc", "color": "#6c8ebf"},
}
HIGHLIGHT = {"color": "#d62728", "penwidth": "3"}
CURRENT = {"color": "#d62728", "penwidth": "3", "fillcolor": "#ffe680", "style": "filled"}
DONE_OP = {"fillcolor": "#c7c7c7", "fontcolor": "#555555"}
GRAD_EDGE = "#d62728"

# A sequential scale for gradient magnitudes (light = small, dark orange = large).
# Light enough at the top that black text stays readable on every fill.
_GRAD_SCALE = ("#fff5eb", "#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913")

DARK = frozenset({"#ff0000"})  # fills that need white text

NOT_COMPUTED = "not computed yet"


def _fmt(x: Any) -> str:
    """A number in at most ~6 characters of precision, the way a person would write it."""
    if isinstance(x, (complex, np.complexfloating)):
        return f"{complex(x):.3g}"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    return f"{x:.4g}"


def describe_array(arr: Any, tiny: int = 6) -> str:
    """Values of a tiny array (``[1, -2.5]``), else ``mean std min max norm`` on one line.

    >>> describe_array(np.array([1.0, -2.5]))
    '[1, -2.5]'
    >>> describe_array(np.zeros((3, 4)))
    'mean 0 std 0 min 0 max 0 norm 0'
    """
    a = np.asarray(arr)
    if a.size == 0:
        return "(empty)"
    if a.size <= tiny:
        if a.ndim == 0:
            return _fmt(a.item())
        return "[" + ", ".join(_fmt(v) for v in a.ravel()) + "]"
    if a.dtype.kind not in "fciub":
        return f"{a.size} values"
    f = a.astype(np.float64) if a.dtype.kind != "c" else np.abs(a)
    with np.errstate(all="ignore"):
        return (f"mean {_fmt(f.mean())} std {_fmt(f.std())} min {_fmt(f.min())} "
                f"max {_fmt(f.max())} norm {_fmt(np.linalg.norm(f.ravel()))}")


def magnitude(arr: Any) -> float:
    """Root-mean-square of an array: the size of a gradient, independent of its shape."""
    a = np.asarray(arr)
    if a.size == 0 or a.dtype.kind not in "fciub":
        return 0.0
    with np.errstate(all="ignore"):
        m = float(np.sqrt(np.mean(np.abs(a.astype(np.float64) if a.dtype.kind != "c" else a) ** 2)))
    return m if math.isfinite(m) else math.inf


def grad_colour(mag: float, largest: float) -> str:
    """Fill colour for a gradient of size ``mag`` when the largest in the picture is ``largest``.

    Log-scaled over four decades below the largest, so small-but-nonzero gradients still show.
    """
    if not math.isfinite(mag):
        return "#ff0000"
    if largest <= 0 or mag <= 0:
        return _GRAD_SCALE[0]
    if not math.isfinite(largest):
        return _GRAD_SCALE[1]
    t = 1.0 + math.log10(mag / largest) / 4.0  # 1 at the largest, 0 four decades below
    t = min(max(t, 0.0), 1.0)
    return _GRAD_SCALE[round(t * (len(_GRAD_SCALE) - 1))]


def weight_colour(w: float) -> str:
    """Sign as colour: blue for positive (excitatory) weights, red for negative."""
    return "#1f77b4" if w >= 0 else "#d62728"


def value_colour(v: float, largest: float) -> str:
    """Diverging fill for an activation or error signal: white at 0, blue +, red -."""
    if not math.isfinite(v):
        return "#ff00ff"
    if largest <= 0:
        return "#ffffff"
    t = min(abs(v) / largest, 1.0)
    base = (31, 119, 180) if v >= 0 else (214, 39, 40)
    r, g, b = (round(255 + (c - 255) * t * 0.85) for c in base)
    return f"#{r:02x}{g:02x}{b:02x}"


def grad_legend(largest: float) -> str:
    """An HTML-like label: what each gradient fill means, in absolute sizes."""
    cells = []
    n = len(_GRAD_SCALE)
    for i, colour in enumerate(_GRAD_SCALE):
        ratio = 10 ** (-4.0 * (1 - i / (n - 1)))
        text = ("≤ " if i == 0 else "") + _fmt(largest * ratio)
        font = ' COLOR="white"' if colour in DARK else ""
        cells.append(f'<TD BGCOLOR="{colour}"><FONT POINT-SIZE="9"{font}>{text}</FONT></TD>')
    return ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3"><TR>'
            f'<TD COLSPAN="{n}"><FONT POINT-SIZE="10">fill: size of the gradient '
            "(root mean square), log scale</FONT></TD></TR><TR>" + "".join(cells)
            + "</TR></TABLE>>")
