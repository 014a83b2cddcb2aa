"""mg.nn.utils.parameters_to_vector / vector_to_parameters (torch.nn.utils semantics)."""

from __future__ import annotations

import numpy as np
import pytest

import microgradnet as mg
from microgradnet.nn.utils import parameters_to_vector, vector_to_parameters


def test_round_trip_on_a_model():
    mg.manual_seed(0)
    model = mg.nn.Sequential(mg.nn.Linear(3, 4), mg.nn.Tanh(), mg.nn.Linear(4, 2))
    vec = parameters_to_vector(model.parameters())
    assert vec.shape == (3 * 4 + 4 + 4 * 2 + 2,)
    np.testing.assert_array_equal(vec.numpy()[:12], model[0].weight.numpy().ravel())
    ids = [id(p) for p in model.parameters()]
    vector_to_parameters(mg.tensor(np.arange(vec.size, dtype=np.float32)), model.parameters())
    assert [id(p) for p in model.parameters()] == ids  # same objects, changed in place
    np.testing.assert_array_equal(parameters_to_vector(model.parameters()).numpy(),
                                  np.arange(vec.size))


def test_gradient_flows_through_parameters_to_vector():
    a = mg.tensor([[1.0, 2.0]], requires_grad=True)
    b = mg.tensor([3.0], requires_grad=True)
    (parameters_to_vector([a, b]) ** 2).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[2.0, 4.0]])
    np.testing.assert_array_equal(b.grad.numpy(), [6.0])


def test_vector_to_parameters_bumps_versions_so_stale_graphs_notice():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    vector_to_parameters(mg.tensor([3.0, 4.0]), [w])
    with pytest.raises(RuntimeError):
        y.backward()


def test_errors():
    with pytest.raises(TypeError, match="Tensor"):
        vector_to_parameters(np.zeros(2), [mg.zeros(2)])
    with pytest.raises(ValueError, match=r"\(3,\)"):
        vector_to_parameters(mg.zeros(2), [mg.zeros(3)])
    with pytest.raises(TypeError, match="list"):
        parameters_to_vector([[1.0]])
