"""``mg.compile``: trace a training step once, then replay it as flat NumPy code.

The first call of a compiled step runs the step eagerly, exactly as without ``compile``, while
every array it touches is a *traced array* (``_Sym``): a stand-in that holds the real array,
computes every NumPy operation on it for real, and writes the operation down as one line of
Python. What gets written down is therefore not a model of the step but the step itself: the
ops' forward code, each op's derivative rule (the single rule the engine runs), the engine's
own bookkeeping (seeding, summing broadcast gradients, accumulating), all as the NumPy calls
they made. Calls that change state the replay must not re-derive (``optimizer.step()``,
``zero_grad()``) are kept as calls. Later calls with the same input signature run the written
code (``step.code``): no graph, no nodes, no Tensor objects in between.

What the replay cannot honour (hooks, anomaly mode, ``create_graph``, Python decisions on
array values that later calls may take differently, in-place changes of inputs or parameters,
NumPy work that escaped the tracer) makes the step run eagerly, with the reason in
``step.fallback_reason`` and one warning. See docs/compile.md.
"""

from __future__ import annotations

import builtins
import itertools
import linecache
import math
import operator
import re
import sys
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from microgradnet.autograd import api as _api
from microgradnet.autograd import engine as _engine
from microgradnet.autograd import function as _function
from microgradnet.autograd.function import _NO_KWARGS, site_line, user_call_site
from microgradnet.autograd.grad_mode import _state
from microgradnet.nn.module import Module
from microgradnet.optim.optimizer import Optimizer, all_finite
from microgradnet.random import get_generator
from microgradnet.tensor import Tensor

__all__ = ["compile", "CompiledStep"]


class _GuardFailed(Exception):
    """Raised by replayed code when a value it was specialised on differs this time."""


class _Unsupported(Exception):
    """Raised while tracing when the step does something the replay cannot honour."""


# --------------------------------------------------------------------------- the program


# Names the generated code's namespace defines (and a few the update's code uses).
_RESERVED = frozenset({"np", "_GuardFailed", "_tensor", "_same", "operator", "float", "state",
                       "hp", "w", "g", "st", "buf", "b"})


class _Program:
    """The lines written down while tracing, the names they use and what makes them invalid."""

    def __init__(self, params: list[str] = ()) -> None:  # type: ignore[assignment]
        self.params = set(params)  # the step's argument names: no constant may take one
        self.lines: list[list[Any]] = []  # parts: str, _Sym or _Ref, joined when rendered
        self.consts: dict[int, _Ref] = {}  # id(object) -> its reference (kept alive)
        self.invalid: str | None = None  # the first reason the trace cannot be replayed
        self.committed = False  # an optimizer step ran: a guard after it could not back out
        self.outside: dict[int, Any] = {}  # id(array) -> array of inputs/parameters (read-only)
        self.start_guards: list[str] = []
        self.n = itertools.count()
        self.written: list[np.ndarray] = []  # every array the step wrote into (traced values)
        self.created: list[_Sym] = []  # arrays made by np.zeros(...) & co. from constants alone

    def fail(self, reason: str) -> None:
        if self.invalid is None:
            self.invalid = reason

    def ref(self, obj: Any, hint: str = "c") -> _Ref:
        r = self.consts.get(id(obj))
        if r is None:
            snap = obj.copy() if type(obj) is np.ndarray else None
            while True:
                n = next(self.n)  # float32 and 2 make float32_2, not float322
                name = f"{hint}_{n}" if hint[-1:].isdigit() else f"{hint}{n}"
                if name not in self.params:  # an argument of that name would shadow it
                    break
            r = self.consts[id(obj)] = _Ref(obj, name, snap)
        return r

    def emit(self, parts: list[Any]) -> None:
        self.lines.append(parts)

    def new(self, value: Any, parts: list[Any], hint: str = "t") -> Any:
        """The result of a traced expression: arrays become new traced arrays; anything else
        derived from array values is specialised (a guard checks it on every replay)."""
        if isinstance(value, (np.ndarray, np.generic)):
            s = _Sym(value, hint)
            self.emit([s, " = ", *parts])
            return s
        if isinstance(value, tuple) and value and all(isinstance(v, np.ndarray) for v in value):
            syms = tuple(_Sym(v, hint) for v in value)
            self.emit([*_join(list(syms)), " = ", *parts])  # a, b = np.broadcast_arrays(...)
            return syms
        if value is None:
            self.emit(parts)
            return None
        if isinstance(value, (bool, int, float)):
            self.guard(parts, value)
            return value
        self.fail(f"a NumPy call returned a {type(value).__name__} computed from traced arrays")
        return value

    def guard(self, parts: list[Any], value: Any, at: int | None = None,
              what: str = "a Python decision on array values") -> None:
        """Replay checks that ``parts`` evaluates to ``value`` again (else: run eagerly); the
        check goes at line ``at`` (default: here)."""
        if self.committed:
            self.fail(f"{what} comes after optimizer.step(), where the replay could not back "
                      "out of it")
        k = len(self.lines) if at is None else at
        if isinstance(value, bool):
            line = ["if bool(", *parts, f") is not {value}: raise _GuardFailed({k})"]
        elif isinstance(value, float) and not math.isfinite(value):
            line = ["if not _same(", *parts, f", {value!r}): raise _GuardFailed({k})"]
        else:
            line = ["if ", *parts, f" != {value!r}: raise _GuardFailed({k})"]
        self.lines.insert(k, line)

    def check_write(self, target: Any) -> None:
        """An in-place write: into an input or parameter array, the replay cannot honour it."""
        arr = target.v if type(target) is _Sym else target
        if not isinstance(arr, np.ndarray):
            return
        self.written.append(arr)
        for o in self.outside.values():
            if np.may_share_memory(arr, o):
                self.fail("the step changes an input or parameter array in place (outside "
                          "optimizer.step())")
                return

    def hoist(self, escaping: list[Any], fixed: dict[int, str], params: list[str]) -> None:
        """Arrays made from constants alone (``np.ones((), dtype)``: the sweep's seed) that the
        step never writes into and never hands out are made once, read-only, not on every
        replay (``np.ones`` alone was 2-4 µs of a W1/W2 step). Writes and hand-outs are judged
        on the traced values, so a view or an in-place change through another name counts."""
        # Not the name of a step argument (``t``!), which would shadow the constant.
        taken = {r.name for r in self.consts.values()} | set(params) | _RESERVED
        for sym in self.created:
            if any(np.may_share_memory(sym.v, a) for a in [*self.written, *escaping]):
                continue
            for parts in self.lines:
                if len(parts) > 2 and parts[0] is sym and parts[1] == " = ":
                    break
            else:
                continue
            const = sym.v.copy()
            const.flags.writeable = False  # a write the trace missed raises, never goes unseen
            name, k = sym.name, 1
            while name in taken or name in ("t", "grad"):  # generic names get a number
                k += 1
                name = f"{sym.name}_{k}"
            taken.add(name)
            self.consts[id(const)] = _Ref(const, name, None)
            fixed[id(sym)] = name
            parts[:0] = ["# "]
            parts.append("  (made once)")

    def render(self, fn_name: str, params: list[str], ret: list[Any],
               fixed: dict[int, str]) -> str:
        names: dict[int, str] = dict(fixed)
        used: set[str] = set(params) | _RESERVED
        used |= {r.name for r in self.consts.values()}

        def name(s: _Sym) -> str:
            n = names.get(id(s))
            if n is None:
                base = s.name
                n = base
                k = 1
                while n in used:
                    k += 1
                    n = f"{base}_{k}"
                used.add(n)
                names[id(s)] = n
            return n

        out = [f"def {fn_name}({', '.join(params)}):"]
        for parts in self.lines:
            text = "".join(name(p) if type(p) is _Sym else p.name if type(p) is _Ref else p
                           for p in parts)
            out.append("    " + text)
        rtext = "".join(name(p) if type(p) is _Sym else p.name if type(p) is _Ref else p
                        for p in ret)
        out.append(f"    return {rtext}")
        return "\n".join(out) + "\n"


