"""mg.optim.LBFGS follows torch.optim.LBFGS step for step.

The reference below is a plain NumPy transcription of PyTorch's algorithm on a flat vector x
with a function returning (loss, gradient); microgradnet's optimizer runs on tensors through a
closure. Both must produce the same iterates, loss values and evaluation counts.
"""

from __future__ import annotations

import numpy as np
import pytest

import microgradnet as mg

# ---------------------------------------------------------------- the NumPy reference


def ref_cubic(x1, f1, g1, x2, f2, g2, bounds=None):
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    sq = d1 ** 2 - g1 * g2
    if sq < 0:
        return (lo + hi) / 2.0
    d2 = np.sqrt(sq)
    if x1 <= x2:
        m = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        m = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(m, lo), hi)


def ref_wolfe(fg, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tol=1e-9, max_ls=25):
    dn = np.abs(d).max()
    fn, gn = fg(x + t * d)
    n = 1
    gtdn = gn @ d
    tp, fp, gp, gtdp = 0, f, g, gtd
    done = False
    it = 0
    while it < max_ls:
        if fn > f + c1 * t * gtd or (it > 1 and fn >= fp):
            B, BF, BG, BD = [tp, t], [fp, fn], [gp, gn], [gtdp, gtdn]
            break
        if abs(gtdn) <= -c2 * gtd:
            B, BF, BG, BD = [t], [fn], [gn], [gtdn]
            done = True
            break
        if gtdn >= 0:
            B, BF, BG, BD = [tp, t], [fp, fn], [gp, gn], [gtdp, gtdn]
            break
        tn = ref_cubic(tp, fp, gtdp, t, fn, gtdn, bounds=(t + 0.01 * (t - tp), t * 10))
        tp, fp, gp, gtdp = t, fn, gn, gtdn
        t = tn
        fn, gn = fg(x + t * d)
        n += 1
        gtdn = gn @ d
        it += 1
    if it == max_ls:
        B, BF, BG, BD = [0, t], [f, fn], [g, gn], [gtd, gtdn]
    insuf = False
    lo, hi = (0, 1) if BF[0] <= BF[-1] else (1, 0)
    while not done and it < max_ls:
        if abs(B[1] - B[0]) * dn < tol:
            break
        t = ref_cubic(B[0], BF[0], BD[0], B[1], BF[1], BD[1])
        eps = 0.1 * (max(B) - min(B))
        if min(max(B) - t, t - min(B)) < eps:
            if insuf or t >= max(B) or t <= min(B):
                t = max(B) - eps if abs(t - max(B)) < abs(t - min(B)) else min(B) + eps
                insuf = False
            else:
                insuf = True
        else:
            insuf = False
        fn, gn = fg(x + t * d)
        n += 1
        gtdn = gn @ d
        it += 1
        if fn > f + c1 * t * gtd or fn >= BF[lo]:
            B[hi], BF[hi], BG[hi], BD[hi] = t, fn, gn, gtdn
            lo, hi = (0, 1) if BF[0] <= BF[1] else (1, 0)
        else:
            if abs(gtdn) <= -c2 * gtd:
                done = True
            elif gtdn * (B[hi] - B[lo]) >= 0:
                B[hi], BF[hi], BG[hi], BD[hi] = B[lo], BF[lo], BG[lo], BD[lo]
            B[lo], BF[lo], BG[lo], BD[lo] = t, fn, gn, gtdn
    return BF[lo], BG[lo], B[lo], n


