"""The linear-algebra ops with their own derivative rules (the matrix-calculus identities).

Every forward runs NumPy's LAPACK routine, batched over leading axes. Every backward (VJP) rule
is written once (``_dual_rules``, see ``ops/_dual.py``): on NumPy arrays in a plain sweep, on
Tensors, recorded, with ``create_graph``, so derivatives of any order follow; the forward (JVP)
rules run the same helpers on Tensors. References: M. Giles, "An extended collection of matrix
derivative results" (2008); I. Murray, "Differentiation of the Cholesky decomposition" (2016);
H.-J. Liao et al., "Differentiable programming tensor networks" (2019) for QR; PyTorch's
``FunctionsManual.cpp`` for SVD and pinv, whose conventions (gradients of symmetric inputs are
symmetric) these rules follow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet.autograd.forward_ad import _fw, restore_tangent
from microgradnet.autograd.function import Function, _dual_mode, apply_op
from microgradnet.ops import _dual as D
from microgradnet.ops._dual import diag_embed, diagonal, matmul, tril, where
from microgradnet.tensor import Tensor


class LinAlgError(np.linalg.LinAlgError):
    """A singular or non-positive-definite input, or an undefined derivative (a ``ValueError``,
    and NumPy's ``LinAlgError`` too); the message names the op.

    >>> issubclass(mg.linalg.LinAlgError, ValueError)
    True
    """


def outputs(ctx: Any) -> list[Any]:
    """The node's saved outputs: their arrays in a plain sweep; else Tensors attached to it
    (output k is output k of the node), so that second derivatives flow through them, or
    constants when the node was not recorded."""
    ctx._check_output()
    outs = ctx._out if isinstance(ctx._out, tuple) else (ctx._out,)
    if ctx._dual_rules and _dual_mode.arrays:
        return list(outs)
    rec = bool(ctx.next_functions)
    res = []
    for k, o in enumerate(outs):
        t = Tensor._make(o, rec, ctx if rec else None)
        t._output_nr = k
        res.append(restore_tangent(ctx, t) if rec and _fw.level else t)
    return res


def _is_zero(g: Any) -> bool:
    return g is None or not np.any(D.value(g))


def _unsq2(x: Any) -> Any:
    return x.reshape(x.shape + (1, 1))


def _sym(x: Any) -> Any:
    return (x + x.mT) * 0.5


def _const(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._make(np.asarray(x), False, None)


def _solve(a: Any, b: Any) -> Any:
    """A⁻¹B: the recorded op when either is a Tensor, NumPy's on arrays."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return apply_op(Solve, (_const(a), _const(b)))
    return _solve_array(a, b)


def _inv(a: Any) -> Any:
    """A⁻¹: the recorded op on a Tensor, NumPy's on an array."""
    return apply_op(Inv, (a,)) if isinstance(a, Tensor) else _inv_array(a)


# -- solve, inv -------------------------------------------------------------------------------

class Solve(Function):
    """X = A⁻¹B. VJP: gB = A⁻ᵀG (a solve with the transpose, no inverse), gA = -gB Xᵀ.
    JVP: dX = A⁻¹(dB - dA X)."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, a: Tensor, b: Tensor) -> np.ndarray:
        x = _solve_array(a.data, b.data)
        ctx.save_for_backward(a)
        ctx.save_output(x)
        return x

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        (a,) = ctx.saved_tensors
        (x,) = outputs(ctx)
        na, _ = ctx.needs_input_grad
        gb = _solve(a.mT, grad)
        return (-matmul(gb, x.mT) if na else None), gb

    @staticmethod
    def jvp(ctx: Any, ta: Any, tb: Any) -> Tensor:
        (a,) = ctx.saved_tensors
        (x,) = outputs(ctx)
        rhs = tb
        if ta is not None:
            rhs = -matmul(ta, x) if rhs is None else rhs - matmul(ta, x)
        return Solve.apply(a, rhs)


def _solve_array(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        raise LinAlgError("solve: the matrix A is singular (no unique solution); "
                          "use mg.linalg.lstsq for a least-squares solution") from None


class Inv(Function):
    """Y = A⁻¹. VJP: -Yᵀ G Yᵀ. JVP: -Y dA Y."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, a: Tensor) -> np.ndarray:
        y = _inv_array(a.data)
        ctx.save_output(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        (y,) = outputs(ctx)
        yt = y.mT
        return -matmul(matmul(yt, grad), yt)

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        (y,) = outputs(ctx)
        return -matmul(matmul(y, t), y)


def _inv_array(a: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise LinAlgError("inv: the matrix is singular (not invertible); mg.linalg.pinv "
                          "gives the pseudo-inverse") from None


# -- det, slogdet -----------------------------------------------------------------------------

def _cofactor_array(a: np.ndarray) -> np.ndarray:
    """The cofactor matrix (∂det/∂A = adj(A)ᵀ) through the SVD: correct for singular matrices
    too, where det·A⁻ᵀ is 0·∞. C = det(U)det(V) U diag(∏_{j≠i} s_j) Vᵀ."""
    u, s, vh = np.linalg.svd(a)
    n = s.shape[-1]
    ones = np.ones(s.shape[:-1] + (1,), s.dtype)
    before = np.cumprod(np.concatenate([ones, s[..., :-1]], -1), -1)
    after = np.cumprod(np.concatenate([ones, s[..., :0:-1]], -1), -1)[..., ::-1]
    others = before * after if n else s
    sign = np.linalg.det(u) * np.linalg.det(vh)
    return sign[..., None, None] * np.matmul(u * others[..., None, :], vh)


def _well_conditioned(a: np.ndarray) -> bool:
    if a.shape[-1] == 0:
        return True
    s = np.linalg.svd(a, compute_uv=False)
    return bool(np.all(s[..., -1] > s[..., 0] * a.shape[-1] * np.finfo(a.dtype).eps * 16))


def _cofactor(a: Any, d: Any) -> Any:
    """∂det/∂A: det·A⁻ᵀ (differentiable) where every matrix is well conditioned, else the SVD
    form as a constant (first derivatives stay exact at singular matrices; the second
    derivative there is not followed)."""
    if _well_conditioned(D.value(a)):
        return _unsq2(d) * _inv(a).mT
    cof = _cofactor_array(D.value(a))
    return _const(cof) if isinstance(a, Tensor) else cof


class Det(Function):
    """det(A) (LU). VJP: g·cof(A), cof(A) = det(A)·A⁻ᵀ (adj(A)ᵀ through the SVD at singular
    matrices). JVP: ⟨cof(A), dA⟩."""

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, a: Tensor) -> np.ndarray:
        d = np.asarray(np.linalg.det(a.data))
        ctx.save_for_backward(a)
        ctx.save_output(d)
        return d

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        (a,) = ctx.saved_tensors
        (d,) = outputs(ctx)
        return _unsq2(grad) * _cofactor(a, d)

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        (a,) = ctx.saved_tensors
        (d,) = outputs(ctx)
        return (_cofactor(a, d) * t).sum((-2, -1))


class Slogdet(Function):
    """(sign, log|det A|). VJP: g_logabs·A⁻ᵀ (the sign is piecewise constant).
    JVP: tr(A⁻¹ dA)."""

    __slots__ = ("_n_out", "_out_meta")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, a: Tensor) -> tuple[np.ndarray, np.ndarray]:
        sign, logabs = np.linalg.slogdet(a.data)
        ctx.save_for_backward(a)
        return np.asarray(sign), np.asarray(logabs)

    @staticmethod
    def _inv_t(ctx: Any) -> Any:
        (a,) = ctx.saved_tensors
        try:
            return _inv(a).mT
        except LinAlgError:
            raise LinAlgError("slogdet: the derivative of log|det A| does not exist at a "
                              "singular matrix (log|det A| = -inf)") from None

    @staticmethod
    def backward(ctx: Any, gsign: Tensor, glogabs: Tensor) -> Tensor:
        return _unsq2(glogabs) * Slogdet._inv_t(ctx)

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> tuple[Any, Tensor]:
        return None, (Slogdet._inv_t(ctx) * t).sum((-2, -1))


# -- cholesky ---------------------------------------------------------------------------------

def _phi(x: Tensor) -> Tensor:
    """The lower triangle with its diagonal halved."""
    return tril(x) - diag_embed(diagonal(x, 0, -2, -1)) * 0.5


class Cholesky(Function):
    """L with A = L Lᵀ, L lower triangular (only A's lower triangle is read).

    VJP (Murray 2016): A's gradient L⁻ᵀ S L⁻¹ with S the symmetric matrix whose lower triangle
    is half of tril(Lᵀ G) (the gradient of a symmetric input is symmetric, as PyTorch).
    JVP: dL = L Φ(L⁻¹ sym(dA) L⁻ᵀ), Φ = lower triangle with the diagonal halved.
    """

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, a: Tensor) -> np.ndarray:
        try:
            lo = np.linalg.cholesky(a.data)
        except np.linalg.LinAlgError:
            raise LinAlgError("cholesky: the input is not positive-definite") from None
        ctx.save_output(lo)
        return lo

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        (lo,) = outputs(ctx)
        p = tril(matmul(lo.mT, grad))
        s = (p + tril(p, -1).mT) * 0.5
        x = _solve(lo.mT, s)  # L⁻ᵀ S
        return _solve(lo.mT, x.mT).mT  # (L⁻ᵀ S) L⁻¹

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        (lo,) = outputs(ctx)
        y = Solve.apply(lo, _sym(t))  # L⁻¹ dA
        z = Solve.apply(lo, y.mT)  # L⁻¹ dA L⁻ᵀ (dA symmetric)
        return matmul(lo, _phi(z))


