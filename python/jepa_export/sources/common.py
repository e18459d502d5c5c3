"""Pieces shared by the sources: config files, shape inference, the JEPA folder writer."""
import math
import re
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch

from ..checkpoint import cast, fit, meta_build
from ..errors import ExportError, UsageError, require
from ..output import DTYPES, OutputFolder, script_and_save

JEPA_FILES = {"contextEncoder": "context_encoder.pt", "targetEncoder": "target_encoder.pt",
              "predictor": "predictor.pt"}


def load_yaml(path: Optional[str]) -> Dict[str, Any]:
    if not path:
        return {}
    yaml = require("yaml", "pyyaml", "reading --config")
    try:
        with open(path) as f:
            cfg = yaml.safe_load(f)
    except FileNotFoundError:
        raise UsageError(f"no such config file: {path}") from None
    except Exception as e:
        raise UsageError(f"cannot read {path} as YAML: {e}") from None
    if not isinstance(cfg, dict):
        raise UsageError(f"{path} is not a YAML mapping")
    return cfg


def section(cfg: Dict[str, Any], name: str) -> Dict[str, Any]:
    value = cfg.get(name) or {}
    return value if isinstance(value, dict) else {}


def pick(*values):
    """The first value that is not None."""
    for v in values:
        if v is not None:
            return v
    return None


def count_indexed(sd: Dict[str, torch.Tensor], prefix: str) -> int:
    """Number of distinct N in keys `prefix.N` and `prefix.N.*`."""
    pattern = re.compile(re.escape(prefix) + r"\.(\d+)(\.|$)")
    found = {int(m.group(1)) for k in sd for m in [pattern.match(k)] if m}
    return max(found) + 1 if found else 0


def name_for(sizes: Dict[str, tuple], embed_dim: int, depth: int, what: str) -> str:
    names = [n for n, s in sizes.items() if s[0] == embed_dim and s[1] == depth]
    if len(names) == 1:
        return names[0]
    if not names:
        raise UsageError(f"the {what} is {embed_dim} wide with {depth} blocks, which matches none of "
                         f"{', '.join(sizes)}: pass --model-name")
    raise UsageError(f"the {what} is {embed_dim} wide with {depth} blocks, which fits {' and '.join(names)} "
                     f"(they differ in the number of heads): pass --model-name")


def isqrt_exact(n: int) -> Optional[int]:
    r = int(math.isqrt(n))
    return r if r * r == n else None


def dtype_of(args) -> torch.dtype:
    return DTYPES[args.dtype]


def tolerance_of(dtype: torch.dtype) -> float:
    # float16 / bfloat16 keep 11 / 8 significant bits; a TorchScript and an eager run of the same
    # reduced-precision model agree far better than that, the bound only catches real differences.
    return 1e-5 if dtype == torch.float32 else 2e-2


def export_module(out: OutputFolder, name: str, model: torch.nn.Module, dtype: torch.dtype, what: str,
                  checks: Callable[[torch.nn.Module], Sequence[Sequence[Any]]], verify: bool) -> Dict[str, Any]:
    """Casts, scripts and writes one module; `checks(model)` gives the verification inputs."""
    cast(model, dtype)
    model.eval()
    return script_and_save(model, out.path(name), what, checks(model) if verify else (), tolerance_of(dtype))


def fitted(builder: Callable[[], torch.nn.Module], sd: Dict[str, torch.Tensor], what: str, arch: str,
           ignore=()) -> torch.nn.Module:
    model = meta_build(builder)
    fit(model, sd, what, arch, ignore)
    return model


