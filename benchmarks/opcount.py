"""Workloads for instruction counting: run one of them N times (N from the command line).

Wall-clock timings on a shared machine swing by tens of percent; instruction counts under
valgrind do not. ``benchmarks/icount.sh WORKLOAD`` runs this script under callgrind at two
repetition counts and prints the instructions of one repetition (the difference, so start-up and
imports cancel out).

    benchmarks/icount.sh add        # a + b of two (3,) tensors that require grad, recorded
    benchmarks/icount.sh w1         # one W1 training step (XOR 2-4-1 sigmoid, MSE, SGD momentum)
    benchmarks/icount.sh w1c        # the same step through mg.compile (traced once, replayed)
    benchmarks/icount.sh w1_numpy   # the hand-written NumPy W1 step of the suite (the limit)
    benchmarks/icount.sh w2c        # W2 / W3 compiled, and their limits w2_numpy / w3_numpy
"""

from __future__ import annotations

import sys

import numpy as np

import microgradnet as mg


def main() -> None:
    name, n = sys.argv[1], int(sys.argv[2])
    a = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = mg.tensor([4.0, 5.0, 6.0], requires_grad=True)
    if name == "add":
        for _ in range(n):
            a + b
    elif name == "add_no_grad":
        with mg.no_grad():
            for _ in range(n):
                a + b
    elif name == "mul":
        for _ in range(n):
            a * b
    elif name == "numpy_add":
        x, y = a.data, b.data
        for _ in range(n):
            x + y
    elif name == "chain":  # one op of a deep chain, forward and backward
        y = a
        for _ in range(n):
            y = y * 1.0001
        y.sum().backward()
    elif name in ("w1", "w1c"):
        X = mg.tensor(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32))
        T = mg.tensor(np.array([[0], [1], [1], [0]], dtype=np.float32))
        mg.manual_seed(0)
        net = mg.nn.MLP([2, 4, 1], activation="sigmoid", output_activation="sigmoid")
        loss_fn = mg.nn.MSELoss()
        opt = mg.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)

        def step(x: mg.Tensor, t: mg.Tensor) -> mg.Tensor:
            opt.zero_grad()
            loss = loss_fn(net(x), t)
            loss.backward()
            opt.step()
            return loss

        run = mg.compile(step) if name == "w1c" else step
        for _ in range(n):
            run(X, T)
    elif name in ("w1_numpy", "w2_numpy", "w3_numpy"):
        import bench_numpy
        import workloads as wl

        spec = wl.MLPS[name[:2].upper()]
        X, y = wl.mlp_data(spec)
        step, _ = bench_numpy.mlp(spec, X, y, wl.mlp_init(spec))
        for _ in range(n):
            step()
    elif name in ("w2c", "w3c"):  # the suite's own compiled W2/W3 step (bench_microgradnet)
        import bench_microgradnet
        import workloads as wl

        bench_microgradnet.setup(1)
        spec = wl.MLPS[name[:2].upper()]
        X, y = wl.mlp_data(spec)
        step, _ = bench_microgradnet.mlp_compiled(spec, X, y, wl.mlp_init(spec))
        for _ in range(n):
            step()
    else:
        raise SystemExit(f"unknown workload {name!r}")


if __name__ == "__main__":
    main()
