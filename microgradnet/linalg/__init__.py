"""``mg.linalg``: linear algebra with NumPy / ``torch.linalg`` semantics, differentiable.

Every function works on stacks of matrices (leading axes are batch axes) and has first and
second derivatives in both modes: the decompositions and solvers have their own rules
(``_decomp.py``: the standard matrix-calculus identities, written with microgradnet ops), the
rest (``lstsq``, ``matrix_power``, the norms, ``cross``) are compositions of differentiable ops.

A singular or non-positive-definite input raises :class:`LinAlgError` (a ``ValueError``) naming
the op; so does the derivative of ``eigh``/``svd`` at (nearly) repeated eigen- or singular values,
where the eigenvectors are not unique.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import numpy as np

from microgradnet.autograd.function import apply_op
from microgradnet.linalg._decomp import (
    QR,
    SVD,
    Cholesky,
    Det,
    Eigh,
    Inv,
    LinAlgError,
    Pinv,
    Slogdet,
    Solve,
)
from microgradnet.ops._util import axis_args, float_operand
from microgradnet.tensor import Tensor

__all__ = [
    "LinAlgError",
    "solve",
    "inv",
    "det",
    "slogdet",
    "cholesky",
    "qr",
    "eigh",
    "eigvalsh",
    "svd",
    "svdvals",
    "lstsq",
    "pinv",
    "matrix_power",
    "norm",
    "vector_norm",
    "matrix_norm",
    "cross",
]

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
QRResult = namedtuple("QRResult", ["Q", "R"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])
LstsqResult = namedtuple("LstsqResult", ["solution", "residuals", "rank", "singular_values"])


def _float(x: Any, op: str) -> Tensor:
    return float_operand(x)  # integers compute in the default float dtype (PyTorch's rule)


def _matrix(x: Any, op: str, square: bool = True) -> Tensor:
    """A float tensor of matrices (..., m, n); square ones when ``square``."""
    x = _float(x, op)
    if x.ndim < 2:
        raise ValueError(f"{op}: expects a matrix or a stack of matrices (..., m, n), got shape "
                         f"{x.shape}")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{op}: expects square matrices (..., n, n), got shape {x.shape}")
    return x


def solve(A: Any, B: Any) -> Tensor:
    """The solution X of ``A @ X = B`` (NumPy 2 rules: ``B`` of shape (n,) is a vector, else
    (..., n, k); batch axes broadcast). Singular ``A`` raises :class:`LinAlgError`.

    The derivative solves with Aᵀ rather than forming an inverse.

    >>> A = mg.tensor([[2.0, 0.0], [0.0, 4.0]])
    >>> mg.linalg.solve(A, mg.tensor([2.0, 2.0]))
    tensor([1. , 0.5])
    """
    a = _matrix(A, "solve")
    b = _float(B, "solve")
    vector = b.ndim == 1
    if vector:
        b = b.reshape(-1, 1)
    if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
        raise ValueError(f"solve: A of shape {a.shape} and B of shape {tuple(np.shape(B))} do "
                         "not match (B must be (n,) or (..., n, k) with n = A.shape[-1])")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"solve: the batch dimensions of A {a.shape} and B {b.shape} cannot "
                         "be broadcast together") from None
    x = apply_op(Solve, (a, b))
    return x.reshape(x.shape[:-1]) if vector else x


def inv(A: Any) -> Tensor:
    """The inverse of a square matrix (or of each in a stack); singular raises
    :class:`LinAlgError`.

    >>> mg.linalg.inv(mg.tensor([[2.0, 0.0], [0.0, 4.0]]))
    tensor([[0.5 , 0.  ],
            [0.  , 0.25]])
    """
    return apply_op(Inv, (_matrix(A, "inv"),))


def det(A: Any) -> Tensor:
    """The determinant. Its gradient is the cofactor matrix, exact at singular matrices too.

    >>> mg.linalg.det(mg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=mg.float64))
    tensor(-2., dtype=float64)
    """
    return apply_op(Det, (_matrix(A, "det"),))


def slogdet(A: Any) -> SlogdetResult:
    """``(sign, logabsdet)`` with ``det = sign * exp(logabsdet)``: no overflow for large
    matrices. ``logabsdet`` is differentiable (its gradient is A⁻ᵀ), ``sign`` is not.

    >>> sign, logabsdet = mg.linalg.slogdet(mg.tensor([[2.0, 0.0], [0.0, -3.0]]))
    >>> sign, logabsdet
    (tensor(-1.), tensor(1.7918))
    """
    sign, logabs = apply_op(Slogdet, (_matrix(A, "slogdet"),))
    return SlogdetResult(sign.detach(), logabs)


def cholesky(A: Any, upper: bool = False) -> Tensor:
    """The Cholesky factor L (lower triangular, ``A = L @ L.mT``), or ``L.mT`` with ``upper``.

    Only the lower triangle of ``A`` is read; the gradient is symmetric (as PyTorch). Not
    positive-definite raises :class:`LinAlgError`.

    >>> mg.linalg.cholesky(mg.tensor([[4.0, 2.0], [2.0, 2.0]]))
    tensor([[2., 0.],
            [1., 1.]])
    """
    lo = apply_op(Cholesky, (_matrix(A, "cholesky"),))
    return lo.mT if upper else lo


def qr(A: Any, mode: str = "reduced") -> Any:
    """QR decomposition ``A = Q @ R``: ``mode="reduced"`` (Q is m×k, k = min(m, n)),
    ``"complete"`` (Q is m×m) or ``"r"`` (R alone, as NumPy).

    >>> Q, R = mg.linalg.qr(mg.tensor([[3.0, 0.0], [4.0, 1.0]], dtype=mg.float64))
    >>> (Q @ R).allclose(mg.tensor([[3.0, 0.0], [4.0, 1.0]], dtype=mg.float64))
    True
    """
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    a = _matrix(A, "qr", square=False)
    q, r = apply_op(QR, (a, "reduced" if mode == "r" else mode))
    return r if mode == "r" else QRResult(q, r)


def eigh(A: Any, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and orthonormal eigenvectors (columns) of a symmetric matrix;
    only the ``UPLO`` triangle is read.

    The eigenvectors' derivative divides by eigenvalue gaps: at (nearly) repeated eigenvalues
    it raises :class:`LinAlgError` unless the loss does not depend on how the eigenvectors of
    the repeated eigenvalue are chosen.

    >>> w, V = mg.linalg.eigh(mg.tensor([[2.0, 1.0], [1.0, 2.0]]))
    >>> w
    tensor([1., 3.])
    """
    if UPLO not in ("L", "U"):
        raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    w, v = apply_op(Eigh, (_matrix(A, "eigh"), UPLO))
    return EighResult(w, v)


