"""``Tensor``: a NumPy array that remembers how it was computed.

Operations on tensors that require grad record a node (``grad_fn``) while grad mode is on;
``backward`` walks those nodes in reverse (see ``autograd/engine.py``). The methods here are
one-liners that delegate to ``microgradnet.ops``, where each op and its derivative live.
"""

from __future__ import annotations

import operator
import weakref
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

__all__ = ["Tensor", "DTypeLike", "set_default_dtype", "get_default_dtype", "as_dtype"]

_default_dtype: np.dtype[Any] = np.dtype(np.float32)
_float = float  # inside class Tensor, ``float`` in an annotation would name Tensor.float
_SYMBOL = {"add_": "+", "sub_": "-", "mul_": "*", "div_": "/"}

DTypeLike = Any
_FLOAT_KINDS = "fc"


def set_default_dtype(dtype: DTypeLike) -> None:
    """Set the floating dtype used for Python floats and float factories (float32 default).

    >>> mg.set_default_dtype(mg.float64)
    >>> mg.tensor([1.0]).dtype
    dtype('float64')
    >>> mg.set_default_dtype("float32")
    """
    global _default_dtype
    d = np.dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {d}")
    _default_dtype = d


def get_default_dtype() -> np.dtype:
    """The floating dtype used for Python floats and float factories.

    >>> mg.get_default_dtype()
    dtype('float32')
    """
    return _default_dtype


def as_dtype(dtype: DTypeLike) -> np.dtype | None:
    """Normalise a dtype argument (NumPy dtype, type or string such as ``"float64"``)."""
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype in ("float", "double", "long", "int"):
        dtype = {"float": "float32", "double": "float64", "long": "int64", "int": "int32"}[dtype]
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"unknown dtype {dtype!r}; use a NumPy dtype or a name like 'float64'"
        ) from None


def _to_array(data: Any, dtype: DTypeLike = None, copy: bool = True) -> np.ndarray:
    """Convert user data to an array with microgradnet's dtype rules."""
    dt = as_dtype(dtype)
    if isinstance(data, Tensor):
        arr = data.data
        return arr.astype(dt) if dt is not None else (arr.copy() if copy else arr)
    if isinstance(data, np.ndarray):
        if data.dtype.kind not in _NUMERIC_KINDS:
            raise _not_numeric(data, data)
        if dt is not None and dt != data.dtype:
            return data.astype(dt)
        return data.copy() if copy else data
    if isinstance(data, np.generic):
        arr = np.array(data)
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in _flat(data)):
            data = _tensors_to_lists(data)
        arr = np.array(data)
        if arr.dtype == np.float64 and dt is None:
            arr = arr.astype(_default_dtype)
    if arr.dtype.kind not in _NUMERIC_KINDS:
        raise _not_numeric(data, arr)
    if dt is not None and arr.dtype != dt:
        arr = arr.astype(dt)
    return arr


_NUMERIC_KINDS = "biufc"  # bools, integers, floats, complex: what a tensor holds


def _not_numeric(data: Any, arr: np.ndarray) -> TypeError:
    """The TypeError for data a tensor cannot hold (strings, objects, dates), naming it."""
    if isinstance(data, np.ndarray):
        return TypeError(f"cannot build a tensor from an ndarray of dtype {arr.dtype} (shape "
                         f"{arr.shape}): tensors hold numbers and bools, never objects")
    if arr.dtype == object:
        return TypeError(
            f"cannot build a tensor from {type(data).__name__} {data!r:.40}: expected numbers, "
            "nested lists of numbers with a regular shape, or a NumPy array")
    return TypeError(f"cannot build a tensor from {type(data).__name__} {data!r:.40} (dtype "
                     f"{arr.dtype}): tensors hold numbers and bools")


def _flat(seq: Any) -> list[Any]:
    out, stack = [], [seq]
    while stack:
        s = stack.pop()
        if isinstance(s, (list, tuple)):
            stack.extend(s)
        else:
            out.append(s)
    return out


def _tensors_to_lists(data: Any) -> Any:
    if isinstance(data, Tensor):
        return data.data
    if isinstance(data, (list, tuple)):
        return [_tensors_to_lists(d) for d in data]
    return data