class _Ref:
    """A constant the generated code uses by reference (a module, an optimizer, an array)."""

    __slots__ = ("obj", "name", "snap")

    def __init__(self, obj: Any, name: str, snap: Any) -> None:
        self.obj, self.name, self.snap = obj, name, snap


_prog: _Program | None = None  # the program being traced, if any


def _join(items: list[Any], sep: str = ", ") -> list[Any]:
    out: list[Any] = []
    for i, it in enumerate(items):
        if i:
            out.append(sep)
        out.extend(it if isinstance(it, list) else [it])
    return out


def _lit(x: Any, sub: bool = False) -> list[Any]:
    """The parts that spell value ``x`` in generated code (``sub``: inside ``[...]``)."""
    prog = _prog
    assert prog is not None, "_lit is only called while tracing"
    t = type(x)
    if t is _Sym:
        return [x]
    if x is None or t is bool or t is int or t is str or x is Ellipsis:
        return ["..." if x is Ellipsis else repr(x)]
    if t is float:
        return [repr(x)] if math.isfinite(x) else [f"float({str(x)!r})"]
    if t is _Scalar:
        x._specialize()
        return _lit(x.raw)
    if t is tuple:
        if sub:
            return _join([_lit(v, True) for v in x])
        inner = _join([_lit(v) for v in x])
        return ["(", *inner, ",)" if len(x) == 1 else ")"]
    if t is list:
        return ["[", *_join([_lit(v) for v in x]), "]"]
    if t is slice:
        if sub:
            a = "" if x.start is None else x.start
            b = "" if x.stop is None else x.stop
            parts: list[Any] = [*(_lit(a) if a != "" else []), ":", *(_lit(b) if b != "" else [])]
            if x.step is not None:
                parts += [":", *_lit(x.step)]
            return parts
        return ["slice(", *_join([_lit(x.start), _lit(x.stop), _lit(x.step)]), ")"]
    if t is dict:
        return ["{", *_join([[*_lit(k), ": ", *_lit(v)] for k, v in x.items()]), "}"]
    if isinstance(x, np.dtype):
        return [prog.ref(x, x.name if x.names is None else "dtype")]
    if isinstance(x, type) and issubclass(x, np.generic):
        tname = x.__name__
        if getattr(np, tname, None) is x:
            return [f"np.{tname}"]
    return [prog.ref(x, "c")]


def _call(fname: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    items = [_lit(a) for a in args] + [[f"{k}=", *_lit(v)] for k, v in kwargs.items()]
    return [fname, "(", *_join(items), ")"]


def _traced_in(x: Any) -> bool:
    """Whether a traced array or scalar is in ``x`` (through tuples, lists and dicts)."""
    t = type(x)
    if t is _Sym or t is _Scalar:
        return True
    if t is tuple or t is list:
        return any(_traced_in(v) for v in x)
    if t is dict:
        return any(_traced_in(v) for v in x.values())
    return False


def _c(x: Any, tensors: bool = False) -> Any:
    """The concrete value behind traced arrays, through tuples, lists and dicts (``tensors``:
    tensors holding a traced array get their plain array back, in place)."""
    t = type(x)
    if t is _Sym:
        return x.v
    if t is tuple:
        return tuple(_c(v, tensors) for v in x)
    if t is list:
        return [_c(v, tensors) for v in x]
    if t is dict:
        return {k: _c(v, tensors) for k, v in x.items()}
    if t is _Scalar:
        return x.raw
    if tensors and isinstance(x, Tensor) and type(x.data) is _Sym:
        x.data = x.data.v
    return x


def _np_name(obj: Any, fallback: str) -> str | None:
    name = getattr(obj, "__name__", None)
    if name and getattr(np, name, None) is obj:
        return f"np.{name}"
    mod = getattr(obj, "__module__", "") or ""
    if name and mod.startswith("numpy."):
        sub = mod.split(".")[1]
        if not sub.startswith("_") and getattr(getattr(np, sub, None), name, None) is obj:
            return f"np.{sub}.{name}"
    return None


# --------------------------------------------------------------------------- traced arrays

_INFIX = {
    "__add__": "+", "__sub__": "-", "__mul__": "*", "__truediv__": "/", "__floordiv__": "//",
    "__mod__": "%", "__pow__": "**", "__matmul__": "@", "__and__": "&", "__or__": "|",
    "__xor__": "^", "__lt__": "<", "__le__": "<=", "__gt__": ">", "__ge__": ">=",
    "__eq__": "==", "__ne__": "!=",
}
_SHAPE_ONLY = {"shape", "ndim", "size", "result_type", "iscomplexobj", "isrealobj",
               "may_share_memory", "shares_memory"}


class _Sym:
    """A traced array: the real value (``v``) plus the line of generated code that made it.

    Every NumPy operation on it computes on ``v`` for real (so the traced call is an ordinary
    eager step) and writes one line into the active program. It claims to be an ndarray for
    ``isinstance`` checks; converting it to a plain array (``np.asarray`` is intercepted while
    tracing, other routes are not) marks the trace invalid, because the replay could not follow.
    """

    __slots__ = ("v", "name")
    __array_priority__ = 1000.0
    __hash__ = object.__hash__

    def __init__(self, v: Any, name: str) -> None:
        self.v = v
        self.name = name

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance(sym, np.ndarray) is True, type() is not
        return np.ndarray if isinstance(self.v, np.ndarray) else type(self.v)

    # -- the NumPy protocols -----------------------------------------------------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        res = getattr(ufunc, method)(*_c(inputs), **_c(kwargs))
        prog = _prog
        if prog is None:
            return res
        fname = _np_name(ufunc, "")
        if fname is None:
            prog.fail(f"ufunc {ufunc!r} is not reachable as np.<name>")
            return res
        if method != "__call__":
            fname += f".{method}"
        if method == "at":  # np.add.at(a, index, b) adds into a
            prog.check_write(inputs[0])
        out = kwargs.get("out")
        if out is not None:
            outs = out if type(out) is tuple else (out,)
            for o in outs:
                prog.check_write(o)
            if len(outs) == 1:
                kwargs = {**kwargs, "out": outs[0]}
            prog.emit(_call(fname, inputs, kwargs))
            return outs[0] if len(outs) == 1 else outs
        return prog.new(res, _call(fname, inputs, kwargs))

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        res = func(*_c(args), **_c(kwargs))
        prog = _prog
        if prog is None:
            return res
        fname = _np_name(func, "")
        if fname is None:
            prog.fail(f"NumPy function {getattr(func, '__name__', func)!r} cannot be named in "
                      "generated code")
            return res
        if func.__name__ in _SHAPE_ONLY:
            return res  # shapes and dtypes are guarded by the trace's signature
        _record_out(prog, kwargs)
        if res is None:  # an in-place function (np.copyto, np.put_along_axis, ...)
            if args:
                prog.check_write(args[0])
            prog.emit(_call(fname, args, kwargs))
            return None
        return prog.new(res, _call(fname, args, kwargs))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if _prog is not None:
            _prog.fail("a traced array was converted to a plain NumPy array (np.array, a C "
                       "extension or an index), so the replay could not follow its value")
        v = np.asarray(self.v)
        if dtype is not None and v.dtype != dtype:
            return v.astype(dtype)
        return v.copy() if copy else v

    # -- attributes and methods ---------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)  # never hand NumPy an __array_interface__ of v
        attr = getattr(self.v, name)
        if not callable(attr):
            return attr  # shape, dtype, ndim, size, flags, base, strides: fixed by the guards
        return _Method(self, name, attr)

    @property
    def T(self) -> Any:
        return self._expr(self.v.T, [self, ".T"])

    @property
    def mT(self) -> Any:
        return self._expr(self.v.mT, [self, ".mT"])

    def _expr(self, value: Any, parts: list[Any]) -> Any:
        prog = _prog
        return value if prog is None else prog.new(value, parts)

    def __getitem__(self, idx: Any) -> Any:
        return self._expr(self.v[_c(idx)], [self, "[", *_lit(idx, True), "]"])

    def __setitem__(self, idx: Any, value: Any) -> None:
        self.v[_c(idx)] = _c(value)
        prog = _prog
        if prog is not None:
            prog.check_write(self)
            prog.emit([self, "[", *_lit(idx, True), "] = ", *_lit(value)])

    def __len__(self) -> int:
        return len(self.v)

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self.v)))

    def __repr__(self) -> str:
        return f"<traced {self.name}: {self.v!r}>"

    # -- what becomes a Python value: specialised, and checked on every replay ------------------
    def __bool__(self) -> bool:
        value = bool(self.v)
        if _prog is not None:
            _prog.guard([self], value)
        return value

    def _scalar(self, kind: Callable[[Any], Any], spelled: str) -> Any:
        value = kind(self.v)
        if _prog is not None:
            _prog.guard([f"{spelled}(", self, ")"], value)
        return value

    def __float__(self) -> float:
        return self._scalar(float, "float")

    def __int__(self) -> int:
        return self._scalar(int, "int")

    def __index__(self) -> int:
        return self._scalar(operator.index, "operator.index")

    def item(self, *args: Any) -> Any:
        value = self.v.item(*args)
        if _prog is None or args or not isinstance(value, float):
            return self._scalar(lambda v: v.item(*args), "") if _prog and args else value
        return _Scalar(value, self, _prog)

    def tolist(self) -> Any:
        if _prog is not None:
            _prog.fail("the step converts a traced array to a Python list (.tolist())")
        return self.v.tolist()


