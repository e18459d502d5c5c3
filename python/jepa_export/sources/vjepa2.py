"""`vjepa2`: facebookresearch/vjepa2 checkpoints (see video.py), or a Hugging Face VJEPA2Model
folder (a folder with config.json: exported as `hf-vjepa2`, see hf.py)."""
import os

from . import hf, video

NAME = "vjepa2"


def add_arguments(p):
    video.add_arguments(p, "vjepa2")


def export(args, out):
    if os.path.isdir(args.input):
        return hf.export_vjepa2(args, out)
    return video.export_checkpoint(args, out, "vjepa2")
