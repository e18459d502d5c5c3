"""Reading checkpoints and fitting their state dicts to a model.

Every `.pt` / `.pth` / `.pth.tar` is read with `torch.load(weights_only=True)` (a file that holds
anything else is refused: no checkpoint's code ever runs) and memory-mapped (`mmap=True`), so that
the optimizer state and the parts not exported are never read into memory. Models are built on
the meta device and take the checkpoint's tensors themselves (`load_state_dict(assign=True)`):
converting a model costs about one copy of the part being exported, not of the whole file.
"""
import os
import pickle
from typing import Dict, Iterable, List, Optional, Tuple

import torch

from .errors import ExportError

# Leading wrappers of training code: DDP (`module.`), the MultiMask / MultiSeq wrappers of
# facebookresearch/jepa and vjepa2 (`backbone.`), torch.compile (`_orig_mod.`).
WRAPPER_PREFIXES = ("module.", "backbone.", "_orig_mod.")
REPORT_FIRST = 10


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:  # torch's refusal names the global on a line of its own
        if "Unsupported global" in line or "GLOBAL" in line or "Unsupported operand" in line:
            return line
    return lines[0] if lines else type(e).__name__


def check_file(path: str, what: str) -> None:
    if not os.path.exists(path):
        raise ExportError(f"no such file: {path} (expected {what})")
    if os.path.isdir(path):
        raise ExportError(f"{path} is a folder, expected {what}")


def load_torch_file(path: str, what: str = "a checkpoint written by torch.save"):
    """torch.load(path, map_location='cpu', weights_only=True, mmap=True); files of the legacy
    (pre-zip) format cannot be mapped and are read whole."""
    check_file(path, what)
    try:
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as e:
            if "mmap" not in str(e) and "zipfile" not in str(e):
                raise
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise ExportError(
            f"torch.load(weights_only=True) refuses {path}: {_first_line(e).rstrip('.')}. The file holds Python objects "
            "other than tensors and plain containers, and loading it would run their code; jepa-native reads "
            "only what weights_only=True allows. Re-save the state dicts alone, e.g. "
            "torch.save({k: v for k, v in ckpt.items() if k in ('encoder', 'predictor', 'target_encoder')}, f), "
            "from a Python session that trusts the file.") from None
    except ExportError:
        raise
    except Exception as e:
        raise ExportError(f"cannot read {path} as {what}: {_first_line(e)}") from None


def load_safetensors(path: str) -> Dict[str, torch.Tensor]:
    check_file(path, "a safetensors file")
    from safetensors import safe_open
    try:
        out = {}
        with safe_open(path, framework="pt", device="cpu") as f:
            for k in f.keys():
                out[k] = f.get_tensor(k)
        return out
    except Exception as e:
        raise ExportError(f"cannot read {path} as safetensors: {_first_line(e)}") from None


def strip_wrappers(sd: Dict[str, torch.Tensor], prefixes=WRAPPER_PREFIXES) -> Dict[str, torch.Tensor]:
    """Removes the training wrappers' leading prefixes from every key (a new dict, same tensors)."""
    out = {}
    for k, v in sd.items():
        changed = True
        while changed:
            changed = False
            for p in prefixes:
                if k.startswith(p):
                    k = k[len(p):]
                    changed = True
        out[k] = v
    return out


def get_entry(ckpt, key: str, path: str, what: str):
    """ckpt[key], a state dict; a clear error when the checkpoint has no such entry."""
    if not isinstance(ckpt, dict):
        raise ExportError(f"{path} holds a {type(ckpt).__name__}, expected {what}")
    if key not in ckpt:
        keys = ", ".join(repr(k) for k in list(ckpt.keys())[:20])
        raise ExportError(f"{path} has no {key!r} entry (its top-level keys: {keys}); expected {what}")
    sd = ckpt[key]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise ExportError(f"{path}[{key!r}] is not a state dict of tensors")
    return sd


def _listing(items: List[str]) -> str:
    shown = items[:REPORT_FIRST]
    more = f", ... ({len(items) - REPORT_FIRST} more)" if len(items) > REPORT_FIRST else ""
    return ", ".join(shown) + more


def key_report(model: torch.nn.Module, sd: Dict[str, torch.Tensor]) -> Tuple[List[str], List[str], List[str]]:
    """(missing keys, unexpected keys, shape mismatches 'key: checkpoint [..] vs model [..]')."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    mismatched = [f"{k}: checkpoint {list(sd[k].shape)}, model {list(expected[k].shape)}"
                  for k in expected if k in sd and tuple(sd[k].shape) != tuple(expected[k].shape)]
    return missing, unexpected, mismatched


def fit(model: torch.nn.Module, sd: Dict[str, torch.Tensor], what: str, architecture: str,
        ignore: Iterable[str] = ()) -> List[str]:
    """Loads `sd` into `model` (built on the meta device) with strict=True and assign=True: the
    model's tensors become the checkpoint's. Keys in `ignore` are dropped first (returned, for the
    summary). A state dict that does not fit raises ExportError listing the first 10 missing
    keys, unexpected keys and shape mismatches, with their counts."""
    ignored = [k for k in sd if k in set(ignore)]
    sd = {k: v for k, v in sd.items() if k not in set(ignore)}
    missing, unexpected, mismatched = key_report(model, sd)
    if missing or unexpected or mismatched:
        lines = [f"the {what} does not fit {architecture}:"]
        lines.append(f"  missing keys: {len(missing)}" + (f" ({_listing(missing)})" if missing else ""))
        lines.append(f"  unexpected keys: {len(unexpected)}" + (f" ({_listing(unexpected)})" if unexpected else ""))
        lines.append(f"  shape mismatches: {len(mismatched)}" + (f" ({_listing(mismatched)})" if mismatched else ""))
        lines.append("  (check the architecture options: --model-name, --patch-size, --crop-size, ... or --config)")
        raise ExportError("\n".join(lines))
    model.load_state_dict(sd, strict=True, assign=True)
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        if t.device.type == "meta":
            raise ExportError(f"internal error: {name} of the {what} was not loaded")
    return ignored


def meta_build(fn, *args, **kw):
    """Builds a model on the meta device (no memory, no initialisation work)."""
    with torch.device("meta"):
        return fn(*args, **kw)


def cast(model: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    """Floating-point parameters and buffers to `dtype` (no copy for those already in it)."""
    for module in model.modules():
        for name, p in list(module._parameters.items()):
            if p is not None and p.is_floating_point() and p.dtype != dtype:
                module._parameters[name] = torch.nn.Parameter(p.detach().to(dtype), requires_grad=p.requires_grad)
        for name, b in list(module._buffers.items()):
            if b is not None and b.is_floating_point() and b.dtype != dtype:
                module._buffers[name] = b.to(dtype)
    return model


def param_count(sd: Dict[str, torch.Tensor]) -> int:
    return sum(int(v.numel()) for v in sd.values())


def first_tensor_dtype(sd: Dict[str, torch.Tensor]) -> Optional[torch.dtype]:
    for v in sd.values():
        if v.is_floating_point():
            return v.dtype
    return None
