"""`clip-vision`: the vision tower of a Hugging Face CLIP folder (CLIPVisionModelWithProjection, or
a CLIPModel such as openai/clip-vit-base-patch16, whose text tower is left out), exported as an
image encoder: forward(pixel_values [B, 3, S, S]) -> the L2-normalised projected embedding
[B, projection_dim] (seed 004's VisionEncoder.encode). See models/clip.py."""
import torch

from ..models.clip import CLIPVisionTower
from ..output import base_info, preprocess
from .common import dtype_of, export_module, fitted
from .hf import read_folder

NAME = "clip-vision"


def add_arguments(p):
    pass


def export(args, out):
    cfg, sd = read_folder(args.input, ("clip", "clip_vision_model"))
    vcfg = cfg.get("vision_config", cfg) if cfg.get("model_type") == "clip" else cfg
    projection_dim = cfg.get("projection_dim", vcfg.get("projection_dim", 512))
    vision = {k[len("vision_model."):]: v for k, v in sd.items() if k.startswith("vision_model.")}
    ignored = sorted(k for k in sd if not k.startswith(("vision_model.", "visual_projection.")))
    vision["visual_projection.weight"] = sd.get("visual_projection.weight")
    if vision["visual_projection.weight"] is None:
        del vision["visual_projection.weight"]
    vision.pop("embeddings.position_ids", None)
    dim, depth, heads = vcfg.get("hidden_size", 768), vcfg.get("num_hidden_layers", 12), vcfg.get("num_attention_heads", 12)
    size, patch = vcfg.get("image_size", 224), vcfg.get("patch_size", 32)
    channels = vcfg.get("num_channels", 3)

    def make():
        return CLIPVisionTower(dim, depth, heads, vcfg.get("intermediate_size", 3072), size, patch, projection_dim,
                               act=vcfg.get("hidden_act", "quick_gelu"), eps=vcfg.get("layer_norm_eps", 1e-5),
                               channels=channels)

    label = f"the CLIP vision tower ({dim} wide, {depth} layers, {heads} heads, patch {patch}, {size} px)"
    model = fitted(make, vision, f"vision tower of {args.input}", label)
    dtype = dtype_of(args)
    x = torch.randn(2, channels, size, size, dtype=dtype)
    checks = {"encoder": export_module(out, "image_encoder.pt", model, dtype, "image encoder", lambda m: [(x,)],
                                       args.verify)}
    info = base_info(NAME, "image-encoder", {"encoder": "image_encoder.pt"}, args.dtype)
    info["architecture"] = {"name": "CLIPVisionModelWithProjection", "embedDim": dim, "depth": depth,
                            "numHeads": heads, "projectionDim": projection_dim}
    info["input"] = {"modality": "image", "channels": channels, "size": [size, size]}
    info["patchSize"] = patch
    info["grid"] = [size // patch, size // patch]
    info["numPatches"] = (size // patch) ** 2
    info["embedDim"] = projection_dim
    info["output"] = {"dim": projection_dim, "normalized": True}
    info["preprocess"] = preprocess("clip")
    notes = [f"left out {len(ignored)} tensors of the text tower" if ignored else None]
    return info, {"checks": checks, "notes": [n for n in notes if n], "ignoredKeys": ignored}
