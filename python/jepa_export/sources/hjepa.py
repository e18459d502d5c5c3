"""`hjepa`: jonwiggins/H-JEPA checkpoints.

The layout is src/utils/checkpoint.py's `CheckpointManager.save_checkpoint` as
src/trainers/trainer.py calls it: {'epoch', 'model_state_dict' (the HJEPA's state dict; a
DataParallel / DDP model is unwrapped first), 'optimizer_state_dict', 'scheduler_state_dict',
'metrics', 'best_metric', 'scaler_state_dict' (mixed precision), 'global_step'}. The architecture
is src/models/hjepa.py's `create_hjepa_from_config` reading the training YAML (--config):
model.encoder_type, model.embed_dim, model.num_hierarchies, model.predictor.{depth, num_heads,
mlp_ratio}, model.ema.{momentum, momentum_end, momentum_warmup_epochs}, data.image_size,
training.drop_path_rate; without --config the sizes are read from the checkpoint's shapes and the
heads from the timm model the encoder type names. The model is models/hjepa.py (timm's
VisionTransformer inside, so the export needs timm, as H-JEPA itself does). RoPE, FPN, LayerScale,
the end-to-end mode and non-LayerNorm projection heads are not supported (all off in its
configs/default.yaml).
"""
import os

import torch

from ..checkpoint import fit, get_entry, load_torch_file, strip_wrappers
from ..errors import ExportError, MissingPackage, UsageError
from ..output import base_info, preprocess
from .common import count_indexed, dtype_of, export_module, isqrt_exact, load_yaml, pick, section

NAME = "hjepa"


def add_arguments(p):
    p.add_argument("--config", help="the training YAML (configs/default.yaml, ...)")
    p.add_argument("--encoder-type", help="model.encoder_type, a timm ViT name (default vit_base_patch16_224)")
    p.add_argument("--image-size", type=int, help="data.image_size (default: from the checkpoint)")
    p.add_argument("--num-heads", type=int, help="the encoder's heads (default: those of --encoder-type)")
    p.add_argument("--predictor-num-heads", type=int, help="model.predictor.num_heads (default 12)")
    p.add_argument("--predictor-mlp-ratio", type=float, help="model.predictor.mlp_ratio (default 4.0)")
    p.add_argument("--pooling", choices=["1d", "2d"], default="1d",
                   help="how levels pool: '1d' over the masked-token sequence as jonwiggins/H-JEPA (default), "
                        "'2d' over 2^l x 2^l grid cells (jepa-native's option)")


def load_timm():
    """timm (models/hjepa.py's import, which first steps around a torchvision that cannot load)."""
    try:
        from ..models.hjepa import _timm
        return _timm()
    except ImportError as e:
        if getattr(e, "name", None) == "timm":
            raise MissingPackage("timm", "the hjepa source (its encoder is a timm VisionTransformer)") from None
        raise


def unsupported(model_cfg, cfg):
    bad = []
    if (section(model_cfg, "rope") or {}).get("use_rope"):
        bad.append("model.rope.use_rope")
    if (section(model_cfg, "fpn") or {}).get("use_fpn"):
        bad.append("model.fpn.use_fpn")
    if (section(model_cfg, "layerscale") or {}).get("use_layerscale"):
        bad.append("model.layerscale.use_layerscale")
    if model_cfg.get("use_target_encoder", True) is False:
        bad.append("model.use_target_encoder: false")
    if model_cfg.get("projection_norm", "layernorm") != "layernorm":
        bad.append(f"model.projection_norm: {model_cfg.get('projection_norm')}")
    if bad:
        raise ExportError(f"{', '.join(bad)}: not supported by the H-JEPA export (see docs/models.md)")


