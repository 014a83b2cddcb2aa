"""Neural-network building blocks: Module, layers, the MLP, losses, initialisers."""
