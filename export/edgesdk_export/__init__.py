"""edgesdk_export: the PyTorch side of edgesdk — models, quantization-aware training of the
integer entropy path, and export to what the runtime loads.

Submodules import torch; this package itself imports nothing heavy.
"""
