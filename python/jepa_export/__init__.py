"""The Python side of `jepa-native export`: turns official I-JEPA, V-JEPA, V-JEPA 2 and H-JEPA
checkpoints, Hugging Face folders and user modules into TorchScript folders with a `jepa.json`
that jepa-native's `JEPA.load(dir)` and friends read. Run as `python -m jepa_export` (the Node
command sets PYTHONPATH to the folder above this package); see docs/models.md.
"""
FORMAT = "jepa-native/model"
FORMAT_VERSION = 1
