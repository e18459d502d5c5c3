"""`module`: any nn.Module class of the user's with its checkpoint, e.g. seed 003's motion
autoencoder (whose code is not public: its users bring their own):

    jepa-native export module ckpt.pt OUTDIR --class mypkg.model:MotionFeatureAutoencoder \\
        --init-args '{"input_dim": 768, "latent_dim": 192}' --kind motion-autoencoder

The class is imported (from the current folder or --path) and built with --init-args (a JSON
object of keyword arguments, or a list of positional ones); the checkpoint is read with
torch.load(weights_only=True), its state dict found (the file itself, or --key, or one of
model_state_dict / state_dict / model / module) and loaded with strict=True; the module is
compiled with torch.jit.script and checked against the contract of --kind: the methods and
parameters that jepa-native's class for that kind reads (lib/jepa.ts, lib/models/encoders.ts).
"""
import importlib
import json
import os
import shutil
import sys

import torch

from ..checkpoint import fit, get_entry, load_torch_file, strip_wrappers
from ..errors import ExportError, UsageError
from ..output import base_info
from .common import dtype_of, export_module

NAME = "module"
STATE_KEYS = ("model_state_dict", "state_dict", "model", "module")

# What the Node class of each kind reads from the module (keep in step with lib/jepa.ts and
# lib/models/encoders.ts; test/export.test.mjs loads an export of each kind with its class).
CONTRACTS = {
    "motion-autoencoder": {"methods": ["forward", "encode", "decode"],
                           "parameters": ["encoder.out_proj.weight", "decoder.out_proj.weight", "encoder.time_embed"]},
    "vl-predictor": {"methods": ["forward"], "parameters": ["net.0.weight", "net.2.weight"]},
    "hjepa": {"methods": ["forward", "extract_features", "num_levels"],
              "parameters": ["context_encoder.vit.patch_embed.proj.weight", "context_encoder.vit.pos_embed"]},
    "image-encoder": {"methods": ["forward", "input_shape"], "parameters": []},
    "text-encoder": {"methods": ["forward"], "parameters": []},
    "module": {"methods": ["forward"], "parameters": []},
}


def add_arguments(p):
    p.add_argument("--class", dest="cls", required=True, metavar="MODULE:CLASS",
                   help="the nn.Module class, e.g. mypkg.model:MotionFeatureAutoencoder")
    p.add_argument("--init-args", default="{}", help="JSON: keyword arguments (an object) or positional ones (a list)")
    p.add_argument("--kind", required=True, choices=sorted(CONTRACTS),
                   help="what the module is: its contract is checked and jepa.json says which class loads it")
    p.add_argument("--checkpoint", help="the checkpoint (instead of INPUT: export module --checkpoint f.pt OUTDIR)")
    p.add_argument("--key", help="the checkpoint entry holding the state dict (default: the file itself, or "
                                 "model_state_dict / state_dict / model / module)")
    p.add_argument("--path", action="append", default=[], help="a folder to import the class from (repeatable)")
    p.add_argument("--tokenizer", help="text-encoder: the tokenizer.json to copy beside the module")


def normalize_args(args):
    """`export module --checkpoint f.pt OUTDIR` is `export module f.pt OUTDIR`."""
    if args.checkpoint:
        if args.outdir is not None:
            raise UsageError("give the checkpoint once: as INPUT or as --checkpoint")
        args.outdir, args.input = args.input, args.checkpoint
    if args.outdir is None:
        raise UsageError("expected INPUT and OUTDIR")


def import_class(spec: str, paths):
    if ":" not in spec:
        raise UsageError(f"--class {spec!r}: expected MODULE:CLASS, e.g. mypkg.model:MotionFeatureAutoencoder")
    mod_name, cls_name = spec.split(":", 1)
    for p in reversed(paths + [os.getcwd()]):
        if p not in sys.path:
            sys.path.insert(0, p)
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as e:
        raise ExportError(f"--class {spec}: cannot import {mod_name} ({e}); run from the folder that holds it or "
                          "pass --path") from None
    cls = getattr(mod, cls_name, None)
    if cls is None or not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise ExportError(f"--class {spec}: {mod_name} has no nn.Module subclass {cls_name}")
    return cls


def state_dict_of(ckpt, path, key):
    if key:
        return get_entry(ckpt, key, path, f"a checkpoint with {key!r}")
    if isinstance(ckpt, dict) and ckpt and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
        return ckpt
    for k in STATE_KEYS:
        if isinstance(ckpt, dict) and isinstance(ckpt.get(k), dict):
            return get_entry(ckpt, k, path, "a state dict")
    keys = ", ".join(repr(k) for k in ckpt) if isinstance(ckpt, dict) else type(ckpt).__name__
    raise ExportError(f"{path} is neither a state dict nor holds one under {', '.join(STATE_KEYS)} (it holds {keys}): "
                      "name the entry with --key")


def check_contract(scripted, kind, what):
    contract = CONTRACTS[kind]
    methods = [m for m in contract["methods"] if not hasattr(scripted, m)]
    params = dict(scripted.named_parameters())
    params.update(dict(scripted.named_buffers()))
    missing = [p for p in contract["parameters"] if p not in params]
    if methods or missing:
        parts = []
        if methods:
            parts.append(f"no method {', '.join(methods)} (exported with @torch.jit.export)")
        if missing:
            parts.append(f"no parameter {', '.join(missing)}")
        raise ExportError(f"the {what} does not meet the {kind} contract: it has {'; '.join(parts)}. jepa-native's class "
                          f"for {kind} reads {', '.join(contract['methods'] + contract['parameters'])}")


def export(args, out):
    cls = import_class(args.cls, args.path)
    try:
        init = json.loads(args.init_args)
    except json.JSONDecodeError as e:
        raise UsageError(f"--init-args is not JSON: {e}") from None
    try:
        model = cls(*init) if isinstance(init, list) else cls(**init)
    except Exception as e:
        raise ExportError(f"{args.cls}({args.init_args}) failed: {type(e).__name__}: {e}") from None
    ckpt = load_torch_file(args.input, "a checkpoint (torch.save of a state dict)")
    # DDP's and torch.compile's prefixes only: a user module may well have a `backbone`.
    sd = strip_wrappers(state_dict_of(ckpt, args.input, args.key), ("module.", "_orig_mod."))
    fit(model, sd, f"state dict of {args.input}", f"{args.cls}({args.init_args})")
    dtype = dtype_of(args)
    what = f"{args.cls} module"
    try:
        scripted = torch.jit.script(model.eval())
    except Exception as e:
        raise ExportError(f"TorchScript cannot compile {args.cls}: {str(e).strip().splitlines()[0]}") from None
    check_contract(scripted, args.kind, what)
    files = {"model": "model.pt"}
    if args.kind in ("image-encoder", "text-encoder"):
        files = {"encoder": "model.pt"}
    checks = {"model": export_module(out, "model.pt", model, dtype, what, lambda m: [], args.verify)}
    if args.kind == "text-encoder":
        if not args.tokenizer:
            raise UsageError("--kind text-encoder needs --tokenizer tokenizer.json")
        shutil.copyfile(args.tokenizer, out.path("tokenizer.json"))
        files["tokenizer"] = "tokenizer.json"
    info = base_info(NAME, args.kind, files, args.dtype)
    info["architecture"] = {"name": args.cls, "initArgs": init}
    return info, {"checks": checks, "notes": []}