def eigvalsh(A: Any, UPLO: str = "L") -> Tensor:
    """The eigenvalues of a symmetric matrix (ascending); differentiable even where they repeat.

    >>> mg.linalg.eigvalsh(mg.tensor([[2.0, 0.0], [0.0, 1.0]]))
    tensor([1., 2.])
    """
    return eigh(A, UPLO)[0]


def svd(A: Any, full_matrices: bool = True) -> SVDResult:
    """Singular value decomposition ``A = U @ diag(S) @ Vh`` (S descending; NumPy's default
    ``full_matrices=True``; derivatives of U and Vh need ``full_matrices=False`` for
    non-square A). At (nearly) repeated singular values the derivative of U, Vh raises
    :class:`LinAlgError` unless the loss does not depend on their choice.

    >>> U, S, Vh = mg.linalg.svd(mg.tensor([[3.0, 0.0], [0.0, -2.0]]))
    >>> S
    tensor([3., 2.])
    """
    u, s, vh = apply_op(SVD, (_matrix(A, "svd", square=False), bool(full_matrices)))
    return SVDResult(u, s, vh)


def svdvals(A: Any) -> Tensor:
    """The singular values (descending); differentiable even where they repeat.

    >>> mg.linalg.svdvals(mg.tensor([[0.0, 2.0], [1.0, 0.0]]))
    tensor([2., 1.])
    """
    return apply_op(SVD, (_matrix(A, "svdvals", square=False), False))[1]


def pinv(A: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = None) -> Tensor:
    """The Moore-Penrose pseudo-inverse (NumPy's ``rcond``/``rtol`` cut-offs; default
    ``max(m, n) * eps`` relative to the largest singular value). The derivative assumes the
    rank is constant near ``A``.

    >>> mg.linalg.pinv(mg.tensor([[1.0, 0.0], [0.0, 0.0]]))
    tensor([[1., 0.],
            [0., 0.]])
    """
    a = _matrix(A, "pinv", square=False)
    if rcond is None:
        rcond = rtol if rtol is not None else max(a.shape[-2:]) * np.finfo(a.dtype).eps
    return apply_op(Pinv, (a, rcond, bool(hermitian)))


