"""``Module`` and ``Parameter``: the containers every layer, loss and model is built from.

Assigning a ``Parameter`` or a ``Module`` to an attribute registers it (as PyTorch does), so
``parameters()``, ``state_dict()`` and ``repr`` find it without any bookkeeping by the author:

>>> import microgradnet as mg
>>> class Affine(mg.nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.w = mg.nn.Parameter(mg.ones(2))
...         self.b = mg.nn.Parameter(mg.zeros(1))
...     def forward(self, x):
...         return x * self.w + self.b
>>> [name for name, _ in Affine().named_parameters()]
['w', 'b']
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from microgradnet.autograd.function import _PKG_DIR, user_call_site
from microgradnet.autograd.grad_mode import _state, no_grad
from microgradnet.tensor import Tensor, _to_array, get_default_dtype

__all__ = ["Module", "Parameter"]


class Parameter(Tensor):
    """A Tensor that is a learnable weight: it requires grad and registers itself on a Module.

    ``Parameter(tensor)`` shares the tensor's memory; other data (lists, arrays) is copied.
    Integer and boolean data become the default floating dtype.

    >>> mg.nn.Parameter(mg.zeros(2))
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True, dtype: Any = None) -> None:
        if data is None:
            data = np.empty(0, dtype=get_default_dtype())
        arr = _to_array(data, dtype, copy=not isinstance(data, Tensor))
        if arr.dtype.kind != "f":
            if dtype is not None:
                raise TypeError(
                    f"Parameter: a parameter must have a floating dtype, got {arr.dtype}"
                )
            arr = arr.astype(get_default_dtype())
        self.data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.grad_fn = None
        self._vc = data._shared_version() if isinstance(data, Tensor) else None
        self._meta = None
        self._output_nr = 0

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class _IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` did not match (PyTorch's return value)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


# Whether a module class's forward is microgradnet's own, cached in the class's own __dict__
# (so the entry goes away with the class: re-running a notebook cell leaks nothing).
_INTERNAL_FORWARD = "_mg_internal_forward"


def _defined_here(fn: Any) -> bool:
    code = getattr(fn, "__code__", None)
    return code is not None and code.co_filename.startswith(_PKG_DIR)


class Module:
    """Base class of layers and models: subclass it, assign parameters and sub-modules in
    ``__init__`` (after ``super().__init__()``) and write ``forward``.

    Calling the module runs ``forward``. ``training`` (set by ``train()``/``eval()``) tells
    layers such as ``Dropout`` which mode they are in.

    >>> class Scale(mg.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = mg.nn.Parameter(mg.tensor([2.0]))
    ...     def forward(self, x):
    ...         return self.w * x
    >>> Scale()(mg.tensor([1.0, 3.0]))
    tensor([2., 6.], grad_fn=<Mul>)
    >>> [name for name, _ in Scale().named_parameters()]
    ['w']
    """

    training: bool
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, Tensor | None]
    _modules: dict[str, Module | None]

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", {})

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} has no forward(): define forward(self, ...) in the subclass"
        )

    def _call_impl(self, *args: Any, **kwargs: Any) -> Any:
        # Every op recorded inside a built-in module (MLP, Linear, the losses...) was made by the
        # user's line that called the outermost one: find that line once, not once per op. A
        # user-defined forward is user code, so its ops find their own lines.
        cls = type(self)
        internal = cls.__dict__.get(_INTERNAL_FORWARD)
        if internal is None:
            internal = _defined_here(cls.forward)
            setattr(cls, _INTERNAL_FORWARD, internal)
        prev = _state.site
        if internal:
            if prev is None:
                _state.site = user_call_site(sys._getframe(1))
        elif prev is not None:
            _state.site = None
        try:
            return self.forward(*args, **kwargs)
        finally:
            _state.site = prev

    # Calling a module runs forward. Typed as a callable attribute (as in PyTorch) so that
    # layers can tell type checkers what they return: ``Linear(2, 3)(x)`` is a Tensor.
    __call__: Callable[..., Any] = _call_impl

    # -- registration ------------------------------------------------------------------------
    def _registries(self, name: str) -> dict[str, Any]:
        d = self.__dict__
        if "_parameters" not in d:
            raise RuntimeError(
                f"cannot assign {name!r} before Module.__init__() has run: call "
                "super().__init__() first in the subclass's __init__"
            )
        return d

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, (Parameter, Module)):
            d = self._registries(name)
            if name not in d["_parameters"] and name not in d["_modules"]:
                d.pop(name, None)  # a plain attribute becomes a registered one
            if isinstance(value, Parameter):
                self.register_parameter(name, value)
            else:
                self.add_module(name, value)
        else:
            d = self.__dict__
            params, modules, buffers = (d.get("_parameters"), d.get("_modules"),
                                        d.get("_buffers"))
            if params is not None and name in params:
                if value is not None:
                    raise TypeError(
                        f"cannot assign a {type(value).__name__} as parameter {name!r} of "
                        f"{type(self).__name__}: expected mg.nn.Parameter or None"
                    )
                params[name] = None
            elif modules is not None and name in modules:
                if value is not None:
                    raise TypeError(
                        f"cannot assign a {type(value).__name__} as child module {name!r} of "
                        f"{type(self).__name__}: expected a Module or None"
                    )
                modules[name] = None
            elif buffers is not None and name in buffers:
                if value is not None and not isinstance(value, Tensor):
                    raise TypeError(
                        f"cannot assign a {type(value).__name__} as buffer {name!r} of "
                        f"{type(self).__name__}: expected a Tensor or None"
                    )
                buffers[name] = value
            else:
                object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: look in the registries.
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            r = d.get(registry)
            if r is not None and name in r:
                return r[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def _check_name(self, name: str, kind: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name must be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{kind} name must be non-empty and contain no '.', got {name!r}")
        if name in self.__dict__:
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")

    def _forget(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent.discard(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (a Parameter, or None for an absent one such as a missing bias)."""
        d = self._registries(name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: {name!r} must be an mg.nn.Parameter or None, got "
                f"{type(param).__name__} (wrap a tensor as mg.nn.Parameter(t))"
            )
        if name not in d["_parameters"]:
            self._check_name(name, "parameter")
            self._forget(name)
        d["_parameters"][name] = param

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Register non-learnable state (a running statistic, a constant): saved in
        ``state_dict`` when ``persistent``, never returned by ``parameters()``."""
        d = self._registries(name)
        if tensor is not None and not isinstance(tensor, Tensor):
            if isinstance(tensor, np.ndarray):
                tensor = Tensor(tensor)
            else:
                raise TypeError(
                    f"register_buffer: {name!r} must be a Tensor, an array or None, got "
                    f"{type(tensor).__name__}"
                )
        if name not in d["_buffers"]:
            self._check_name(name, "buffer")
            self._forget(name)
        d["_buffers"][name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register a child module under ``name`` (what ``self.name = module`` does)."""
        d = self._registries(name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        if name not in d["_modules"]:
            self._check_name(name, "module")
            self._forget(name)
        d["_modules"][name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The sub-module at dotted path ``target`` (``""`` is the module itself)."""
        mod: Module = self
        if target == "":
            return mod
        for part in target.split("."):
            child = mod._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(mod).__name__} has no sub-module {part!r} "
                                     f"(looking up {target!r})")
            mod = child
        return mod

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at dotted path ``target``, e.g. ``"layers.0.weight"``."""
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        p = mod._parameters.get(name)
        if p is None:
            raise AttributeError(f"{type(mod).__name__} has no parameter {name!r} "
                                 f"(looking up {target!r})")
        return p

    # -- traversal -----------------------------------------------------------------------------
    def named_modules(self, memo: set[int] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """This module and every descendant with its dotted name (each module once)."""
        seen: set[int] = set() if memo is None else memo
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:  # depth first, children in registration order, no recursion
            name, mod = stack.pop()
            if remove_duplicate:
                if id(mod) in seen:
                    continue
                seen.add(id(mod))
            yield name, mod
            kids = [(f"{name}.{k}" if name else k, m) for k, m in mod._modules.items()
                    if m is not None]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        """This module and every descendant."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Direct sub-modules with their attribute names."""
        seen: set[int] = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        """Direct sub-modules."""
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool) -> Iterator[tuple[str, Any]]:
        mods = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                if recurse else [(prefix, self)])
        seen: set[int] = set()
        for mod_name, mod in mods:
            for name, value in getattr(mod, registry).items():
                if value is None:
                    continue
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield (f"{mod_name}.{name}" if mod_name else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Parameters with dotted names (``layers.0.weight``); a shared one is reported once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every learnable parameter, each once (hand this to an optimizer)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """Buffers with dotted names."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Total number of scalar weights (only those that require grad if ``trainable_only``)."""
        return sum(p.data.size for p in self.parameters()
                   if p.requires_grad or not trainable_only)

    # -- modes and gradients ---------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=False`` is evaluation mode) here and in every descendant."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode): mode must be a bool, got {type(mode).__name__}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``Dropout`` passes its input through unchanged."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (``False``) or unfreeze every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget accumulated gradients: ``.grad = None`` (default) or zeros."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = Tensor._make(np.zeros_like(p.data), False, None)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every descendant (children first) and on this module; returns self."""
        for m in reversed(list(self.modules())):
            fn(m)
        return self

    # -- state -----------------------------------------------------------------------------------
    def state_dict(self, destination: dict[str, Any] | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, Any]:
        """Parameters and persistent buffers by dotted name, as tensors sharing memory with the
        module (detached unless ``keep_vars``). Save it with ``mg.save``.

        A module used at several places (``Sequential(l, Tanh(), l)``) appears under each of
        its names, as in PyTorch, so ``load_state_dict`` finds every name it expects.
        """
        out: dict[str, Any] = OrderedDict() if destination is None else destination
        for mod_name, mod in self.named_modules(prefix=prefix.rstrip("."),
                                                remove_duplicate=False):
            pre = f"{mod_name}." if mod_name else ""
            for name, p in mod._parameters.items():
                if p is not None:
                    out[pre + name] = p if keep_vars else p.detach()
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent:
                    out[pre + name] = b if keep_vars else b.detach()
        return out

    def _state_targets(self) -> dict[str, tuple[Module, str, Tensor]]:
        targets: dict[str, tuple[Module, str, Tensor]] = {}
        for mod_name, mod in self.named_modules(remove_duplicate=False):
            pre = f"{mod_name}." if mod_name else ""
            for name, p in mod._parameters.items():
                if p is not None:
                    targets[pre + name] = (mod, name, p)
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent:
                    targets[pre + name] = (mod, name, b)
        return targets

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True
                        ) -> _IncompatibleKeys:
        """Copy values into the parameters and buffers in place (identity kept, so optimizers
        still hold the right tensors).

        Everything is checked before anything is copied, and the module is left unchanged on
        any error: a shape mismatch or a non-numeric value is a ``ValueError`` listing every
        offending key with both shapes; otherwise, with ``strict``, a missing or unexpected key
        is a ``RuntimeError`` listing them. A tensor shared under several names (a module used
        twice) counts as present when any of its names is given.
        Returns ``(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"load_state_dict: expected a dict of tensors, got {type(state_dict).__name__}"
            )
        targets = self._state_targets()
        given = {id(targets[k][2]) for k in targets if k in state_dict}
        missing = [k for k in targets if k not in state_dict and id(targets[k][2]) not in given]
        unexpected = [k for k in state_dict if k not in targets]
        problems: list[str] = []
        arrays: dict[str, np.ndarray] = {}
        for key, (_, _, t) in targets.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            arr = value.data if isinstance(value, Tensor) else np.asarray(value)
            if arr.dtype.kind not in "biuf":
                problems.append(f"  {key}: a {type(value).__name__} of dtype {arr.dtype} is not "
                                "numeric")
            elif arr.shape != t.data.shape:
                problems.append(f"  {key}: shape {arr.shape} in the checkpoint, shape "
                                f"{t.data.shape} in the model")
            else:
                arrays[key] = arr
        bad_values = bool(problems)
        if strict:
            problems += [f"  missing key {k} (shape {targets[k][2].data.shape})"
                         for k in missing]
            problems += [f"  unexpected key {k}" for k in unexpected]
        if problems:
            raise (ValueError if bad_values else RuntimeError)(
                f"load_state_dict: error(s) loading the state_dict into {type(self).__name__}; "
                "nothing was changed:\n" + "\n".join(problems)
            )
        with no_grad():
            for key, arr in arrays.items():
                t = targets[key][2]
                if arr is not t.data:
                    t.copy_(arr)
        return _IncompatibleKeys(missing, unexpected)

    # -- display ---------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """Settings shown inside the parentheses of ``repr`` (override in layers)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        if not self._modules:
            return f"{type(self).__name__}({extra})"
        inner = "\n  ".join(lines)
        return f"{type(self).__name__}(\n  {inner}\n)"

    def __dir__(self) -> list[str]:
        names = set(super().__dir__())
        names.update(self._parameters, self._buffers, self._modules)
        return sorted(names)


class _TensorLayer(Module):
    """A module from one tensor to one tensor: for type checkers, ``layer(x)`` is a Tensor."""

    if TYPE_CHECKING:
        def __call__(self, x: Any, /) -> Tensor: ...