def _binary(op: str, sym: str, reflected: bool) -> Callable[..., Any]:
    fn = getattr(operator, op)

    def method(self: _Sym, other: Any) -> Any:
        a, b = (other, self) if reflected else (self, other)
        value = fn(_c(a), _c(b))
        if value is NotImplemented:
            return value
        prog = _prog
        if prog is None:
            return value
        return prog.new(value, [*_lit(a), f" {sym} ", *_lit(b)])

    return method


def _inplace(op: str, sym: str) -> Callable[..., Any]:
    fn = getattr(operator, "__i" + op[2:])

    def method(self: _Sym, other: Any) -> Any:
        res = fn(self.v, _c(other))
        prog = _prog
        if prog is None:
            self.v = res
            return self
        if res is self.v:  # a real in-place change of an array
            prog.check_write(self)
            prog.emit([self, f" {sym}= ", *_lit(other)])
            return self
        return prog.new(res, [self, f" {sym} ", *_lit(other)])  # a NumPy scalar: rebinds

    return method


for _op, _sym in _INFIX.items():
    setattr(_Sym, _op, _binary(_op, _sym, False))
    if _op not in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
        setattr(_Sym, "__r" + _op[2:], _binary(_op, _sym, True))
        setattr(_Sym, "__i" + _op[2:], _inplace(_op, _sym))


def _unary(op: str, before: str, after: str = "") -> Callable[..., Any]:
    fn = getattr(operator, op)

    def method(self: _Sym) -> Any:
        value = fn(self.v)
        prog = _prog
        return value if prog is None else prog.new(value, [before, self, after])

    return method


for _op, _before, _after in (("neg", "-", ""), ("pos", "+", ""), ("invert", "~", ""),
                             ("abs", "abs(", ")")):
    setattr(_Sym, f"__{_op}__", _unary(_op, _before, _after))


def _record_out(prog: _Program, kwargs: dict[str, Any]) -> None:
    """A call given ``out=`` (``np.cumsum(a, out=b)``, ``a.sum(0, out=b)``) writes into it."""
    out = kwargs.get("out")
    for o in out if type(out) is tuple else () if out is None else (out,):
        prog.check_write(o)


class _Method:
    """A bound method of a traced array: ``x.sum(axis=1)`` becomes one line."""

    __slots__ = ("sym", "name", "fn")

    def __init__(self, sym: _Sym, name: str, fn: Any) -> None:
        self.sym, self.name, self.fn = sym, name, fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        value = self.fn(*_c(args), **_c(kwargs))
        prog = _prog
        if prog is None:
            return value
        parts = _call(f".{self.name}", args, kwargs)
        parts[0:1] = [self.sym, parts[0]]
        _record_out(prog, kwargs)
        if value is None:  # fill, sort, resize: a change in place
            prog.check_write(self.sym)
        return prog.new(value, parts)


class _Scalar(float):
    """``tensor.item()`` while tracing: a float that remembers where it came from. Returned
    from the step untouched, the replay returns the new value; used in any Python computation
    it is specialised (a guard checks the replay sees the same value)."""

    _done = False
    sym: _Sym
    prog: _Program
    at: int
    raw: float

    def __new__(cls, value: float, sym: _Sym, prog: _Program) -> _Scalar:
        self = super().__new__(cls, value)
        self.sym, self.prog, self.at, self.raw = sym, prog, len(prog.lines), value
        return self

    def _specialize(self) -> None:
        if not self._done:
            self._done = True
            self.prog.guard([self.sym, ".item()"], self.raw, self.at,
                            "a value from .item() used in Python")


def _scalar_method(name: str) -> Callable[..., Any]:
    base = getattr(float, name)

    def method(self: _Scalar, *args: Any) -> Any:
        self._specialize()
        return base(self, *args)

    return method


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__",
              "__rmod__", "__pow__", "__rpow__", "__neg__", "__pos__", "__abs__", "__bool__",
              "__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__", "__int__",
              "__float__", "__round__", "__trunc__", "__floor__", "__ceil__", "__format__",
              "__repr__", "__str__", "__divmod__", "__rdivmod__", "is_integer", "hex"):
    setattr(_Scalar, _name, _scalar_method(_name))
_Scalar.__hash__ = float.__hash__  # type: ignore[assignment]


# --------------------------------------------------------------------------- the trace window


def _asarray_traced(orig: Callable[..., Any]) -> Callable[..., Any]:
    def asarray(a: Any, dtype: Any = None, *args: Any, **kwargs: Any) -> Any:
        if type(a) is _Sym and not args and not kwargs.get("like"):
            if dtype is None or np.dtype(dtype) == a.v.dtype:
                return a
            return a.astype(dtype)
        return orig(a, dtype, *args, **kwargs)

    return asarray


def _array_traced(orig: Callable[..., Any]) -> Callable[..., Any]:
    def array(a: Any, dtype: Any = None, *args: Any, copy: bool = True, **kwargs: Any) -> Any:
        if type(a) is _Sym and not args and not kwargs:
            if dtype is not None and np.dtype(dtype) != a.v.dtype:
                return a.astype(dtype)
            return _Method(a, "copy", a.v.copy)() if copy else a
        return orig(a, dtype, *args, copy=copy, **kwargs)

    return array


def _creation_traced(name: str, orig: Callable[..., Any]) -> Callable[..., Any]:
    """``np.zeros(shape)`` and friends take no array, so NumPy never dispatches them to a
    traced array: while tracing they are written down too, so each replay gets fresh arrays
    (or one made once, when nothing writes into it or takes it out: ``_Program.hoist``)."""

    def create(*args: Any, **kwargs: Any) -> Any:
        value = orig(*_c(args), **_c(kwargs))
        prog = _prog
        if prog is None or not isinstance(value, np.ndarray):
            return value
        sym = prog.new(value, _call(f"np.{name}", args, kwargs))
        if name != "empty" and not _traced_in(args) and not _traced_in(kwargs):
            prog.created.append(sym)  # made from constants alone
        return sym

    return create


_CREATION = ("zeros", "ones", "empty", "full", "arange", "eye", "identity")


_FUSED = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")  # elementwise updates, per parameter