class RefLBFGS:
    """torch.optim.LBFGS.step transcribed to NumPy on a flat vector."""

    def __init__(self, x, fg, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        self.x, self.fg = x.copy(), fg
        self.lr, self.max_iter = lr, max_iter
        self.max_eval = max_iter * 5 // 4 if max_eval is None else max_eval
        self.tg, self.tc, self.hs, self.ls = (tolerance_grad, tolerance_change, history_size,
                                              line_search_fn)
        self.st = {"func_evals": 0, "n_iter": 0}

    def step(self):
        st = self.st
        f0, g = self.fg(self.x)
        loss, cur = f0, 1
        st["func_evals"] += 1
        if np.abs(g).max() <= self.tg:
            return f0
        d, t = st.get("d"), st.get("t")
        dirs, stps, ro = st.get("dirs"), st.get("stps"), st.get("ro")
        H, pg, pl = st.get("H"), st.get("pg"), st.get("pl")
        n = 0
        while n < self.max_iter:
            n += 1
            st["n_iter"] += 1
            if st["n_iter"] == 1:
                d, dirs, stps, ro, H = -g, [], [], [], 1
            else:
                y, s = g - pg, d * t
                ys = y @ s
                if ys > 1e-10:
                    if len(dirs) == self.hs:
                        dirs.pop(0)
                        stps.pop(0)
                        ro.pop(0)
                    dirs.append(y)
                    stps.append(s)
                    ro.append(1.0 / ys)
                    H = ys / (y @ y)
                al = [None] * len(dirs)
                q = -g
                for i in reversed(range(len(dirs))):
                    al[i] = (stps[i] @ q) * ro[i]
                    q = q - al[i] * dirs[i]
                d = q * H
                for i in range(len(dirs)):
                    d = d + (al[i] - (dirs[i] @ d) * ro[i]) * stps[i]
            pg, pl = g.copy(), loss
            t = min(1.0, 1.0 / np.abs(g).sum()) * self.lr if st["n_iter"] == 1 else self.lr
            gtd = g @ d
            if gtd > -self.tc:
                break
            ne = 0
            if self.ls == "strong_wolfe":
                loss, g, t, ne = ref_wolfe(self.fg, self.x, t, d, loss, g, gtd)
                self.x = self.x + t * d
                opt = np.abs(g).max() <= self.tg
            else:
                self.x = self.x + t * d
                opt = False
                if n != self.max_iter:
                    loss, g = self.fg(self.x)
                    opt = np.abs(g).max() <= self.tg
                    ne = 1
            cur += ne
            st["func_evals"] += ne
            if n == self.max_iter or cur >= self.max_eval or opt:
                break
            if np.abs(d * t).max() <= self.tc or abs(loss - pl) < self.tc:
                break
        st.update(d=d, t=t, dirs=dirs, stps=stps, ro=ro, H=H, pg=pg, pl=pl)
        return f0


# ---------------------------------------------------------------- problems


def rosen_np(x):
    f = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
    g = np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2)])
    return f, g


