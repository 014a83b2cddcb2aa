"""Neural-net functions (activations, losses, linear, dropout) and autograd functional API."""
