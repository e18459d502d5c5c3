"""The output folder: TorchScript files and jepa.json, written into a hidden sibling folder and
renamed into place at the end, so that OUTDIR appears complete or not at all (a crash, a kill or
an error leaves at most the hidden `.NAME.partial-*` folder, never a half-written OUTDIR)."""
import json
import os
import platform
import secrets
import shutil
import signal
from typing import Any, Dict, List, Optional, Sequence

import torch

from . import FORMAT, FORMAT_VERSION
from .errors import ExportError, UsageError

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class OutputFolder:
    def __init__(self, outdir: str, overwrite: bool = False):
        self.outdir = os.path.abspath(outdir)
        parent, name = os.path.split(self.outdir)
        if not name:
            raise UsageError(f"bad output folder {outdir!r}")
        if os.path.exists(self.outdir) and not overwrite:
            raise UsageError(f"{outdir} already exists: choose a new folder, or pass --overwrite to replace it")
        if os.path.exists(self.outdir) and not os.path.isdir(self.outdir):
            raise UsageError(f"{outdir} exists and is not a folder")
        if os.path.exists(parent) and not os.path.isdir(parent):
            raise UsageError(f"the parent of {outdir} is not a folder")
        os.makedirs(parent, exist_ok=True)  # as mkdir -p: only OUTDIR itself is all-or-nothing
        self.tmp = os.path.join(parent, f".{name}.partial-{os.getpid()}-{secrets.token_hex(4)}")
        os.mkdir(self.tmp)
        self.files: List[str] = []
        self._old_handlers = {}
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            try:
                self._old_handlers[sig] = signal.signal(sig, self._on_signal)
            except (ValueError, OSError):  # not the main thread, or not supported here
                pass

    def _on_signal(self, signum, frame):
        raise SystemExit(128 + signum)

    def path(self, name: str) -> str:
        self.files.append(name)
        return os.path.join(self.tmp, name)

    def commit(self, info: Dict[str, Any]) -> None:
        with open(os.path.join(self.tmp, "jepa.json"), "w") as f:
            json.dump(info, f, indent=2)
            f.write("\n")
        old = None
        if os.path.exists(self.outdir):  # --overwrite: the old folder is swapped out, removed last
            parent, name = os.path.split(self.tmp)
            old = os.path.join(parent, name.replace(".partial-", ".old-", 1))
            os.rename(self.outdir, old)
        try:
            os.rename(self.tmp, self.outdir)
        except OSError:
            if old:
                os.rename(old, self.outdir)  # the old folder stays as it was
            raise
        if old:
            shutil.rmtree(old, ignore_errors=True)
        self._restore()

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
        self._restore()

    def _restore(self):
        for sig, handler in self._old_handlers.items():
            try:
                signal.signal(sig, handler)
            except (ValueError, OSError):
                pass
        self._old_handlers = {}


def _max_rel_diff(a, b) -> float:
    if isinstance(a, torch.Tensor):
        a32, b32 = a.detach().float(), b.detach().float()
        scale = max(float(a32.abs().max()) if a32.numel() else 0.0, 1e-30)
        return float((a32 - b32).abs().max()) / scale if a32.numel() else 0.0
    if isinstance(a, (list, tuple)):
        return max([_max_rel_diff(x, y) for x, y in zip(a, b)] or [0.0])
    if isinstance(a, dict):
        return max([_max_rel_diff(a[k], b[k]) for k in a] or [0.0])
    return 0.0 if a == b else float("inf")


def script_and_save(model: torch.nn.Module, path: str, what: str, checks: Sequence[Sequence[Any]] = (),
                    tolerance: float = 1e-5) -> Dict[str, Any]:
    """torch.jit.script(model) saved to `path`. Each entry of `checks` is the arguments of one
    forward call: the scripted module must give the eager model's result (relative max difference
    within `tolerance`), else the export stops (a TorchScript difference is a bug of ours)."""
    model.eval()
    try:
        scripted = torch.jit.script(model)
    except Exception as e:
        raise ExportError(f"TorchScript cannot compile the {what}: {str(e).strip().splitlines()[0]}") from None
    worst = 0.0
    with torch.no_grad():
        for args in checks:
            try:
                want = model(*args)
            except Exception as e:  # e.g. a width the heads do not divide, given by --config or flags
                raise ExportError(f"the {what} fails on a test input, so its architecture options do not fit: "
                                  f"{str(e).strip().splitlines()[0]}") from None
            got = scripted(*args)
            diff = _max_rel_diff(want, got)
            worst = max(worst, diff)
            if not diff <= tolerance:
                raise ExportError(f"internal error: the TorchScript {what} differs from the eager model by {diff:.3g} "
                                  f"(relative), more than {tolerance}")
    scripted.save(path)
    return {"checked": len(checks), "maxRelDiff": worst}


def base_info(source: str, kind: str, files: Dict[str, str], dtype: str) -> Dict[str, Any]:
    exporter = {"jepaNative": os.environ.get("JEPA_NATIVE_VERSION", "unknown"), "torch": torch.__version__,
                "python": platform.python_version()}
    return {"format": FORMAT, "formatVersion": FORMAT_VERSION, "source": source, "kind": kind, "files": files,
            "dtype": dtype, "exporter": exporter}


IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def preprocess(preset: str, mean: Optional[List[float]] = None, std: Optional[List[float]] = None) -> Dict[str, Any]:
    if preset == "clip":
        return {"preset": preset, "mean": mean or CLIP_MEAN, "std": std or CLIP_STD}
    return {"preset": preset, "mean": mean or IMAGENET_MEAN, "std": std or IMAGENET_STD}


def peak_rss_bytes() -> int:
    import resource
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
