"""Imports torchvision next to a CPU build of torch.

The torchvision wheel of the offline pip mirror (0.28) is a CUDA build: its compiled operators
cannot load next to torch 2.13.0+cpu, and `import torchvision` then fails while registering fake
kernels for operators that do not exist ("operator torchvision::nms does not exist"). Declaring
the schemas of those operators first lets the import finish; the pure-Python parts (transforms,
the functional API that transformers' fast processors call) then work, the compiled operators
(nms, roi_align, the image codecs) do not. Where torchvision imports on its own, nothing is
declared.
"""
import sys

import torch

# The operators torchvision registers fake kernels for at import time (torchvision/_meta_registrations.py).
_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_library = None  # kept alive: the declarations last as long as this object


def import_torchvision():
    """Returns the torchvision module, declaring its operator schemas first when it needs them."""
    global _library
    try:
        import torchvision
        return torchvision
    except Exception:
        pass
    for name in list(sys.modules):
        if name == "torchvision" or name.startswith("torchvision."):
            del sys.modules[name]
    if _library is None:
        _library = torch.library.Library("torchvision", "DEF")
        for schema in _SCHEMAS:
            _library.define(schema)
    import torchvision
    return torchvision
