"""Checkpoints and folders in the layouts people bring to `jepa-native export`, with random weights
(nothing can be downloaded here), made with the project's own Python: exactly the official key
names, shapes and nesting (docs/models.md says which official function each follows).

    python scripts/models/checkpoints.py OUTDIR [--only ijepa,vjepa,...]

writes OUTDIR/<source>/... and prints a JSON manifest (the input path and the export flags of
each). Used by test/export.test.mjs (through `make`), the README fixture and bench/export.mjs.
"""
import argparse
import copy
import json
import os
import sys
import types

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

from jepa_export.models import ijepa, vjepa, vjepa2  # noqa: E402


def import_transformers():
    """transformers imports torchvision, whose only wheel offline here is a CUDA build that cannot
    load next to the CPU torch: its fake-kernel registrations are skipped (as export.py does)."""
    try:
        import torchvision  # noqa: F401
    except Exception:
        for name in list(sys.modules):
            if name == "torchvision" or name.startswith("torchvision."):
                del sys.modules[name]
        sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
    import transformers
    return transformers


def randomize(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Random values for every trained parameter (position tables keep their sin-cos values):
    N(0, 0.02) weights, small biases, LayerNorm weights near 1, so that every output depends on
    every tensor."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("pos_embed"):
                continue
            if name.endswith(".weight") and p.dim() == 1:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias") or p.dim() == 1:
                p.copy_(0.02 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.02 * torch.randn(p.shape, generator=g) * (4 if "token" in name else 1))
    return model


def ema_step(target: torch.nn.Module, other: torch.nn.Module, m: float = 0.9) -> None:
    """target <- m * target + (1 - m) * other: a target encoder that differs from the encoder."""
    with torch.no_grad():
        for pt, po in zip(target.parameters(), other.parameters()):
            if pt.requires_grad:
                pt.mul_(m).add_(po, alpha=1 - m)


def prefixed(sd, prefix):
    return {prefix + k: v for k, v in sd.items()}


def adamw_state(*models):
    """An AdamW state dict after one step with random gradients, as the training loops save it."""
    params = [p for m in models for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{"params": params}], lr=1e-3)
    g = torch.Generator().manual_seed(99)
    for p in params:
        p.grad = torch.randn(p.shape, generator=g) * 1e-3
    saved = [p.detach().clone() for p in params]
    opt.step()
    with torch.no_grad():  # keep the weights the fixture describes
        for p, s in zip(params, saved):
            p.copy_(s)
            p.grad = None
    return opt.state_dict()


# ---------------------------------------------------------------------------------------------
# facebookresearch layouts

TINY = dict(embed_dim=32, depth=2, num_heads=2)


def ijepa_checkpoint(path, crop=32, patch=8, pred_depth=2, pred_emb_dim=16, seed=1):
    """src/train.py save_checkpoint: DDP-wrapped encoder, predictor and target encoder."""
    torch.manual_seed(seed)
    size = (TINY["embed_dim"], TINY["depth"], TINY["num_heads"], 4.0)
    enc = randomize(ijepa.build_encoder(size, patch, crop), seed)
    target = copy.deepcopy(enc)
    ema_step(target, randomize(ijepa.build_encoder(size, patch, crop), seed + 100))
    pred = randomize(ijepa.build_predictor(enc, pred_depth, pred_emb_dim), seed + 1)
    torch.save({
        "encoder": prefixed(enc.state_dict(), "module."),
        "predictor": prefixed(pred.state_dict(), "module."),
        "target_encoder": prefixed(target.state_dict(), "module."),
        "opt": adamw_state(enc, pred),
        "scaler": None,
        "epoch": 3,
        "loss": 0.25,
        "batch_size": 2,
        "world_size": 1,
        "lr": 1e-3,
    }, path)
    return ["--embed-dim", "32", "--depth", "2", "--num-heads", "2"]


