"""Hugging Face folders (what `save_pretrained` writes): `hf-ijepa` (IJepaModel) and `hf-vjepa2`
(VJEPA2Model; also the `vjepa2` source given a folder).

The folder's config.json gives the architecture; the weights are read from model.safetensors,
pytorch_model.bin or their sharded forms (*.index.json), by their on-disk names (the names
transformers' conversion scripts give the official weights, which transformers 4.x and 5.x both
write). They are mapped back onto the official layouts, the inverse of
transformers/models/ijepa/convert_ijepa_to_hf.py and of the V-JEPA 2 conversion: the separate
query / key / value projections become the fused `qkv`, the stacked mask tokens one parameter per
token. transformers itself is not needed to export; the tests compare with its classes.

What the Hub models hold: IJepaModel is the I-JEPA encoder alone (no predictor, no target
encoder: the folder exports as a `jepa` model whose jepa.json names encoder.pt for both
encoders and no predictor). VJEPA2Model holds one encoder and the predictor (encoder.pt serves
as both encoders).
"""
import json
import os
from typing import Dict, Tuple

import torch

from ..checkpoint import load_safetensors, load_torch_file
from ..errors import ExportError, require
from ..models import ijepa as ijepa_arch
from ..models import vjepa2 as vjepa2_arch
from ..output import base_info, preprocess
from .common import dtype_of, export_jepa_modules

NAME = "hf"
WEIGHT_FILES = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json"]


def add_arguments(p):
    p.add_argument("--frames", type=int, help="hf-vjepa2: the clip length the exported encoder takes "
                                              "(input_shape(); default frames_per_clip)")


def read_folder(path: str, model_types) -> Tuple[Dict, Dict[str, torch.Tensor]]:
    """(config.json, state dict) of a save_pretrained folder."""
    if not os.path.isdir(path):
        raise ExportError(f"expected a Hugging Face model folder (config.json and model.safetensors or "
                          f"pytorch_model.bin), got {'the file ' if os.path.exists(path) else 'no such folder '}{path}")
    cfg_path = os.path.join(path, "config.json")
    if not os.path.exists(cfg_path):
        raise ExportError(f"{path} has no config.json: expected a folder written by save_pretrained")
    with open(cfg_path) as f:
        cfg = json.load(f)
    if cfg.get("model_type") not in model_types:
        raise ExportError(f"{cfg_path} says model_type {cfg.get('model_type')!r}, expected "
                          f"{' or '.join(repr(t) for t in model_types)}")
    for name in WEIGHT_FILES:
        file = os.path.join(path, name)
        if not os.path.exists(file):
            continue
        if name.endswith(".index.json"):
            with open(file) as f:
                shards = sorted(set(json.load(f)["weight_map"].values()))
            sd = {}
            for shard in shards:
                sd.update(_read_weights(os.path.join(path, shard)))
            return cfg, sd
        return cfg, _read_weights(file)
    raise ExportError(f"{path} has no weights: expected one of {', '.join(WEIGHT_FILES)}")


def _read_weights(file: str) -> Dict[str, torch.Tensor]:
    if file.endswith(".safetensors"):
        require("safetensors", "safetensors", "reading model.safetensors")
        return load_safetensors(file)
    sd = load_torch_file(file, "a pytorch_model.bin state dict")
    if not isinstance(sd, dict):
        raise ExportError(f"{file} holds a {type(sd).__name__}, expected a state dict")
    return sd


def _strip(sd, prefix):
    return {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in sd.items()}


def _fuse_qkv(out, sd, src, dst):
    """src.{query,key,value}.{weight,bias} -> dst.qkv.{weight,bias} (rows q, k, v as the fused
    Linear of the official Attention splits them)."""
    for kind in ("weight", "bias"):
        parts = [sd.pop(f"{src}.{n}.{kind}", None) for n in ("query", "key", "value")]
        if all(p is not None for p in parts):
            out[f"{dst}.qkv.{kind}"] = torch.cat(parts, dim=0)
        else:
            for n, p in zip(("query", "key", "value"), parts):
                if p is not None:
                    out[f"{src}.{n}.{kind}"] = p


def _rename(out, sd, mapping):
    for src, dst in mapping:
        for kind in ("weight", "bias"):
            if f"{src}.{kind}" in sd:
                out[f"{dst}.{kind}"] = sd.pop(f"{src}.{kind}")


# ---------------------------------------------------------------------------------------------
# I-JEPA

