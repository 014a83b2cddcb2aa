"""Forward mode (mg.forward_ad) and the Jacobian / Hessian functions built on it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import microgradnet as mg
from microgradnet.autograd import forward_ad as fwAD

F = mg.functional
rng = np.random.default_rng(0)


def t(a: Any, grad: bool = False) -> mg.Tensor:
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def test_make_and_unpack_dual_follow_torch() -> None:
    with fwAD.dual_level():
        x = fwAD.make_dual(t([1.0, 2.0]), t([0.5, -1.0]))
        y = x * x + mg.sin(x)
        primal, tangent = fwAD.unpack_dual(y)
        np.testing.assert_allclose(primal.data, [1 + np.sin(1), 4 + np.sin(2)])
        np.testing.assert_allclose(tangent.data, np.array([0.5, -1.0]) * (2 * np.array(
            [1.0, 2.0]) + np.cos([1.0, 2.0])))
        assert fwAD.unpack_dual(primal).tangent is None  # the primal carries no tangent
        assert fwAD.unpack_dual(t(1.0)).tangent is None
    assert fwAD.unpack_dual(y).tangent is None  # gone with the level


def test_make_dual_checks_its_arguments() -> None:
    with pytest.raises(RuntimeError, match="make_dual: no dual level is active"):
        fwAD.make_dual(t(1.0), t(1.0))
    with fwAD.dual_level():
        with pytest.raises(ValueError, match=r"make_dual: the tangent has shape \(3,\) but the "
                                             r"primal has shape \(2,\)"):
            fwAD.make_dual(t([1.0, 2.0]), t([1.0, 2.0, 3.0]))
        with pytest.raises(RuntimeError, match="nested dual levels are not supported"):
            with fwAD.dual_level():
                pass


def test_the_primal_is_not_changed_and_tangents_broadcast() -> None:
    base = t([1.0, 2.0])
    with fwAD.dual_level():
        x = fwAD.make_dual(base, t([1.0, 1.0]))
        y = x + t([[0.0, 0.0], [1.0, 1.0]])  # the output is larger than x: tangent broadcast
        assert fwAD.unpack_dual(y).tangent.shape == (2, 2)
    assert fwAD.unpack_dual(base).tangent is None


def _cube(with_jvp: bool) -> type[mg.Function]:
    """x ** 3 as a custom Function, with or without a forward-mode rule."""

    class Cube(mg.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return x.data ** 3

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            (x,) = ctx.saved_tensors
            return grad * 3 * x * x

        if with_jvp:
            @staticmethod
            def jvp(ctx: Any, tx: Any) -> Any:
                (x,) = ctx.saved_tensors
                return tx * 3 * x * x

    return Cube


@pytest.mark.parametrize("with_jvp", [False, True])
def test_a_custom_function_in_forward_mode(with_jvp: bool) -> None:
    """With a jvp rule it works in both modes; without one, forward mode names the op."""
    cube = _cube(with_jvp)
    with fwAD.dual_level():
        cube.apply(t(2.0))  # without tangents it runs as usual either way
        x = fwAD.make_dual(t(2.0), t(1.0))
        if not with_jvp:
            with pytest.raises(RuntimeError, match=r"^cube: no forward-mode rule.*jvp\(ctx, "):
                cube.apply(x)
            return
        assert fwAD.unpack_dual(cube.apply(x)).tangent.item() == 12.0
    _, tangent = F.jvp(cube.apply, t(2.0), t(1.0))
    assert tangent.item() == 12.0
    np.testing.assert_allclose(F.hessian(lambda x: cube.apply(x).sum(), t([2.0])).data, [[12.0]])


def test_functional_jvp_is_one_forward_pass_without_a_backward_sweep() -> None:
    seen: list[str] = []
    x, v = t(rng.normal(size=3)), t(rng.normal(size=3))
    with mg.autograd.engine.observe_sweep(lambda node, gi, go: seen.append(node.op_name)):
        out, tangent = F.jvp(lambda a: mg.tanh(a) * a, x, v)
    assert seen == []
    d = 1 - np.tanh(x.data) ** 2
    np.testing.assert_allclose(tangent.data, v.data * (d * x.data + np.tanh(x.data)))
    assert not tangent.requires_grad and not out.requires_grad


@pytest.mark.parametrize("strategy", ["forward-mode", "reverse-mode", "auto"])
def test_jacobian_strategies_agree(strategy: str) -> None:
    a = rng.normal(size=(4, 3))

    def f(x: Any, y: Any) -> Any:
        return mg.tanh(t(a) @ x) * y.sum(), (x * x).sum()

    x, y = t(rng.normal(size=3)), t(rng.normal(size=(2,)))
    ref = F.jacobian(f, (x, y), strategy="reverse-mode")
    got = F.jacobian(f, (x, y), strategy=strategy)
    for r_row, g_row in zip(ref, got):
        for r, g in zip(r_row, g_row):
            assert r.shape == g.shape
            np.testing.assert_allclose(g.data, r.data, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="jacobian: strategy must be one of"):
        F.jacobian(f, (x, y), strategy="sideways")


def test_jacfwd_and_jacrev_are_function_transforms_with_argnums() -> None:
    def f(x: Any, y: Any) -> Any:
        return x * mg.exp(y)

    x, y = t([1.0, 2.0]), t([0.5, -0.5])
    for transform in (F.jacfwd, F.jacrev):
        jx = transform(f)(x, y)
        np.testing.assert_allclose(jx.data, np.diag(np.exp(y.data)))
        jx2, jy = transform(f, argnums=(0, 1))(x, y)
        np.testing.assert_allclose(jx2.data, jx.data)
        np.testing.assert_allclose(jy.data, np.diag(x.data * np.exp(y.data)))
    with pytest.raises(ValueError, match="jacfwd: argnums 2 is out of range"):
        F.jacfwd(f, argnums=2)(x, y)


def _x_sin_x(x: Any) -> Any:
    return (mg.sin(x) * x).sum()  # Hessian diag(2 cos x - x sin x)


@pytest.mark.parametrize("outer, inner", [("jacfwd", "jacrev"), ("jacrev", "jacrev"),
                                          ("jacrev", "jacfwd")])
def test_jacobian_transforms_compose_into_a_hessian(outer: str, inner: str) -> None:
    """As torch.func: the inner transform keeps its graph (they returned zeros before)."""
    x = t([0.3, 0.7, -1.2])
    h = getattr(F, outer)(getattr(F, inner)(_x_sin_x))(x)
    np.testing.assert_allclose(h.data, np.diag(2 * np.cos(x.data) - x.data * np.sin(x.data)),
                               rtol=1e-12, atol=1e-14)
    assert not h.requires_grad
    # a closure over the outer input (the inner transform's own argument is a constant)
    g = F.jacrev(lambda a: F.jacrev(lambda b: (a * b * b).sum())(t([1.0, 2.0])))(t([3.0, 4.0]))
    np.testing.assert_allclose(g.data, np.diag([2.0, 4.0]))


def test_jacrev_of_an_input_that_requires_grad_stays_differentiable() -> None:
    x = t([0.5, 1.5], grad=True)
    (F.jacrev(_x_sin_x)(x) ** 2).sum().backward()  # d/dx sum(g^2) = 2 g H
    g = np.sin(x.data) + x.data * np.cos(x.data)
    np.testing.assert_allclose(x.grad.data, 2 * g * (2 * np.cos(x.data) - x.data * np.sin(x.data)))


def test_forward_mode_inside_forward_mode_says_what_to_use() -> None:
    x = t([0.3, 0.7])
    message = r"nested dual levels are not supported.*jacfwd\(jacrev\(f\)\)"
    with pytest.raises(RuntimeError, match=message):
        F.jacfwd(F.jacfwd(_x_sin_x))(x)
    with fwAD.dual_level(), pytest.raises(RuntimeError, match=message):
        F.hessian(_x_sin_x, x)


def test_hessian_and_hvp_run_forward_over_reverse() -> None:
    a = rng.normal(size=(3, 3))

    def f(x: Any) -> Any:
        return (mg.tanh(t(a) @ x) ** 2).sum() + mg.exp(x).prod()

    x = t(rng.normal(size=3))
    h = F.hessian(f, x)
    h_rr = F.jacobian(lambda z: F.jacobian(f, z, create_graph=True), x,
                      strategy="reverse-mode")
    np.testing.assert_allclose(h.data, h_rr.data, rtol=1e-10, atol=1e-12)
    v = t(rng.normal(size=3))
    value, hv = F.hvp(f, x, v)
    np.testing.assert_allclose(hv.data, h.data @ v.data, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(value.data, f(x).data)
    _, vh = F.vhp(f, x, v)
    np.testing.assert_allclose(vh.data, hv.data, rtol=1e-10, atol=1e-12)


def test_hvp_through_ops_that_reuse_their_output() -> None:
    """exp, tanh, sigmoid, sqrt read their own output in the backward rule: forward over reverse
    must see that output's tangent too."""
    def f(x: Any) -> Any:
        return (mg.exp(x) + mg.tanh(x) + mg.sigmoid(x) + mg.sqrt(x * x + 1.0)).sum()

    x, v = t([0.3, -0.7]), t([1.0, 2.0])
    _, hv = F.hvp(f, x, v)
    xs = x.data
    s = 1 / (1 + np.exp(-xs))
    d2 = np.exp(xs) - 2 * np.tanh(xs) * (1 - np.tanh(xs) ** 2) + s * (1 - s) * (1 - 2 * s) + (
        xs * xs + 1) ** -1.5
    np.testing.assert_allclose(hv.data, d2 * v.data, rtol=1e-12)