# -- qr -------------------------------------------------------------------------------------

def _copyltu(m: Tensor) -> Tensor:
    """The lower triangle mirrored into the upper one."""
    return tril(m) + tril(m, -1).mT


def _qr_backward_tall(q: Tensor, r: Tensor, gq: Tensor, gr: Tensor) -> Tensor:
    """m ≥ n (Liao et al. 2019): gA = (gQ + Q copyltu(M)) R⁻ᵀ, M = R gRᵀ - gQᵀ Q."""
    m = matmul(r, gr.mT) - matmul(gq.mT, q)
    b = gq + matmul(q, _copyltu(m))
    return _solve(r, b.mT).mT  # B R⁻ᵀ


class QR(Function):
    """A = QR (reduced: Q is m×k, R is k×n, k = min(m, n)).

    VJP: Liao et al. (2019), for tall and for wide matrices. JVP: with dA = dQ R + Q dR,
    C = Qᵀ dA R⁻¹ splits into the skew part Qᵀ dQ (from C's strict lower triangle) and the upper
    triangular dR R⁻¹ (square and tall inputs).
    """

    __slots__ = ("_n_out", "_out_meta", "mode")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, a: Tensor, mode: str) -> tuple[np.ndarray, np.ndarray]:
        q, r = np.linalg.qr(a.data, mode=mode)  # type: ignore[call-overload]  # mode: a str
        ctx.mode = mode
        ctx.save_output((q, r))
        return q, r

    @staticmethod
    def backward(ctx: Any, gq: Tensor, gr: Tensor) -> Any:
        q, r = outputs(ctx)
        m, n = q.shape[-2], r.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("qr: the derivative of mode='complete' is not defined for tall "
                               "matrices (Q's last m - n columns are not unique); use "
                               "mode='reduced'")
        if m >= n:
            return _qr_backward_tall(q, r, gq, gr), None
        # wide: A = Q [X | Y], R = [U | V] with X = QU square
        u, v = r[..., :, :m], r[..., :, m:]
        y = matmul(q, v)  # the columns of A beyond the first m
        gv = gr[..., :, m:]
        gx = _qr_backward_tall(q, u, gq + matmul(y, gv.mT), gr[..., :, :m])
        gy = matmul(q, gv)
        return D.concatenate([gx, gy], -1), None

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> tuple[Tensor, Tensor]:
        q, r = outputs(ctx)
        m, n = q.shape[-2], r.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("qr: the forward-mode derivative of mode='complete' is not "
                               "defined for tall matrices; use mode='reduced'")
        if m >= n:
            return _qr_jvp_tall(q, r, t)
        # wide: A = Q [X | Y], R = [U | V]; X = QU is square, then dV = Qᵀ(dY - dQ V)
        from microgradnet.ops.shape import cat

        u, v = r[..., :, :m], r[..., :, m:]
        dq, du = _qr_jvp_tall(q, u, t[..., :, :m])
        dv = matmul(q.mT, t[..., :, m:] - matmul(dq, v))
        return dq, cat([du, dv], -1)