def lstsq(A: Any, B: Any, rcond: Any = None) -> LstsqResult:
    """The least-squares solution of ``A @ X ≈ B`` (minimum norm when A is rank deficient):
    ``(solution, residuals, rank, singular_values)`` as NumPy's ``lstsq`` (and batched).

    ``solution`` and ``residuals`` (sums of squared residuals, given when A has full column
    rank and more rows than columns, else empty) are differentiable (through ``pinv``).

    >>> A = mg.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=mg.float64)
    >>> mg.linalg.lstsq(A, mg.tensor([1.0, 1.0, 2.0], dtype=mg.float64)).solution
    tensor([1., 1.], dtype=float64)
    """
    a = _matrix(A, "lstsq", square=False)
    b = _float(B, "lstsq")
    vector = b.ndim == 1
    if b.ndim < 1 or b.shape[-2 if not vector else 0] != a.shape[-2]:
        raise ValueError(f"lstsq: A of shape {a.shape} and B of shape {b.shape} do not match "
                         "(B must have A.shape[-2] rows)")
    m, n = a.shape[-2:]
    if rcond is None:
        rcond = max(m, n) * np.finfo(a.dtype).eps
    p = apply_op(Pinv, (a, rcond, False))
    bm = b.reshape(-1, 1) if vector else b
    x = p @ bm
    sv = np.linalg.svd(a.data, compute_uv=False)
    rank = np.sum(sv > rcond * sv[..., :1], axis=-1) if n and m else np.zeros(a.shape[:-2], int)
    if m > n and np.all(rank == n):
        r = a @ x - bm
        residuals = (r * r).sum(-2)
    else:
        residuals = Tensor(np.zeros((0,), dtype=a.dtype))
    if vector:
        x = x.reshape(x.shape[:-1])
    return LstsqResult(x, residuals, Tensor(np.asarray(rank, dtype=np.int64)), Tensor(sv))


