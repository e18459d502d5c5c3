"""`vjepa`: facebookresearch/jepa (V-JEPA) checkpoints; see video.py."""
from . import video

NAME = "vjepa"


def add_arguments(p):
    video.add_arguments(p, "vjepa")


def export(args, out):
    return video.export_checkpoint(args, out, "vjepa")
