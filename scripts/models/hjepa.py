"""H-JEPA reference model: jonwiggins/H-JEPA's `HJEPA`, rewritten so that TorchScript compiles it.

The one copy of that architecture is the exporter's, python/jepa_export/models/hjepa.py (shipped
in the npm package for `jepa-native export hjepa`; its docstring says what is kept from
jonwiggins/H-JEPA and what is added). This module re-exports it under the name the scripts here
use (`from hjepa import HJEPA`: scripts/models/export.py, scripts/reference/hjepa_reference.py,
scripts/dev/hjepa_official_check.py).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))

from jepa_export.models.hjepa import HJEPA, Predictor, PredictorBlock, ViTEncoder  # noqa: E402,F401
