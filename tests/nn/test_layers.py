"""Layers, containers and the MLP."""

from __future__ import annotations

import math

import numpy as np
import pytest

import microgradnet as mg
from microgradnet import functional as F
from microgradnet import nn


def test_linear_shapes_init_and_repr() -> None:
    g = np.random.default_rng(0)
    lin = nn.Linear(5, 3, generator=g)
    assert lin.weight.shape == (3, 5) and lin.bias.shape == (3,)
    assert isinstance(lin.weight, nn.Parameter) and lin.weight.dtype == mg.float32
    bound = 1 / math.sqrt(5)
    assert np.abs(lin.weight.data).max() <= bound and np.abs(lin.bias.data).max() <= bound
    big = nn.Linear(400, 300, generator=g)  # the range is really used: ±1/sqrt(fan_in)
    assert np.abs(big.weight.data).max() > 0.95 / 20
    assert big.weight.data.std() == pytest.approx(1 / 20 / math.sqrt(3), rel=0.05)
    again = nn.Linear(5, 3, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(again.weight.data, lin.weight.data)  # reproducible
    x = mg.randn(4, 5)
    np.testing.assert_allclose(lin(x).data, x.data @ lin.weight.data.T + lin.bias.data,
                               rtol=1e-6)
    assert lin(mg.randn(2, 7, 5)).shape == (2, 7, 3) and lin(mg.randn(5)).shape == (3,)
    assert repr(lin) == "Linear(in_features=5, out_features=3, bias=True)"
    nobias = nn.Linear(2, 2, bias=False, dtype="float64")
    assert nobias.bias is None and [n for n, _ in nobias.named_parameters()] == ["weight"]
    assert nobias.weight.dtype == mg.float64
    with pytest.raises(ValueError, match=r"linear: input shape \(4, 2\)"):
        lin(mg.zeros(4, 2))


def test_linear_trains_on_a_line() -> None:
    lin = nn.Linear(1, 1, dtype="float64", generator=np.random.default_rng(0))
    X = mg.tensor(np.linspace(-1, 1, 20)[:, None])
    Y = 3 * X - 1
    for _ in range(300):
        lin.zero_grad()
        F.mse_loss(lin(X), Y).backward()
        with mg.no_grad():
            for p in lin.parameters():
                p.sub_(0.2 * p.grad.data)
    assert lin.weight.item() == pytest.approx(3.0, abs=1e-3)
    assert lin.bias.item() == pytest.approx(-1.0, abs=1e-3)


def test_activation_modules() -> None:
    x = mg.tensor([[-2.0, 0.5, 3.0]])
    cases = [
        (nn.Sigmoid(), 1 / (1 + np.exp(-x.data))),
        (nn.Tanh(), np.tanh(x.data)),
        (nn.ReLU(), np.maximum(x.data, 0)),
        (nn.LeakyReLU(0.1), np.where(x.data > 0, x.data, 0.1 * x.data)),
        (nn.ELU(), np.where(x.data > 0, x.data, np.expm1(x.data))),
        (nn.Softplus(), np.log1p(np.exp(x.data))),
        (nn.Softmax(dim=1), np.exp(x.data) / np.exp(x.data).sum()),
        (nn.LogSoftmax(dim=1), np.log(np.exp(x.data) / np.exp(x.data).sum())),
        (nn.Identity(7, key="ignored"), x.data),
    ]
    for module, want in cases:
        np.testing.assert_allclose(module(x).data, want, rtol=1e-5, atol=1e-6)
    gelu = nn.GELU()(x).data
    assert gelu[0, 2] == pytest.approx(3.0 * 0.99865, rel=1e-4)
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.Softmax(1)) == "Softmax(dim=1)"


def test_dropout_respects_train_and_eval() -> None:
    drop = nn.Dropout(0.5, generator=np.random.default_rng(0))
    x = mg.ones(200)
    y = drop(x)
    assert set(np.unique(y.data)) <= {0.0, 2.0} and 0.3 < (y.data == 0).mean() < 0.7
    drop.eval()
    assert drop(x) is x
    mg.manual_seed(3)
    a = nn.Dropout(0.5)(x).data
    mg.manual_seed(3)
    np.testing.assert_array_equal(nn.Dropout(0.5)(x).data, a)  # the global seed works too
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(-0.1)


def test_flatten() -> None:
    x = mg.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert nn.Flatten(-2)(x).shape == (2, 3, 20)
    with pytest.raises(ValueError, match="out of range"):
        nn.Flatten(4)(x)
    with pytest.raises(ValueError, match="after end_dim"):
        nn.Flatten(2, 1)(x)


def test_sequential() -> None:
    seq = nn.Sequential(nn.Linear(2, 3), nn.Tanh())
    seq.append(nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.Linear)
    assert [type(m).__name__ for m in seq] == ["Linear", "Tanh", "Linear"]
    assert isinstance(seq[:2], nn.Sequential) and len(seq[:2]) == 2
    x = mg.randn(4, 2)
    np.testing.assert_allclose(seq(x).data, seq[2](seq[1](seq[0](x))).data)
    assert [n for n, _ in seq.named_parameters()][-1] == "2.bias"
    seq[1] = nn.ReLU()
    assert isinstance(seq[1], nn.ReLU)
    del seq[1]
    assert len(seq) == 2 and list(seq._modules) == ["0", "1"]
    with pytest.raises(IndexError, match="out of range"):
        seq[5]
    named = nn.Sequential({"hidden": nn.Linear(2, 2), "act": nn.Sigmoid()})
    assert [n for n, _ in named.named_parameters()] == ["hidden.weight", "hidden.bias"]