def video_checkpoint(path, family, crop=16, patch=4, frames=4, tubelet=2, pred_depth=2, pred_emb_dim=24,
                     num_mask_tokens=2, use_rope=False, seed=2):
    """app/vjepa/train.py save_checkpoint of facebookresearch/jepa (family 'vjepa') or vjepa2
    ('vjepa2'): encoder / target encoder in MultiMask (MultiSeq) wrappers and DDP, so every key
    starts with `module.backbone.`; the predictor likewise."""
    torch.manual_seed(seed)
    size = dict(embed_dim=48, depth=2, num_heads=2)  # head 24: RoPE rotates 3 x 8 of it
    mod = vjepa if family == "vjepa" else vjepa2
    extra = {"use_rope": use_rope} if family == "vjepa2" else {}

    def make():
        if family == "vjepa":
            return vjepa.VisionTransformer(img_size=crop, patch_size=patch, num_frames=frames, tubelet_size=tubelet,
                                           uniform_power=True, **size)
        return vjepa2.VisionTransformer(img_size=crop, patch_size=patch, num_frames=frames, tubelet_size=tubelet,
                                        uniform_power=True, **size, **extra)

    enc = randomize(make(), seed)
    target = copy.deepcopy(enc)
    ema_step(target, randomize(make(), seed + 100))
    pred = randomize(mod.build_predictor(enc, pred_depth, pred_emb_dim, uniform_power=True,
                                         num_mask_tokens=num_mask_tokens), seed + 1)
    torch.save({
        "encoder": prefixed(enc.state_dict(), "module.backbone."),
        "predictor": prefixed(pred.state_dict(), "module.backbone."),
        "opt": adamw_state(enc, pred),
        "scaler": None,
        "target_encoder": prefixed(target.state_dict(), "module.backbone."),
        "epoch": 5,
        "loss": 0.5,
        "batch_size": 2,
        "world_size": 1,
        "lr": 6e-4,
    }, path)
    flags = ["--embed-dim", "48", "--depth", "2", "--num-heads", "2", "--crop-size", str(crop),
             "--num-frames", str(frames)]
    if family == "vjepa2":  # V-JEPA 2 configs name the predictor's heads (pred_num_heads)
        flags += ["--use-rope" if use_rope else "--no-rope", "--pred-num-heads", "2"]
    return flags


def large_ijepa(path, model_name="vit_huge", patch=14, crop=224, pred_depth=12, pred_emb_dim=384, with_opt=True):
    """A full-size random I-JEPA training checkpoint (ViT-H/14: 632 M encoder parameters), in the
    layout of ijepa_checkpoint above (configs/in1k_vith14_ep300.yaml's sizes), without holding it all in memory: the encoder and
    predictor are saved once, then memory-mapped back (each mapping a storage of its own) to stand
    for the target encoder and AdamW's exp_avg / exp_avg_sq, and the whole dict is saved again.
    Returns the file's size in bytes and what it holds."""
    torch.manual_seed(0)
    enc = ijepa.build_encoder(ijepa.SIZES[model_name], patch, crop)
    pred = ijepa.build_predictor(enc, pred_depth, pred_emb_dim)
    part = path + ".part"
    torch.save({"encoder": prefixed(enc.state_dict(), "module."),
                "predictor": prefixed(pred.state_dict(), "module.")}, part)
    counts = {"encoder": sum(p.numel() for p in enc.parameters()), "predictor": sum(p.numel() for p in pred.parameters())}
    names = [n for n, p in enc.named_parameters() if p.requires_grad] + [n for n, p in pred.named_parameters()]
    del enc, pred

    def mapped():
        return torch.load(part, map_location="cpu", weights_only=True, mmap=True)

    base = mapped()
    ckpt = {"encoder": base["encoder"], "predictor": base["predictor"], "target_encoder": mapped()["encoder"],
            "scaler": None, "epoch": 300, "loss": 0.1, "batch_size": 2048, "world_size": 16, "lr": 1e-3}
    if with_opt:
        avg, sq = mapped(), mapped()
        flat = [("encoder", k) for k in avg["encoder"] if not k.endswith("pos_embed")] + \
               [("predictor", k) for k in avg["predictor"] if not k.endswith("pos_embed")]
        state = {i: {"step": torch.tensor(1000.0), "exp_avg": avg[part_][k], "exp_avg_sq": sq[part_][k]}
                 for i, (part_, k) in enumerate(flat)}
        ckpt["opt"] = {"state": state, "param_groups": [
            {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.04, "amsgrad": False,
             "params": list(range(len(flat)))}]}
        counts["opt"] = 2 * sum(avg[p][k].numel() for p, k in flat)
    torch.save(ckpt, path)
    del ckpt, base
    os.remove(part)
    counts["target_encoder"] = counts["encoder"]
    return {"bytes": os.path.getsize(path), "parameters": counts, "trainable": len(names)}


