"""`vjepa` and `vjepa2`: facebookresearch/jepa and facebookresearch/vjepa2 checkpoints.

Both training loops (app/vjepa/train.py) save {'encoder', 'predictor', 'opt', 'scaler',
'target_encoder', 'epoch', 'loss', 'batch_size', 'world_size', 'lr'}, the models wrapped in
MultiMaskWrapper / MultiSeqWrapper and DDP, so every key starts with `module.backbone.`. The
architecture is app/vjepa/utils.py's `init_video_model` with the YAML's model.* (model_name,
pred_depth, pred_embed_dim, pred_num_heads, uniform_power, use_mask_tokens, use_rope, use_silu,
use_pred_silu, wide_silu), data.* (crop_size, patch_size, num_frames or max(dataset_fpcs),
tubelet_size), meta.use_sdpa and one predictor mask token per mask config (times the number of
clip lengths for vjepa2), given with --config, as flags, or read from the checkpoint's shapes.
"""
import os

import torch

from ..checkpoint import get_entry, load_torch_file, strip_wrappers
from ..errors import ExportError, UsageError
from ..models import vjepa as vjepa_arch
from ..models import vjepa2 as vjepa2_arch
from ..output import base_info, preprocess
from .common import (add_size_arguments, count_indexed, dtype_of, export_jepa_modules, isqrt_exact, load_yaml, pick,
                     resolve_size, section)

ARCH = {"vjepa": vjepa_arch, "vjepa2": vjepa2_arch}
REPO = {"vjepa": "facebookresearch/jepa", "vjepa2": "facebookresearch/vjepa2"}


def add_arguments(p, family):
    arch = ARCH[family]
    p.add_argument("--config", help="the training YAML (configs/pretrain/vitl16.yaml, configs/train/vitg16/...)")
    add_size_arguments(p, arch.SIZES)
    p.add_argument("--patch-size", type=int, help="data.patch_size (default: from the checkpoint)")
    p.add_argument("--crop-size", type=int, help="data.crop_size (default: from the checkpoint's position table)")
    p.add_argument("--num-frames", type=int, help="data.num_frames / max(data.dataset_fpcs): the clip length the "
                                                  "model was built for")
    p.add_argument("--tubelet-size", type=int, help="data.tubelet_size (default: from the checkpoint)")
    p.add_argument("--pred-depth", type=int, help="model.pred_depth (default: from the checkpoint)")
    p.add_argument("--pred-embed-dim", "--pred-emb-dim", dest="pred_embed_dim", type=int,
                   help="model.pred_embed_dim (default: from the checkpoint)")
    p.add_argument("--num-mask-tokens", type=int, help="the predictor's mask tokens (default: from the checkpoint)")
    p.add_argument("--uniform-power", action="store_true", default=None,
                   help="model.uniform_power (recorded only: the position tables come from the checkpoint)")
    if family == "vjepa2":
        p.add_argument("--pred-num-heads", type=int, help="model.pred_num_heads (default 12, as every V-JEPA 2 "
                                                          "config and the hub models)")
        p.add_argument("--use-rope", dest="use_rope", action="store_true", default=None,
                       help="model.use_rope (the default, as every V-JEPA 2 config)")
        p.add_argument("--no-rope", dest="use_rope", action="store_false", help="sin-cos position tables instead")
        p.add_argument("--use-sdpa", dest="use_sdpa", action="store_true", default=None,
                       help="meta.use_sdpa (the default)")
        p.add_argument("--no-sdpa", dest="use_sdpa", action="store_false", help="explicit softmax attention")
        p.add_argument("--frames", type=int, help="the clip length the exported encoder takes (input_shape(); "
                                                  "default --num-frames). RoPE models take any multiple of the "
                                                  "tubelet size, e.g. --frames 16 for a 64-frame model")


