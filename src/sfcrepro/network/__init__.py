"""The network: the SFC layer (Keras and PyTorch), the head registry and the model builders, and
the positional weights of a trained SFC layer. Imports nothing else of the package."""