def _opt_kind(opt: Any) -> Any:
    """What decides the shape of an update: the parameter lists (by identity and length), the
    state dict, and each option that switches a branch (flags, strings, whether a number is
    zero). Numbers such as ``lr`` are not part of it: the update reads them at call time."""
    return (opt.nonfinite, id(opt.state), tuple(
        (id(g["params"]), len(g["params"]), tuple(
            (k, v if v is None or isinstance(v, (bool, str)) else
             v != 0 if isinstance(v, (int, float, np.number)) else None)
            for k, v in g.items() if k != "params"))
        for g in opt.param_groups))


def _held_elsewhere(t: Tensor) -> bool:
    """Whether anything besides ``t`` refers to its array (a name, a view, a list)."""
    getrefcount = getattr(sys, "getrefcount", None)
    return getrefcount is None or getrefcount(t.data) > 2  # t, and getrefcount's argument


class _FlatStep:
    """``optimizer.step()`` in the replay: the optimizer's own ``_update`` run once per
    parameter group on flat arrays. Each parameter's ``.data``, its gradient and its state
    buffers become views into one array per kind, so the finite check is one call and each
    line of the update one NumPy call for all parameters, bit for bit the per-parameter result
    (the updates of SGD, Adam, AdamW, RMSprop and Adagrad are elementwise).

    The gradient buffer always exists (the replay writes gradients into it). Parameters and
    buffers move into flat arrays only when nothing else refers to their arrays (which would
    silently go stale); otherwise, or when the options changed, ``step()`` is the optimizer's
    own. ``intact()`` (checked when a replay starts) notices ``p.data`` or a buffer replaced."""

    def __init__(self, opt: Optimizer) -> None:
        self.opt = opt
        self.groups = [list(g["params"]) for g in opt.param_groups]
        self.params = [p for ps in self.groups for p in ps]
        dtype = self.params[0].data.dtype
        sizes = [p.data.size for p in self.params]
        self.bounds = list(itertools.accumulate(sizes, initial=0))
        self.grad = np.zeros(self.bounds[-1], dtype)
        self.grads = [self._view(self.grad, i) for i in range(len(self.params))]
        self.kind: Any = None  # set once built
        self.seen: Any = None  # the options as last seen by step() (see _same_kind)
        self.counters = False  # does some group keep a counter (Adam's "step") in its state?
        self.state: Any = None
        self.retired = False
        self.views: list[tuple[Any, np.ndarray]] = []  # (tensor, the view its .data must be)
        self.flat: list[tuple[Tensor, np.ndarray, dict[str, Any], list[Tensor]]] = []

    def _view(self, flat: np.ndarray, i: int) -> np.ndarray:
        return flat[self.bounds[i]:self.bounds[i + 1]].reshape(self.params[i].data.shape)

    def _group_span(self, gi: int) -> slice:
        start = sum(len(ps) for ps in self.groups[:gi])
        return slice(self.bounds[start], self.bounds[start + len(self.groups[gi])])

    def build(self) -> bool:
        """Move parameters and state buffers into flat arrays (their values copied)."""
        opt, params = self.opt, self.params
        states = [opt.state.get(p, {}) for p in params]
        names = set(states[0])
        if any(set(s) != names for s in states):
            return False
        arrays = [k for k in names if isinstance(states[0][k], Tensor)]
        numbers = [k for k in names if k not in arrays]
        for k in numbers:  # e.g. "step": one value per group after the move
            for ps in self.groups:
                if any(opt.state[p][k] != opt.state[ps[0]][k] for p in ps):
                    return False
        owners = params + [s[k] for s in states for k in arrays]
        if any(type(t.data) is not np.ndarray or t.data.dtype != self.grad.dtype
               or _held_elsewhere(t) for t in owners):
            return False
        views: list[tuple[Any, np.ndarray]] = []
        flats: dict[str, np.ndarray] = {}
        for k, owners in [("", params)] + [(k, [s[k] for s in states]) for k in arrays]:
            flat = flats[k] = np.concatenate([t.data.ravel() for t in owners])
            for i, t in enumerate(owners):
                t.data = self._view(flat, i)
                views.append((t, t.data))
        self.views = views
        self.state = opt.state
        self.flat = []
        for ps, span in zip(self.groups, self._spans()):
            fstate: dict[str, Any] = {k: _tensor(flats[k][span]) for k in arrays}
            fstate.update((k, opt.state[ps[0]][k]) for k in numbers)
            self.flat.append((_tensor(flats[""][span]), self.grad[span], fstate, ps))
        self.kind = _opt_kind(opt)
        self.seen = self._options()
        self.counters = bool(numbers)
        return True

    def _options(self) -> Any:
        """Every option of every group as it is now, for a cheap comparison with the last."""
        opt = self.opt
        # id and length first: a group whose parameter list changed compares unequal there,
        # before its tensors would be compared with ``==``.
        return [opt.nonfinite, id(opt.state), *[(id(g["params"]), len(g["params"]), *g.values())
                                                for g in opt.param_groups]]

    def _same_kind(self) -> bool:
        """Whether the update still has the kind it was built for. Comparing the options with
        the last ones seen (identity first, in C) is cheap; only when one changed (a scheduler's
        new ``lr``) is the kind worked out again (``_opt_kind`` cost 3 of W1's 10 µs update)."""
        now = self._options()
        try:
            if now == self.seen:
                return True
        except Exception:  # noqa: BLE001 - an option whose == is no bool (an array): look closer
            pass
        if _opt_kind(self.opt) != self.kind:
            return False
        self.seen = now
        return True

    def _spans(self) -> list[slice]:
        return [self._group_span(gi) for gi in range(len(self.groups))]

    def intact(self) -> bool:
        """Every parameter and buffer still holds its view (else: trace again)."""
        if self.retired or self.views and self.opt.state is not self.state:
            return False  # another layout took over, or load_state_dict() replaced the state
        for t, v in self.views:
            if t.data is not v:
                return False
        return True

    def step(self) -> None:
        opt = self.opt
        if self.kind is None or not self._same_kind() or not all_finite(self.grad):
            opt.step()  # another kind of update or no flat layout; NaN/inf: raise or skip
            return
        if not self.counters:  # nothing but arrays in the state: one update per group
            for (w, g, fstate, _), group in zip(self.flat, opt.param_groups):
                opt._update(w, g, fstate, group)
            for p in self.params:
                p._bump()
            return
        state = opt.state
        todo = []
        for (w, g, fstate, ps), group in zip(self.flat, opt.param_groups):
            sts = [state[p] for p in ps]
            for k in fstate:
                if type(fstate[k]) is not Tensor:  # a counter such as "step"
                    v = fstate[k] = sts[0].get(k)
                    if any(s.get(k) != v for s in sts):
                        opt.step()  # the counters moved apart (an eager step skipped one)
                        return
            todo.append((w, g, fstate, sts, group))
        for w, g, fstate, sts, group in todo:
            opt._update(w, g, fstate, group)
            for k, v in fstate.items():
                if type(v) is not Tensor:
                    for s in sts:
                        s[k] = v
        for p in self.params:
            p._bump()


_FLAT: weakref.WeakKeyDictionary[Optimizer, _FlatStep] = weakref.WeakKeyDictionary()


