"""Optimizers that adapt weights with the derivatives backward computed, and lr schedulers.

>>> w = mg.tensor([1.0, -2.0], requires_grad=True)
>>> opt = mg.optim.SGD([w], lr=0.1, momentum=0.9)
>>> opt.zero_grad(); (w * w).sum().backward(); opt.step()
>>> w
tensor([ 0.8, -1.6], requires_grad=True)
"""

from microgradnet.optim import lr_scheduler
from microgradnet.optim.adagrad import Adagrad
from microgradnet.optim.adam import Adam, AdamW
from microgradnet.optim.lbfgs import LBFGS
from microgradnet.optim.optimizer import Optimizer
from microgradnet.optim.rmsprop import RMSprop
from microgradnet.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LBFGS",
           "lr_scheduler"]
