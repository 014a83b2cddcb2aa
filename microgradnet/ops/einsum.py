"""``einsum``: Einstein summation over any number of operands (NumPy's subscripts).

The derivative of an einsum with respect to one operand is another einsum: of the output
gradient with the other operands, producing that operand's labels. Two details make it
general: a label repeated within the operand (a diagonal, as in ``"ii->"``) gets a fresh label
tied to it by an identity matrix, and a label summed away in that operand alone (``"ij->i"``)
gets a vector of ones, which broadcasts the gradient along it. Because the rule is itself an
einsum, derivatives of any order follow, and the JVP is the sum of the einsums with one operand
replaced by its tangent. The rule is written once: NumPy's einsum on arrays in a plain sweep,
the recorded op on Tensors (``_dual_rules``, see ``ops/_dual.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet.autograd.function import Function
from microgradnet.ops._util import as_tensor
from microgradnet.tensor import Tensor

__all__ = ["einsum"]

_ELL = 1000  # integer labels of the axes covered by '...' start here


def _parse(subscripts: str, ndims: list[int]) -> tuple[list[list[int]], list[int]]:
    """Integer labels of each operand's axes and of the output (ellipsis resolved)."""
    s = subscripts.replace(" ", "")
    if "->" in s:
        lhs, rhs = s.split("->")
        explicit = True
    else:
        lhs, rhs, explicit = s, "", False
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"einsum: the subscripts name {len(terms)} operands but "
                         f"{len(ndims)} were given")
    n_ell = 0
    labels: list[list[int]] = []
    for term, nd in zip(terms, ndims):
        core = term.replace("...", "")
        _check_letters(core, subscripts)
        if "..." in term:
            e = nd - len(core)
            if e < 0:
                raise ValueError(f"einsum: operand with subscripts {term!r} has only {nd} dims")
            n_ell = max(n_ell, e)
            head, tail = term.split("...")
            labs = [ord(c) for c in head] + [-e] + [ord(c) for c in tail]  # -e: placeholder
        else:
            if len(core) != nd:
                raise ValueError(f"einsum: subscripts {term!r} name {len(core)} axes but the "
                                 f"operand has {nd}")
            labs = [ord(c) for c in core]
        labels.append(labs)
    resolved = []
    for labs in labels:
        out: list[int] = []
        for lab in labs:
            if lab <= 0:  # expand the ellipsis, right-aligned against the longest one
                e = -lab
                out.extend(range(_ELL + n_ell - e, _ELL + n_ell))
            else:
                out.append(lab)
        resolved.append(out)
    ell = list(range(_ELL, _ELL + n_ell))
    if explicit:
        _check_letters(rhs.replace("...", ""), subscripts)
        if "..." in rhs:
            head, tail = rhs.split("...")
            out_labels = [ord(c) for c in head] + ell + [ord(c) for c in tail]
        else:
            out_labels = [ord(c) for c in rhs]
        every = {lab for labs in resolved for lab in labs}
        for lab in out_labels:
            if lab not in every:
                raise ValueError(f"einsum: output subscript {chr(lab)!r} appears in no operand")
        if len(set(out_labels)) != len(out_labels):
            raise ValueError(f"einsum: output subscripts {rhs!r} repeat a label")
    else:
        counts: dict[int, int] = {}
        for labs in resolved:
            for lab in labs:
                if lab < _ELL:
                    counts[lab] = counts.get(lab, 0) + 1
        out_labels = ell + sorted(lab for lab, c in counts.items() if c == 1)
    return resolved, out_labels


def _check_letters(s: str, subscripts: str) -> None:
    for c in s:
        if not c.isalpha() or not c.isascii():
            raise ValueError(f"einsum: invalid subscript {c!r} in {subscripts!r} (use letters, "
                             "',', '->' and '...')")


def _call(args: list[tuple[Any, list[int]]], out: list[int]) -> np.ndarray:
    """NumPy's sublist form, with the labels renumbered 0, 1, ... (NumPy allows 52)."""
    code: dict[int, int] = {}
    for _, labs in args:
        for lab in labs:
            code.setdefault(lab, len(code))
    if len(code) > 52:
        raise ValueError(f"einsum: at most 52 distinct subscripts, got {len(code)}")
    flat: list[Any] = []
    for a, labs in args:
        flat += [a, [code[lab] for lab in labs]]
    return np.einsum(*flat, [code[lab] for lab in out], optimize=len(args) > 2)