def _fused_step(trace: _Trace, opt: Optimizer, ref: _Ref) -> bool:
    """Write ``opt.step()`` as a fused step over flat arrays (see ``_FlatStep``), the
    gradients produced straight into its buffer (``out=``). False: keep the plain call."""
    if type(opt).__name__ not in _FUSED or type(opt).__module__.split(".")[:2] != [
            "microgradnet", "optim"]:
        return False
    prog = trace.prog
    params = [p for g in opt.param_groups for p in g["params"]]
    dtype = params[0].data.dtype
    for p in params:
        sym = trace.grad_syms.get(id(p))
        if (sym is None or p.grad is None or p.grad.data is not sym.v or id(p) not in
                trace.grad_lines or p.data.dtype != dtype or sym.v.dtype != dtype):
            return False  # a gradient the trace did not deliver: let step() look
    flat = _FLAT.get(opt)
    if flat is None or [list(g["params"]) for g in opt.param_groups] != flat.groups or any(
            p.data.shape != v.shape for p, v in zip(params, flat.grads)) or not flat.intact():
        flat = _FlatStep(opt)
    trace.flats.append(flat)
    fref = prog.ref(flat, "flat")
    done: set[int] = set()
    for i, p in enumerate(params):
        sym = trace.grad_syms[id(p)]
        gref = prog.ref(flat.grads[i], "g_" + trace.names.get(id(p), "w") + "_")
        at = trace.grad_lines[id(p)]
        if id(sym) in done or not _write_into(prog, sym, gref):
            prog.lines[at] = ["np.copyto(", gref, ", ", sym, "); ",
                              *prog.lines[at][:1], ".grad = _tensor(", gref, ")"]
        done.add(id(sym))
        at = trace.guard_lines.get(id(p), -1)
        if at >= 0 and prog.lines[at][:1] == ["if "]:  # a flat layout fixes shape and dtype
            prog.lines[at] = ["if ", fref, ".kind is None and (", *prog.lines[at][1:]]
            prog.lines[at][-1] = prog.lines[at][-1].replace(": raise", "): raise", 1)
    name = type(opt).__name__
    prog.start_guards.append(f"if not {fref.name}.intact(): raise _GuardFailed('layout')")
    prog.emit([f"# ---- {ref.name}.step(), fused: {name}._update once over flat arrays that "
               "hold every parameter, gradient and buffer"])
    prog.emit([fref, ".step()"])
    return True


_UFUNC_OF = {" + ": "np.add", " - ": "np.subtract", " * ": "np.multiply", " / ": "np.divide",
             " @ ": "np.matmul"}


def _write_into(prog: _Program, sym: _Sym, out: _Ref) -> bool:
    """Make the line that computes ``sym`` write into array ``out`` (``out=``), if it is a
    NumPy call, an arithmetic operator or ``.sum``: then ``sym`` is ``out`` from there on."""
    for parts in reversed(prog.lines):
        if len(parts) > 2 and parts[0] is sym and parts[1] == " = ":
            break
    else:
        return False
    if sym.v.shape != out.obj.shape or sym.v.dtype != out.obj.dtype:
        return False
    rhs = parts[2:]
    if len(rhs) == 3 and rhs[1] in _UFUNC_OF:  # a @ b -> np.matmul(a, b, out=...)
        parts[2:] = [_UFUNC_OF[rhs[1]], "(", rhs[0], ", ", rhs[2], ", out=", out, ")"]
        return True
    head = rhs[0]
    is_call = (type(head) is str and head.startswith("np.") and rhs[1] == "(" and rhs[-1] == ")"
               and isinstance(getattr(np, head[3:], None), np.ufunc))
    is_sum = (len(rhs) > 3 and type(head) is _Sym and rhs[1] == ".sum" and rhs[2] == "("
              and rhs[-1] == ")")
    if not (is_call or is_sum) or any(type(x) is str and "out=" in x for x in rhs):
        return False
    empty = rhs[-2] == "("
    parts[-1:] = [*([] if empty else [", "]), "out=", out, ")"]
    return True


class _TracedNumpy:
    """``numpy`` as microgradnet's modules see it while tracing: ``np.asarray`` lets traced
    arrays through, ``np.zeros(shape)`` and friends are written down (see
    ``_creation_traced``); everything else is NumPy itself."""

    def __init__(self) -> None:
        self.asarray = _asarray_traced(np.asarray)
        self.asanyarray = _asarray_traced(np.asanyarray)
        self.ascontiguousarray = _asarray_traced(np.ascontiguousarray)
        self.array = _array_traced(np.array)
        for n in _CREATION:
            setattr(self, n, _creation_traced(n, getattr(np, n)))

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


