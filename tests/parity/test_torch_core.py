"""Number-for-number comparison with PyTorch's autograd (skipped when torch is not installed).

Run it where torch is installed: ``pip install torch`` then ``python -m pytest tests/parity``.
"""

from __future__ import annotations

import numpy as np
import pytest

import microgradnet as mg

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)

# (name, microgradnet function, torch function, input shapes, domain)
CASES = [
    ("add", lambda a, b: a + b, lambda a, b: a + b, [(3, 4), (4,)], (-2, 2)),
    ("mul", lambda a, b: a * b, lambda a, b: a * b, [(2, 1, 3), (4, 3)], (-2, 2)),
    ("div", lambda a, b: a / b, lambda a, b: a / b, [(3, 4), (3, 1)], (0.5, 2)),
    ("pow", lambda a, b: a ** b, lambda a, b: a ** b, [(3,), (3,)], (0.5, 2)),
    ("matmul", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 3, 4), (4, 5)], (-1, 1)),
    ("exp", mg.exp, torch.exp, [(5,)], (-2, 2)),
    ("log", mg.log, torch.log, [(5,)], (0.2, 3)),
    ("sqrt", mg.sqrt, torch.sqrt, [(5,)], (0.2, 3)),
    ("sin", mg.sin, torch.sin, [(5,)], (-3, 3)),
    ("tanh", mg.tanh, torch.tanh, [(5,)], (-3, 3)),
    ("sigmoid", mg.sigmoid, torch.sigmoid, [(5,)], (-30, 30)),
    ("relu", mg.relu, torch.relu, [(6,)], (-2, 2)),
    ("gelu", mg.functional.gelu, torch.nn.functional.gelu, [(6,)], (-4, 4)),
    ("softplus", mg.functional.softplus, torch.nn.functional.softplus, [(6,)], (-30, 30)),
    ("elu", mg.functional.elu, torch.nn.functional.elu, [(6,)], (-3, 3)),
    ("sum", lambda a: a.sum(axis=1), lambda a: a.sum(dim=1), [(3, 4)], (-2, 2)),
    ("mean", lambda a: a.mean(axis=0), lambda a: a.mean(dim=0), [(3, 4)], (-2, 2)),
    ("var", lambda a: a.var(axis=1), lambda a: a.var(dim=1), [(3, 4)], (-2, 2)),
    ("std", lambda a: a.std(), lambda a: a.std(), [(3, 4)], (-2, 2)),
    ("prod", lambda a: a.prod(axis=1), lambda a: a.prod(dim=1), [(3, 4)], (-2, 2)),
    ("logsumexp", lambda a: mg.logsumexp(a, axis=1), lambda a: torch.logsumexp(a, dim=1),
     [(3, 4)], (-20, 20)),
    ("max", lambda a: a.max(axis=1), lambda a: a.amax(dim=1), [(3, 4)], (-2, 2)),
    ("norm", lambda a: a.norm(), lambda a: a.norm(), [(3, 4)], (-2, 2)),
    ("softmax", lambda a: mg.functional.softmax(a, dim=1),
     lambda a: torch.softmax(a, dim=1), [(3, 4)], (-5, 5)),
    ("log_softmax", lambda a: mg.functional.log_softmax(a, dim=1),
     lambda a: torch.log_softmax(a, dim=1), [(3, 4)], (-5, 5)),
    ("cat", lambda a, b: mg.cat([a, b], axis=1), lambda a, b: torch.cat([a, b], dim=1),
     [(2, 3), (2, 2)], (-1, 1)),
    ("getitem", lambda a: a[[0, 2, 0], 1:], lambda a: a[[0, 2, 0], 1:], [(3, 4)], (-1, 1)),
    ("transpose", lambda a: a.transpose(0, 1), lambda a: a.transpose(0, 1), [(2, 3)], (-1, 1)),
]


def _inputs(shapes, domain):
    return [rng.uniform(domain[0], domain[1], size=s) for s in shapes]


@pytest.mark.parametrize("name,f_mg,f_torch,shapes,domain", CASES, ids=[c[0] for c in CASES])
def test_forward_first_and_second_derivatives_match_torch(name, f_mg, f_torch, shapes, domain):
    arrays = _inputs(shapes, domain)
    xs = [mg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, yt = f_mg(*xs), f_torch(*ts)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    w = rng.normal(size=y.shape)
    s = (y * mg.tensor(w)).sum()
    st = (yt * torch.tensor(w)).sum()
    gs = mg.grad(s, xs, create_graph=True)
    gts = torch.autograd.grad(st, ts, create_graph=True)
    for g, gt in zip(gs, gts):
        np.testing.assert_allclose(g.numpy(), gt.detach().numpy(), rtol=1e-10, atol=1e-12)
    # second order: the gradient of a weighted sum of the first derivatives
    if name in ("relu", "max", "getitem", "transpose", "cat", "add", "sum", "mean"):
        return  # second derivative is zero / not informative
    h = sum((g * g).sum() for g in gs)
    ht = sum((g * g).sum() for g in gts)
    hs = mg.grad(h, xs, allow_unused=True)
    hts = torch.autograd.grad(ht, ts, allow_unused=True)
    for g, gt in zip(hs, hts):
        if gt is None:
            assert g is None or np.allclose(g.numpy(), 0)
        else:
            np.testing.assert_allclose(g.numpy(), gt.numpy(), rtol=1e-9, atol=1e-11)


def test_mlp_training_trajectory_matches_torch():
    mg.manual_seed(0)
    net = mg.nn.MLP([2, 5, 3], activation="tanh")
    tnet = torch.nn.Sequential(torch.nn.Linear(2, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    tnet = tnet.double()
    with torch.no_grad():
        for (_, p), tp in zip(net.named_parameters(), tnet.parameters()):
            tp.copy_(torch.tensor(p.numpy(), dtype=torch.float64))
    for p in net.parameters():
        p.data = p.data.astype(np.float64)
    X = rng.normal(size=(16, 2))
    y = rng.integers(0, 3, size=16)
    opt = mg.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)
    topt = torch.optim.SGD(tnet.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                           weight_decay=1e-3)
    loss_fn, tloss_fn = mg.nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    for _ in range(20):
        opt.zero_grad()
        loss = loss_fn(net(mg.tensor(X)), mg.tensor(y))
        loss.backward()
        opt.step()
        topt.zero_grad()
        tloss = tloss_fn(tnet(torch.tensor(X)), torch.tensor(y))
        tloss.backward()
        topt.step()
        assert loss.item() == pytest.approx(tloss.item(), rel=1e-12)
    for p, tp in zip(net.parameters(), tnet.parameters()):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-10, atol=1e-12)
