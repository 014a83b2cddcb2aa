"""Datasets and batching (``mg.data``): generated problems that need no download, optional
real data through scikit-learn, and the ``DataLoader`` that feeds the training loop."""

from microgradnet.data.datasets import (
    load_digits,
    load_iris,
    make_circles,
    make_encoder,
    make_moons,
    make_parity,
    make_sine,
    make_spirals,
    make_xor,
)
from microgradnet.data.loader import DataLoader, TensorDataset
from microgradnet.data.utils import one_hot, standardize, train_test_split

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
    "one_hot",
    "standardize",
    "train_test_split",
    "TensorDataset",
    "DataLoader",
]