def _check_grad_dtype(arr: np.ndarray) -> None:
    if arr.dtype.kind not in _FLOAT_KINDS:
        raise RuntimeError(
            f"only floating-point tensors can require gradients, but this tensor has dtype "
            f"{arr.dtype}. Convert it first, e.g. t.to(mg.float32).requires_grad_()."
        )


class Tensor:
    """An n-dimensional array with an optional recorded history for automatic differentiation.

    >>> x = mg.tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """

    __slots__ = ("data", "grad", "_requires_grad", "grad_fn", "_vc", "_meta", "_output_nr",
                 "__weakref__")
    # The slots' types (set through the slot descriptors by ``_fields`` and ``_make``).
    data: np.ndarray
    grad: Tensor | None
    _requires_grad: bool  # read through the ``requires_grad`` property (checked when set)
    grad_fn: Any
    _vc: Any
    _meta: dict[str, Any] | None
    _output_nr: int
    __array_ufunc__ = None  # NumPy defers to our reflected operators: ``array + tensor`` works
    _is_tensor = True

    def __init__(
        self,
        data: Any,
        dtype: DTypeLike = None,
        requires_grad: bool = False,
        name: str | None = None,
    ) -> None:
        arr = _to_array(data, dtype)
        if requires_grad:
            _check_grad_dtype(arr)
        _fields(self, arr, bool(requires_grad), None)
        if name is not None:
            self._meta = {"name": str(name)}

    def __getstate__(self) -> dict[str, Any]:
        """What pickle and ``copy.deepcopy`` keep: the values, ``.grad``, ``requires_grad`` and
        the name. The copy is a leaf with a version counter of its own: no graph (PyTorch keeps
        none either), no hooks (functions), no forward-mode tangent, no link to the views of the
        original (the counter held a weak reference, which cannot be pickled)."""
        name = self._meta.get("name") if self._meta else None
        return {"data": self.data, "grad": self.grad, "requires_grad": self._requires_grad,
                "name": name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        _fields(self, state["data"], state["requires_grad"], None)
        self.grad = state["grad"]
        if state["name"] is not None:
            self._meta = {"name": state["name"]}

    @staticmethod
    def _make(data: np.ndarray, requires_grad: bool, grad_fn: Any) -> Tensor:
        """The internal constructor (ops, engine, optimizers): ``data`` must already be an
        ndarray of the right dtype. Every Tensor is built here or by ``__init__`` (through
        ``_fields``); tests/autograd/test_lean_eager.py checks that both fill every slot."""
        t = _new(Tensor)
        # The fields of ``_fields``, written inline: this runs once per op (a call costs more).
        t.data = data
        t.grad = None
        t._requires_grad = requires_grad
        t.grad_fn = grad_fn
        t._vc = None
        t._meta = None
        t._output_nr = 0
        return t

    # -- attributes ------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        """Number of elements (NumPy's meaning; use ``.shape`` for the shape)."""
        return self.data.size

    def numel(self) -> int:
        return self.data.size

    @property
    def output_nr(self) -> int:
        """Which output of ``grad_fn`` this tensor is (0 for a leaf or a one-output op), as
        PyTorch's ``t.output_nr``: ``(t.grad_fn, t.output_nr)`` names the tensor in the graph.

        >>> q, r = mg.linalg.qr(mg.eye(2, requires_grad=True))
        >>> q.output_nr, r.output_nr
        (0, 1)
        """
        return self._output_nr

    def dim(self) -> int:
        return self.data.ndim

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op (user-created or parameters)."""
        return self.grad_fn is None

    @property
    def name(self) -> str | None:
        return self._meta.get("name") if self._meta else None

    @name.setter
    def name(self, value: str | None) -> None:
        if self._meta is None:
            self._meta = {}
        self._meta["name"] = None if value is None else str(value)

    @property
    def T(self) -> Tensor:
        return _shape.transpose(self)

    @property
    def mT(self) -> Tensor:
        return _shape.swapaxes(self, -1, -2)

    # -- version counter (detects in-place changes of saved tensors) ------------------------
    # ``_vc`` is None until needed, then ``[version, weakref to the tensor that owns the
    # memory]``. Every view of a tensor (indexing, detach, reshape, T, expand, split, ...) holds
    # the *same* list, recorded or not, so an in-place change through any alias bumps the
    # version every saved copy is checked against; ``_is_view`` reads the owner back.
    @property
    def _version(self) -> int:
        return 0 if self._vc is None else self._vc[0]

    @_version.setter
    def _version(self, value: int) -> None:
        self._shared_version()[0] = value

    def _shared_version(self) -> list[Any]:
        """This tensor's version counter, created on first use; views store the same list."""
        vc = self._vc
        if vc is None:
            vc = self._vc = [0, weakref.ref(self)]
            if self.grad_fn is not None:
                # Changes made through views of this op output must reach its node too (ops
                # that saved their own output, such as exp or tanh, check it at backward).
                self.grad_fn._watch_output(vc)
        return vc

    def _is_view(self) -> bool:
        """True if this tensor shares memory with (is a view of) another tensor."""
        vc = self._vc
        return vc is not None and vc[1]() is not self

    # -- conversion ------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied); call on a tensor that does not need grad."""
        return self.data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def item(self) -> float:  # a Python int, float or bool (typed float: the numeric tower)
        if self.data.size != 1:
            raise ValueError(
                f"item(): only one-element tensors can be converted to a Python number, "
                f"this one has shape {self.shape}"
            )
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.data.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iub" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.data.item())

    def detach(self) -> Tensor:
        """A tensor sharing this data but cut from the graph (no grad, no history).

        It is a view: an in-place change of it is an in-place change of ``self`` (and is
        detected if ``self`` was saved for a backward).
        """
        t = Tensor._make(self.data, False, None)
        t._vc = self._shared_version()
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self.requires_grad = False  # type: ignore[misc]  # a property beside __slots__
        return self

    def clone(self) -> Tensor:
        """A copy of the data that stays in the graph (its gradient flows back to ``self``)."""
        return _ew.clone(self)

    def astype(self, dtype: DTypeLike) -> Tensor:
        """Convert to ``dtype`` (differentiable between floating dtypes)."""
        return _ew.cast(self, as_dtype(dtype))

    def to(self, dtype: DTypeLike) -> Tensor:
        return self.astype(dtype)

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def long(self) -> Tensor:
        return self.astype(np.int64)

    # Reading is the slot itself (C speed, the op path reads it for every argument);
    # assigning checks like ``requires_grad_()``. Set below, once the class exists.
    requires_grad: bool

    def _set_requires_grad(self, requires_grad: bool) -> None:
        if requires_grad:
            _check_grad_dtype(self.data)
        elif self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad = False on a non-leaf tensor: only leaves can change it. Use "
                ".detach() to get a tensor without history."
            )
        self._requires_grad = bool(requires_grad)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place on a leaf tensor; returns ``self``.

        >>> mg.tensor([1.0]).requires_grad_()
        tensor([1.], requires_grad=True)
        """
        self._set_requires_grad(requires_grad)
        return self

    # -- autograd --------------------------------------------------------------------------
    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Sequence[Tensor] | None = None,
    ) -> None:
        """Compute the gradient of this tensor with respect to the graph leaves (into ``.grad``)."""
        _api.backward(self, gradient, retain_graph, create_graph, inputs)

    def register_hook(self, fn: Callable[[Tensor], Tensor | None]) -> Any:
        """Call ``fn(grad)`` with this tensor's gradient; a returned Tensor (same shape) replaces
        it.

        On a leaf the hooks run once, on the summed gradient, just before it is accumulated
        into ``.grad`` (also inside ``mg.grad``); on an intermediate, when its gradient is
        complete, before it flows on. Returns a handle: ``handle.remove()`` unregisters.

        >>> x = mg.tensor(1.0, requires_grad=True)
        >>> h = x.register_hook(lambda g: g.clip(-5, 5))
        >>> (x * 3 + x * 4).backward()  # the hook sees 7 once, not 3 and 4
        >>> x.grad
        tensor(5.)
        >>> h.remove()
        """
        if not self.requires_grad:
            raise RuntimeError(
                "register_hook on a tensor that does not require grad: its gradient is never "
                "computed. Create it with requires_grad=True."
            )
        if not callable(fn):
            raise TypeError(f"register_hook: expected a callable, got {type(fn).__name__}")
        if self.grad_fn is not None:
            self.grad_fn._state().dtypes[self._output_nr] = self.data.dtype
            return self.grad_fn.register_hook(fn, self._output_nr)
        if self._meta is None:
            self._meta = {}
        hooks = self._meta.setdefault("hooks", [])
        hooks.append(fn)
        return _function.RemovableHandle(hooks, fn)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self.grad_fn is not None:
            self.grad_fn._retain(self)

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf tensor on which ``retain_grad()`` was called."""
        st = None if self.grad_fn is None else self.grad_fn._hooks
        return bool(st is not None and self._output_nr in st.retained)

    # -- in-place updates (never recorded; they bump the version counter) ---------------------
    def _check_inplace(self, op: str) -> None:
        from microgradnet.autograd.grad_mode import _state

        if self.requires_grad and _state.enabled:
            kind = "a leaf tensor" if self.grad_fn is None else "a tensor in a recorded graph"
            raise RuntimeError(
                f"{op}: in-place operation on {kind} that requires grad while grad mode is on. "
                "Wrap the update in `with mg.no_grad():` (for parameter updates) or use the "
                "out-of-place form (y = x + 1)."
            )

    def _bump(self) -> None:
        """Record an in-place change (shared by every view of the same memory)."""
        self._shared_version()[0] += 1
        if self.grad_fn is not None:
            self.grad_fn._mark_dirty()

    def _inplace(self, op: str, fn: Callable[[np.ndarray], Any]) -> Tensor:
        self._check_inplace(op)
        fn(self.data)
        self._bump()
        return self

    def _arith_(self, op: str, ufunc: Any, other: Any) -> Tensor:
        """``self = ufunc(self, other)`` in place. A result of another kind than self's dtype
        (``int_tensor += 2.7``, ``int_tensor /= 2``) raises instead of truncating (PyTorch);
        float64 into float32 and the like are fine."""
        o = _raw(other)
        if self.data.dtype.kind not in _FLOAT_KINDS:
            res = np.result_type(self.data, o)
            if not np.can_cast(res, self.data.dtype, "same_kind") or (
                    ufunc is np.divide and res.kind not in _FLOAT_KINDS):
                raise TypeError(
                    f"{op}: the result would be {'float' if ufunc is np.divide else res}, "
                    f"which cannot be stored in place in a tensor of dtype {self.data.dtype} "
                    f"without truncating; use the out-of-place form (x = x {_SYMBOL[op]} y) "
                    "or convert the tensor first."
                )
        return self._inplace(op, lambda a: ufunc(a, o, out=a, casting="unsafe"))

    def add_(self, other: Any, alpha: _float = 1.0) -> Tensor:
        """In-place ``self += alpha * other`` (never recorded; bumps the version)."""
        return self._arith_("add_", np.add, other if alpha == 1 else _raw(other) * alpha)

    def sub_(self, other: Any, alpha: _float = 1.0) -> Tensor:
        """In-place ``self -= alpha * other``."""
        return self._arith_("sub_", np.subtract, other if alpha == 1 else _raw(other) * alpha)

    def mul_(self, other: Any) -> Tensor:
        """In-place ``self *= other``."""
        return self._arith_("mul_", np.multiply, other)

    def div_(self, other: Any) -> Tensor:
        """In-place ``self /= other`` (a float result: refused on integer tensors)."""
        return self._arith_("div_", np.divide, other)

    def zero_(self) -> Tensor:
        return self._inplace("zero_", lambda a: a.fill(0))

    def fill_(self, value: Any) -> Tensor:
        return self._inplace("fill_", lambda a: a.fill(_raw(value)))

    def copy_(self, src: Any) -> Tensor:
        s = _raw(src)
        return self._inplace("copy_", lambda a: np.copyto(a, s, casting="unsafe"))

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        return self._inplace("clamp_", lambda a: np.clip(a, min, max, out=a))

    def uniform_(self, a: _float = 0.0, b: _float = 1.0, generator: Any = None) -> Tensor:
        from microgradnet.random import get_generator

        g = get_generator(generator)
        return self._inplace("uniform_", lambda d: np.copyto(d, g.uniform(a, b, d.shape),
                                                             casting="unsafe"))

    def normal_(self, mean: _float = 0.0, std: _float = 1.0, generator: Any = None) -> Tensor:
        from microgradnet.random import get_generator

        g = get_generator(generator)
        return self._inplace("normal_", lambda d: np.copyto(d, g.normal(mean, std, d.shape),
                                                            casting="unsafe"))

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    def __setitem__(self, index: Any, value: Any) -> None:
        """``t[index] = value``; recorded when ``value`` requires grad or ``t`` is a non-leaf
        that requires grad (see ``mg.setitem`` for what is refused and why)."""
        _idx.setitem(self, index, value)

    # -- arithmetic --------------------------------------------------------------------------
    # The hottest operators are the op functions themselves (``a + b`` calls ``mg.add(a, b)``,
    # one Python call less per operation), bound at the end of this module.
    __add__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __radd__: ClassVar[Callable[[Tensor, Any], Tensor]]  # add(a, b) is add(b, a)
    __sub__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __mul__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __rmul__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __truediv__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __matmul__: ClassVar[Callable[[Tensor, Any], Tensor]]

    def __rsub__(self, other: Any) -> Tensor:
        return _ar.sub(other, self)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ar.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _ar.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _ar.pow(other, self)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _la.matmul(other, self)

    def __neg__(self) -> Tensor:
        return _ar.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _ar.abs(self)

    def __floordiv__(self, other: Any) -> Tensor:
        return _ar.floor_divide(self, other)

    def __mod__(self, other: Any) -> Tensor:
        return _ar.remainder(self, other)

    # comparisons return bool tensors without grad
    def __lt__(self, other: Any) -> Tensor:
        return _cmp.lt(self, other)

    def __le__(self, other: Any) -> Tensor:
        return _cmp.le(self, other)

    def __gt__(self, other: Any) -> Tensor:
        return _cmp.gt(self, other)

    def __ge__(self, other: Any) -> Tensor:
        return _cmp.ge(self, other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _cmp.eq(self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _cmp.ne(self, other)

    def __invert__(self) -> Tensor:
        return _cmp.logical_not(self)

    def __and__(self, other: Any) -> Tensor:
        return _cmp.logical_and(self, other)

    def __or__(self, other: Any) -> Tensor:
        return _cmp.logical_or(self, other)

    __hash__ = object.__hash__

    def add(self, other: Any) -> Tensor:
        return _ar.add(self, other)

    def sub(self, other: Any) -> Tensor:
        return _ar.sub(self, other)

    def mul(self, other: Any) -> Tensor:
        return _ar.mul(self, other)

    def div(self, other: Any) -> Tensor:
        return _ar.div(self, other)

    def pow(self, other: Any) -> Tensor:
        return _ar.pow(self, other)

    def neg(self) -> Tensor:
        return _ar.neg(self)

    def abs(self) -> Tensor:
        return _ar.abs(self)

    def matmul(self, other: Any) -> Tensor:
        return _la.matmul(self, other)

    def dot(self, other: Any) -> Tensor:
        return _la.dot(self, other)

    def outer(self, other: Any) -> Tensor:
        return _la.outer(self, other)

    # the mg.linalg ops that torch.Tensor has as methods (same names and semantics)
    def det(self) -> Tensor:
        """``mg.linalg.det(self)``."""
        return _linalg.det(self)

    def slogdet(self) -> Any:
        """``mg.linalg.slogdet(self)``: ``(sign, logabsdet)``."""
        return _linalg.slogdet(self)

    def inverse(self) -> Tensor:
        """``mg.linalg.inv(self)`` (PyTorch's method name)."""
        return _linalg.inv(self)

    def cholesky(self, upper: bool = False) -> Tensor:
        """``mg.linalg.cholesky(self, upper)``."""
        return _linalg.cholesky(self, upper)

    def matrix_power(self, n: int) -> Tensor:
        """``mg.linalg.matrix_power(self, n)``."""
        return _linalg.matrix_power(self, n)

    def lt(self, other: Any) -> Tensor:
        return _cmp.lt(self, other)

    def le(self, other: Any) -> Tensor:
        return _cmp.le(self, other)

    def gt(self, other: Any) -> Tensor:
        return _cmp.gt(self, other)

    def ge(self, other: Any) -> Tensor:
        return _cmp.ge(self, other)

    def eq(self, other: Any) -> Tensor:
        return _cmp.eq(self, other)

    def ne(self, other: Any) -> Tensor:
        return _cmp.ne(self, other)

    def isfinite(self) -> Tensor:
        return _cmp.isfinite(self)

    def isnan(self) -> Tensor:
        return _cmp.isnan(self)

    def any(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        return _cmp.any(self, axis, keepdims, **kw)

    def all(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        return _cmp.all(self, axis, keepdims, **kw)

    def equal(self, other: Any) -> bool:
        o = _raw(other)
        return bool(np.shape(o) == self.shape and np.array_equal(self.data, o))

    def allclose(self, other: Any, rtol: _float = 1e-5, atol: _float = 1e-8) -> bool:
        return bool(np.allclose(self.data, _raw(other), rtol=rtol, atol=atol))

    # -- elementwise ------------------------------------------------------------------------
    def exp(self) -> Tensor:
        return _ew.exp(self)

    def log(self) -> Tensor:
        return _ew.log(self)

    def sqrt(self) -> Tensor:
        return _ew.sqrt(self)

    def sin(self) -> Tensor:
        return _ew.sin(self)

    def cos(self) -> Tensor:
        return _ew.cos(self)

    def tanh(self) -> Tensor:
        return _ew.tanh(self)

    def sigmoid(self) -> Tensor:
        return _ew.sigmoid(self)

    def relu(self) -> Tensor:
        return _ew.relu(self)

    def leaky_relu(self, negative_slope: _float = 0.01) -> Tensor:
        return _ew.leaky_relu(self, negative_slope)

    def elu(self, alpha: _float = 1.0) -> Tensor:
        return _ew.elu(self, alpha)

    def gelu(self, approximate: str = "none") -> Tensor:
        return _ew.gelu(self, approximate)

    def softplus(self, beta: _float = 1.0, threshold: _float = 20.0) -> Tensor:
        return _ew.softplus(self, beta, threshold)

    def clip(self, min: Any = None, max: Any = None) -> Tensor:
        return _ew.clip(self, min, max)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        return _ew.clip(self, min, max)

    def maximum(self, other: Any) -> Tensor:
        return _ew.maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        return _ew.minimum(self, other)

    def sign(self) -> Tensor:
        return _ew.sign(self)

    def square(self) -> Tensor:
        return _ar.mul(self, self)

    def log1p(self) -> Tensor:
        return _ew.log1p(self)

    def expm1(self) -> Tensor:
        return _ew.expm1(self)

    def tan(self) -> Tensor:
        return _ew.tan(self)

    def reciprocal(self) -> Tensor:
        return _ar.div(1.0, self)

    def rsqrt(self) -> Tensor:
        return _ar.div(1.0, _ew.sqrt(self))

    def where(self, condition: Any, other: Any) -> Tensor:
        """``self`` where ``condition`` holds, else ``other`` (PyTorch's method form)."""
        return _ew.where(condition, self, other)

    # -- reductions --------------------------------------------------------------------------
    def sum(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        return _red.sum(self, axis, keepdims, **kw)

    def mean(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        return _red.mean(self, axis, keepdims, **kw)

    def max(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        return _red.max(self, axis, keepdims, **kw)

    def min(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        return _red.min(self, axis, keepdims, **kw)

    def var(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        return _red.var(self, axis, keepdims, **kw)

    def std(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        return _red.std(self, axis, keepdims, **kw)

    def prod(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        return _red.prod(self, axis, keepdims, **kw)

    def logsumexp(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        return _red.logsumexp(self, axis, keepdims, **kw)

    def argmax(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        return _red.argmax(self, axis, keepdims, **kw)

    def argmin(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        return _red.argmin(self, axis, keepdims, **kw)

    def norm(self, p: Any = 2, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        return _red.norm(self, p, axis, keepdims, **kw)

    # -- shape -------------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        return _shape.reshape(self, *shape)

    def view(self, *shape: Any) -> Tensor:
        return _shape.reshape(self, *shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return _shape.flatten(self, start_dim, end_dim)

    def transpose(self, *axes: Any) -> Tensor:
        return _shape.transpose(self, *axes)

    def permute(self, *dims: Any) -> Tensor:
        return _shape.permute(self, *dims)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        return _shape.swapaxes(self, axis1, axis2)

    def squeeze(self, axis: Any = None, **kw: Any) -> Tensor:
        return _shape.squeeze(self, axis, **kw)

    def unsqueeze(self, axis: Any = None, **kw: Any) -> Tensor:
        return _shape.unsqueeze(self, axis, **kw)

    def expand(self, *shape: Any) -> Tensor:
        return _shape.expand(self, *shape)

    def broadcast_to(self, shape: Any) -> Tensor:
        return _shape.broadcast_to(self, shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return _shape.broadcast_to(self, other.shape)

    def split(self, split_size_or_sections: Any, axis: int = 0, **kw: Any) -> tuple[Tensor, ...]:
        return _shape.split(self, split_size_or_sections, axis, **kw)

    def chunk(self, chunks: int, axis: int = 0, **kw: Any) -> tuple[Tensor, ...]:
        return _shape.chunk(self, chunks, axis, **kw)

    def flip(self, axis: Any = None, **kw: Any) -> Tensor:
        return _shape.flip(self, axis, **kw)

    def pad(self, pad_width: Any, mode: str = "constant", value: _float = 0) -> Tensor:
        return _shape.pad(self, pad_width, mode, value)

    def repeat(self, *sizes: Any) -> Tensor:
        return _shape.repeat(self, *sizes)

    def tile(self, reps: Any) -> Tensor:
        return _shape.tile(self, reps)

    def repeat_interleave(self, repeats: Any, axis: Any = None, **kw: Any) -> Tensor:
        return _shape.repeat_interleave(self, repeats, axis, **kw)

    # -- indexing ----------------------------------------------------------------------------
    def __getitem__(self, index: Any) -> Tensor:
        return _idx.getitem(self, index)

    def gather(self, dim: int, index: Any) -> Tensor:
        return _idx.gather(self, dim, index)

    def scatter_add(self, dim: int, index: Any, src: Any) -> Tensor:
        return _idx.scatter_add(self, dim, index, src)

    def take_along_axis(self, indices: Any, axis: int | None) -> Tensor:
        return _idx.take_along_axis(self, indices, axis)

    def __iter__(self) -> Any:
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    # -- more math (ops/special.py, ops/scan.py) --------------------------------------------
    def arcsin(self) -> Tensor:
        return _sp.arcsin(self)

    def arccos(self) -> Tensor:
        return _sp.arccos(self)

    def arctan(self) -> Tensor:
        return _sp.arctan(self)

    def sinh(self) -> Tensor:
        return _sp.sinh(self)

    def cosh(self) -> Tensor:
        return _sp.cosh(self)

    def arcsinh(self) -> Tensor:
        return _sp.arcsinh(self)

    def arccosh(self) -> Tensor:
        return _sp.arccosh(self)

    def arctanh(self) -> Tensor:
        return _sp.arctanh(self)

    def exp2(self) -> Tensor:
        return _sp.exp2(self)

    def erfc(self) -> Tensor:
        return _sp.erfc(self)

    def floor(self) -> Tensor:
        return _sp.floor(self)

    def ceil(self) -> Tensor:
        return _sp.ceil(self)

    def trunc(self) -> Tensor:
        return _sp.trunc(self)

    def round(self, decimals: int = 0) -> Tensor:
        return _sp.round(self, decimals)

    def arctan2(self, other: Any) -> Tensor:
        return _sp.arctan2(self, other)

    def hypot(self, other: Any) -> Tensor:
        return _sp.hypot(self, other)

    def logaddexp(self, other: Any) -> Tensor:
        return _sp.logaddexp(self, other)

    def cumsum(self, axis: Any = None, **kw: Any) -> Tensor:
        return _scan.cumsum(self, axis, **kw)

    def cumprod(self, axis: Any = None, **kw: Any) -> Tensor:
        return _scan.cumprod(self, axis, **kw)

    def diff(self, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None,
             **kw: Any) -> Tensor:
        return _scan.diff(self, n, axis, prepend, append, **kw)

    # -- diagonals, triangles (ops/diagonal.py) ---------------------------------------------
    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1, **kw: Any) -> Tensor:
        return _diag.diagonal(self, offset, axis1, axis2, **kw)

    def diag_embed(self, offset: int = 0, axis1: int = -2, axis2: int = -1) -> Tensor:
        return _diag.diag_embed(self, offset, axis1, axis2)

    def trace(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
        return _diag.trace(self, offset, axis1, axis2)

    def diag(self, k: int = 0) -> Tensor:
        return _diag.diag(self, k)

    def tril(self, k: int = 0) -> Tensor:
        return _diag.tril(self, k)

    def triu(self, k: int = 0) -> Tensor:
        return _diag.triu(self, k)

    # -- display -----------------------------------------------------------------------------
    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.data.dtype != _default_dtype and self.data.dtype.kind in "fc" or (
            self.data.dtype.kind not in "fcib"
        ) or self.data.dtype.kind == "i" and self.data.dtype != np.int64:
            extras.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{type(self.grad_fn).__name__}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        tail = "".join(", " + e for e in extras)
        return f"tensor({body}{tail})"

    def __str__(self) -> str:
        return self.__repr__()

    def __format__(self, spec: str) -> str:
        if self.data.ndim == 0 and spec:
            return format(self.data.item(), spec)
        return self.__repr__()


_new = object.__new__


def _fields(t: Tensor, data: np.ndarray, requires_grad: bool, grad_fn: Any) -> None:
    """Fill a new Tensor's fields (``__init__``; ``_make`` writes the same ones inline)."""
    t.data = data
    t.grad = None
    t._requires_grad = requires_grad
    t.grad_fn = grad_fn
    t._vc = None
    t._meta = None
    t._output_nr = 0


def _raw(x: Any) -> Any:
    """The array behind a Tensor, or ``x`` itself."""
    return x.data if isinstance(x, Tensor) else x


# Op modules import Tensor; they are bound here once the class exists.
from microgradnet import linalg as _linalg  # noqa: E402
from microgradnet.autograd import api as _api  # noqa: E402
from microgradnet.autograd import function as _function  # noqa: E402
from microgradnet.ops import arithmetic as _ar  # noqa: E402
from microgradnet.ops import comparison as _cmp  # noqa: E402
from microgradnet.ops import diagonal as _diag  # noqa: E402
from microgradnet.ops import elementwise as _ew  # noqa: E402
from microgradnet.ops import indexing as _idx  # noqa: E402
from microgradnet.ops import linalg as _la  # noqa: E402
from microgradnet.ops import reduction as _red  # noqa: E402
from microgradnet.ops import scan as _scan  # noqa: E402
from microgradnet.ops import shape as _shape  # noqa: E402
from microgradnet.ops import special as _sp  # noqa: E402

Tensor.requires_grad = property(  # type: ignore[assignment]
    operator.attrgetter("_requires_grad"), Tensor._set_requires_grad,
    doc="Whether operations on this tensor are recorded for the backward sweep. Only "
    "floating-point tensors can require grad; setting it on an integer tensor raises.")

# The hottest operators are the op functions themselves (declared in the class body).
Tensor.__add__ = Tensor.__radd__ = _ar.add
Tensor.__sub__ = _ar.sub
Tensor.__mul__ = Tensor.__rmul__ = _ar.mul
Tensor.__truediv__ = _ar.div
Tensor.__matmul__ = _la.matmul
