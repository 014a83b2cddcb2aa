"""Module and Parameter: registration, traversal, modes, state dicts, repr."""

from __future__ import annotations

import copy

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import microgradnet as mg
from microgradnet import nn


class Affine(nn.Module):
    def __init__(self, n: int = 2) -> None:
        super().__init__()
        self.w = nn.Parameter(mg.ones(n))
        self.b = nn.Parameter(mg.zeros(1))
        self.register_buffer("count", mg.zeros(1))

    def forward(self, x):
        return x * self.w + self.b


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = Affine()
        self.blocks = nn.ModuleList([Affine(), Affine()])
        self.shared = self.first  # registered twice, reported once

    def forward(self, x):
        x = self.first(x)
        for b in self.blocks:
            x = b(x)
        return x


def test_parameter_is_a_tensor_that_requires_grad() -> None:
    p = nn.Parameter(mg.zeros(2))
    assert isinstance(p, mg.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor([0., 0.]")
    assert nn.Parameter([1, 2]).dtype == mg.get_default_dtype()  # ints become floats
    assert nn.Parameter(np.zeros(2)).dtype == np.float64  # arrays keep their float dtype
    with pytest.raises(TypeError, match="floating"):
        nn.Parameter([1, 2], dtype="int64")
    t = mg.zeros(2)
    p = nn.Parameter(t)
    with mg.no_grad():
        p.add_(1.0)
    assert t.tolist() == [1.0, 1.0]  # shares memory with the tensor it wraps
    assert type(p * 2) is mg.Tensor and type(p.detach()) is mg.Tensor
    assert not hasattr(p, "__dict__")  # stays slotted


def test_registration_by_assignment() -> None:
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["first.w", "first.b", "blocks.0.w", "blocks.0.b", "blocks.1.w",
                     "blocks.1.b"]
    assert len(list(net.parameters())) == 6
    assert [n for n, _ in net.named_children()] == ["first", "blocks"]
    assert [n for n, _ in net.named_modules()] == ["", "first", "blocks", "blocks.0",
                                                   "blocks.1"]
    assert [n for n, _ in net.named_buffers()] == ["first.count", "blocks.0.count",
                                                   "blocks.1.count"]
    assert net.num_parameters() == 9
    assert net.get_parameter("blocks.1.w") is net.blocks[1].w
    assert net.get_submodule("blocks.0") is net.blocks[0]
    with pytest.raises(AttributeError, match="nope"):
        net.get_submodule("blocks.nope")
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        net.missing  # noqa: B018
    # plain attributes are not registered; None keeps a parameter slot
    m = Affine()
    m.note = "hello"
    m.b = None
    assert [n for n, _ in m.named_parameters()] == ["w"]
    with pytest.raises(TypeError, match="Parameter or None"):
        m.w = mg.ones(2)  # a plain tensor cannot silently replace a parameter
    del m.w
    assert list(m.parameters()) == []


def test_assigning_before_init_is_a_clear_error() -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            self.w = nn.Parameter(mg.ones(1))

    with pytest.raises(RuntimeError, match=r"super\(\).__init__\(\)"):
        Broken()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["p", "m", "x"]), min_size=0, max_size=8))
def test_registration_property(kinds: list[str]) -> None:
    """Whatever is assigned in whatever order: a module's own parameters come first, in
    assignment order, then each child's (PyTorch's order)."""
    root = nn.Module()
    own, children = [], []
    for i, kind in enumerate(kinds):
        if kind == "p":
            setattr(root, f"a{i}", nn.Parameter(mg.zeros(i + 1)))
            own.append(f"a{i}")
        elif kind == "m":
            setattr(root, f"a{i}", nn.Linear(1, 1))
            children += [f"a{i}.weight", f"a{i}.bias"]
        else:
            setattr(root, f"a{i}", i)
            assert getattr(root, f"a{i}") == i
    assert [n for n, _ in root.named_parameters()] == own + children
    assert list(root.state_dict()) == own + children


def test_shared_parameters_are_reported_once() -> None:
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.Tanh(), lin)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4