def ijepa_state_dict(sd: Dict[str, torch.Tensor], depth: int):
    sd = _strip(dict(sd), "ijepa.")
    ignored = sorted(k for k in sd if k.startswith(("pooler.", "classifier.")) or k == "embeddings.mask_token")
    for k in ignored:
        sd.pop(k)
    out = {}
    if "embeddings.position_embeddings" in sd:
        out["pos_embed"] = sd.pop("embeddings.position_embeddings")
    _rename(out, sd, [("embeddings.patch_embeddings.projection", "patch_embed.proj"), ("layernorm", "norm")])
    for i in range(depth):
        s, d = f"encoder.layer.{i}", f"blocks.{i}"
        _fuse_qkv(out, sd, f"{s}.attention.attention", f"{d}.attn")
        _rename(out, sd, [(f"{s}.attention.output.dense", f"{d}.attn.proj"), (f"{s}.layernorm_before", f"{d}.norm1"),
                          (f"{s}.layernorm_after", f"{d}.norm2"), (f"{s}.intermediate.dense", f"{d}.mlp.fc1"),
                          (f"{s}.output.dense", f"{d}.mlp.fc2")])
    out.update(sd)  # whatever is left is reported as unexpected
    return out, ignored


def export_ijepa(args, out):
    cfg, sd = read_folder(args.input, ("ijepa",))
    dim, depth, heads = cfg.get("hidden_size", 768), cfg.get("num_hidden_layers", 12), cfg.get("num_attention_heads", 12)
    crop, patch = cfg.get("image_size", 224), cfg.get("patch_size", 16)
    hidden = cfg.get("intermediate_size", 3072)
    sd, ignored = ijepa_state_dict(sd, depth)
    label = f"IJepaModel ({dim} wide, {depth} layers, {heads} heads, patch {patch}, {crop} px)"

    def make_encoder():
        return ijepa_arch.VisionTransformer(img_size=crop, patch_size=patch, in_chans=cfg.get("num_channels", 3),
                                           embed_dim=dim, depth=depth, num_heads=heads, qkv_bias=cfg.get("qkv_bias", True),
                                           norm_eps=cfg.get("layer_norm_eps", 1e-12), use_sdpa=True,
                                           act=cfg.get("hidden_act", "gelu"), mlp_hidden=hidden)

    x = torch.randn(1, cfg.get("num_channels", 3), crop, crop, dtype=dtype_of(args))
    files, checks, _ = export_jepa_modules(args, out, make_encoder, None, sd, sd, None, label, "", x)
    info = base_info("hf-ijepa", "jepa", files, args.dtype)
    info["architecture"] = {"name": "IJepaModel", "embedDim": dim, "depth": depth, "numHeads": heads,
                            "mlpHidden": hidden, "layerNormEps": cfg.get("layer_norm_eps", 1e-12)}
    info["input"] = {"modality": "image", "channels": cfg.get("num_channels", 3), "size": [crop, crop]}
    info["patchSize"] = patch
    info["grid"] = [crop // patch, crop // patch]
    info["numPatches"] = (crop // patch) ** 2
    info["embedDim"] = dim
    info["preprocess"] = preprocess("ijepa")
    notes = ["IJepaModel holds the I-JEPA encoder only: encoder.pt serves as both encoders, there is no predictor"]
    if ignored:
        notes.append(f"ignored {', '.join(ignored)}")
    return info, {"checks": checks, "notes": notes, "ignoredKeys": ignored}


# ---------------------------------------------------------------------------------------------
# V-JEPA 2

def _vjepa2_layers(out, sd, src, dst, depth):
    for i in range(depth):
        s, d = f"{src}.{i}", f"{dst}.{i}"
        _fuse_qkv(out, sd, f"{s}.attention", f"{d}.attn")
        _rename(out, sd, [(f"{s}.attention.proj", f"{d}.attn.proj"), (f"{s}.norm1", f"{d}.norm1"),
                          (f"{s}.norm2", f"{d}.norm2"), (f"{s}.mlp.fc1", f"{d}.mlp.fc1"),
                          (f"{s}.mlp.fc2", f"{d}.mlp.fc2")])


def vjepa2_state_dicts(sd: Dict[str, torch.Tensor], cfg):
    sd = _strip(dict(sd), "vjepa2.")
    ignored = sorted(k for k in sd if k.startswith(("pooler.", "classifier.")))
    for k in ignored:
        sd.pop(k)
    enc = {k[len("encoder."):]: v for k, v in sd.items() if k.startswith("encoder.")}
    pred = {k[len("predictor."):]: v for k, v in sd.items() if k.startswith("predictor.")}
    rest = [k for k in sd if not k.startswith(("encoder.", "predictor."))]
    enc_out, pred_out = {}, {}
    _rename(enc_out, enc, [("embeddings.patch_embeddings.proj", "patch_embed.proj"), ("layernorm", "norm")])
    _vjepa2_layers(enc_out, enc, "layer", "blocks", cfg.get("num_hidden_layers", 24))
    enc_out.update(enc)
    _rename(pred_out, pred, [("embeddings.predictor_embeddings", "predictor_embed"), ("layernorm", "predictor_norm"),
                             ("proj", "predictor_proj")])
    tokens = pred.pop("embeddings.mask_tokens", None)
    if tokens is not None:
        for i in range(tokens.shape[0]):
            pred_out[f"mask_tokens.{i}"] = tokens[i]
    _vjepa2_layers(pred_out, pred, "layer", "predictor_blocks", cfg.get("pred_num_hidden_layers", 12))
    pred_out.update(pred)
    for k in rest:  # neither encoder nor predictor: unexpected in the encoder's report
        enc_out[k] = sd[k]
    return enc_out, pred_out, ignored


def export_vjepa2(args, out):
    cfg, sd = read_folder(args.input, ("vjepa2",))
    enc_sd, pred_sd, ignored = vjepa2_state_dicts(sd, cfg)
    crop, patch = cfg.get("crop_size", 256), cfg.get("patch_size", 16)
    frames, tubelet = cfg.get("frames_per_clip", 64), cfg.get("tubelet_size", 2)
    frames_in = getattr(args, "frames", None) or frames
    if frames_in % tubelet:
        raise ExportError(f"--frames {frames_in} is not a multiple of the tubelet size {tubelet}")
    dim, depth, heads = cfg.get("hidden_size", 1024), cfg.get("num_hidden_layers", 24), cfg.get("num_attention_heads", 16)
    mlp_ratio = float(cfg.get("mlp_ratio", 4.0))
    pdim, pdepth = cfg.get("pred_hidden_size", 384), cfg.get("pred_num_hidden_layers", 12)
    pheads, pmlp = cfg.get("pred_num_attention_heads", 12), float(cfg.get("pred_mlp_ratio", 4.0))
    ntok = cfg.get("pred_num_mask_tokens", 10)
    eps, qkv_bias, act = cfg.get("layer_norm_eps", 1e-6), cfg.get("qkv_bias", True), cfg.get("hidden_act", "gelu")
    if act != "gelu":
        raise ExportError(f"{args.input}: hidden_act {act!r} is not supported (V-JEPA 2 uses 'gelu')")

    def make_encoder():
        return vjepa2_arch.VisionTransformer(img_size=crop, patch_size=patch, num_frames=frames, tubelet_size=tubelet,
                                             in_chans=cfg.get("in_chans", 3), embed_dim=dim, depth=depth,
                                             num_heads=heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, norm_eps=eps,
                                             use_rope=True, use_sdpa=True, input_frames=frames_in)

    def make_predictor():
        return vjepa2_arch.VisionTransformerPredictor(img_size=crop, patch_size=patch, num_frames=frames,
                                                      tubelet_size=tubelet, embed_dim=dim, predictor_embed_dim=pdim,
                                                      depth=pdepth, num_heads=pheads, mlp_ratio=pmlp,
                                                      qkv_bias=qkv_bias, norm_eps=eps, num_mask_tokens=ntok,
                                                      use_rope=True, use_sdpa=True)

    label = f"VJEPA2Model ({dim} wide, {depth} layers, {heads} heads, {crop} px, {frames} frames)"
    x = torch.randn(1, cfg.get("in_chans", 3), tubelet, crop, crop, dtype=dtype_of(args))
    files, checks, _ = export_jepa_modules(args, out, make_encoder, make_predictor, enc_sd, enc_sd, pred_sd, label,
                                           f"the predictor of {label}", x, mask_index_checks=True)
    g = crop // patch
    info = base_info("hf-vjepa2", "jepa", files, args.dtype)
    info["architecture"] = {"name": "VJEPA2Model", "embedDim": dim, "depth": depth, "numHeads": heads,
                            "mlpRatio": mlp_ratio, "predictorEmbedDim": pdim, "predictorDepth": pdepth,
                            "predictorNumHeads": pheads, "numMaskTokens": ntok, "useRope": True,
                            "numFrames": frames, "layerNormEps": eps}
    info["input"] = {"modality": "video", "channels": cfg.get("in_chans", 3), "size": [crop, crop],
                     "frames": frames_in, "tubeletSize": tubelet}
    info["patchSize"] = patch
    info["grid"] = [frames_in // tubelet, g, g]
    info["numPatches"] = (frames_in // tubelet) * g * g
    info["embedDim"] = dim
    info["preprocess"] = preprocess("vjepa2")
    notes = ["VJEPA2Model holds one encoder: encoder.pt serves as both encoders",
             "the exported encoder takes [B, C, T, H, W] as the official code (VJEPA2Model takes [B, T, C, H, W])"]
    if ignored:
        notes.append(f"ignored {', '.join(ignored)}")
    return info, {"checks": checks, "notes": notes, "ignoredKeys": ignored}


def export(args, out):
    if args.source == "hf-ijepa":
        return export_ijepa(args, out)
    return export_vjepa2(args, out)