def rosen_mg(w):
    return (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2


class MLP:
    """A 2-8-1 tanh network on 30 points of a sine, full batch; gradients by hand in NumPy."""

    def __init__(self):
        rng = np.random.default_rng(3)
        self.X = rng.uniform(-2, 2, size=(30, 2))
        self.Y = np.sin(self.X[:, :1]) * np.cos(self.X[:, 1:])
        self.shapes = [(2, 8), (8,), (8, 1), (1,)]
        self.x0 = rng.normal(0, 0.5, size=sum(int(np.prod(s)) for s in self.shapes))

    def split(self, x):
        out, o = [], 0
        for s in self.shapes:
            n = int(np.prod(s))
            out.append(x[o:o + n].reshape(s))
            o += n
        return out

    def fg(self, x):
        W1, b1, W2, b2 = self.split(x)
        h = np.tanh(self.X @ W1 + b1)
        r = h @ W2 + b2 - self.Y
        f = np.mean(r ** 2)
        dr = 2 * r / r.size
        dh = (dr @ W2.T) * (1 - h ** 2)
        g = [self.X.T @ dh, dh.sum(0), h.T @ dr, dr.sum(0)]
        return f, np.concatenate([a.ravel() for a in g])

    def loss_mg(self, params):
        W1, b1, W2, b2 = params
        h = mg.tanh(mg.tensor(self.X) @ W1 + b1)
        return ((h @ W2 + b2 - mg.tensor(self.Y)) ** 2).mean()


def run_mg(params, loss_fn, steps, **kw):
    opt = mg.optim.LBFGS(params, **kw)

    def closure():
        opt.zero_grad()
        loss = loss_fn(params)
        loss.backward()
        return loss

    traj = []
    for _ in range(steps):
        f = opt.step(closure)
        traj.append((float(f), np.concatenate([p.numpy().ravel() for p in params])))
    return traj, opt


def through_mg(loss_fn, split):
    """(loss, flat gradient) at a flat x, by microgradnet: the very numbers the optimizer sees.

    Feeding the reference the same function values isolates the algorithm: hand-derived NumPy
    gradients differ in the last bits, which L-BFGS amplifies to ~1e-10 over a few steps.
    """

    def fg(x):
        params = [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in split(x)]
        loss = loss_fn(params)
        grads = mg.grad(loss, params)
        return loss.item(), np.concatenate([g.numpy().ravel() for g in grads])

    return fg


def run_ref(x0, fg, steps, **kw):
    ref = RefLBFGS(x0, fg, **kw)
    traj = []
    for _ in range(steps):
        f = ref.step()
        traj.append((float(f), ref.x.copy()))
    return traj, ref


def assert_same(ours, theirs):
    assert len(ours) == len(theirs)
    for k, ((fa, xa), (fb, xb)) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(fa, fb, rtol=1e-13, atol=1e-300, err_msg=f"loss, step {k}")
        np.testing.assert_allclose(xa, xb, rtol=1e-13, atol=1e-300, err_msg=f"x, step {k}")


CONFIGS = [
    dict(line_search_fn="strong_wolfe"),
    dict(line_search_fn="strong_wolfe", history_size=3, max_iter=7),
    dict(lr=0.05, max_iter=10),
    dict(lr=0.02, history_size=2, max_iter=5, max_eval=4),
]


def test_hand_derived_numpy_gradients_agree_with_microgradnet():
    prob = MLP()
    for fg, mine, x in [(rosen_np, through_mg(lambda ps: rosen_mg(ps[0]), lambda x: [x]),
                         np.array([-1.5, 2.0])),
                        (prob.fg, through_mg(prob.loss_mg, prob.split), prob.x0)]:
        (fa, ga), (fb, gb) = fg(x), mine(x)
        np.testing.assert_allclose(fa, fb, rtol=1e-14)
        np.testing.assert_allclose(ga, gb, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kw", CONFIGS)
def test_rosenbrock_matches_the_numpy_transcription(kw):
    x0 = np.array([-1.5, 2.0])
    w = mg.tensor(x0, dtype=mg.float64, requires_grad=True)
    ours, opt = run_mg([w], lambda ps: rosen_mg(ps[0]), 6, **kw)
    theirs, ref = run_ref(x0, through_mg(lambda ps: rosen_mg(ps[0]), lambda x: [x]), 6, **kw)
    assert_same(ours, theirs)
    state = opt.state[w]
    assert (state["func_evals"], state["n_iter"]) == (ref.st["func_evals"], ref.st["n_iter"])
    assert len(state["old_dirs"]) == len(ref.st["dirs"])


def test_rosenbrock_converges_with_strong_wolfe():
    w = mg.tensor([-1.5, 2.0], dtype=mg.float64, requires_grad=True)
    traj, opt = run_mg([w], lambda ps: rosen_mg(ps[0]), 4, line_search_fn="strong_wolfe")
    np.testing.assert_allclose(w.numpy(), [1.0, 1.0], atol=1e-5)
    assert opt.state[w]["func_evals"] < 80  # gradient descent needs thousands


@pytest.mark.parametrize("kw", [dict(line_search_fn="strong_wolfe", history_size=5),
                                dict(lr=0.5, max_iter=15)])
def test_small_mlp_full_batch_matches_the_numpy_transcription(kw):
    prob = MLP()
    params = [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in prob.split(prob.x0)]
    ours, _ = run_mg(params, prob.loss_mg, 4, **kw)
    theirs, _ = run_ref(prob.x0, through_mg(prob.loss_mg, prob.split), 4, **kw)
    assert_same(ours, theirs)
    assert ours[-1][0] < 0.5 * ours[0][0]


def test_state_dict_round_trip_continues_the_same_trajectory(tmp_path):
    x0 = np.array([-1.2, 1.0])
    kw = dict(line_search_fn="strong_wolfe", max_iter=3, history_size=4)

    def closure_for(opt, w):
        def closure():
            opt.zero_grad()
            loss = rosen_mg(w)
            loss.backward()
            return loss
        return closure

    w = mg.tensor(x0, dtype=mg.float64, requires_grad=True)
    opt = mg.optim.LBFGS([w], **kw)
    for _ in range(2):
        opt.step(closure_for(opt, w))
    mg.save(opt.state_dict(), tmp_path / "opt.npz")
    snapshot = w.numpy().copy()
    for _ in range(2):
        opt.step(closure_for(opt, w))

    w2 = mg.tensor(snapshot, dtype=mg.float64, requires_grad=True)
    opt2 = mg.optim.LBFGS([w2])
    opt2.load_state_dict(mg.load(tmp_path / "opt.npz"))
    assert opt2.param_groups[0]["history_size"] == 4
    for _ in range(2):
        opt2.step(closure_for(opt2, w2))
    np.testing.assert_array_equal(w2.numpy(), w.numpy())


def test_state_dict_is_a_copy():
    w = mg.tensor([-1.2, 1.0], dtype=mg.float64, requires_grad=True)
    opt = mg.optim.LBFGS([w], max_iter=3)

    def closure():
        opt.zero_grad()
        loss = rosen_mg(w)
        loss.backward()
        return loss

    opt.step(closure)
    sd = opt.state_dict()
    before = np.array(sd["state"][0]["d"].data if isinstance(sd["state"][0]["d"], mg.Tensor)
                      else sd["state"][0]["d"])
    opt.step(closure)
    after = sd["state"][0]["d"]
    np.testing.assert_array_equal(np.asarray(getattr(after, "data", after)), before)


def test_several_parameters_and_missing_gradients():
    a = mg.tensor([2.0, -1.0], dtype=mg.float64, requires_grad=True)
    unused = mg.tensor([5.0], dtype=mg.float64, requires_grad=True)
    opt = mg.optim.LBFGS([a, unused], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = ((a - 3.0) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(a.numpy(), [3.0, 3.0], atol=1e-8)
    assert unused.item() == 5.0


def test_errors():
    w = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="parameter groups"):
        mg.optim.LBFGS([{"params": [w]}, {"params": [mg.zeros(1, requires_grad=True)]}])
    with pytest.raises(ValueError, match="line_search_fn"):
        mg.optim.LBFGS([w], line_search_fn="armijo")
    with pytest.raises(ValueError, match="history_size"):
        mg.optim.LBFGS([w], history_size=0)
    opt = mg.optim.LBFGS([w])
    with pytest.raises(RuntimeError, match="closure"):
        opt.step()
    with pytest.raises(ValueError, match="parameter groups"):
        opt.add_param_group({"params": [mg.zeros(1, requires_grad=True)]})

    def bad():
        opt.zero_grad()
        loss = mg.log(w - 1.0).sum()  # log(0)
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="non-finite"), np.errstate(all="ignore"):
        opt.step(bad)
    assert w.item() == 1.0


@pytest.mark.parametrize("kw", CONFIGS[:2] + [dict(lr=0.5, max_iter=15)])
def test_matches_torch_when_installed(kw):
    torch = pytest.importorskip("torch")
    prob = MLP()
    params = [mg.tensor(a, dtype=mg.float64, requires_grad=True)
              for a in prob.split(prob.x0)]
    ours, _ = run_mg(params, prob.loss_mg, 3, **kw)
    tparams = [torch.tensor(a, requires_grad=True) for a in prob.split(prob.x0.copy())]
    opt = torch.optim.LBFGS(tparams, **kw)
    X, Y = torch.tensor(prob.X), torch.tensor(prob.Y)

    def closure():
        opt.zero_grad()
        W1, b1, W2, b2 = tparams
        loss = ((torch.tanh(X @ W1 + b1) @ W2 + b2 - Y) ** 2).mean()
        loss.backward()
        return loss

    theirs = []
    for _ in range(3):
        f = opt.step(closure)
        theirs.append((float(f), np.concatenate([p.detach().numpy().ravel()
                                                  for p in tparams])))
    for (fa, xa), (fb, xb) in zip(ours, theirs):
        np.testing.assert_allclose(fa, fb, rtol=1e-10)
        np.testing.assert_allclose(xa, xb, rtol=1e-9, atol=1e-12)
