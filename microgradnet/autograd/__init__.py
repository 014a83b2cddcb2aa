"""Autograd: recording nodes (function), the backward sweep (engine), grad mode and checks."""