def _qr_jvp_tall(q: Tensor, r: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    """m ≥ n: C = Qᵀ dA R⁻¹ = Qᵀ dQ + dR R⁻¹, skew plus upper triangular: Ω = Qᵀ dQ from C's
    strict lower triangle, dR = (C - Ω) R, dQ = (I - QQᵀ) dA R⁻¹ + Q Ω."""
    ar = apply_op(Solve, (r.mT, t.mT)).mT  # dA R⁻¹
    c = matmul(q.mT, ar)
    low = tril(c, -1)
    omega = low - low.mT
    dr = matmul(c - omega, r)
    dq = ar - matmul(q, c) + matmul(q, omega)
    return dq, dr


# -- eigh -------------------------------------------------------------------------------------

def _gap_inverse(w: Tensor, what: str, op: str, k: Any) -> Tensor:
    """F_ij = 1 / (w_j - w_i) off the diagonal, 0 on it; a (near-)repeated pair whose entry of
    ``k`` (the part of the gradient that would be divided by the gap) is not negligible raises."""
    e = w.reshape(w.shape[:-1] + (1, w.shape[-1])) - w.reshape(w.shape + (1,))
    n = w.shape[-1]
    ea = D.value(e)
    scale = np.max(np.abs(D.value(w)), axis=-1, keepdims=True)[..., None] if n else 1.0
    tol = np.maximum(scale, np.finfo(ea.dtype).tiny) * (n * np.finfo(ea.dtype).eps * 16)
    off = ~np.eye(n, dtype=bool)
    close = (np.abs(ea) <= tol) & off
    if close.any():
        kd = np.abs(D.value(k))
        big = kd > np.sqrt(np.finfo(ea.dtype).eps) * max(float(kd.max(initial=0.0)), 1e-300)
        if (close & big).any():
            vectors = "eigenvectors" if op == "eigh" else "singular vectors"
            raise LinAlgError(
                f"{op}: the derivative is not defined: the input has repeated (or nearly "
                f"repeated) {what}, so the {vectors} are not unique and their derivative "
                f"divides by a zero gap. Differentiate only functions of the {what}, or of "
                "the subspaces they span."
            )
    safe = where(off & ~close, e, 1.0)
    return where(off & ~close, 1.0 / safe, 0.0)


class Eigh(Function):
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix.

    VJP: gA = V (diag(gw) + F ∘ skew(Vᵀ gV)) Vᵀ, F_ij = 1/(w_j - w_i), symmetric.
    JVP: with Ω = Vᵀ sym(dA) V: dw = diag(Ω), dV = V (F ∘ Ω).
    """

    __slots__ = ("_n_out", "_out_meta")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, a: Tensor, uplo: str) -> tuple[np.ndarray, np.ndarray]:
        w, v = np.linalg.eigh(a.data, UPLO=uplo)  # type: ignore[call-overload]  # UPLO: a str
        ctx.save_output((w, v))
        return w, v

    @staticmethod
    def backward(ctx: Any, gw: Tensor, gv: Tensor) -> Any:
        w, v = outputs(ctx)
        inner = diag_embed(gw)
        if not _is_zero(gv):
            k = matmul(v.mT, gv)
            skew = (k - k.mT) * 0.5
            inner = inner + _gap_inverse(w, "eigenvalues", "eigh", skew) * skew
        return matmul(matmul(v, inner), v.mT), None

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> tuple[Tensor, Tensor]:
        w, v = outputs(ctx)
        om = matmul(matmul(v.mT, _sym(t)), v)
        dw = diagonal(om, 0, -2, -1)
        dv = matmul(v, _gap_inverse(w, "eigenvalues", "eigh", om) * om)
        return dw, dv


# -- svd --------------------------------------------------------------------------------------

class SVD(Function):
    """A = U diag(S) Vh (singular values descending).

    VJP: PyTorch's ``svd_backward`` (real case), with E_ij = S_j² - S_i²:
    gA = U[(skew(UᵀgU)/E) S + S (skew(VᵀgV)/E) + diag(gS)]Vh, plus the terms for the part of
    gU (gV) outside span(U) (span(V)) when m > k (n > k). JVP: with dP = Uᵀ dA V: dS = diag(dP),
    Uᵀ dU = (dP S + S dPᵀ)/E, Vᵀ dV = (S dP + dPᵀ S)/E, plus the complements.
    """

    __slots__ = ("_n_out", "_out_meta", "full")
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, a: Tensor, full: bool) -> tuple[np.ndarray, ...]:
        u, s, vh = np.linalg.svd(a.data, full_matrices=full)
        ctx.full = full
        ctx.save_output((u, s, vh))
        return u, s, vh

    @staticmethod
    def backward(ctx: Any, gu: Tensor, gs: Tensor, gvh: Tensor) -> Any:
        u, s, vh = outputs(ctx)
        m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
        if ctx.full and m != n:
            # Only the first k singular vectors are unique: the rest must get no gradient.
            if not (_is_zero(gu[..., :, k:]) and _is_zero(gvh[..., k:, :])):
                raise RuntimeError(
                    "svd: the gradient of U or Vh with full_matrices=True is not defined for "
                    "non-square inputs (the extra singular vectors are not unique); use "
                    "full_matrices=False"
                )
            u, vh, gu, gvh = u[..., :, :k], vh[..., :k, :], gu[..., :, :k], gvh[..., :k, :]
        gu = None if _is_zero(gu) else gu  # type: ignore[assignment]
        gvh = None if _is_zero(gvh) else gvh  # type: ignore[assignment]
        if gu is None and gvh is None:
            return matmul(u * gs.reshape(gs.shape[:-1] + (1, k)), vh), None
        row = s.reshape(s.shape[:-1] + (1, k))  # S_j along columns
        col = s.reshape(s.shape + (1,))  # S_i along rows
        v = vh.mT
        skews = []
        if gu is not None:
            uhgu = matmul(u.mT, gu)
            skews.append(uhgu - uhgu.mT)
        gv = None
        if gvh is not None:
            gv = gvh.mT
            vhgv = matmul(vh, gv)
            skews.append(vhgv - vhgv.mT)
        check = skews[0] if len(skews) == 1 else skews[0] + skews[1]
        f = _gap_inverse(s * s, "singular values", "svd", check)
        ret = diag_embed(gs)
        if gu is not None:
            ret = ret + f * skews[0] * row
        if gvh is not None:
            ret = ret + col * (f * skews[-1])
        if m > k and gu is not None:
            _nonzero_sv(s, "svd")
            gusinv = gu / row
            ga = matmul(u, ret) + gusinv - matmul(u, matmul(u.mT, gusinv))
            return matmul(ga, vh), None
        if n > k and gv is not None:
            _nonzero_sv(s, "svd")
            sinvgvh = gv.mT / col
            ga = matmul(ret, vh) + sinvgvh - matmul(matmul(sinvgvh, v), vh)
            return matmul(u, ga), None
        return matmul(matmul(u, ret), vh), None

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> tuple[Tensor, Tensor, Tensor]:
        u, s, vh = outputs(ctx)
        if ctx.full and u.shape[-2] != vh.shape[-1]:
            raise RuntimeError("svd: the forward-mode derivative of U and Vh with "
                               "full_matrices=True is not defined for non-square inputs; use "
                               "full_matrices=False")
        m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
        v = vh.mT
        dp = matmul(matmul(u.mT, t), v)
        ds = diagonal(dp, 0, -2, -1)
        row = s.reshape(s.shape[:-1] + (1, k))
        col = s.reshape(s.shape + (1,))
        f = _gap_inverse(s * s, "singular values", "svd", dp - dp.mT)
        du = matmul(u, f * (dp * row + col * dp.mT))
        dv = matmul(v, f * (col * dp + dp.mT * row))
        if m > k:
            _nonzero_sv(s, "svd")
            av = matmul(t, v) / row
            du = du + av - matmul(u, matmul(u.mT, av))
        if n > k:
            _nonzero_sv(s, "svd")
            au = matmul(t.mT, u) / row
            dv = dv + au - matmul(v, matmul(vh, au))
        return du, ds, dv.mT


def _nonzero_sv(s: Tensor, op: str) -> None:
    if s.shape[-1] and not np.all(D.value(s)[..., -1] > 0):
        raise LinAlgError(f"{op}: the derivative of the singular vectors of a non-square, "
                          "rank-deficient matrix divides by a zero singular value")


# -- pinv -------------------------------------------------------------------------------------

class Pinv(Function):
    """The Moore-Penrose pseudo-inverse P = A⁺ (constant rank assumed).

    JVP (Golub & Pereyra 1973): dP = -P dA P + P Pᵀ dAᵀ (I - A P) + (I - P A) dAᵀ Pᵀ P.
    VJP, its adjoint: gA = -Pᵀ G Pᵀ + (I - A P) Gᵀ P Pᵀ + Pᵀ P Gᵀ (I - P A).
    """

    __slots__ = ()
    _forward_on_arrays = True
    _dual_rules = True

    @staticmethod
    def forward(ctx: Any, a: Tensor, rcond: Any, hermitian: bool) -> np.ndarray:
        p = np.linalg.pinv(a.data, rcond=rcond, hermitian=hermitian)
        ctx.save_for_backward(a)
        ctx.save_output(p)
        return p

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        (a,) = ctx.saved_tensors
        (p,) = outputs(ctx)
        pt, gt = p.mT, grad.mT
        t1 = -matmul(matmul(pt, grad), pt)
        x = matmul(gt, matmul(p, pt))  # Gᵀ P Pᵀ  (m × n)
        t2 = x - matmul(a, matmul(p, x))
        y = matmul(matmul(pt, p), gt)  # Pᵀ P Gᵀ  (m × n)
        t3 = y - matmul(matmul(y, p), a)
        return t1 + t2 + t3, None, None

    @staticmethod
    def jvp(ctx: Any, t: Tensor, *_: Any) -> Tensor:
        (a,) = ctx.saved_tensors
        (p,) = outputs(ctx)
        pt, tt = p.mT, t.mT
        t1 = -matmul(matmul(p, t), p)
        x = matmul(matmul(p, pt), tt)  # P Pᵀ dAᵀ (n × m)
        t2 = x - matmul(matmul(x, a), p)
        y = matmul(tt, matmul(pt, p))  # dAᵀ Pᵀ P (n × m)
        t3 = y - matmul(p, matmul(a, y))
        return t1 + t2 + t3


__all__ = ["LinAlgError", "Solve", "Inv", "Det", "Slogdet", "Cholesky", "QR", "Eigh", "SVD",
           "Pinv", "outputs"]