class Einsum(Function):
    """Einstein summation. Derivative w.r.t. operand i: the einsum of the output gradient
    with the other operands onto operand i's labels (identity matrices for repeated labels,
    ones for labels summed in operand i alone). JVP: Σᵢ einsum(…, tangentᵢ, …)."""

    __slots__ = ("labels", "out")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, labels: tuple[tuple[int, ...], ...], out: tuple[int, ...],
                *ops: Tensor) -> np.ndarray:
        ctx.labels, ctx.out = labels, out
        ctx.save_for_backward(*ops)
        return np.asarray(_call([(o.data, list(lab)) for o, lab in zip(ops, labels)], list(out)))

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        ops = ctx.saved_tensors
        needs = ctx.needs_input_grad[2:]
        grads = [_operand_grad(grad, ops, ctx.labels, ctx.out, i) if need else None
                 for i, need in enumerate(needs)]
        return (None, None, *grads)

    @staticmethod
    def jvp(ctx: Any, _labels: Any, _out: Any, *tangents: Any) -> Any:
        ops = ctx.saved_tensors
        total = None
        for i, t in enumerate(tangents):
            if t is None:
                continue
            args = list(ops)
            args[i] = t
            term = Einsum.apply(ctx.labels, ctx.out, *args)
            total = term if total is None else total + term
        return total


def _einsum(labels: tuple[tuple[int, ...], ...], out: tuple[int, ...], args: list[Any]) -> Any:
    """The einsum of ``args``: recorded when one is a Tensor (the constant arrays among them
    become constant Tensors), NumPy's on arrays."""
    if any(isinstance(a, Tensor) for a in args):
        ts = [a if isinstance(a, Tensor) else Tensor._make(a, False, None) for a in args]
        return Einsum.apply(labels, out, *ts)
    return np.asarray(_call([(a, list(lab)) for a, lab in zip(args, labels)], list(out)))


def _operand_grad(grad: Any, ops: tuple[Any, ...], labels: Any, out: Any, i: int) -> Any:
    target = list(labels[i])
    shape = np.shape(ops[i])
    dtype = grad.dtype
    size = dict(zip(target, shape))
    args: list[Any] = [grad]
    arg_labels: list[tuple[int, ...]] = [tuple(out)]
    for j, (o, lab) in enumerate(zip(ops, labels)):
        if j != i:
            args.append(o)
            arg_labels.append(tuple(lab))
    fresh = max([0, _ELL * 2] + [lab for labs in labels for lab in labs]) + 1
    seen: set[int] = set()
    for k, lab in enumerate(target):  # a repeated label: a fresh one tied to it by the identity
        if lab in seen:
            args.append(np.eye(size[lab], dtype=dtype))
            arg_labels.append((lab, fresh))
            target[k] = fresh
            fresh += 1
        seen.add(lab)
    present = {lab for labs in arg_labels for lab in labs}
    for lab in dict.fromkeys(target):  # summed in operand i alone: broadcast with ones
        if lab not in present:
            args.append(np.ones(size[lab], dtype=dtype))
            arg_labels.append((lab,))
    return _einsum(tuple(arg_labels), tuple(target), args)


def einsum(subscripts: str, *operands: Any) -> Tensor:
    """Einstein summation with NumPy's subscripts (``"ij,jk->ik"``, implicit output,
    ``...`` broadcasting); differentiable in every operand.

    >>> a, b = mg.ones(2, 3), mg.ones(3, 4)
    >>> mg.einsum("ij,jk->ik", a, b).shape
    (2, 4)
    >>> mg.einsum("ii", mg.tensor([[1.0, 2.0], [3.0, 4.0]]))  # the trace
    tensor(5.)
    """
    from microgradnet.ops.shape import broadcast_to

    if not isinstance(subscripts, str):
        raise TypeError("einsum: the first argument must be the subscripts string, e.g. "
                        "'ij,jk->ik'")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)) and operands[0] and \
            all(isinstance(o, Tensor) for o in operands[0]):
        operands = tuple(operands[0])  # PyTorch also accepts a list of operands
    ops = [as_tensor(o) for o in operands]
    labels, out = _parse(subscripts, [o.ndim for o in ops])
    # Each label must have one size; size-1 axes broadcast (they are broadcast first).
    sizes: dict[int, int] = {}
    for o, labs in zip(ops, labels):
        for lab, n in zip(labs, o.shape):
            if sizes.get(lab, 1) == 1:
                sizes[lab] = n
            elif n not in (1, sizes[lab]):
                raise ValueError(
                    f"einsum: subscript {_name(lab)} has size {n} in one operand and "
                    f"{sizes[lab]} in another (shapes {[o.shape for o in ops]})"
                )
    for k, (o, labs) in enumerate(zip(ops, labels)):
        want = tuple(sizes[lab] for lab in labs)
        if o.shape != want:
            ops[k] = broadcast_to(o, want)
    return Einsum.apply(tuple(map(tuple, labels)), tuple(out), *ops)


def _name(lab: int) -> str:
    return repr(chr(lab)) if lab < _ELL else "'...'"
