"""Every public module declares its API in ``__all__``, so star-imports and ``dir()`` show the
API, not the helpers it imported (``np``, ``Any``, ``annotations``) (issue 12)."""

from __future__ import annotations

import builtins
import importlib
import pkgutil
import types

import pytest

import microgradnet as mg

JUNK = {"np", "Any", "annotations", "TYPE_CHECKING", "Callable", "Sequence", "Iterable",
        "Iterator", "Mapping", "math", "os", "sys", "warnings", "overload"}
# the namespaces users browse with dir() / tab completion
BROWSED = ["microgradnet", "microgradnet.testing", "microgradnet.train", "microgradnet.functional",
           "microgradnet.nn", "microgradnet.optim", "microgradnet.data", "microgradnet.viz",
           "microgradnet.autograd"]


def _public_modules() -> list[str]:
    names = ["microgradnet"]
    for info in pkgutil.walk_packages(mg.__path__, "microgradnet."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", _public_modules())
def test_every_public_module_has_an_all_without_helpers(name: str) -> None:
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"
    assert not JUNK & set(module.__all__), JUNK & set(module.__all__)
    namespace: dict = {}
    exec(f"from {name} import *", namespace)
    assert not JUNK & set(namespace)


@pytest.mark.parametrize("name", BROWSED)
def test_dir_shows_the_api(name: str) -> None:
    module = importlib.import_module(name)
    shown = set(dir(module))
    assert not JUNK & shown, f"dir({name}) shows {sorted(JUNK & shown)}"
    assert set(module.__all__) <= shown


def test_the_top_level_all_is_the_api() -> None:
    assert {"tensor", "Tensor", "grad", "no_grad", "nn", "optim", "train", "save", "load",
            "exp", "matmul", "__version__"} <= set(dir(mg))
    assert "tensor" in mg.__all__ and "nn" in mg.__all__
    # a star-import must not shadow Python's builtins (mg.abs, mg.sum, ... stay attributes)
    assert not {n for n in mg.__all__ if hasattr(builtins, n)}
    assert {"abs", "sum", "max"} <= set(dir(mg))
    # implementation modules are not part of the API
    modules = {n for n in mg.__all__ if isinstance(getattr(mg, n), types.ModuleType)}
    assert modules <= {"autograd", "data", "functional", "integrate", "linalg", "nn", "optim",
                       "optimize", "testing", "train", "viz"}