def test_forward_mode_through_linalg_and_new_ops() -> None:
    a = t(rng.normal(size=(3, 3)) + 3 * np.eye(3))

    def f(m: Any) -> Any:
        return mg.linalg.slogdet(m)[1] + mg.einsum("ij,ji->", m, m) + mg.cumsum(m, 0).sum()

    j_fwd = F.jacobian(f, a, strategy="forward-mode")
    j_rev = F.jacobian(f, a, strategy="reverse-mode")
    np.testing.assert_allclose(j_fwd.data, j_rev.data, rtol=1e-10, atol=1e-12)


def test_reverse_over_forward_differentiates_a_jvp() -> None:
    x = t([0.5, 1.5], grad=True)
    _, tangent = F.jvp(lambda z: z ** 3, x, t([1.0, 1.0]), create_graph=True)
    (g,) = mg.grad(tangent.sum(), [x])
    np.testing.assert_allclose(g.data, 6 * x.data)


_X = rng.normal(size=(3, 4))
_T = rng.uniform(0.1, 0.9, size=(3, 4))
_FUSED = {
    "softmax": lambda x, y: F.softmax(x, axis=1),
    "log_softmax": lambda x, y: F.log_softmax(x, axis=0),
    "linear": lambda x, y: F.linear(x, y, y[:, 0]),
    "cross_entropy_labels": lambda x, y: F.cross_entropy(x, mg.tensor([0, 3, 1])),
    "cross_entropy_probs": lambda x, y: F.cross_entropy(x, F.softmax(y, axis=1),
                                                        reduction="none"),
    "mse_loss": lambda x, y: F.mse_loss(x, y),
    "sse_loss": lambda x, y: F.sse_loss(x, y, reduction="none"),
    "binary_cross_entropy": lambda x, y: F.binary_cross_entropy(
        mg.sigmoid(x), mg.sigmoid(y), weight=t(_T)),
    "bce_with_logits": lambda x, y: F.binary_cross_entropy_with_logits(
        x, mg.sigmoid(y), pos_weight=t([1.0, 2.0, 0.5, 3.0]), reduction="sum"),
    "bce_with_logits_plain": lambda x, y: F.binary_cross_entropy_with_logits(x, mg.sigmoid(y)),
}


@pytest.mark.parametrize("name", sorted(_FUSED))
def test_fused_functions_have_forward_rules_matching_reverse_mode(name: str) -> None:
    fn = _FUSED[name]
    x, y = t(_X), t(_X[::-1] * 0.5)
    fwd = F.jacobian(fn, (x, y), strategy="forward-mode")
    rev = F.jacobian(fn, (x, y), strategy="reverse-mode")
    for a, b in zip(fwd, rev):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-10, atol=1e-12)
    with F.fused(False):  # the same function from elementary ops
        ref = F.jacobian(fn, (x, y), strategy="forward-mode")
    for a, b in zip(fwd, ref):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-10, atol=1e-12)
