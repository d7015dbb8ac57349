"""edgesdk_export: the PyTorch side of edgesdk — models, quantization-aware training of the
integer entropy path, and export to what the runtime loads.

Submodules import torch; this package itself imports nothing heavy. Importing it registers
the ``pytorch`` backend with the runtime (torch itself loads when a runner is opened).
"""

from edgesdk_export.backend import register as _register_backend

_register_backend()
