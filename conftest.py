"""Doctests see ``mg`` and ``np`` as the docs do (``import microgradnet as mg``)."""

import numpy as np
import pytest

import microgradnet as mg


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict) -> None:
    doctest_namespace["mg"] = mg
    doctest_namespace["np"] = np
    doctest_namespace["F"] = mg.functional