class _Trace:
    """Everything recorded by one traced call, and the patches that make the recording."""

    def __init__(self, fn: Callable[..., Any], params: list[str]) -> None:
        self.fn = fn
        self.prog = _Program(params)
        self.param_names = params
        self.adopted: dict[int, tuple[Tensor, _Sym]] = {}  # id(tensor) -> (tensor, its Sym)
        self.made: list[Tensor] = []  # tensors made by ops: their data is restored at the end
        self.cleared: set[int] = set()  # parameters whose .grad a recorded zero_grad cleared
        self.grads_set: list[Tensor] = []
        self.optimizers: list[Optimizer] = []
        self.modules: list[Module] = []
        self.names: dict[int, str] = {}
        self.counts: dict[str, int] = {}
        self.backward_classes: dict[Any, Any] = {}  # class -> its own backward
        self.seen: list[Tensor] = []  # every tensor ever adopted
        self.fixed: dict[int, str] = {}  # id(Sym) -> name, for the step's own arguments
        self.grad_syms: dict[int, _Sym] = {}  # id(param) -> the gradient array delivered
        self.node_out: dict[int, str] = {}  # id(node) -> name of its output, for grad names
        self.grad_lines: dict[int, int] = {}  # id(param) -> the line assigning its .grad
        self.guard_lines: dict[int, int] = {}  # id(tensor) -> its shape and dtype guard
        self.flats: list[_FlatStep] = []  # fused optimizer steps, built once the trace is done

    # -- tensors entering the trace ------------------------------------------------------------
    def adopt(self, t: Tensor, name: str | None = None) -> None:
        """A tensor from outside (a parameter, a constant): the replay reads ``T.data`` here."""
        arr = t.data
        if type(arr) is not np.ndarray or id(t) in self.adopted:
            return
        prog = self.prog
        for p in self.grads_owner():
            if p.grad is t:
                prog.fail("gradients accumulate into an existing .grad (no zero_grad() in the "
                          "step, or zero_grad(set_to_none=False))")
        ref = prog.ref(t, "P")
        sym = _Sym(arr, name or self.names.get(id(t), "w"))
        prog.emit([sym, " = ", ref, ".data"])
        self.guard_lines[id(t)] = len(prog.lines)
        prog.emit(["if ", sym, f".shape != {arr.shape!r} or ", sym, ".dtype != ",
                   prog.ref(arr.dtype, arr.dtype.name), ": raise _GuardFailed(-1)"])
        prog.outside[id(arr)] = arr
        t.data = sym  # type: ignore[assignment]
        self.adopted[id(t)] = (t, sym)
        self.seen.append(t)

    def grads_owner(self) -> list[Tensor]:
        return [t for t, _ in self.adopted.values()] + [
            p for o in self.optimizers for g in o.param_groups for p in g["params"]]

    def release(self) -> None:
        """Give adopted tensors their plain arrays back (before an opaque call, at the end)."""
        for t, sym in list(self.adopted.values()):
            if t.data is sym:
                t.data = sym.v
            elif type(t.data) is _Sym:
                self.prog.fail("the step assigns a new array to a parameter's .data")
                t.data = t.data.v
        self.adopted.clear()

    def materialize_grads(self, params: list[Tensor]) -> None:
        """Gradients the traced sweep delivered become plain again; the replay assigns them."""
        prog = self.prog
        for p in params:
            g = p.grad
            if g is None or type(g.data) is not _Sym:
                continue
            sym = g.data
            ref = prog.ref(p, "P")
            if sym.name in ("t", "grad"):
                sym.name = "d" + self.names.get(id(p), "w")  # dL/dw, named after w
            self.grad_syms[id(p)] = sym
            self.grad_lines[id(p)] = len(prog.lines)
            prog.emit([ref, ".grad = _tensor(", sym, ")"])
            if id(p) not in self.cleared:
                prog.start_guards.append(f"if {ref.name}.grad is not None: raise _GuardFailed(0)")
            g.data = sym.v

    # -- the patched entry points ------------------------------------------------------------
    def apply(self, orig: Any, cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        for a in args:
            if isinstance(a, Tensor) and type(a.data) is np.ndarray:
                self.adopt(a)
        start = len(self.prog.lines)
        out = orig(cls, args, kwargs)
        outs = out if type(out) is tuple else (out,)
        op = cls.__name__.lower()
        k = self.counts[op] = self.counts.get(op, 0) + 1
        for i, o in enumerate(outs):
            if isinstance(o, Tensor):
                self.made.append(o)
                if type(o.data) is _Sym and o.data.name == "t":
                    o.data.name = f"{op}{k}" if len(outs) == 1 else f"{op}{k}_{i}"
                    if o.grad_fn is not None and len(outs) == 1:
                        self.node_out[id(o.grad_fn)] = o.data.name
        if len(self.prog.lines) > start and _state.enabled:
            site = user_call_site(sys._getframe(2))
            where = "" if site is None else f"  ({_short(site)})"
            self.prog.lines.insert(start, [f"# {op}{where}"])
        return out

    def backward_rule(self, cls: type, orig: Any) -> Any:
        trace = self

        def backward(ctx: Any, *grads: Any) -> Any:
            out = trace.node_out.get(id(ctx))
            trace.prog.emit([f"# backward of {out or cls.__name__.lower()}"])
            for g in grads:
                arr = g.data if isinstance(g, Tensor) else g
                if type(arr) is _Sym and arr.name == "t":
                    arr.name = "d" + out if out else "grad"  # dL/d(output)
            return orig(ctx, *grads)

        return staticmethod(backward)

    def run_backward(self, orig: Any, outputs: Any, grad_outputs: Any, retain_graph: bool,
                     create_graph: bool, inputs: Any = None) -> Any:
        prog = self.prog
        if create_graph:
            prog.fail("backward(create_graph=True): the replay runs first-order sweeps only")
        if _engine._observer is not None:
            prog.fail("a sweep observer (mg.viz.backward_frames) is active")
        roots = [o.grad_fn for o in outputs if o.grad_fn is not None]
        from microgradnet.autograd.graph import count_consumers

        deps = count_consumers(roots)
        for node in list(deps) + roots:
            if node._hooks:
                prog.fail("a hook on a tensor of the graph (register_hook, retain_grad)")
            for edge in node.next_functions or ():
                if edge is not None and edge[0]._is_tensor:
                    leaf = edge[0]
                    if leaf._meta and leaf._meta.get("hooks"):
                        prog.fail("a hook on a leaf tensor (register_hook)")
            cls = type(node)
            if cls not in self.backward_classes:
                self.backward_classes[cls] = cls.__dict__.get("backward")
                cls.backward = self.backward_rule(cls, cls.backward)
        prog.emit(["# ---- backward sweep"])
        return orig(outputs, grad_outputs, retain_graph, create_graph, inputs)

    def opaque(self, obj: Any, method: str, orig: Any, args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> Any:
        """zero_grad() and optimizer.step(): kept as calls, run on plain arrays."""
        prog = self.prog
        params = (list(obj.parameters()) if isinstance(obj, Module) else
                  [p for g in obj.param_groups for p in g["params"]])
        if isinstance(obj, Optimizer) and obj not in self.optimizers:
            self.optimizers.append(obj)
        if isinstance(obj, Module) and obj not in self.modules:
            self.modules.append(obj)
        self.materialize_grads(params)
        if method == "step":
            self.release()  # the update writes into the plain arrays
            if args or kwargs.get("closure") is not None:
                prog.fail("optimizer.step(closure): the closure's work cannot be replayed")
            if type(obj).step is not Optimizer.step:
                prog.fail(f"{type(obj).__name__} has its own step(), which is not replayed")
            prog.committed = True
        if method == "zero_grad":
            set_to_none = args[0] if args else kwargs.get("set_to_none", True)
            if set_to_none:
                self.cleared.update(id(p) for p in params)
        ref = prog.ref(obj, "opt" if isinstance(obj, Optimizer) else "module")
        if not (method == "step" and _fused_step(self, obj, ref)):
            prog.emit([ref, *_call(f".{method}", args, kwargs)])
        global _prog
        _prog = None  # the call runs on plain arrays and writes nothing down
        try:
            return orig(obj, *args, **kwargs)
        finally:
            _prog = prog

    # -- install / remove ------------------------------------------------------------------------
    def patches(self) -> list[tuple[Any, str, Any]]:
        trace = self
        orig_apply = _function.apply_op

        def apply_op(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any] = _NO_KWARGS) -> Any:
            return trace.apply(orig_apply, cls, args, kwargs)

        orig_rb = _api.run_backward

        def run_backward(*a: Any, **kw: Any) -> Any:
            return trace.run_backward(orig_rb, *a, **kw)

        def opaque(cls: type, method: str) -> Any:
            orig = cls.__dict__[method]

            def call(self: Any, *args: Any, **kwargs: Any) -> Any:
                return trace.opaque(self, method, orig, args, kwargs)

            return call

        out: list[tuple[Any, str, Any]] = [
            (_api, "run_backward", run_backward),
            (Optimizer, "step", opaque(Optimizer, "step")),
            (Optimizer, "zero_grad", opaque(Optimizer, "zero_grad")),
            (Module, "zero_grad", opaque(Module, "zero_grad")),
        ]
        # microgradnet's own modules see a NumPy whose array creation is traced; NumPy's
        # internals and C extensions keep the real module (they must never see a _Sym).
        # Every op reaches its node through ``apply_op`` (Function.apply too): wherever a module
        # of microgradnet bound that name.
        proxy = _TracedNumpy()
        for name, mod in list(sys.modules.items()):
            if name.startswith("microgradnet") and getattr(mod, "apply_op", None) is orig_apply:
                out.append((mod, "apply_op", apply_op))
            if (name.startswith("microgradnet.") and name != __name__
                    and getattr(mod, "np", None) is np):
                out.append((mod, "np", proxy))
        return out


# The file Jupyter's kernel gives a cell's code: a temporary name that means nothing to a reader.
_CELL_FILE = re.compile(r"ipykernel_\d+[/\\]\d+\.py$")


def _short(site: Any) -> str:
    """'file.py:line' of a call site for the generated code's comments ('cell:line' in Jupyter)."""
    path = site[0].co_filename
    name = "cell" if _CELL_FILE.search(path) else path.replace("\\", "/").rsplit("/", 1)[-1]
    return f"{name}:{site_line(site)}"


# --------------------------------------------------------------------------- the compiled step


class CompiledStep:
    """A training step traced once per input signature and replayed as generated NumPy code.

    Attributes: ``code`` (the generated source of the latest trace), ``fallback_reason``
    (why the step runs eagerly, or None), ``traces`` (how many times it traced).

    >>> w = mg.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = mg.optim.SGD([w], lr=0.05)
    >>> def step(x):
    ...     opt.zero_grad()
    ...     loss = (w * x).sum() ** 2
    ...     loss.backward()
    ...     opt.step()
    ...     return loss
    >>> fast = mg.compile(step)
    >>> [round(fast(mg.tensor([1.0, 2.0])).item(), 4) for _ in range(3)]
    [1.0, 0.25, 0.0625]
    """

    def __init__(self, fn: Callable[..., Any], check: int = 1, cache_size: int = 8,
                 max_traces: int | None = None) -> None:
        if check < 0 or cache_size < 1:
            raise ValueError("compile: check must be >= 0 and cache_size >= 1")
        self.fn = fn
        self.check = check
        self.cache_size = cache_size
        self.max_traces = 4 * cache_size if max_traces is None else max_traces
        self.cache: OrderedDict[Any, Any] = OrderedDict()
        self.fallback_reason: str | None = None
        self.code: str | None = None
        self.traces = 0
        self.replays = 0
        self.checked = 0
        self._warned = False
        self._pending: list[_FlatStep] = []
        self.__name__ = getattr(fn, "__name__", "step")
        self.__doc__ = getattr(fn, "__doc__", None)

    # -- calling ---------------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.fallback_reason is not None:
            return self.fn(*args, **kwargs)
        if _state.anomaly:
            return self._eager("anomaly mode is on (mg.detect_anomaly()): the replay does not "
                               "check every gradient", args, kwargs, permanent=False)
        if kwargs:
            return self._eager("keyword arguments are not supported by compile; pass them "
                               "positionally", args, kwargs)
        key = self._key(args)
        if key is None:
            return self._eager("an argument of the step is neither a tensor, an array nor a "
                               "hashable Python value", args, kwargs)
        replay = self.cache.get(key)
        if replay is None:
            out = self._trace(key, args)
            self._build_flats()  # now that the trace's own references to arrays are gone
            return out
        self.cache.move_to_end(key)
        if self.checked < self.check:
            return self._checked(replay, args)
        try:
            out = replay.run(*args)
        except _GuardFailed as e:
            replay.misses += 1
            if e.args == ("layout",) or replay.misses > 2 and replay.misses > replay.hits:
                self.cache.pop(key, None)  # trace again on the next call
            return self.fn(*args)
        replay.hits += 1
        self.replays += 1
        return out

    def _key(self, args: tuple[Any, ...]) -> Any:
        key: list[Any] = [_state.enabled]
        for a in args:
            if type(a) is Tensor:
                d = a.data
                key.append((d.shape, d.dtype, a.requires_grad, a.grad_fn is None))
            elif isinstance(a, Tensor):
                key.append(("T", a.data.shape, a.data.dtype.str, a.requires_grad,
                            a.grad_fn is None))
            elif isinstance(a, np.ndarray):
                key.append(("A", a.shape, a.dtype.str))
            else:
                try:
                    hash(a)
                except TypeError:
                    return None
                key.append((type(a), a))
        return tuple(key)

    def _eager(self, reason: str, args: tuple[Any, ...], kwargs: dict[str, Any],
               permanent: bool = True) -> Any:
        if permanent:
            self.fallback_reason = reason
        if not self._warned:
            self._warned = True
            warnings.warn(f"mg.compile({self.__name__}): running eagerly: {reason}",
                          RuntimeWarning, stacklevel=3)
        return self.fn(*args, **kwargs)

    # -- tracing -----------------------------------------------------------------------------------
    def _trace(self, key: Any, args: tuple[Any, ...]) -> Any:
        global _prog
        if self.traces >= self.max_traces:
            return self._eager(f"traced {self.traces} times (a Python argument that changes on "
                               "every call?); the cache holds "
                               f"{self.cache_size} traces", args, {})
        if _prog is not None:
            return self.fn(*args)  # a compiled step called inside another one's trace
        self.traces += 1
        names = _arg_names(self.fn, len(args))
        trace = _Trace(self.fn, names)
        prog = trace.prog
        gen = get_generator(None)
        rng_before = gen.bit_generator.state
        # Step arguments: their arrays are traced from the start.
        arg_syms: list[Any] = []
        swapped: list[tuple[Tensor, Any]] = []
        for a, n in zip(args, names):
            if isinstance(a, Tensor):
                s = _Sym(a.data, n)
                trace.fixed[id(s)] = n
                prog.emit([s, f" = {n}.data  # {a.data.shape} {a.data.dtype}"])
                prog.outside[id(a.data)] = a.data
                swapped.append((a, a.data))
                a.data = s  # type: ignore[assignment]
                arg_syms.append(a)
            elif isinstance(a, np.ndarray):
                s = _Sym(a, n)
                trace.fixed[id(s)] = n
                prog.outside[id(a)] = a
                arg_syms.append(s)
            else:
                arg_syms.append(a)
        trace.names.update(_param_names(self.fn))
        patches = trace.patches()
        saved = [(obj, name, obj.__dict__.get(name) if isinstance(obj, type) else
                  getattr(obj, name)) for obj, name, _ in patches]
        _prog = prog
        try:
            for obj, name, new in patches:
                setattr(obj, name, new)
            call_args = [s if type(s) is _Sym else a for s, a in zip(arg_syms, args)]
            result = self.fn(*call_args)
            opt_params = [p for o in trace.optimizers for g in o.param_groups for p in g["params"]]
            owners = trace.seen + opt_params + [
                p for m in trace.modules for p in m.parameters()]
            trace.materialize_grads(_unique(owners))
            trace.release()
            ret = _output_parts(result, prog)
        finally:
            _prog = None
            for obj, name, old in saved:
                if old is None and isinstance(obj, type):
                    delattr(obj, name)
                else:
                    setattr(obj, name, old)
            for cls, old in trace.backward_classes.items():
                if old is None:
                    delattr(cls, "backward")
                else:
                    cls.backward = old
            for t, arr in swapped:
                t.data = arr
            for t in trace.made:
                if type(t.data) is _Sym:
                    t.data = t.data.v
        result = _c(result, tensors=True)
        if gen.bit_generator.state != rng_before:
            prog.fail("the step draws random numbers (dropout in training mode?): the replay "
                      "would reuse the same ones")
        for r in prog.consts.values():
            if r.snap is not None and not np.array_equal(r.snap, r.obj, equal_nan=True):
                prog.fail("a NumPy array the step uses as a constant was changed in place while "
                          "tracing")
        if prog.invalid is None and ret is None:
            prog.fail("the step returns a value computed outside microgradnet ops (return "
                      "tensors, .item() values, or nothing)")
        if prog.invalid is not None:
            self.fallback_reason = prog.invalid
            if not self._warned:
                self._warned = True
                warnings.warn(f"mg.compile({self.__name__}): running eagerly: {prog.invalid}",
                              RuntimeWarning, stacklevel=3)
            return result
        assert ret is not None  # else the trace was marked invalid above
        prog.hoist([p.v for p in ret if type(p) is _Sym] +
                   [s.v for s in trace.grad_syms.values()], trace.fixed, names)
        replay = _Replay(prog, names, ret, trace, self.__name__)
        self.code = replay.code
        self.cache[key] = replay
        self._pending = trace.flats
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return result

    def _build_flats(self) -> None:
        for flat in self._pending:
            old = _FLAT.get(flat.opt)
            if old is not None and old is not flat:
                old.retired, old.views = True, []  # its replays trace again
            if (flat.kind is None or not flat.intact()) and flat.build():
                _FLAT[flat.opt] = flat
        self._pending = []

    # -- checking ---------------------------------------------------------------------------
    def _checked(self, replay: _Replay, args: tuple[Any, ...]) -> Any:
        """Replay, restore, run eagerly, compare bit for bit; the eager results stand."""
        self.checked += 1
        state = _State(replay)
        try:
            got = replay.run(*args)
        except _GuardFailed as e:
            if e.args == ("layout",):
                self.cache.pop(next(k for k, r in self.cache.items() if r is replay), None)
            state.restore()
            return self.fn(*args)
        after = state.capture()
        state.restore()
        want = self.fn(*args)
        diff = _differ(got, want, "the returned value") or state.compare(after)
        if diff:
            self.fallback_reason = (f"check: the replay differed from the eager step on call "
                                    f"{self.traces + self.checked} ({diff}); a Python branch "
                                    "on a non-tensor value, or NumPy work on .data frozen into "
                                    "a constant?")
            if not self._warned:
                self._warned = True
                warnings.warn(f"mg.compile({self.__name__}): running eagerly: "
                              f"{self.fallback_reason}", RuntimeWarning, stacklevel=3)
        return want


class _Replay:
    """One trace turned into a Python function."""

    _ids = itertools.count()

    def __init__(self, prog: _Program, params: list[str], ret: list[Any], trace: _Trace,
                 name: str) -> None:
        name = name if name.isidentifier() else "step"
        body = prog.render(f"{name}_compiled", params, ret, trace.fixed)
        ns: dict[str, Any] = {"np": np, "_GuardFailed": _GuardFailed, "_tensor": _tensor,
                              "_same": _same, "operator": operator, "float": builtins.float,
                              }
        for r in prog.consts.values():
            ns[r.name] = r.obj
        head, rest = body.split("\n", 1)
        guards = "".join(f"    {g}\n" for g in prog.start_guards)
        src = head + "\n" + guards + rest
        self.code = src
        filename = f"<mg.compile {name} #{next(self._ids)}>"
        linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
        exec(builtins.compile(src, filename, "exec"), ns)  # noqa: S102 - our own generated code
        self.run = ns[f"{name}_compiled"]
        self.tensors = [r.obj for r in prog.consts.values() if isinstance(r.obj, Tensor)]
        self.optimizers = list(trace.optimizers)
        self.hits = 0
        self.misses = 0


def _tensor(a: Any) -> Tensor:
    return Tensor._make(a if type(a) is np.ndarray else np.asarray(a), False, None)


def _same(a: Any, b: Any) -> bool:
    return bool(a == b or (a != a and b != b))


def _unique(items: list[Any]) -> list[Any]:
    seen: set[int] = set()
    out = []
    for it in items:
        if id(it) not in seen:
            seen.add(id(it))
            out.append(it)
    return out


def _output_parts(x: Any, prog: _Program) -> list[Any] | None:
    """How the replay builds the step's return value, or None when it cannot."""
    t = type(x)
    if x is None or t in (bool, int, str):
        return [repr(x)]
    if t is _Scalar:
        return [x.sym, ".item()"]
    if isinstance(x, Tensor):
        if type(x.data) is _Sym:
            return ["_tensor(", x.data, ")"]
        return None
    if t is _Sym:
        return [x]
    if t in (tuple, list, dict):
        found = [_output_parts(v, prog) for v in (x.values() if t is dict else x)]
        items = [i for i in found if i is not None]
        if len(items) < len(found):
            return None
        if t is dict:
            return ["{", *_join([[repr(k), ": ", *i] for k, i in zip(x, items)]), "}"]
        inner = _join(list(items))
        return ["(", *inner, ",)" if len(x) == 1 else ")"] if t is tuple else ["[", *inner, "]"]
    return None


def _arg_names(fn: Callable[..., Any], n: int) -> list[str]:
    import inspect

    try:
        ps = [p.name for p in inspect.signature(fn).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        ps = []
    names = ps[:n] + [f"arg{i}" for i in range(len(ps), n)]
    return [n if n.isidentifier() and n not in ("np", "float") else f"arg{i}"
            for i, n in enumerate(names)]


def _param_names(fn: Callable[..., Any]) -> dict[int, str]:
    """Readable names for parameters, from the modules the step's function refers to."""
    found: dict[int, str] = {}
    code = getattr(fn, "__code__", None)
    cands: list[tuple[str, Any]] = []
    if code is not None:
        for name, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or ()):
            try:
                cands.append((name, cell.cell_contents))
            except ValueError:
                pass
        g = getattr(fn, "__globals__", {})
        cands += [(n, g[n]) for n in code.co_names if n in g]
    for var, obj in cands:
        if isinstance(obj, Module):
            for pname, p in obj.named_parameters():
                ident = "".join(ch if ch.isalnum() else "_" for ch in pname)
                found.setdefault(id(p), ident if ident[0].isalpha() else f"{var}_{ident}")
    return found


def _differ(a: Any, b: Any, what: str) -> str | None:
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return _differ(a.data, b.data, what)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype or a.tobytes() != b.tobytes():
            return what
        return None
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            d = _differ(x, y, f"{what}[{i}]")
            if d:
                return d
        return None
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        for k in a:
            d = _differ(a[k], b[k], f"{what}[{k!r}]")
            if d:
                return d
        return None
    if isinstance(a, float) and isinstance(b, float):
        return None if np.float64(a).tobytes() == np.float64(b).tobytes() else what
    return None if a == b else what


class _State:
    """The state a replay changes (parameters, their gradients, optimizer state, the global
    generator), copied so a checked call can run the replay and then the eager step."""

    def __init__(self, replay: _Replay) -> None:
        self.tensors = _unique(replay.tensors + [
            p for o in replay.optimizers for g in o.param_groups for p in g["params"]])
        self.optimizers = replay.optimizers
        self.saved = self._take()

    def _take(self) -> Any:
        ts = [(t, t.data, t.data.copy(), t.grad, None if t.grad is None else t.grad.data.copy(),
               list(t._vc) if t._vc is not None else None) for t in self.tensors]
        opts = [(o, {p: dict(s) for p, s in o.state.items()},
                 {id(v): v.data.copy() for s in o.state.values() for v in s.values()
                  if isinstance(v, Tensor)}, o.skipped_steps) for o in self.optimizers]
        return ts, opts, get_generator(None).bit_generator.state

    def restore(self) -> None:
        ts, opts, rng = self.saved
        for t, data, copy, grad, gcopy, vc in ts:
            np.copyto(data, copy)
            t.data = data
            if grad is not None:
                np.copyto(grad.data, gcopy)
            t.grad = grad
            if vc is not None:
                t._vc[:] = vc
        for o, state, arrays, skipped in opts:
            o.state.clear()
            for p, s in state.items():
                for v in s.values():
                    if isinstance(v, Tensor) and id(v) in arrays:
                        np.copyto(v.data, arrays[id(v)])
                o.state[p] = dict(s)
            o.skipped_steps = skipped
        get_generator(None).bit_generator.state = rng

    def capture(self) -> Any:
        return ([(t.data.copy(), None if t.grad is None else t.grad.data.copy())
                 for t in self.tensors],
                [{i: {k: (v.data.copy() if isinstance(v, Tensor) else v) for k, v in s.items()}
                  for i, s in enumerate(o.state[p] for g in o.param_groups
                                        for p in g["params"])} for o in self.optimizers])

    def compare(self, after: Any) -> str | None:
        now = self.capture()
        for i, ((a, ga), (b, gb)) in enumerate(zip(after[0], now[0])):
            if _differ(a, b, f"tensor {i}") or _differ(ga, gb, f"the gradient of tensor {i}"):
                return f"tensor {i} or its gradient"
        for k, (sa, sb) in enumerate(zip(after[1], now[1])):
            if sa.keys() != sb.keys():
                return f"the state of optimizer {k}"
            for i in sa:
                if sa[i].keys() != sb[i].keys():
                    return f"the state of optimizer {k}"
                for name in sa[i]:
                    d = _differ(sa[i][name], sb[i][name], f"optimizer {k} state {name!r}")
                    if d:
                        return d
        return None


def compile(fn: Callable[..., Any], *, check: int = 1, cache_size: int = 8) -> CompiledStep:
    """Compile a training step: trace its first call, replay later calls as flat NumPy code.

    ``fn`` does what a step does (``zero_grad``, forward, loss, ``backward``,
    ``optimizer.step()``) and returns tensors, ``.item()`` values or nothing. The returned
    step is called like ``fn``; ``step.code`` is the generated source. ``check=k`` runs the
    eager step beside the replay for the first ``k`` replays and compares them bit for bit
    (on a difference the step stays eager). Traces are cached per input signature (shapes,
    dtypes, Python argument values, grad mode), at most ``cache_size`` of them.

    >>> model = mg.nn.Linear(2, 1)
    >>> opt = mg.optim.SGD(model.parameters(), lr=0.1)
    >>> @mg.compile
    ... def step(x, y):
    ...     opt.zero_grad()
    ...     loss = mg.nn.functional.mse_loss(model(x), y)
    ...     loss.backward()
    ...     opt.step()
    ...     return loss
    >>> x, y = mg.ones(4, 2), mg.zeros(4, 1)
    >>> losses = [step(x, y).item() for _ in range(3)]
    >>> step.fallback_reason is None and "np.matmul" in step.code
    True
    """
    return CompiledStep(fn, check=check, cache_size=cache_size)
