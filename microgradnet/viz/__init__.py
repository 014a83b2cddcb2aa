"""Pictures: the computation graph, the layered network, the backward sweep step by step."""
