"""`ijepa`: facebookresearch/ijepa training checkpoints.

The layout is src/train.py's `save_checkpoint`: {'encoder', 'predictor', 'target_encoder' (state
dicts of the DDP-wrapped models, keys prefixed `module.`), 'opt', 'scaler', 'epoch', 'loss',
'batch_size', 'world_size', 'lr'}. The architecture is src/helper.py's `init_model`: the YAML's
meta.model_name, meta.pred_depth, meta.pred_emb_dim, mask.patch_size and data.crop_size, given
with --config, as flags with the official names, or read from the checkpoint's shapes.
"""
import os

import torch

from ..checkpoint import get_entry, load_torch_file, strip_wrappers
from ..models import ijepa as arch
from ..output import base_info, preprocess
from .common import (add_size_arguments, count_indexed, dtype_of, export_jepa_modules, isqrt_exact, load_yaml, pick,
                     resolve_size, section)

NAME = "ijepa"


def add_arguments(p):
    p.add_argument("--config", help="the training YAML (configs/in1k_vith14_ep300.yaml, ...)")
    add_size_arguments(p, arch.SIZES)
    p.add_argument("--patch-size", type=int, help="mask.patch_size (default: from the checkpoint)")
    p.add_argument("--crop-size", type=int, help="data.crop_size (default: from the checkpoint)")
    p.add_argument("--pred-depth", type=int, help="meta.pred_depth (default: from the checkpoint)")
    p.add_argument("--pred-emb-dim", type=int, help="meta.pred_emb_dim (default: from the checkpoint)")


def resolve(args, enc_sd, pred_sd):
    cfg = load_yaml(args.config)
    meta, mask, data = section(cfg, "meta"), section(cfg, "mask"), section(cfg, "data")
    w = enc_sd.get("patch_embed.proj.weight")
    pos = enc_sd.get("pos_embed")
    size = resolve_size(args, arch.SIZES, meta.get("model_name"), int(w.shape[0]) if w is not None else None,
                        count_indexed(enc_sd, "blocks"), "encoder")
    patch = pick(args.patch_size, mask.get("patch_size"), int(w.shape[-1]) if w is not None else None, 16)
    crop = args.crop_size or data.get("crop_size")
    if crop is None and pos is not None and isqrt_exact(int(pos.shape[1])):
        crop = isqrt_exact(int(pos.shape[1])) * patch
    pe = pred_sd.get("predictor_embed.weight")
    pred_depth = pick(args.pred_depth, meta.get("pred_depth"), count_indexed(pred_sd, "predictor_blocks") or None, 6)
    pred_emb_dim = pick(args.pred_emb_dim, meta.get("pred_emb_dim"), int(pe.shape[0]) if pe is not None else None, 384)
    return {"name": size[0], "size": size[1:5], "patch_size": int(patch), "crop_size": int(crop or 224),
            "pred_depth": int(pred_depth), "pred_emb_dim": int(pred_emb_dim)}


def export(args, out):
    what = "a facebookresearch/ijepa checkpoint (torch.save of encoder, predictor, target_encoder, opt, ...)"
    ckpt = load_torch_file(args.input, what)
    enc_sd = strip_wrappers(get_entry(ckpt, "encoder", args.input, what))
    pred_sd = strip_wrappers(get_entry(ckpt, "predictor", args.input, what))
    has_target = "target_encoder" in ckpt
    tgt_sd = strip_wrappers(get_entry(ckpt, "target_encoder", args.input, what)) if has_target else enc_sd
    a = resolve(args, enc_sd, pred_sd)
    crop, patch = a["crop_size"], a["patch_size"]
    embed_dim, depth, heads, mlp_ratio = a["size"]
    label = f"{a['name']} ({embed_dim} wide, {depth} blocks, {heads} heads, patch {patch}, {crop} px)"
    dtype = dtype_of(args)

    def make_encoder():
        return arch.build_encoder(a["size"], patch, crop)

    x = torch.randn(1, 3, crop, crop, dtype=dtype)
    n = (crop // patch) ** 2
    written, checks, _ = export_jepa_modules(
        args, out, make_encoder, lambda: arch.build_predictor(make_encoder(), a["pred_depth"], a["pred_emb_dim"]),
        enc_sd, tgt_sd, pred_sd, label, f"the predictor of {label}, depth {a['pred_depth']}, width {a['pred_emb_dim']}",
        x)

    info = base_info(NAME, "jepa", written, args.dtype)
    info["architecture"] = {"name": a["name"], "embedDim": embed_dim, "depth": depth, "numHeads": heads,
                            "mlpRatio": mlp_ratio, "predictorEmbedDim": a["pred_emb_dim"],
                            "predictorDepth": a["pred_depth"], "predictorNumHeads": heads}
    info["input"] = {"modality": "image", "channels": 3, "size": [crop, crop]}
    info["patchSize"] = patch
    info["grid"] = [crop // patch, crop // patch]
    info["numPatches"] = n
    info["embedDim"] = embed_dim
    info["preprocess"] = preprocess("ijepa")
    epoch = ckpt.get("epoch")
    info["checkpoint"] = {"file": os.path.basename(args.input), "epoch": epoch if isinstance(epoch, int) else None}
    notes = [] if has_target else ["the checkpoint has no target_encoder: encoder.pt serves as both encoders"]
    return info, {"checks": checks, "notes": notes}
