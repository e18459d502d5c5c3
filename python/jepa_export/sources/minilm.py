"""`minilm`: a sentence-transformers folder of the all-MiniLM-L6-v2 kind (modules.json:
Transformer over a BertModel, Pooling, optional Normalize; tokenizer.json), exported as a text
encoder: forward(input_ids [B, L], attention_mask [B, L], token_type_ids=None) -> [B, hidden]
(the pooled, normalised sentence embedding of SentenceTransformer.encode). tokenizer.json is copied
beside it, for tokenising in Node (@huggingface/tokenizers). See models/bert.py."""
import json
import os
import shutil

import torch

from ..errors import ExportError
from ..models.bert import SentenceEncoder
from ..output import base_info
from .common import dtype_of, export_module, fitted
from .hf import read_folder

NAME = "minilm"
LEGACY_POOLING = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls", "pooling_mode_max_tokens": "max"}


def add_arguments(p):
    pass


def _json(path, default=None):
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)


def read_modules(folder):
    """(path of the Transformer module, pooling mode, normalize) from modules.json."""
    modules = _json(os.path.join(folder, "modules.json"))
    if not isinstance(modules, list):
        raise ExportError(f"{folder} has no modules.json: expected a folder written by SentenceTransformer.save()")
    kinds = [(m.get("type", "").rsplit(".", 1)[-1], m.get("path", "")) for m in modules]
    names = [k for k, _ in kinds]
    if names[:1] != ["Transformer"] or "Pooling" not in names or any(
            k not in ("Transformer", "Pooling", "Normalize") for k in names):
        raise ExportError(f"{folder}/modules.json lists {', '.join(names)}: supported is Transformer, Pooling and an "
                          "optional Normalize (the all-MiniLM-L6-v2 layout)")
    pooling_cfg = _json(os.path.join(folder, dict(kinds)["Pooling"], "config.json"), {})
    mode = pooling_cfg.get("pooling_mode")
    if mode is None:
        modes = [m for key, m in LEGACY_POOLING.items() if pooling_cfg.get(key)]
        others = [k for k, v in pooling_cfg.items() if k.startswith("pooling_mode_") and v and k not in LEGACY_POOLING]
        if others or len(modes) > 1:
            raise ExportError(f"pooling {', '.join(others + modes)} is not supported (supported: mean, cls, max)")
        mode = modes[0] if modes else "mean"
    if isinstance(mode, list):
        if len(mode) != 1:
            raise ExportError(f"pooling {mode} is not supported (one of mean, cls, max)")
        mode = mode[0]
    return os.path.join(folder, dict(kinds)["Transformer"]), mode, "Normalize" in names


def export(args, out):
    transformer_dir, pooling, normalize = read_modules(args.input)
    cfg, sd = read_folder(transformer_dir, ("bert",))
    sd = {k[len("bert."):] if k.startswith("bert.") else k: v for k, v in sd.items()}
    ignored = sorted(k for k in sd if k.startswith("pooler.") or k in ("embeddings.position_ids",
                                                                        "embeddings.token_type_ids"))
    for k in ignored:
        sd.pop(k)
    tokenizer = os.path.join(transformer_dir, "tokenizer.json")
    if not os.path.exists(tokenizer):
        raise ExportError(f"{transformer_dir} has no tokenizer.json (the fast tokenizer file Node tokenises with)")
    st_cfg = _json(os.path.join(transformer_dir, "sentence_bert_config.json"), {})
    tok_cfg = _json(os.path.join(transformer_dir, "tokenizer_config.json"), {})
    max_positions = cfg.get("max_position_embeddings", 512)
    max_length = st_cfg.get("max_seq_length") or tok_cfg.get("model_max_length") or max_positions
    max_length = int(min(max_length, max_positions))
    dim, depth, heads = cfg.get("hidden_size", 384), cfg.get("num_hidden_layers", 6), cfg.get("num_attention_heads", 12)

    def make():
        return SentenceEncoder(cfg.get("vocab_size", 30522), dim, depth, heads, cfg.get("intermediate_size", 1536),
                               max_positions, cfg.get("type_vocab_size", 2), act=cfg.get("hidden_act", "gelu"),
                               eps=cfg.get("layer_norm_eps", 1e-12), pooling=pooling, normalize=normalize)

    label = f"BertModel ({dim} wide, {depth} layers, {heads} heads)"
    model = fitted(make, sd, f"BERT model of {args.input}", label)
    dtype = dtype_of(args)
    ids = torch.randint(0, cfg.get("vocab_size", 30522), (2, 7), generator=torch.Generator().manual_seed(0))
    mask = torch.ones(2, 7, dtype=torch.long)
    mask[1, 4:] = 0
    checks = {"encoder": export_module(out, "text_encoder.pt", model, dtype, "text encoder",
                                       lambda m: [(ids, mask)], args.verify)}
    shutil.copyfile(tokenizer, out.path("tokenizer.json"))
    info = base_info(NAME, "text-encoder", {"encoder": "text_encoder.pt", "tokenizer": "tokenizer.json"}, args.dtype)
    info["architecture"] = {"name": "BertModel", "embedDim": dim, "depth": depth, "numHeads": heads,
                            "vocabSize": cfg.get("vocab_size", 30522), "maxPositionEmbeddings": max_positions}
    info["input"] = {"modality": "text", "maxLength": max_length, "padTokenId": cfg.get("pad_token_id", 0),
                     "padToken": tok_cfg.get("pad_token", "[PAD]")}
    info["embedDim"] = dim
    info["output"] = {"dim": dim, "pooling": pooling, "normalized": normalize}
    info["preprocess"] = None
    return info, {"checks": checks, "notes": [], "ignoredKeys": ignored}
