"""Where things are defined (issue 11, "One way to read the graph"): each operator of Tensor is
defined once, and the hot binary ops are plain functions beside their Function classes, so a
newcomer's ``grep "def add"`` finds them."""

from __future__ import annotations

import ast
from pathlib import Path

import microgradnet as mg
from microgradnet.tensor import Tensor

PKG = Path(mg.__file__).resolve().parent


def _tree(rel: str) -> ast.Module:
    return ast.parse((PKG / rel).read_text(encoding="utf-8"))


def test_add_sub_mul_div_are_plain_functions_right_below_their_classes() -> None:
    body = _tree("ops/arithmetic.py").body
    names = [n.name for n in body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    for cls, fn in (("Add", "add"), ("Sub", "sub"), ("Mul", "mul"), ("Div", "div")):
        assert fn in names, f"no 'def {fn}' in ops/arithmetic.py"
        assert names.index(fn) == names.index(cls) + 1, f"{fn} is not right below {cls}"
        assert getattr(mg, fn).__name__ == fn and getattr(mg, fn).__module__.endswith(
            "ops.arithmetic")


def _assigned_tensor_attributes(tree: ast.Module) -> set[str]:
    """``X`` for every module-level ``Tensor.X = ...`` (chained assignments included)."""
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) \
                        and t.value.id == "Tensor":
                    found.add(t.attr)
    return found


def test_each_tensor_operator_is_defined_once() -> None:
    tree = _tree("tensor.py")
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Tensor")
    methods = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
    assigned = _assigned_tensor_attributes(tree)
    assert {"__add__", "__mul__"} <= assigned  # the check reads the assignments
    both = sorted(methods & assigned)
    assert not both, f"Tensor defines {both} in the class body and again at the end of tensor.py"


def test_the_hot_operators_are_the_op_functions() -> None:
    assert Tensor.__add__ is mg.add and Tensor.__radd__ is mg.add
    assert Tensor.__sub__ is mg.sub and Tensor.__mul__ is Tensor.__rmul__ is mg.mul
    assert Tensor.__truediv__ is mg.div and Tensor.__matmul__ is mg.matmul
    a, b = mg.tensor([1.0, 2.0]), mg.tensor([4.0, 8.0])
    assert (a - b).tolist() == [-3.0, -6.0] and (1.0 - a).tolist() == [0.0, -1.0]
    assert (2.0 + a).tolist() == [3.0, 4.0] and (3.0 * a).tolist() == [3.0, 6.0]
    assert (a / b).tolist() == [0.25, 0.25] and (1.0 / b).tolist() == [0.25, 0.125]


def _calls(tree: ast.Module) -> list[tuple[int, str, list[str]]]:
    """(line, called name, names of the arguments) for every call of a plain name or attribute."""
    out = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Call):
            f = n.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) \
                else ""
            args = [a.id if isinstance(a, ast.Name) else getattr(a, "attr", "") for a in n.args]
            out.append((n.lineno, name, args))
    return out


def _hand_built(rel: str, source: str) -> list[str]:
    """Where the module at ``rel`` allocates a Tensor or fills its fields itself."""
    bad = []
    for line, name, args in _calls(ast.parse(source)):
        if name in ("__new__", "_new") and any(a in ("Tensor", "Parameter") for a in args) \
                and rel != "tensor.py":
            bad.append(f"{rel}:{line} allocates a Tensor")
        if name == "_fields" and rel not in ("tensor.py", "nn/module.py"):
            bad.append(f"{rel}:{line} fills a Tensor's fields")
    return bad


def test_tensors_are_built_in_one_place() -> None:
    """Every Tensor is made by ``Tensor.__init__`` or ``Tensor._make``, which fill the fields
    through ``tensor._fields`` (Parameter's ``__init__`` too): no module allocates a Tensor
    with ``__new__`` and fills it by hand."""
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        bad += _hand_built(path.relative_to(PKG).as_posix(), path.read_text(encoding="utf-8"))
    assert not bad, "\n".join(bad)
    plant = "t = _new(Tensor)\n_fields(t, a, False, None)\nnode = _new(cls)\n"
    assert _hand_built("ops/x.py", plant) == ["ops/x.py:1 allocates a Tensor",
                                              "ops/x.py:2 fills a Tensor's fields"]
