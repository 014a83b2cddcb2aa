"""Every piece of text that goes into a picture passes through here.

Names come from users (``Tensor.name``, parameter names, module names) and may contain quotes,
``<``, ``>``, ``&``, braces, backslashes, newlines or control characters. DOT has two kinds of
strings: quoted attribute strings (where ``\\`` and ``"`` are special and ``\\n``, ``\\l``,
``\\N`` are escapes) and HTML-like labels (where ``<``, ``>`` and ``&`` are special). One
function per kind, both starting from :func:`clean_text`, so no label can break the source.
"""

from __future__ import annotations

import unicodedata

from graphviz import nohtml

__all__ = ["clean_text", "html_text", "attr_text", "shorten"]


def clean_text(text: object) -> str:
    """``str(text)`` with control and unencodable characters made visible (``\\x07``).

    Newlines are kept (the two escapers below turn them into line breaks); tabs become spaces.

    >>> clean_text("a\\tb\\x00")
    'a b\\\\x00'
    """
    s = str(text)
    if s.isprintable():
        return s
    out = []
    for ch in s:
        if ch == "\n":
            out.append(ch)
        elif ch in "\t\r":
            out.append(" ")
        elif ch.isprintable() or unicodedata.category(ch) == "Zs":
            out.append(ch)
        else:  # control, surrogate, format or unassigned: show its code point instead
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


def shorten(text: str, limit: int = 48) -> str:
    """Cut ``text`` to ``limit`` characters with an ellipsis (full text goes in the tooltip)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def html_text(text: object, limit: int | None = 48) -> str:
    """Text for the inside of an HTML-like label: entities escaped, newlines as ``<BR/>``.

    >>> html_text('<b> & "q"')
    '&lt;b&gt; &amp; &quot;q&quot;'
    """
    s = clean_text(text)
    if limit is not None:
        s = shorten(s, limit)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return s.replace("\n", "<BR/>")


def attr_text(text: object, limit: int | None = None) -> str:
    """A quoted-attribute value (plain label, tooltip, cluster caption), safe for DOT.

    Backslashes are doubled (so user text never forms ``\\N`` or ``\\l`` escapes), quotes
    escaped, newlines become ``\\n``; the result is marked as "not HTML" for the graphviz
    package so a name like ``<x>`` stays text.

    >>> str(attr_text('say "hi"\\\\'))
    'say \\\\"hi\\\\"\\\\\\\\'
    """
    s = clean_text(text)
    if limit is not None:
        s = shorten(s, limit)
    s = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return nohtml(s)
