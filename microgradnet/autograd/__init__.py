"""Autograd: recording nodes (function), the backward sweep (engine), grad mode and checks."""

__all__: list[str] = []
