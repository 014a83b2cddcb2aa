"""Generic tests run for every entry of the op database: forward vs NumPy, first- and
second-order derivative checks on hypothesis-generated inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import microgradnet as mg
from tests.op_db import OPS

_SETTINGS = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck))


def _tensors(args: list[Any]) -> list[Any]:
    return [mg.tensor(a, requires_grad=True) if isinstance(a, np.ndarray) and a.dtype.kind == "f"
            else a for a in args]


def _float_args(args: list[Any]) -> list[Any]:
    return [a for a in args if isinstance(a, mg.Tensor) and a.requires_grad]


@pytest.mark.parametrize("info", [o for o in OPS if o.ref is not None], ids=lambda o: o.name)
def test_forward_matches_numpy(info: Any) -> None:
    @settings(max_examples=25, **_SETTINGS)
    @given(info.sample())
    def check(sample: Any) -> None:
        args, kwargs = sample
        out = info.op(*_tensors(args), **kwargs)
        ref = info.ref(*args, **{k: v for k, v in kwargs.items()})
        outs = out if isinstance(out, (list, tuple)) else [out]
        refs = ref if isinstance(ref, (list, tuple)) else [ref]
        assert len(outs) == len(refs)
        for o, r in zip(outs, refs):
            np.testing.assert_allclose(o.data, r, rtol=1e-6, atol=1e-9)
            assert o.shape == np.shape(r)

    check()


@pytest.mark.parametrize("info", [o for o in OPS if o.differentiable], ids=lambda o: o.name)
def test_gradcheck(info: Any) -> None:
    @settings(max_examples=info.max_examples, **_SETTINGS)
    @given(info.sample())
    def check(sample: Any) -> None:
        args, kwargs = sample
        ts = _tensors(args)
        if not _float_args(ts):
            return
        mg.gradcheck(lambda *a: info.op(*a, **kwargs), ts, atol=info.atol, rtol=info.rtol)

    check()


@pytest.mark.parametrize("info", [o for o in OPS if o.differentiable and o.second_order],
                         ids=lambda o: o.name)
def test_gradgradcheck(info: Any) -> None:
    @settings(max_examples=max(info.max_examples // 2, 4), **_SETTINGS)
    @given(info.sample())
    def check(sample: Any) -> None:
        args, kwargs = sample
        ts = _tensors(args)
        if not _float_args(ts):
            return
        mg.gradgradcheck(lambda *a: info.op(*a, **kwargs), ts, atol=info.atol, rtol=info.rtol)

    check()


@given(st.data())
@settings(max_examples=1, **_SETTINGS)
def test_db_names_are_unique(data: Any) -> None:
    names = [o.name for o in OPS]
    assert len(names) == len(set(names))