def resolve(args, family, cfg, enc_sd, pred_sd):
    arch = ARCH[family]
    model, data, meta = section(cfg, "model"), section(cfg, "data"), section(cfg, "meta")
    w = enc_sd.get("patch_embed.proj.weight")
    if w is None:
        raise ExportError(f"the encoder of {args.input} has no patch_embed.proj.weight: it is not a "
                          f"{REPO[family]} encoder")
    video = w.dim() == 5
    size = resolve_size(args, arch.SIZES, model.get("model_name"), int(w.shape[0]), count_indexed(enc_sd, "blocks"),
                        "encoder")
    name_rope = bool(size[5]) if len(size) > 5 else False
    patch = pick(args.patch_size, data.get("patch_size"), int(w.shape[-1]))
    tubelet = pick(args.tubelet_size, data.get("tubelet_size"), int(w.shape[2]) if video else 2)
    fpcs = data.get("dataset_fpcs")
    frames = pick(args.num_frames, data.get("num_frames"), max(fpcs) if isinstance(fpcs, list) and fpcs else None)
    if family == "vjepa2":
        use_rope = pick(args.use_rope, model.get("use_rope"), True) or name_rope
        use_sdpa = pick(args.use_sdpa, meta.get("use_sdpa") if cfg else None, True)
    else:
        use_rope, use_sdpa = False, True
    crop = pick(args.crop_size, data.get("crop_size"))
    pos = enc_sd.get("pos_embed")
    if not video:
        frames = 1
        if crop is None and pos is not None and isqrt_exact(int(pos.shape[1])):
            crop = isqrt_exact(int(pos.shape[1])) * patch
    elif pos is not None and not use_rope and (crop is None or frames is None):
        n = int(pos.shape[1])
        if crop is not None:
            frames = n // (crop // patch) ** 2 * tubelet
        else:
            frames = frames or 16
            g = isqrt_exact(n // max(frames // tubelet, 1)) if n % max(frames // tubelet, 1) == 0 else None
            if g is None:
                raise UsageError(f"cannot tell the crop size and clip length from the encoder's {n} positions: pass "
                                 "--crop-size and --num-frames (or --config)")
            crop = g * patch
    if crop is None:
        raise UsageError("a RoPE encoder has no position table to read the crop size from: pass --crop-size "
                         "(or --config; the released V-JEPA 2 models use 256, vitg-384 uses 384)")
    if video and frames is None:
        frames = 64 if family == "vjepa2" else 16
    n_tokens = ((frames // tubelet) if video else 1) * (crop // patch) ** 2
    pe = pred_sd.get("predictor_embed.weight")
    masks_cfg = cfg.get("mask")
    cfg_tokens = None
    if isinstance(masks_cfg, list):
        cfg_tokens = len(masks_cfg) * (len(fpcs) if family == "vjepa2" and isinstance(fpcs, list) else 1)
    num_mask_tokens = pick(args.num_mask_tokens, cfg_tokens, count_indexed(pred_sd, "mask_tokens") or None)
    if not num_mask_tokens or "mask_tokens.0" not in pred_sd:
        raise ExportError(f"the predictor of {args.input} has no mask tokens (use_mask_tokens: false, the diffusion "
                          "predictor): only mask-token predictors can be exported")
    out = {
        "name": size[0], "size": size[1:5], "video": video, "patch_size": int(patch), "tubelet_size": int(tubelet),
        "num_frames": int(frames), "crop_size": int(crop), "num_tokens": n_tokens,
        "pred_depth": int(pick(args.pred_depth, model.get("pred_depth"),
                               count_indexed(pred_sd, "predictor_blocks") or None, 6)),
        "pred_embed_dim": int(pick(args.pred_embed_dim, model.get("pred_embed_dim"),
                                   int(pe.shape[0]) if pe is not None else None, 384)),
        "num_mask_tokens": int(num_mask_tokens),
        "uniform_power": bool(pick(args.uniform_power, model.get("uniform_power"), False)),
        "use_rope": bool(use_rope), "use_sdpa": bool(use_sdpa),
    }
    if family == "vjepa2":
        out["pred_num_heads"] = int(pick(args.pred_num_heads, model.get("pred_num_heads"), 12))
        out["use_silu"] = "blocks.0.mlp.fc3.weight" in enc_sd
        out["use_pred_silu"] = "predictor_blocks.0.mlp.fc3.weight" in pred_sd
        out["wide_silu"] = bool(pick(model.get("wide_silu"), True))
        frames_in = args.frames or out["num_frames"]
        if args.frames and not use_rope and args.frames > out["num_frames"]:
            raise UsageError(f"--frames {args.frames}: a model with a position table takes at most its "
                             f"{out['num_frames']} frames")
        if frames_in % out["tubelet_size"]:
            raise UsageError(f"--frames {frames_in} is not a multiple of the tubelet size {out['tubelet_size']}")
        out["input_frames"] = int(frames_in)
    else:
        out["input_frames"] = out["num_frames"]
    return out


def builders(family, a):
    arch = ARCH[family]
    embed_dim, depth, heads, mlp_ratio = a["size"]
    common = dict(img_size=a["crop_size"], patch_size=a["patch_size"], num_frames=a["num_frames"],
                  tubelet_size=a["tubelet_size"], embed_dim=embed_dim, depth=depth, num_heads=heads,
                  mlp_ratio=mlp_ratio, uniform_power=a["uniform_power"])
    if family == "vjepa2":
        common.update(use_rope=a["use_rope"], use_sdpa=a["use_sdpa"], use_silu=a["use_silu"],
                      wide_silu=a["wide_silu"], input_frames=a["input_frames"])

    def encoder():
        return arch.VisionTransformer(**common)

    def predictor():
        kw = dict(pred_depth=a["pred_depth"], pred_embed_dim=a["pred_embed_dim"], uniform_power=a["uniform_power"],
                  num_mask_tokens=a["num_mask_tokens"])
        if family == "vjepa2":
            kw.update(pred_num_heads=a["pred_num_heads"], use_sdpa=a["use_sdpa"], use_silu=a["use_pred_silu"],
                      wide_silu=a["wide_silu"])
        return arch.build_predictor(encoder(), **kw)

    return encoder, predictor


def label_of(a):
    embed_dim, depth, heads, _ = a["size"]
    geometry = (f"{a['num_frames']} frames in tubelets of {a['tubelet_size']}, " if a["video"] else "") + \
        f"{a['crop_size']} px, patch {a['patch_size']}"
    rope = ", RoPE" if a["use_rope"] else ""
    return f"{a['name']} ({embed_dim} wide, {depth} blocks, {heads} heads{rope}, {geometry})"


def write_jepa(args, out, family, source, a, enc_sd, tgt_sd, pred_sd, ignore=(), target_note=None, extra_info=None):
    """Exports the three modules of a V-JEPA / V-JEPA 2 model and returns (jepa.json, summary)."""
    dtype = dtype_of(args)
    make_encoder, make_predictor = builders(family, a)
    label = label_of(a)
    frames_in = a["input_frames"]
    # RoPE models are checked on one tubelet (a 64-frame ViT-g clip would need tens of GB).
    check_frames = a["tubelet_size"] if a["use_rope"] else frames_in
    size = [a["crop_size"], a["crop_size"]]
    x = torch.randn([1, 3] + ([check_frames] if a["video"] else []) + size, dtype=dtype)
    pred_label = (f"the predictor of {label}, depth {a['pred_depth']}, width {a['pred_embed_dim']}, "
                  f"{a['num_mask_tokens']} mask tokens")
    written, checks, ignored = export_jepa_modules(args, out, make_encoder, make_predictor, enc_sd, tgt_sd, pred_sd,
                                                   label, pred_label, x, mask_index_checks=True, ignore=ignore)

    embed_dim, depth, heads, mlp_ratio = a["size"]
    g = a["crop_size"] // a["patch_size"]
    info = base_info(source, "jepa", written, args.dtype)
    info["architecture"] = {
        "name": a["name"], "embedDim": embed_dim, "depth": depth, "numHeads": heads, "mlpRatio": mlp_ratio,
        "predictorEmbedDim": a["pred_embed_dim"], "predictorDepth": a["pred_depth"],
        "predictorNumHeads": a.get("pred_num_heads", heads), "numMaskTokens": a["num_mask_tokens"],
        "useRope": a["use_rope"], "useSdpa": a["use_sdpa"], "uniformPower": a["uniform_power"],
        "numFrames": a["num_frames"],
    }
    if family == "vjepa2":
        info["architecture"].update(useSilu=a["use_silu"], usePredSilu=a["use_pred_silu"])
    if a["video"]:
        info["input"] = {"modality": "video", "channels": 3, "size": [a["crop_size"], a["crop_size"]],
                         "frames": frames_in, "tubeletSize": a["tubelet_size"]}
        info["grid"] = [frames_in // a["tubelet_size"], g, g]
    else:
        info["input"] = {"modality": "image", "channels": 3, "size": [a["crop_size"], a["crop_size"]]}
        info["grid"] = [g, g]
    info["patchSize"] = a["patch_size"]
    n = 1
    for d in info["grid"]:
        n *= d
    info["numPatches"] = n
    info["embedDim"] = embed_dim
    info["preprocess"] = preprocess("vjepa2")
    if extra_info:
        info.update(extra_info)
    notes = []
    if target_note:
        notes.append(target_note)
    if ignored:
        notes.append(f"ignored {len(ignored)} checkpoint keys the architecture does not use: {', '.join(ignored)}")
    return info, {"checks": checks, "notes": notes, "ignoredKeys": ignored}


def export_checkpoint(args, out, family):
    what = f"a {REPO[family]} checkpoint (torch.save of encoder, predictor, target_encoder, opt, ...)"
    ckpt = load_torch_file(args.input, what)
    enc_sd = strip_wrappers(get_entry(ckpt, "encoder", args.input, what))
    pred_sd = strip_wrappers(get_entry(ckpt, "predictor", args.input, what))
    has_target = "target_encoder" in ckpt
    tgt_sd = strip_wrappers(get_entry(ckpt, "target_encoder", args.input, what)) if has_target else enc_sd
    cfg = load_yaml(args.config)
    a = resolve(args, family, cfg, enc_sd, pred_sd)
    # The hub loader of facebookresearch/vjepa2 (src/hub/backbones.py) loads RoPE models with
    # strict=False because released checkpoints may still hold sin-cos tables: those are ignored.
    ignore = ("pos_embed", "predictor_pos_embed") if a["use_rope"] else ()
    epoch = ckpt.get("epoch")
    extra = {"checkpoint": {"file": os.path.basename(args.input), "epoch": epoch if isinstance(epoch, int) else None}}
    note = None if has_target else "the checkpoint has no target_encoder: encoder.pt serves as both encoders"
    return write_jepa(args, out, family, family, a, enc_sd, tgt_sd, pred_sd, ignore, note, extra)