def test_train_eval_and_zero_grad() -> None:
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net(mg.ones(2)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.data.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_apply_visits_children_first() -> None:
    seen = []
    Net().apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen.count("Affine") == 3


def test_state_dict_round_trip_keeps_identity() -> None:
    a, b = nn.MLP([2, 3, 1]), nn.MLP([2, 3, 1])
    sd = a.state_dict()
    assert list(sd) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert all(type(v) is mg.Tensor and not v.requires_grad for v in sd.values())
    w = b.layers[0].weight
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert b.layers[0].weight is w  # copied in place: optimizers keep the right tensor
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert np.shares_memory(sd["layers.0.weight"].data, a.layers[0].weight.data)
    # buffers are in the state dict, non-persistent ones are not
    m = Affine()
    m.register_buffer("scratch", mg.zeros(3), persistent=False)
    assert list(m.state_dict()) == ["w", "b", "count"]


def test_load_state_dict_errors_list_everything_and_change_nothing() -> None:
    net = nn.MLP([2, 3, 1])
    before = {k: v.data.copy() for k, v in net.state_dict().items()}
    bad = {k: np.full(v.shape, 7.0) for k, v in net.state_dict().items()}
    bad["layers.1.weight"] = np.zeros((2, 3))  # wrong shape
    del bad["layers.1.bias"]  # missing
    bad["extra.weight"] = np.zeros(1)  # unexpected
    with pytest.raises(ValueError) as err:  # a wrong shape: ValueError (API.md), issue 12
        net.load_state_dict(bad)
    msg = str(err.value)
    assert "layers.1.weight: shape (2, 3) in the checkpoint, shape (1, 3) in the model" in msg
    assert "missing key layers.1.bias (shape (1,))" in msg
    assert "unexpected key extra.weight" in msg
    assert "nothing was changed" in msg
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.data, before[k])  # layers.0.* were not copied
    # strict=False tolerates missing/unexpected keys but never a wrong shape
    ok = {k: v for k, v in bad.items() if k != "layers.1.weight"}
    res = net.load_state_dict(ok, strict=False)
    assert res.missing_keys == ["layers.1.weight", "layers.1.bias"]
    assert res.unexpected_keys == ["extra.weight"]
    assert (net.layers[0].weight.data == 7).all()
    with pytest.raises(ValueError, match="shape"):
        net.load_state_dict({"layers.0.weight": np.zeros((1, 1))}, strict=False)
    with pytest.raises(ValueError, match="not numeric"):
        net.load_state_dict({**net.state_dict(), "layers.0.bias": np.array(["a", "b", "c"])})
    with pytest.raises(TypeError, match="dict"):
        net.load_state_dict([1, 2])
    # only key problems: RuntimeError, as in PyTorch
    with pytest.raises(RuntimeError, match="missing key layers.1.bias") as keys_only:
        net.load_state_dict({k: v for k, v in net.state_dict().items() if k != "layers.1.bias"})
    assert not isinstance(keys_only.value, ValueError)


def test_a_module_used_twice_round_trips_its_state_dict() -> None:
    lin = nn.Linear(3, 3)
    net = nn.Sequential(lin, nn.Tanh(), lin)
    sd = net.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # PyTorch's keys
    assert sd["0.weight"].data is sd["2.weight"].data
    other = nn.Sequential(lin2 := nn.Linear(3, 3), nn.Tanh(), lin2)
    other.load_state_dict(sd)  # was: missing keys 2.weight, 2.bias
    np.testing.assert_array_equal(lin2.weight.data, lin.weight.data)
    # a checkpoint naming the shared tensor once is complete too
    other.load_state_dict({"0.weight": np.zeros((3, 3)), "0.bias": np.zeros(3)})
    assert not lin2.weight.data.any()


def test_early_stopping_restores_a_model_that_uses_a_module_twice() -> None:
    mg.manual_seed(0)
    lin = nn.Linear(2, 2)
    net = nn.Sequential(lin, nn.Tanh(), lin)
    X, y = mg.data.make_moons(40, seed=0)
    stop = mg.train.EarlyStopping(monitor="loss", patience=3, restore_best_weights=True)
    hist = mg.train.fit(net, nn.CrossEntropyLoss(), mg.optim.SGD(net.parameters(), lr=0.1),
                        (X, y), epochs=20, callbacks=[stop], progress=False)
    assert hist.epochs_run == 20 and stop.best_epoch is not None


