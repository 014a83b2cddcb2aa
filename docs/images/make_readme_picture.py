"""Draw the README's opening picture: L = tanh(a·b + c) with the value and the gradient at
every node (run from the repository root: ``python docs/images/make_readme_picture.py``)."""

from __future__ import annotations

from pathlib import Path

import microgradnet as mg


def picture() -> mg.viz.Diagram:
    a = mg.tensor(2.0, requires_grad=True, name="a")
    b = mg.tensor(-0.75, requires_grad=True, name="b")
    c = mg.tensor(1.0, requires_grad=True, name="c")
    with mg.viz.keep_values():
        e = a * b
        d = e + c
        L = d.tanh()
    e.name, d.name, L.name = "e = a·b", "d = e + c", "L = tanh(d)"
    for t in (e, d, L):
        t.retain_grad()
    L.backward()
    return mg.viz.draw_graph(L, show_data=True, show_grad=True, rankdir="TB")


if __name__ == "__main__":
    out = Path(__file__).with_name("readme-graph.svg")
    out.write_bytes(picture().pipe(format="svg"))
    print("wrote", out)