def export(args, out):
    what = "a jonwiggins/H-JEPA checkpoint (torch.save of model_state_dict, optimizer_state_dict, ...)"
    ckpt = load_torch_file(args.input, what)
    key = "model_state_dict" if isinstance(ckpt, dict) and "model_state_dict" in ckpt else None
    sd = strip_wrappers(get_entry(ckpt, key, args.input, what) if key else ckpt)
    cfg = load_yaml(args.config)
    model_cfg, data, training = section(cfg, "model"), section(cfg, "data"), section(cfg, "training")
    unsupported(model_cfg, cfg)
    pred_cfg, ema = section(model_cfg, "predictor"), section(model_cfg, "ema")
    w = sd.get("context_encoder.vit.patch_embed.proj.weight")
    pos = sd.get("context_encoder.vit.pos_embed")
    if w is None or pos is None:
        raise ExportError(f"{args.input} has no context_encoder.vit.patch_embed.proj.weight / pos_embed: it is not "
                          "a jonwiggins/H-JEPA model state dict")
    embed_dim, patch = int(w.shape[0]), int(w.shape[-1])
    grid = isqrt_exact(int(pos.shape[1]) - 1)
    image_size = pick(args.image_size, data.get("image_size"), grid * patch if grid else None, 224)
    encoder_type = pick(args.encoder_type, model_cfg.get("encoder_type"), "vit_base_patch16_224")
    depth = count_indexed(sd, "context_encoder.vit.blocks")
    timm = load_timm()
    num_heads = args.num_heads
    if num_heads is None:
        with torch.device("meta"):
            num_heads = int(timm.create_model(encoder_type, pretrained=False).blocks[0].attn.num_heads)
    kw = dict(img_size=int(image_size), patch_size=patch, embed_dim=embed_dim, depth=depth, num_heads=num_heads,
              predictor_depth=count_indexed(sd, "predictor.blocks"),
              predictor_num_heads=int(pick(args.predictor_num_heads, pred_cfg.get("num_heads"), 12)),
              predictor_mlp_ratio=float(pick(args.predictor_mlp_ratio, pred_cfg.get("mlp_ratio"), 4.0)),
              num_hierarchies=count_indexed(sd, "hierarchy_projections"), pooling=args.pooling,
              ema_momentum=float(ema.get("momentum", 0.996)), ema_momentum_end=float(ema.get("momentum_end", 1.0)),
              ema_warmup_steps=int(ema.get("momentum_warmup_epochs", 30)) * 1000,
              drop_path_rate=float(training.get("drop_path_rate", 0.0)), encoder_type=encoder_type)
    from ..models.hjepa import HJEPA
    try:
        model = HJEPA(**kw)
    except (ValueError, RuntimeError) as e:
        raise UsageError(f"cannot build H-JEPA with {kw}: {e}") from None
    label = (f"H-JEPA {encoder_type} ({embed_dim} wide, {depth} blocks, {num_heads} heads, patch {patch}, "
             f"{image_size} px, {kw['num_hierarchies']} levels, predictor depth {kw['predictor_depth']})")
    fit(model, sd, f"model_state_dict of {args.input}", label)
    dtype = dtype_of(args)
    n = (int(image_size) // patch) ** 2
    x = torch.randn(2, 3, int(image_size), int(image_size), dtype=dtype)
    mask = torch.zeros(2, n)
    mask[0, : max(1, n // 4)] = 1
    mask[1, n // 2:] = 1
    checks = {"model": export_module(out, "model.pt", model, dtype, "H-JEPA model",
                                     lambda m: [(x, mask.to(dtype))], args.verify)}
    info = base_info(NAME, "hjepa", {"model": "model.pt"}, args.dtype)
    info["architecture"] = {"name": encoder_type, "embedDim": embed_dim, "depth": depth, "numHeads": num_heads,
                            "predictorDepth": kw["predictor_depth"], "predictorNumHeads": kw["predictor_num_heads"],
                            "numLevels": kw["num_hierarchies"], "pooling": args.pooling,
                            "emaMomentum": kw["ema_momentum"], "emaMomentumEnd": kw["ema_momentum_end"],
                            "emaWarmupSteps": kw["ema_warmup_steps"]}
    info["input"] = {"modality": "image", "channels": 3, "size": [int(image_size), int(image_size)]}
    info["patchSize"] = patch
    info["grid"] = [int(image_size) // patch] * 2
    info["numPatches"] = n
    info["embedDim"] = embed_dim
    info["preprocess"] = preprocess("imagenet-eval")
    epoch = ckpt.get("epoch") if key else None
    info["checkpoint"] = {"file": os.path.basename(args.input), "epoch": epoch if isinstance(epoch, int) else None}
    return info, {"checks": checks, "notes": []}
