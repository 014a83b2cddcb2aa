"""Optimizers that adapt weights with the derivatives backward computed, and lr schedulers."""
