"""Op database entries for the layer and loss ops of ``microgradnet/ops/nn.py``, called through
their public functions in ``mg.functional`` (collected by ``tests/op_db.py``).

Each entry names the fused Function it records (``function=``): these ops have no function of
their own in ``mg``, so the coverage test in ``test_op_db.py`` finds them by class. Float arrays
in ``args`` become tensors that require grad (so soft targets are differentiated too); class
weights and ``pos_weight`` travel in ``kwargs``, as constants.
"""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np

import microgradnet.functional as F
from microgradnet.ops import nn as ops_nn
from tests.op_db import OpInfo
from tests.strategies import arrays, small_shapes

_REDUCTIONS = st.sampled_from(["mean", "sum", "none"])
_nonscalar = small_shapes.filter(lambda s: len(s) > 0)


def _f(shape: tuple[int, ...], lo: float = -2.0, hi: float = 2.0) -> st.SearchStrategy:
    return arrays(shape, (lo, hi))


# -- linear -----------------------------------------------------------------------------------

@st.composite
def linear_sample(draw: st.DrawFn, bias: bool = True) -> tuple[list, dict]:
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    n_in, n_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    args = [draw(_f(batch + (n_in,))), draw(_f((n_out, n_in)))]
    if bias:
        args.append(draw(_f((n_out,))))
    return args, {}


