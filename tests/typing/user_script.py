"""A user's script, as their type checker sees it: ``tests/test_typing.py`` runs mypy on it and
compares each ``reveal_type`` with the type written after ``# R:`` on its line.

The body sits under ``TYPE_CHECKING``: it is checked, never run (importing it does nothing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:

    import numpy as np

    import microgradnet as mg
    import microgradnet.functional as F

    x = mg.tensor([1.0, 2.0], requires_grad=True)
    reveal_type(x)  # R: microgradnet.tensor.Tensor
    y = (x * x + 1.0).sum()
    reveal_type(y)  # R: microgradnet.tensor.Tensor
    y.backward()
    reveal_type(x.grad)  # R: microgradnet.tensor.Tensor | None
    reveal_type(x.data)  # R: numpy.ndarray[Any, numpy.dtype[Any]]
    reveal_type(x.shape)  # R: tuple[int, ...]
    reveal_type(y.item())  # R: float
    reveal_type(x @ x)  # R: microgradnet.tensor.Tensor
    reveal_type(mg.exp(x).reshape(2, 1).T)  # R: microgradnet.tensor.Tensor
    reveal_type(mg.zeros(2, 3))  # R: microgradnet.tensor.Tensor
    reveal_type(mg.matmul(x, x))  # R: microgradnet.tensor.Tensor
    reveal_type(x[0])  # R: microgradnet.tensor.Tensor
    reveal_type(F.relu(x))  # R: microgradnet.tensor.Tensor
    reveal_type(mg.grad(y, x))  # R: tuple[microgradnet.tensor.Tensor, ...]
    g = mg.grad(y, x, allow_unused=True)
    reveal_type(g)  # R: tuple[microgradnet.tensor.Tensor | None, ...]

    model = mg.nn.MLP([2, 4, 1], activation="tanh")
    reveal_type(model(x))  # R: microgradnet.tensor.Tensor
    reveal_type(mg.nn.Linear(2, 3)(x))  # R: microgradnet.tensor.Tensor
    reveal_type(mg.nn.MSELoss()(x, x))  # R: microgradnet.tensor.Tensor
    reveal_type(model.parameters())  # R: typing.Iterator[microgradnet.nn.module.Parameter]
    reveal_type(model.state_dict())  # R: dict[str, Any]

    opt = mg.optim.SGD(model.parameters(), lr=0.1)
    X, T = mg.data.make_xor()
    reveal_type(X)  # R: numpy.ndarray[Any, numpy.dtype[Any]]
    history = mg.train.fit(model, mg.nn.MSELoss(), opt, (X, T), epochs=1, progress=False)
    reveal_type(history)  # R: microgradnet.train.History
    reveal_type(history.stop_reason)  # R: str | None
    reveal_type(history["loss"])  # R: list[float]
    reveal_type(mg.train.evaluate(model, (X, T)))  # R: dict[str, float]
    reveal_type(mg.load("model.npz"))  # R: Any
    mg.save(model.state_dict(), "model.npz")
    with mg.no_grad():
        z = model(mg.tensor(np.zeros((3, 2))))
    reveal_type(z.numpy())  # R: numpy.ndarray[Any, numpy.dtype[Any]]
