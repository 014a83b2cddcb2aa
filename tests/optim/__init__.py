"""Tests of mg.optim: optimizers and learning-rate schedulers."""