def hjepa_checkpoint(path, seed=11):
    """jonwiggins/H-JEPA src/utils/checkpoint.py save_checkpoint, as its trainer calls it: the model's
    state dict under model_state_dict (context_encoder.vit.*, target_encoder.vit.* of timm,
    predictor.*, hierarchy_projections.*), the optimizer, scheduler values, metrics, global_step."""
    import_transformers()  # the torchvision workaround, before timm
    from jepa_export.models.hjepa import HJEPA
    torch.manual_seed(seed)
    model = HJEPA(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, predictor_depth=2,
                  predictor_num_heads=2, num_hierarchies=3)
    randomize(model, seed)
    ema_step(model.target_encoder, randomize(copy.deepcopy(model.context_encoder), seed + 100), 0.5)
    torch.save({
        "epoch": 4,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": adamw_state(model.context_encoder, model.predictor, model.hierarchy_projections),
        "scheduler_state_dict": {"lr": 1.5e-4, "ema_momentum": 0.9965},
        "metrics": {"epoch": 4.0, "val_loss": 0.75},
        "best_metric": 0.75,
        "global_step": 4000,
    }, path)
    return ["--num-heads", "2", "--predictor-num-heads", "2"]


# ---------------------------------------------------------------------------------------------
# Hugging Face folders: transformers' own classes from small configs

def as_pytorch_bin(folder):
    """transformers 5 always writes model.safetensors: turn the folder into the older
    pytorch_model.bin form (the same on-disk names, torch.save'd)."""
    from safetensors.torch import load_file
    path = os.path.join(folder, "model.safetensors")
    torch.save(load_file(path), os.path.join(folder, "pytorch_model.bin"))
    os.remove(path)


def hf_ijepa(folder, seed=5, bin_format=False):
    transformers = import_transformers()
    torch.manual_seed(seed)
    cfg = transformers.IJepaConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2,
                                   num_attention_heads=2, intermediate_size=80, layer_norm_eps=1e-6)
    model = transformers.IJepaModel(cfg, add_pooling_layer=False).eval()
    randomize(model, seed)
    model.save_pretrained(folder)
    if bin_format:
        as_pytorch_bin(folder)
    return []


def hf_vjepa2(folder, seed=6):
    transformers = import_transformers()
    torch.manual_seed(seed)
    cfg = transformers.VJEPA2Config(patch_size=4, crop_size=16, frames_per_clip=4, tubelet_size=2, hidden_size=48,
                                    num_attention_heads=2, num_hidden_layers=2, mlp_ratio=4.0, pred_hidden_size=24,
                                    pred_num_attention_heads=2, pred_num_hidden_layers=2, pred_num_mask_tokens=3)
    model = transformers.VJEPA2Model(cfg).eval()
    randomize(model, seed)
    model.save_pretrained(folder)
    return []