def keep_masks(num_patches: int, batch: int, seed: int = 0):
    """A context keep-mask (about half the patches) and two target masks for the self-check."""
    g = torch.Generator().manual_seed(seed)
    ctx, t1, t2 = [], [], []
    keep = max(1, num_patches // 2)
    k = max(1, min(3, (num_patches - keep) // 2))
    for _ in range(batch):
        perm = torch.randperm(num_patches, generator=g)
        ctx.append(perm[:keep].sort().values)
        t1.append(perm[keep:keep + k].sort().values)
        t2.append(perm[keep + k:keep + 2 * k].sort().values)
    return [torch.stack(ctx)], [torch.stack(t1)], [torch.stack(t2)]


def require_arg(value, flag: str, why: str):
    if value is None:
        raise UsageError(f"{why}: pass {flag} (or --config)")
    return value


def describe(shape: List[int]) -> str:
    return "x".join(str(s) for s in shape)


def add_size_arguments(p, sizes):
    p.add_argument("--model-name", choices=sorted(sizes), help="model.model_name / meta.model_name "
                                                               "(default: from the checkpoint's shapes)")
    g = p.add_argument_group("sizes outside the vit_* table (override --model-name)")
    g.add_argument("--embed-dim", type=int)
    g.add_argument("--depth", type=int)
    g.add_argument("--num-heads", type=int)
    g.add_argument("--mlp-ratio", type=float)


def resolve_size(args, sizes, config_name, embed_dim, depth, what):
    """(name, embed_dim, depth, num_heads, mlp_ratio, extra...) from --model-name, the config's
    model name, the checkpoint's width and depth, and the size flags (which win)."""
    name = args.model_name or config_name
    if name is not None and name not in sizes:
        raise UsageError(f"unknown model name {name!r} (known: {', '.join(sorted(sizes))})")
    if name is None and args.num_heads is None:
        name = name_for(sizes, embed_dim, depth, what)
    base = list(sizes[name]) if name else [embed_dim, depth, args.num_heads, 4.0] + list(
        next(iter(sizes.values()))[4:])
    for i, flag in enumerate([args.embed_dim, args.depth, args.num_heads, args.mlp_ratio]):
        if flag is not None:
            base[i] = flag
    custom = any(f is not None for f in [args.embed_dim, args.depth, args.num_heads, args.mlp_ratio])
    return [("custom" if custom or not name else name)] + base


def export_jepa_modules(args, out, make_encoder, make_predictor, enc_sd, tgt_sd, pred_sd, label, pred_label, x,
                        mask_index_checks=False, ignore=()):
    """Writes the encoder, target encoder and predictor of a JEPA model; returns (files, checks,
    ignored keys). A checkpoint without a target encoder (`tgt_sd is enc_sd`) gives one
    `encoder.pt` that jepa.json names for both. `x` is the self-check input (one sample)."""
    dtype = dtype_of(args)
    n_check = None
    checks, files, ignored, ctx = {}, {}, set(), None
    roles = [("contextEncoder", enc_sd, "encoder"), ("targetEncoder", tgt_sd, "target encoder")]
    if tgt_sd is enc_sd:
        roles = [("contextEncoder", enc_sd, "encoder")]
    for key, sd, role in roles:
        model = cast(fitted(make_encoder, sd, f"{role} of {args.input}", label, ignore), dtype)
        ignored.update(k for k in sd if k in set(ignore))
        if n_check is None:
            with torch.no_grad():
                n_check = int(model(x).shape[1]) if args.verify else 1
            ctx_masks, tgt1, tgt2 = keep_masks(n_check, x.shape[0])
        name = JEPA_FILES[key] if len(roles) == 2 else "encoder.pt"
        checks[key] = export_module(out, name, model, dtype, role, lambda m: [(x,), (x, ctx_masks)], args.verify)
        files[key] = name
        if key == "contextEncoder" and args.verify:
            with torch.no_grad():
                ctx = model(x, ctx_masks)
        del model
    if len(roles) == 1:
        files["targetEncoder"] = files["contextEncoder"]
    if pred_sd is not None:
        predictor = fitted(make_predictor, pred_sd, f"predictor of {args.input}", pred_label, ignore)
        ignored.update(k for k in pred_sd if k in set(ignore))
        calls = [(ctx, ctx_masks, tgt1 + tgt2)]
        if mask_index_checks:
            calls = [(ctx, ctx_masks, tgt1), (ctx, ctx_masks, tgt2, 0), (ctx, ctx_masks, tgt2, -1)]
        checks["predictor"] = export_module(out, JEPA_FILES["predictor"], predictor, dtype, "predictor",
                                            lambda m: calls, args.verify)
        files["predictor"] = JEPA_FILES["predictor"]
    return files, checks, sorted(ignored)