def matrix_power(A: Any, n: int) -> Tensor:
    """``A`` multiplied by itself ``n`` times (by repeated squaring); ``n = 0`` gives the
    identity, a negative ``n`` powers of the inverse.

    >>> mg.linalg.matrix_power(mg.tensor([[1.0, 1.0], [0.0, 1.0]]), 3)
    tensor([[1., 3.],
            [0., 1.]])
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"matrix_power: the exponent must be an integer, got {type(n).__name__}")
    a = _matrix(A, "matrix_power")
    n = int(n)
    if n == 0:
        eye = np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape).copy()
        return Tensor(eye)
    if n < 0:
        a, n = inv(a), -n
    result: Tensor | None = None
    base = a
    while True:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if not n:
            return result  # type: ignore[return-value]  # n > 0: set at least once
        base = base @ base


def vector_norm(x: Any, ord: Any = 2, axis: Any = None, keepdims: bool = False,
                **kw: Any) -> Tensor:
    """The vector ``ord``-norm over ``axis`` (all elements by default): ``ord`` = 2, 1, any
    real p (Σ|x|ᵖ)^(1/p), ``inf`` (max |x|), ``-inf`` (min |x|), or 0 (number of non-zeros, no
    gradient). ``dim=``/``keepdim=`` are accepted (``torch.linalg.vector_norm``).

    >>> mg.linalg.vector_norm(mg.tensor([3.0, -4.0]))
    tensor(5.)
    """
    from microgradnet.ops.reduction import norm as _norm

    axis, keepdims = axis_args(axis, keepdims, kw, "vector_norm")
    x = _float(x, "vector_norm")
    if isinstance(ord, (str, bool)) or not isinstance(ord, (int, float, np.integer,
                                                              np.floating)):
        raise ValueError(f"vector_norm: ord must be a real number, got {ord!r}")
    if ord == 0:
        nz = (x.data != 0).sum(axis=axis, keepdims=keepdims)
        return Tensor(np.asarray(nz, dtype=x.dtype))
    if ord > 0 or ord == -math.inf:
        return _norm(x, ord, axis, keepdims)
    from microgradnet.ops.reduction import NormP, _axes

    return apply_op(NormP, (x, _axes(axis, x, "vector_norm"), keepdims, float(ord)))


def _move_last(x: Tensor, dims: tuple[int, int], op: str) -> tuple[Tensor, tuple[int, int]]:
    nd = x.ndim
    d0, d1 = (d % nd if -nd <= d < nd else None for d in dims)
    if d0 is None or d1 is None or d0 == d1:
        raise ValueError(f"{op}: dim must be two different axes of a tensor of shape "
                         f"{x.shape}, got {dims}")
    rest = [i for i in range(nd) if i not in (d0, d1)]
    return x.permute(*rest, d0, d1), (d0, d1)


def matrix_norm(A: Any, ord: Any = "fro", axis: Any = None, keepdims: bool = False,
                **kw: Any) -> Tensor:
    """The matrix norm over the two axes ``axis``: ``'fro'``, ``'nuc'`` (sum of singular
    values), 2 / -2 (largest / smallest singular value), 1 / -1 (max / min column sum of
    |A|), ``inf`` / ``-inf`` (max / min row sum). ``axis`` defaults to the last two axes;
    ``dim=``/``keepdim=`` are accepted.

    >>> mg.linalg.matrix_norm(mg.tensor([[3.0, 0.0], [0.0, 4.0]]), ord=2)
    tensor(4.)
    """
    from microgradnet.ops.arithmetic import abs as abs_

    axis, keepdims = axis_args(axis, keepdims, kw, "matrix_norm")
    if axis is None:
        axis = (-2, -1)
    a = _float(A, "matrix_norm")
    if a.ndim < 2:
        raise ValueError(f"matrix_norm: expects at least 2 dimensions, got shape {a.shape}")
    if not isinstance(axis, (tuple, list)) or len(axis) != 2:
        raise ValueError(f"matrix_norm: dim must be a pair of axes, got {axis!r}")
    m, (d0, d1) = _move_last(a, (int(axis[0]), int(axis[1])), "matrix_norm")
    if ord == "fro":
        out = vector_norm(m, 2, (-2, -1))
    elif ord == "nuc":
        out = svdvals(m).sum(-1)
    elif ord in (2, -2):
        s = svdvals(m)
        out = s.max(-1) if ord == 2 else s.min(-1)
    elif ord in (1, -1):
        col = abs_(m).sum(-2)
        out = col.max(-1) if ord == 1 else col.min(-1)
    elif ord in (math.inf, -math.inf):
        row = abs_(m).sum(-1)
        out = row.max(-1) if ord > 0 else row.min(-1)
    else:
        raise ValueError(f"matrix_norm: unsupported ord {ord!r}; use 'fro', 'nuc', 1, -1, 2, "
                         "-2, inf or -inf")
    if keepdims:
        for d in sorted((d0, d1)):
            out = out.unsqueeze(d)
    return out


def norm(A: Any, ord: Any = None, axis: Any = None, keepdims: bool = False,
         **kw: Any) -> Tensor:
    """``torch.linalg.norm`` / ``numpy.linalg.norm``: a vector norm when ``axis`` is an int (or
    ``A`` is 1-D), a matrix norm when it is a pair (or ``A`` is 2-D and ``ord`` given), the
    2-norm of all elements when both ``axis`` and ``ord`` are None.

    >>> mg.linalg.norm(mg.tensor([[1.0, 2.0], [2.0, 4.0]]))
    tensor(5.)
    """
    axis, keepdims = axis_args(axis, keepdims, kw, "norm")
    a = _float(A, "norm")
    if axis is None:
        if ord is None:
            return vector_norm(a, 2, None, keepdims)
        if a.ndim == 1:
            return vector_norm(a, ord, None, keepdims)
        if a.ndim == 2:
            return matrix_norm(a, ord, (-2, -1), keepdims)
        raise ValueError(f"norm: with ord={ord!r} and no axis the input must be 1-D or 2-D, got "
                         f"shape {a.shape}")
    if isinstance(axis, (int, np.integer)) or (isinstance(axis, (tuple, list))
                                               and len(axis) == 1):
        return vector_norm(a, 2 if ord is None else ord, axis, keepdims)
    if isinstance(axis, (tuple, list)) and len(axis) == 2:
        return matrix_norm(a, "fro" if ord is None else ord, tuple(axis), keepdims)
    raise ValueError(f"norm: axis must be an int or a pair of ints, got {axis!r}")


def cross(a: Any, b: Any, axis: int = -1, **kw: Any) -> Tensor:
    """The cross product of 3-vectors along ``axis`` (``dim=`` too), broadcasting.

    >>> mg.linalg.cross(mg.tensor([1.0, 0.0, 0.0]), mg.tensor([0.0, 1.0, 0.0]))
    tensor([0., 0., 1.])
    """
    from microgradnet.ops.shape import broadcast_to, stack

    if "dim" in kw:
        axis = kw.pop("dim")
    if kw:
        raise TypeError(f"cross: unexpected keyword argument(s) {sorted(kw)}")
    x, y = _float(a, "cross"), _float(b, "cross")
    try:
        shape = np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        raise ValueError(f"cross: shapes {x.shape} and {y.shape} cannot be broadcast "
                         "together") from None
    nd = len(shape)
    if not nd or not -nd <= axis < nd or shape[axis] != 3:
        raise ValueError(f"cross: needs size 3 along axis {axis}, got shapes {x.shape} and "
                         f"{y.shape}")
    ax = axis % nd
    x, y = broadcast_to(x, shape), broadcast_to(y, shape)

    def c(t: Tensor, i: int) -> Tensor:
        return t[(slice(None),) * ax + (i,)]

    x0, x1, x2 = c(x, 0), c(x, 1), c(x, 2)
    y0, y1, y2 = c(y, 0), c(y, 1), c(y, 2)
    return stack([x1 * y2 - x2 * y1, x2 * y0 - x0 * y2, x0 * y1 - x1 * y0], ax)