def test_the_per_class_cache_lets_classes_go() -> None:
    import gc
    import weakref

    def make() -> weakref.ref:
        class Cell(nn.Module):  # a class re-defined by re-running a notebook cell
            def forward(self, x):
                return x * 2

        Cell()(mg.ones(1))
        return weakref.ref(Cell)

    refs = [make() for _ in range(3)]
    gc.collect()
    assert all(r() is None for r in refs)


def test_load_state_dict_bumps_versions() -> None:
    net = nn.Linear(2, 1)
    x = mg.ones(1, 2)
    out = (net.weight * x).sum()  # saves the weight for backward
    net.load_state_dict({"weight": np.zeros((1, 2)), "bias": np.zeros(1)})
    with pytest.raises(RuntimeError, match="modified in place"):
        out.backward()


def test_repr_is_nested_like_pytorch() -> None:
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 1),
                                                                   nn.Sigmoid()))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=1, bias=True)\n"
        "    (1): Sigmoid()\n"
        "  )\n"
        ")"
    )
    assert "weight" in dir(net[0])


def test_forward_is_required_and_call_runs_it() -> None:
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)
    assert Affine()(mg.ones(2)).tolist() == [1.0, 1.0]


def test_a_model_pickles_and_comes_back_trainable() -> None:
    """Pickling an MLP failed: a parameter's version counter held a weak reference."""
    import pickle

    net = nn.MLP([2, 3, 1])
    x = mg.tensor([[1.0, -2.0]])
    net(x).sum().backward()  # gradients and a used version counter travel too
    with mg.no_grad():
        net.layers[0].weight.mul_(1.0)
    back = pickle.loads(pickle.dumps(net))
    assert [n for n, _ in back.named_parameters()] == [n for n, _ in net.named_parameters()]
    for p, q in zip(net.parameters(), back.parameters()):
        assert type(q) is nn.Parameter and q.requires_grad and q.is_leaf
        assert q.data.tobytes() == p.data.tobytes()
        assert q.grad.data.tobytes() == p.grad.data.tobytes()
    opt = mg.optim.SGD(back.parameters(), lr=0.1)
    before = back.layers[0].weight.data.copy()
    opt.zero_grad()
    back(x).sum().backward()
    opt.step()
    assert not np.array_equal(before, back.layers[0].weight.data)
    assert np.array_equal(net(x).data, pickle.loads(pickle.dumps(net))(x).data)


def test_a_pickled_tensor_is_a_leaf_that_keeps_values_and_name() -> None:
    import pickle

    w = mg.tensor([1.0, 2.0], requires_grad=True, name="w")
    w.register_hook(lambda g: g * 2)  # a hook (a function) is not kept
    y = w * 3
    y2 = pickle.loads(pickle.dumps(y))
    assert y2.is_leaf and y2.requires_grad and y2.grad_fn is None and y2.tolist() == [3.0, 6.0]
    w2 = pickle.loads(pickle.dumps(w))
    assert w2.name == "w" and w2.tolist() == [1.0, 2.0]
    (w2 * w2).sum().backward()
    assert w2.grad.tolist() == [2.0, 4.0]  # no doubling hook came along
    v = w2.detach()[:1]  # views of the copy share its new version counter, not the original's
    with mg.no_grad():
        v.add_(1.0)
    assert w2.tolist() == [2.0, 2.0] and w.tolist() == [1.0, 2.0]


def test_deepcopy_gives_independent_parameters() -> None:
    net = nn.MLP([2, 3, 1])
    twin = copy.deepcopy(net)
    assert [n for n, _ in twin.named_parameters()] == [n for n, _ in net.named_parameters()]
    with mg.no_grad():
        twin.layers[0].weight.add_(1.0)
    assert not np.allclose(twin.layers[0].weight.data, net.layers[0].weight.data)
    x = mg.ones(4, 2)
    assert twin(x).shape == (4, 1)
