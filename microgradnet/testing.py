"""Checking tools for people who write their own ops or nonlinear systems.

Hypothesis strategies for shapes, mutually broadcastable shapes and tensors inside a domain, and
``assert_gradients``, which gradchecks a function over generated inputs. Hypothesis is an
optional extra (``pip install microgradnet[testing]``), imported only when these are used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from microgradnet.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from microgradnet.tensor import Tensor

__all__ = [
    "GradcheckError",
    "assert_gradients",
    "broadcastable_shapes",
    "gradcheck",
    "gradgradcheck",
    "shapes",
    "tensors",
]


def _hyp() -> Any:
    try:
        import hypothesis
        import hypothesis.extra.numpy as hnp
        import hypothesis.strategies as st
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "microgradnet.testing needs hypothesis: pip install 'microgradnet[testing]'"
        ) from None
    return hypothesis, st, hnp


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4) -> Any:
    """Strategy for array shapes, including 0-d and size-1 axes by default."""
    _, _, hnp = _hyp()
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes: int, min_dims: int = 0, max_dims: int = 3,
                         min_side: int = 1, max_side: int = 4) -> Any:
    """Strategy for ``num_shapes`` shapes that broadcast together (a tuple of shapes)."""
    _, _, hnp = _hyp()
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side,
    ).map(lambda r: r.input_shapes)


def arrays(shape: Any, domain: tuple[float, float] = (-3.0, 3.0), dtype: Any = np.float64,
           exclude: Sequence[tuple[float, float]] = ()) -> Any:
    """Strategy for float arrays of ``shape`` with values in ``domain``, avoiding ``exclude``."""
    _, st, hnp = _hyp()
    lo, hi = domain
    elems = st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)
    for a, b in exclude:
        elems = elems.filter(lambda v, a=a, b=b: not a <= v <= b)
    return hnp.arrays(np.dtype(dtype), shape, elements=elems)


def tensors(shape: Any = None, domain: tuple[float, float] = (-3.0, 3.0), dtype: Any = np.float64,
            requires_grad: bool = True, exclude: Sequence[tuple[float, float]] = ()) -> Any:
    """Strategy for Tensors with values in ``domain`` (shape: a tuple, a strategy or None)."""
    _, st, _ = _hyp()
    shape_st = shapes() if shape is None else (shape if hasattr(shape, "example") else
                                              st.just(tuple(shape)))
    return shape_st.flatmap(lambda s: arrays(s, domain, dtype, exclude)).map(
        lambda a: Tensor(a, requires_grad=requires_grad))


def assert_gradients(
    fn: Callable[..., Any],
    shapes: Sequence[Any] | Any,
    domain: tuple[float, float] = (-2.0, 2.0),
    second_order: bool = True,
    max_examples: int = 25,
    exclude: Sequence[tuple[float, float]] = (),
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> None:
    """Gradcheck (and gradgradcheck) ``fn`` over hypothesis-generated float64 inputs.

    ``shapes`` is a list with one shape per argument (tuples or shape strategies), or one
    strategy that yields such a list. Raises ``GradcheckError`` with a minimal failing example.
    """
    hypothesis, st, _ = _hyp()
    shape_list: Any
    if hasattr(shapes, "example"):
        shape_list = shapes
    else:
        shape_list = st.tuples(*[s if hasattr(s, "example") else st.just(tuple(s))
                                 for s in shapes])
    inputs = shape_list.flatmap(
        lambda ss: st.tuples(*[arrays(s, domain, exclude=exclude) for s in ss]))

    @hypothesis.settings(max_examples=max_examples, deadline=None, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(inputs)
    def check(arrs: tuple[np.ndarray, ...]) -> None:
        ts = [Tensor(a, requires_grad=True) for a in arrs]
        gradcheck(fn, ts, atol=atol, rtol=rtol)
        if second_order:
            gradgradcheck(fn, ts, atol=atol, rtol=rtol)

    check()


def __dir__() -> list[str]:  # dir() and tab completion show the API, not the imports
    return sorted(__all__)