def linear_ref(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    return x @ w.T + (0.0 if b is None else b)


# -- softmax family -----------------------------------------------------------------------------

@st.composite
def axis_sample(draw: st.DrawFn) -> tuple[list, dict]:
    shape = draw(_nonscalar)
    return [draw(_f(shape))], {"axis": draw(st.integers(-len(shape), len(shape) - 1))}


def log_softmax_ref(x: np.ndarray, axis: int) -> np.ndarray:
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def softmax_ref(x: np.ndarray, axis: int) -> np.ndarray:
    return np.exp(log_softmax_ref(x, axis))


# -- cross-entropy --------------------------------------------------------------------------------

def _reduce(per: np.ndarray, reduction: str, denom: float) -> np.ndarray:
    if reduction == "none":
        return per
    return per.sum() if reduction == "sum" else per.sum() / denom


@st.composite
def ce_labels_sample(draw: st.DrawFn, options: bool = False) -> tuple[list, dict]:
    """Logits (N, C) or (N, C, d) or a single sample (C,), integer labels; with ``options`` a
    class weight, an ignored label and label smoothing as well."""
    c = draw(st.integers(2, 3))
    shape = draw(st.sampled_from([(c,), (2, c), (3, c), (2, c, 2)]))
    lshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    labels = np.array(draw(st.lists(st.integers(0, c - 1), min_size=int(np.prod(lshape)),
                                    max_size=int(np.prod(lshape))))).reshape(lshape)
    kwargs: dict = {"reduction": draw(_REDUCTIONS)}
    if options:
        if labels.size > 1:  # one ignored sample (counts for nothing); not all, or 0/0
            labels = labels.copy()
            labels.flat[0] = -1
        kwargs.update(weight=draw(_f((c,), 0.2, 2.0)), ignore_index=-1,
                      label_smoothing=draw(st.sampled_from([0.0, 0.1, 0.3])))
    return [draw(_f(shape)), labels.astype(np.int64)], kwargs


def ce_ref(x: np.ndarray, target: np.ndarray, reduction: str = "mean", weight: object = None,
           ignore_index: int = -100, label_smoothing: float = 0.0) -> np.ndarray:
    """PyTorch's cross-entropy in NumPy, straight from its definition."""
    axis = 0 if x.ndim == 1 else 1
    c = x.shape[axis]
    logp = np.moveaxis(log_softmax_ref(x, axis), axis, -1)  # classes last
    w = np.ones(c) if weight is None else np.asarray(weight)
    if target.dtype.kind == "f":  # class probabilities
        q = np.moveaxis(target, axis, -1) * (1 - label_smoothing) + label_smoothing / c
        per = -(q * w * logp).sum(-1)
        return _reduce(per, reduction, per.size)
    valid = target != ignore_index
    t = np.where(valid, target, 0)
    onehot = np.eye(c)[t]
    q = (1 - label_smoothing) * onehot + label_smoothing / c
    per = -(q * w * logp).sum(-1) * valid
    return _reduce(per, reduction, float((w[t] * valid).sum()))


@st.composite
def ce_probs_sample(draw: st.DrawFn) -> tuple[list, dict]:
    shape = draw(st.sampled_from([(3,), (2, 3), (2, 2, 2)]))
    p = draw(_f(shape, 0.1, 1.0))
    axis = 0 if len(shape) == 1 else 1
    kwargs = {"reduction": draw(_REDUCTIONS), "label_smoothing": draw(st.sampled_from([0.0, 0.2]))}
    return [draw(_f(shape)), p / p.sum(axis=axis, keepdims=True)], kwargs


# -- regression and binary losses -----------------------------------------------------------------

@st.composite
def pair_sample(draw: st.DrawFn, lo: float = -2.0, hi: float = 2.0, t_lo: float = -2.0,
                t_hi: float = 2.0, weights: bool = False) -> tuple[list, dict]:
    shape = draw(small_shapes)
    kwargs: dict = {"reduction": draw(_REDUCTIONS)}
    if weights and draw(st.booleans()):
        kwargs["weight"] = draw(_f(shape[-1:], 0.2, 2.0))  # broadcast along the last axis
    return [draw(_f(shape, lo, hi)), draw(_f(shape, t_lo, t_hi))], kwargs


def _mean_or(per: np.ndarray, reduction: str) -> np.ndarray:
    return _reduce(per, reduction, per.size)


def mse_ref(x: np.ndarray, t: np.ndarray, reduction: str = "mean") -> np.ndarray:
    return _mean_or((x - t) ** 2, reduction)


def sse_ref(x: np.ndarray, t: np.ndarray, reduction: str = "sum") -> np.ndarray:
    return _mean_or(0.5 * (x - t) ** 2, reduction)


def bce_ref(p: np.ndarray, t: np.ndarray, weight: object = None,
            reduction: str = "mean") -> np.ndarray:
    per = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    return _mean_or(per if weight is None else per * weight, reduction)


@st.composite
def bce_logits_sample(draw: st.DrawFn) -> tuple[list, dict]:
    args, kwargs = draw(pair_sample(t_lo=0.0, t_hi=1.0, weights=True))
    if draw(st.booleans()):
        kwargs["pos_weight"] = draw(_f(args[0].shape[-1:], 0.2, 3.0))
    return args, kwargs


def bce_logits_ref(x: np.ndarray, t: np.ndarray, weight: object = None, reduction: str = "mean",
                   pos_weight: object = None) -> np.ndarray:
    log_sig = -np.logaddexp(0.0, -x)
    log_one_minus = -np.logaddexp(0.0, x)
    pw = 1.0 if pos_weight is None else pos_weight
    per = -(pw * t * log_sig + (1 - t) * log_one_minus)
    return _mean_or(per if weight is None else per * weight, reduction)


OPS: list[OpInfo] = [
    OpInfo("linear", F.linear, linear_ref, gen=linear_sample(), function=ops_nn.Linear),
    OpInfo("linear_nobias", F.linear, linear_ref, gen=linear_sample(bias=False),
           function=ops_nn.Linear),
    OpInfo("softmax", F.softmax, softmax_ref, gen=axis_sample(), function=ops_nn.Softmax),
    OpInfo("log_softmax", F.log_softmax, log_softmax_ref, gen=axis_sample(),
           function=ops_nn.LogSoftmax),
    OpInfo("cross_entropy", F.cross_entropy, ce_ref, gen=ce_labels_sample(),
           function=ops_nn.CrossEntropy),
    OpInfo("cross_entropy_options", F.cross_entropy, ce_ref, gen=ce_labels_sample(options=True),
           function=ops_nn.CrossEntropy),
    # soft targets that require grad: the derivative for the target distribution is checked too
    OpInfo("cross_entropy_probs", F.cross_entropy, ce_ref, gen=ce_probs_sample(),
           function=ops_nn.CrossEntropy),
    OpInfo("mse_loss", F.mse_loss, mse_ref, gen=pair_sample(), function=ops_nn.SquaredError),
    OpInfo("sse_loss", F.sse_loss, sse_ref, gen=pair_sample(), function=ops_nn.SquaredError),
    OpInfo("binary_cross_entropy", F.binary_cross_entropy, bce_ref,
           gen=pair_sample(0.1, 0.9, 0.0, 1.0, weights=True),
           function=ops_nn.BinaryCrossEntropy),
    OpInfo("binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits,
           bce_logits_ref, gen=bce_logits_sample(), function=ops_nn.BCEWithLogits),
]
