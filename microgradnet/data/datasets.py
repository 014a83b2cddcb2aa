"""Small datasets for learning backpropagation: generated ones need no download, the real ones
(digits, iris) come from scikit-learn as an optional extra.

Every generator returns ``(X, y)`` NumPy arrays. Inputs ``X`` use the default floating dtype
(float32 unless changed with ``mg.set_default_dtype``) so they match a model's parameters;
class labels are ``int64``; regression and classic single-output targets are float columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from microgradnet.tensor import get_default_dtype

__all__ = [
    "make_xor",
    "make_moons",
    "make_spirals",
    "make_circles",
    "make_sine",
    "make_encoder",
    "make_parity",
    "load_digits",
    "load_iris",
]


def _float(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=get_default_dtype())


def _check_n(name: str, n_samples: int, minimum: int = 1) -> int:
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)):
        raise TypeError(f"{name}: n_samples must be an int, got {type(n_samples).__name__}")
    if n_samples < minimum:
        raise ValueError(f"{name}: n_samples must be at least {minimum}, got {n_samples}")
    return int(n_samples)


def _check_noise(name: str, noise: float) -> float:
    if noise < 0:
        raise ValueError(f"{name}: noise must be >= 0, got {noise}")
    return float(noise)


def _split(n_samples: int, n_classes: int) -> list[int]:
    """Class sizes as equal as possible (the first classes get the remainder)."""
    base, extra = divmod(n_samples, n_classes)
    return [base + (1 if k < extra else 0) for k in range(n_classes)]


def _shuffled(X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    order = rng.permutation(len(X))
    return X[order], y[order]


def make_xor() -> tuple[np.ndarray, np.ndarray]:
    """The four XOR patterns of the backpropagation literature.

    Returns ``X`` of shape (4, 2) and targets ``y`` of shape (4, 1) (0 or 1), ready for a
    2-2-1 sigmoid network trained on the sum of squared errors.

    >>> X, y = mg.data.make_xor()
    >>> X.shape, y.ravel()
    ((4, 2), array([0., 1., 1., 0.], dtype=float32))
    """
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    y = np.array([[0], [1], [1], [0]])
    return _float(X), _float(y)


def make_moons(
    n_samples: int = 200, noise: float = 0.1, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, labels 0 and 1 (as scikit-learn's ``make_moons``).

    ``noise`` is the standard deviation of Gaussian noise added to each coordinate.

    >>> X, y = mg.data.make_moons(n_samples=10, seed=0)
    >>> X.shape, y.shape
    ((10, 2), (10,))
    """
    n = _check_n("make_moons", n_samples, 2)
    noise = _check_noise("make_moons", noise)
    rng = np.random.default_rng(seed)
    n_out, n_in = _split(n, 2)
    t_out = np.linspace(0.0, np.pi, n_out)
    t_in = np.linspace(0.0, np.pi, n_in)
    outer = np.stack([np.cos(t_out), np.sin(t_out)], axis=1)
    inner = np.stack([1.0 - np.cos(t_in), 0.5 - np.sin(t_in)], axis=1)
    X = np.concatenate([outer, inner]) + rng.normal(0.0, noise, size=(n, 2))
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    X, y = _shuffled(X, y, rng)
    return _float(X), y


