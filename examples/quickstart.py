"""Build a small expression, run the backward sweep and print the gradients.

    python examples/quickstart.py
"""

import microgradnet as mg

a = mg.tensor(2.0, requires_grad=True, name="a")
b = mg.tensor(-3.0, requires_grad=True, name="b")
c = mg.tensor(10.0, requires_grad=True, name="c")

e = a * b  # forward sweep: each op records a node
d = e + c
f = mg.tensor(-0.2, requires_grad=True, name="f")
L = (d * f).tanh()

L.backward()  # backward sweep: dL/dx for every leaf x
print(f"L = {L.item():.4f}")
for t in (a, b, c, f):
    print(f"dL/d{t.name} = {t.grad.item(): .4f}")
