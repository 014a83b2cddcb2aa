"""The examples in mg.optim's docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

import microgradnet as mg

MODULES = ["microgradnet.optim", "microgradnet.optim.optimizer", "microgradnet.optim.sgd",
           "microgradnet.optim.adam", "microgradnet.optim.rmsprop", "microgradnet.optim.adagrad",
           "microgradnet.optim.lbfgs",
           "microgradnet.optim.lr_scheduler"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(module, name, globs={"mg": mg, "np": np})
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} failing docstring example(s) in {name}"
    assert result.attempted > 0, f"{name} has no docstring example"