def make_spirals(
    n_samples: int = 300, n_classes: int = 3, noise: float = 0.2, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``n_classes`` interleaved spiral arms in the plane (not linearly separable).

    Points lie at radius 0..1; ``noise`` is the standard deviation of the angle jitter in
    radians.

    >>> X, y = mg.data.make_spirals(n_samples=30, n_classes=3, seed=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((30, 2), [0, 1, 2])
    """
    n = _check_n("make_spirals", n_samples, 1)
    noise = _check_noise("make_spirals", noise)
    if n_classes < 1:
        raise ValueError(f"make_spirals: n_classes must be at least 1, got {n_classes}")
    rng = np.random.default_rng(seed)
    Xs, ys = [], []
    for k, m in enumerate(_split(n, n_classes)):
        r = np.linspace(0.0, 1.0, m)
        theta = np.linspace(0.0, 4.0, m) + 2 * np.pi * k / n_classes + rng.normal(0, noise, m)
        Xs.append(np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1))
        ys.append(np.full(m, k, dtype=np.int64))
    X, y = _shuffled(np.concatenate(Xs), np.concatenate(ys), rng)
    return _float(X), y


def make_circles(
    n_samples: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A small circle (label 1) inside a large one (label 0), as scikit-learn's ``make_circles``.

    ``factor`` is the ratio of the inner radius to the outer radius (1).

    >>> X, y = mg.data.make_circles(n_samples=10, seed=0)
    >>> X.shape, int(y.sum())
    ((10, 2), 5)
    """
    n = _check_n("make_circles", n_samples, 2)
    noise = _check_noise("make_circles", noise)
    if not 0 < factor < 1:
        raise ValueError(f"make_circles: factor must be in (0, 1), got {factor}")
    rng = np.random.default_rng(seed)
    n_out, n_in = _split(n, 2)
    t_out = np.linspace(0.0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0.0, 2 * np.pi, n_in, endpoint=False)
    outer = np.stack([np.cos(t_out), np.sin(t_out)], axis=1)
    inner = factor * np.stack([np.cos(t_in), np.sin(t_in)], axis=1)
    X = np.concatenate([outer, inner]) + rng.normal(0.0, noise, size=(n, 2))
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    X, y = _shuffled(X, y, rng)
    return _float(X), y


def make_sine(
    n_samples: int = 100,
    noise: float = 0.1,
    x_range: tuple[float, float] = (-np.pi, np.pi),
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy samples of ``y = sin(x)`` for regression, ``x`` drawn uniformly and sorted.

    Returns ``X`` and ``y`` of shape (n_samples, 1); ``noise`` is the standard deviation of
    the Gaussian noise on ``y``.

    >>> X, y = mg.data.make_sine(n_samples=10, seed=0)
    >>> X.shape, y.shape
    ((10, 1), (10, 1))
    """
    n = _check_n("make_sine", n_samples, 1)
    noise = _check_noise("make_sine", noise)
    lo, hi = x_range
    if not lo < hi:
        raise ValueError(f"make_sine: x_range must be (low, high) with low < high, got {x_range}")
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(lo, hi, n))
    y = np.sin(x) + rng.normal(0.0, noise, n)
    return _float(x[:, None]), _float(y[:, None])


def make_encoder(n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The n-h-n encoder problem (the classic 8-3-8): reproduce each one-hot input at the output.

    Returns ``X = y =`` the (n, n) identity; a hidden layer of log2(n) units must learn a
    binary code.

    >>> X, y = mg.data.make_encoder(4)
    >>> X.shape, bool((X == y).all())
    ((4, 4), True)
    """
    if n < 2:
        raise ValueError(f"make_encoder: n must be at least 2, got {n}")
    eye = np.eye(n)
    return _float(eye), _float(eye)


def make_parity(n_bits: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """All 2**n_bits binary patterns with target 1 when the number of ones is odd.

    Returns ``X`` of shape (2**n_bits, n_bits) and ``y`` of shape (2**n_bits, 1); two-bit
    parity is XOR.

    >>> X, y = mg.data.make_parity(2)
    >>> X.tolist(), y.ravel().tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0, 1.0, 1.0, 0.0])
    """
    if not 1 <= n_bits <= 16:
        raise ValueError(f"make_parity: n_bits must be between 1 and 16, got {n_bits}")
    codes = np.arange(2**n_bits)
    X = (codes[:, None] >> np.arange(n_bits - 1, -1, -1)) & 1
    y = X.sum(axis=1, keepdims=True) % 2
    return _float(X), _float(y)


def _sklearn_datasets(caller: str) -> Any:  # the sklearn.datasets module
    try:
        from sklearn import datasets
    except ImportError as exc:
        raise ImportError(
            f"{caller} needs scikit-learn, which is an optional extra: "
            "pip install 'microgradnet[datasets]'"
        ) from exc
    return datasets


def load_digits(scale: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits (1,797 images, 10 classes) bundled with scikit-learn.

    Returns ``X`` of shape (1797, 64), pixel values divided by 16 into [0, 1] unless
    ``scale=False``, and labels ``y`` 0..9. Needs the ``datasets`` extra; never downloads.

    >>> _ = __import__("pytest").importorskip("sklearn")  # needs scikit-learn
    >>> X, y = mg.data.load_digits()
    >>> X.shape, y.shape, float(X.max())
    ((1797, 64), (1797,), 1.0)
    """
    data = _sklearn_datasets("load_digits").load_digits()
    X = data.data / 16.0 if scale else data.data
    return _float(X), data.target.astype(np.int64)


def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """Fisher's iris flowers (150 samples, 4 measurements in cm, 3 species).

    Needs the ``datasets`` extra (scikit-learn); never downloads.

    >>> _ = __import__("pytest").importorskip("sklearn")  # needs scikit-learn
    >>> X, y = mg.data.load_iris()
    >>> X.shape, y.shape
    ((150, 4), (150,))
    """
    data = _sklearn_datasets("load_iris").load_iris()
    return _float(data.data), data.target.astype(np.int64)
