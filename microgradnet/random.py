"""The global random generator and seeding (every random function also takes ``generator=``)."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the global generator used by random functions and initialisers; returns it."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def get_generator(generator: np.random.Generator | None = None) -> np.random.Generator:
    """Return ``generator`` if given, else the global generator."""
    return _generator if generator is None else generator
