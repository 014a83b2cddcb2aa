"""Forward mode through the public functions that are not op-database entries (losses,
activations of ``mg.functional``, NumPy-named aliases, ``nn`` modules, ``odeint``): each runs
in a dual level on dual inputs that do NOT require grad, and its output tangent must match
central finite differences. Code that chose a path by ``requires_grad`` (constant-folding an
input that carries only a tangent) would drop the tangent and fail here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import microgradnet as mg
from microgradnet.autograd import forward_ad as fwAD

F = mg.functional
rng = np.random.default_rng(3)


def _normal(*shape: int) -> np.ndarray:
    return rng.normal(size=shape)


def _unit(*shape: int) -> np.ndarray:
    return rng.uniform(0.1, 0.9, size=shape)


def _probs(*shape: int) -> np.ndarray:
    e = np.exp(rng.normal(size=shape))
    return e / e.sum(-1, keepdims=True)


def _linear_module(x: mg.Tensor) -> mg.Tensor:
    mg.manual_seed(0)
    return mg.nn.Linear(3, 2, dtype=mg.float64)(x)


def _mlp(x: mg.Tensor) -> mg.Tensor:
    mg.manual_seed(0)
    return mg.nn.MLP([3, 4, 2], activation="tanh", dtype=mg.float64)(x)


def _odeint(y0: mg.Tensor, k: mg.Tensor) -> mg.Tensor:
    return mg.integrate.odeint(lambda t, y: -k * y + mg.sin(t), y0,
                               mg.tensor([0.0, 0.5, 1.0], dtype=mg.float64),
                               rtol=1e-10, atol=1e-12)


# name -> (function of tensors, input arrays, positions that get tangents)
CASES: dict[str, tuple[Callable[..., Any], list[np.ndarray], list[int]]] = {
    "functional.softmax": (lambda x: F.softmax(x, dim=-1), [_normal(2, 3)], [0]),
    "functional.log_softmax": (lambda x: F.log_softmax(x, dim=-1), [_normal(2, 3)], [0]),
    "functional.linear": (F.linear, [_normal(4, 3), _normal(2, 3), _normal(2)], [0, 1, 2]),
    "functional.linear (unfused)": (
        lambda x, w, b: _unfused(F.linear, x, w, b), [_normal(4, 3), _normal(2, 3),
                                                      _normal(2)], [0, 1, 2]),
    "functional.dropout (eval)": (lambda x: F.dropout(x, 0.5, training=False),
                                  [_normal(5)], [0]),
    "functional.cross_entropy (labels)": (
        lambda x: F.cross_entropy(x, np.array([0, 2, 1])), [_normal(3, 3)], [0]),
    "functional.cross_entropy (probabilities)": (
        F.cross_entropy, [_normal(3, 4), _probs(3, 4)], [0, 1]),
    "functional.cross_entropy (smoothing)": (
        lambda x, q: F.cross_entropy(x, q, label_smoothing=0.1), [_normal(3, 4), _probs(3, 4)],
        [0, 1]),
    "functional.nll_loss": (lambda x: F.nll_loss(x, np.array([1, 0])), [_normal(2, 3)], [0]),
    "functional.mse_loss": (F.mse_loss, [_normal(4, 2), _normal(4, 2)], [0, 1]),
    "functional.mse_loss (unfused)": (lambda a, b: _unfused(F.mse_loss, a, b),
                                      [_normal(4, 2), _normal(4, 2)], [0, 1]),
    "functional.sse_loss": (F.sse_loss, [_normal(4, 2), _normal(4, 2)], [0, 1]),
    "functional.l1_loss": (F.l1_loss, [_normal(4, 2), _normal(4, 2)], [0, 1]),
    "functional.binary_cross_entropy": (F.binary_cross_entropy, [_unit(5), _unit(5)], [0, 1]),
    "functional.binary_cross_entropy_with_logits": (
        F.binary_cross_entropy_with_logits, [_normal(5), _unit(5)], [0, 1]),
    "functional.binary_cross_entropy_with_logits (pos_weight)": (
        lambda x, q: F.binary_cross_entropy_with_logits(x, q, pos_weight=mg.tensor(2.0)),
        [_normal(5), _unit(5)], [0, 1]),
    "clamp": (lambda x: mg.clamp(x, -0.5, 0.5), [_normal(6)], [0]),
    "concatenate": (lambda a, b: mg.concatenate([a, b]), [_normal(2), _normal(3)], [0, 1]),
    "subtract": (mg.subtract, [_normal(3), _normal(3)], [0, 1]),
    "multiply": (mg.multiply, [_normal(3), _normal(3)], [0, 1]),
    "divide": (mg.divide, [_normal(3), _unit(3)], [0, 1]),
    "true_divide": (mg.true_divide, [_normal(3), _unit(3)], [0, 1]),
    "negative": (mg.negative, [_normal(3)], [0]),
    "power": (mg.power, [_unit(3), _normal(3)], [0, 1]),
    "expand_dims": (lambda x: mg.expand_dims(x, 0), [_normal(3)], [0]),
    "view": (lambda x: mg.view(x, (3, 2)), [_normal(2, 3)], [0]),
    "nn.Linear": (_linear_module, [_normal(4, 3)], [0]),
    "nn.MLP": (_mlp, [_normal(4, 3)], [0]),
    "nn.Sequential": (lambda x: mg.nn.Sequential(mg.nn.Tanh(), mg.nn.Softmax(dim=-1),
                                                 mg.nn.Flatten(0))(x), [_normal(2, 3)], [0]),
    "nn.MSELoss": (mg.nn.MSELoss(), [_normal(4), _normal(4)], [0, 1]),
    "nn.CrossEntropyLoss": (mg.nn.CrossEntropyLoss(), [_normal(3, 4), _probs(3, 4)], [0, 1]),
    "nn.BCEWithLogitsLoss": (mg.nn.BCEWithLogitsLoss(), [_normal(5), _unit(5)], [0, 1]),
    "integrate.odeint": (_odeint, [_normal(2), _unit(2)], [0, 1]),
}


def _unfused(fn: Callable[..., Any], *args: Any) -> Any:
    with F.fused(False):
        return fn(*args)


def _floats(out: Any) -> list[mg.Tensor]:
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if isinstance(o, mg.Tensor) and o.dtype.kind == "f"]


def _call(fn: Callable[..., Any], arrays: list[np.ndarray]) -> list[np.ndarray]:
    return [o.numpy().astype(np.float64) for o in _floats(fn(*[mg.tensor(a) for a in arrays]))]


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_mode_keeps_the_tangents_of_inputs_that_do_not_require_grad(name: str) -> None:
    fn, arrays, dual = CASES[name]
    tangents = {i: np.random.default_rng(i).normal(size=arrays[i].shape) for i in dual}
    with fwAD.dual_level():
        inputs = [fwAD.make_dual(mg.tensor(a), mg.tensor(tangents[i])) if i in tangents
                  else mg.tensor(a) for i, a in enumerate(arrays)]
        assert not any(x.requires_grad for x in inputs)
        outs = _floats(fn(*inputs))
        got = [fwAD.unpack_dual(o).tangent for o in outs]
    eps = 1e-6
    plus = _call(fn, [a + eps * tangents[i] if i in tangents else a
                      for i, a in enumerate(arrays)])
    minus = _call(fn, [a - eps * tangents[i] if i in tangents else a
                       for i, a in enumerate(arrays)])
    for k, (g, p, m) in enumerate(zip(got, plus, minus)):
        expected = (p - m) / (2 * eps)
        assert g is not None, f"{name}: output {k} lost its tangent"
        np.testing.assert_allclose(g.numpy(), expected, rtol=1e-5, atol=1e-7,
                                   err_msg=f"{name}: output {k}")


def test_each_input_tangent_is_used() -> None:
    """The check above can fail: with only the target's tangent, mse_loss's tangent is
    -2 mean((x - t) dt), not zero; a dropped tangent gives None."""
    x, t, dt = _normal(3), _normal(3), _normal(3)
    with fwAD.dual_level():
        out = F.mse_loss(mg.tensor(x), fwAD.make_dual(mg.tensor(t), mg.tensor(dt)))
        tangent = fwAD.unpack_dual(out).tangent
    np.testing.assert_allclose(tangent.item(), -2 * np.mean((x - t) * dt))


def test_a_float32_target_keeps_its_tangent() -> None:
    """A target of another dtype is cast to the input's; the cast must keep its tangent."""
    x = _normal(4)
    t, dt = np.float32(_normal(4)), np.float32(_normal(4))
    with fwAD.dual_level():
        out = F.mse_loss(mg.tensor(x), fwAD.make_dual(mg.tensor(t), mg.tensor(dt)))
        tangent = fwAD.unpack_dual(out).tangent
    assert tangent is not None
    np.testing.assert_allclose(tangent.item(), -2 * np.mean((x - t) * dt), rtol=1e-6)
