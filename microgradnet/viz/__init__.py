"""Pictures: the computation graph, the layered network, the backward sweep step by step.

>>> import microgradnet as mg
>>> x = mg.tensor([1.0, 2.0], requires_grad=True)
>>> dot = mg.viz.draw_graph((x * x).sum())   # a graphviz.Digraph; shows inline in Jupyter
>>> "mul" in dot.source
True
"""

from microgradnet.viz.frames import Frame, backward_frames, save_frames
from microgradnet.viz.graph import draw_graph, to_json
from microgradnet.viz.network import draw_network
from microgradnet.viz.render import Diagram, RendererNotFound, find_renderer
from microgradnet.viz.values import keep_values

__all__ = [
    "draw_graph",
    "to_json",
    "backward_frames",
    "save_frames",
    "Frame",
    "draw_network",
    "keep_values",
    "Diagram",
    "RendererNotFound",
    "find_renderer",
]