def test_module_list() -> None:
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.Linear(1, 2))
    ml += [nn.Tanh()]
    ml.insert(0, nn.Identity())
    assert [type(m).__name__ for m in ml] == ["Identity", "Linear", "Linear", "Tanh"]
    assert [n for n, _ in ml.named_parameters()] == ["1.weight", "1.bias", "2.weight",
                                                     "2.bias"]
    del ml[0]
    assert isinstance(ml[0], nn.Linear) and len(ml) == 3
    with pytest.raises(TypeError, match="Module"):
        ml.append(3)
    with pytest.raises(NotImplementedError):
        ml(mg.zeros(1))


def test_mlp_structure_and_names() -> None:
    net = nn.MLP([2, 4, 3, 1], activation="tanh", output_activation="sigmoid")
    assert [type(m) for m in net.layers] == [nn.Linear] * 3
    assert net.layers[0].weight.shape == (4, 2) and net.layers[-1].weight.shape == (1, 3)
    assert [n for n, _ in net.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
        "layers.2.weight", "layers.2.bias"]
    assert net.num_parameters() == 2 * 4 + 4 + 4 * 3 + 3 + 3 + 1
    x = mg.randn(5, 2)
    h = x
    for i, layer in enumerate(net.layers):
        h = layer(h)
        h = mg.sigmoid(h) if i == 2 else mg.tanh(h)
    np.testing.assert_allclose(net(x).data, h.data, rtol=1e-6)
    assert "(layers): ModuleList(" in repr(net) and "(activation): Tanh()" in repr(net)
    linear_out = nn.MLP([2, 2], activation="relu")
    assert isinstance(linear_out.output_activation, nn.Identity)


def test_mlp_activation_and_init_options() -> None:
    g = np.random.default_rng(0)
    classic = nn.MLP([30, 40, 20], init="classic", generator=g)
    values = np.abs(np.concatenate([p.data.ravel() for p in classic.parameters()]))
    assert values.max() <= 1.0 and values.max() > 0.99  # all of [-1, 1], biases included
    assert np.abs(classic.layers[1].bias.data).max() > 0.5  # not Linear's ±1/sqrt(40)
    small = nn.MLP([30, 40], init=0.3, generator=g)
    assert np.abs(small.layers[0].weight.data).max() <= 0.3
    xavier = nn.MLP([30, 40], init="xavier_uniform", generator=g)
    assert not xavier.layers[0].bias.data.any()
    assert np.abs(xavier.layers[0].weight.data).max() <= math.sqrt(6 / 70)
    seen = []
    nn.MLP([2, 3, 1], init=lambda layer: seen.append(layer.weight.shape))
    assert seen == [(3, 2), (1, 3)]
    fn = nn.MLP([2, 3, 1], activation=F.relu, output_activation=nn.Softmax(dim=1))
    assert "relu" in repr(fn) and fn(mg.randn(4, 2)).shape == (4, 1)
    assert isinstance(nn.MLP([2, 1], activation=nn.ELU).activation, nn.ELU)
    assert nn.MLP([2, 3, 1], bias=False).num_parameters() == 9
    assert nn.MLP([2, 1], dtype="float64").layers[0].weight.dtype == mg.float64
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        nn.MLP([2, 1], activation="swish")
    with pytest.raises(ValueError, match="at least two"):
        nn.MLP([2])
    with pytest.raises(ValueError, match="unknown init"):
        nn.MLP([2, 1], init="magic")
    with pytest.raises(TypeError, match="activation"):
        nn.MLP([2, 1], activation=3)


def test_mlp_is_reproducible_with_the_global_seed() -> None:
    mg.manual_seed(7)
    a = nn.MLP([2, 3, 1])
    mg.manual_seed(7)
    b = nn.MLP([2, 3, 1])
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_mlp_learns_xor_with_the_classic_loop() -> None:
    X = mg.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float64")
    T = mg.tensor([[0], [1], [1], [0]], dtype="float64")
    net = nn.MLP([2, 4, 1], activation="sigmoid", output_activation="sigmoid", dtype="float64",
                 generator=np.random.default_rng(1))
    sse = nn.SSELoss()
    for _ in range(3000):
        net.zero_grad()
        E = sse(net(X), T)
        E.backward()
        with mg.no_grad():
            for p in net.parameters():
                p.sub_(0.5 * p.grad.data)
    assert E.item() < 0.05
    assert ((net(X).data > 0.5) == (T.data > 0.5)).all()


def test_forward_uses_whatever_is_registered_now() -> None:
    """Linear and MLP read their parameters and parts from the registries: a parameter
    replaced by assignment or in ``_parameters``, or a swapped activation, takes effect."""
    lin = mg.nn.Linear(2, 1)
    x = mg.tensor([[1.0, 2.0]])
    lin.weight = mg.nn.Parameter(np.array([[1.0, 1.0]], dtype=np.float32))
    lin.bias = None
    np.testing.assert_allclose(lin(x).data, [[3.0]])
    lin._parameters["bias"] = mg.nn.Parameter(np.array([10.0], dtype=np.float32))
    np.testing.assert_allclose(lin(x).data, [[13.0]])
    net = mg.nn.MLP([2, 1], activation="tanh", output_activation="sigmoid")
    net.output_activation = mg.nn.Identity()
    np.testing.assert_allclose(net(x).data, net.layers[0](x).data)