def clip_vision(folder, seed=7, full_model=False):
    transformers = import_transformers()
    torch.manual_seed(seed)
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=32,
                  patch_size=8)
    if full_model:  # a CLIPModel folder (openai/clip-vit-*): text tower, projections and logit scale too
        cfg = transformers.CLIPConfig(
            vision_config=vision, projection_dim=16,
            text_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                             vocab_size=99, max_position_embeddings=16))
        model = transformers.CLIPModel(cfg).eval()
    else:
        model = transformers.CLIPVisionModelWithProjection(
            transformers.CLIPVisionConfig(projection_dim=16, **vision)).eval()
    randomize(model, seed)
    model.save_pretrained(folder)
    return []


def minilm(folder, seed=8):
    """A sentence-transformers folder as SentenceTransformer.save() writes it for
    all-MiniLM-L6-v2: Transformer (BertModel, tokenizer) -> Pooling(mean) -> Normalize."""
    transformers = import_transformers()
    from sentence_transformers import SentenceTransformer, models
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    torch.manual_seed(seed)
    words = ("a dog cat bridge person hanging on the cable photo of two cats playing together sunset over "
             "ocean walking in park persons and").split()
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(words)) +
                                        ["##s", "##ing", "##ed"])}
    tok = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
                                                       special_tokens=[("[CLS]", vocab["[CLS]"]),
                                                                       ("[SEP]", vocab["[SEP]"])])
    raw = os.path.join(folder + ".bert")
    os.makedirs(raw, exist_ok=True)
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                                cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                                model_max_length=32)
    fast.save_pretrained(raw)
    bert = transformers.BertModel(transformers.BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                                                          num_attention_heads=2, intermediate_size=64,
                                                          max_position_embeddings=32), add_pooling_layer=True)
    randomize(bert, seed)
    bert.save_pretrained(raw)
    word = models.Transformer(raw, max_seq_length=24)
    model = SentenceTransformer(modules=[word, models.Pooling(word.get_word_embedding_dimension(), "mean"),
                                         models.Normalize()])
    model.save(folder)
    import shutil
    shutil.rmtree(raw)
    return []


# ---------------------------------------------------------------------------------------------

MAKERS = {
    "ijepa": lambda d: ("ckpt.pth.tar", ijepa_checkpoint),
    "vjepa": lambda d: ("ckpt.pth.tar", lambda p: video_checkpoint(p, "vjepa", seed=2)),
    "vjepa2": lambda d: ("ckpt.pt", lambda p: video_checkpoint(p, "vjepa2", use_rope=True, num_mask_tokens=3, seed=3)),
    "vjepa2-sincos": lambda d: ("ckpt.pt", lambda p: video_checkpoint(p, "vjepa2", use_rope=False, seed=4)),
    "hjepa": lambda d: ("checkpoint_epoch_0004.pth", hjepa_checkpoint),
    "hf-ijepa": lambda d: ("model", hf_ijepa),
    "hf-ijepa-bin": lambda d: ("model", lambda p: hf_ijepa(p, bin_format=True)),
    "hf-vjepa2": lambda d: ("model", hf_vjepa2),
    "clip-vision": lambda d: ("model", clip_vision),
    "clip-full": lambda d: ("model", lambda p: clip_vision(p, full_model=True)),
    "minilm": lambda d: ("model", minilm),
}


def make(out, only=None):
    manifest = {}
    for name, spec in MAKERS.items():
        if only and name not in only:
            continue
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        file, fn = spec(folder)
        path = os.path.join(folder, file)
        flags = fn(path)
        manifest[name] = {"input": path, "flags": flags}
    return manifest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--only", help="comma-separated sources")
    ap.add_argument("--large", metavar="FILE", help="instead: a random ViT-H/14 I-JEPA training checkpoint at OUT/FILE")
    ap.add_argument("--no-opt", action="store_true", help="with --large: without the optimizer state")
    args = ap.parse_args()
    if args.large:
        os.makedirs(args.out, exist_ok=True)
        print(json.dumps(large_ijepa(os.path.join(args.out, args.large), with_opt=not args.no_opt)))
        return
    print(json.dumps(make(args.out, set(args.only.split(",")) if args.only else None)))


if __name__ == "__main__":
    main()
