"""Makes every TorchScript file jepa-native's model tests and benchmarks use, with expected outputs.

    python scripts/models/export.py [--out test/fixtures/models]          # tiny test fixtures
    python scripts/models/export.py --bench DIR [--vitg] [--frames N]      # benchmark models

Needs torch; H-JEPA needs timm and the V-JEPA 2 models transformers (scripts/install/setup.js installs
both). Each fixture `NAME.pt` comes with `NAME.cases.json` + `NAME.cases.bin`: the calls made on
the module *after loading it back with torch.jit.load* and their results, so that Node, which
loads the same file, must give the same values. Encoding (readable without a .pt reader):
    tensor  {"$tensor": i} -> tensors[i] = {dtype, shape, offset, nbytes} in the .bin (little endian)
    tuple   {"$tuple": [...]}      dict {"$dict": [[key, value], ...]}      float {"$float": x}
    list -> JSON array; int, bool, str, None -> JSON.
"""
import argparse
import copy
import json
import os
import sys
import types
from typing import Dict, List, Optional, Tuple

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

DTYPES = {torch.float32: "float32", torch.float64: "float64", torch.float16: "float16", torch.int64: "int64",
          torch.int32: "int32", torch.bool: "bool", torch.uint8: "uint8"}


def import_timm():
    """timm (and transformers' V-JEPA 2) import torchvision; the only torchvision wheel offline
    here is a CUDA build whose operators cannot load next to the CPU torch, so its fake-kernel
    registrations are skipped."""
    try:
        import torchvision  # noqa: F401
    except Exception:
        for name in list(sys.modules):
            if name == "torchvision" or name.startswith("torchvision."):
                del sys.modules[name]
        sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
    import timm
    return timm


class Cases:
    def __init__(self):
        self.tensors = []
        self.blob = bytearray()
        self.cases = []
        self.extra = {}

    def enc(self, v):
        if isinstance(v, torch.Tensor):
            t = v.detach().contiguous().cpu()
            data = t.numpy().tobytes() if t.dtype != torch.bool else t.to(torch.uint8).numpy().tobytes()
            while len(self.blob) % 8:
                self.blob.append(0)
            self.tensors.append({"dtype": DTYPES[t.dtype], "shape": list(t.shape), "offset": len(self.blob),
                                 "nbytes": len(data)})
            self.blob += data
            return {"$tensor": len(self.tensors) - 1}
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, int):
            return v
        if isinstance(v, float):
            return {"$float": v}
        if isinstance(v, tuple):
            return {"$tuple": [self.enc(x) for x in v]}
        if isinstance(v, list):
            return [self.enc(x) for x in v]
        if isinstance(v, dict):
            return {"$dict": [[self.enc(k), self.enc(x)] for k, x in v.items()]}
        raise TypeError(f"cannot encode {type(v)}")

    def call(self, module, method, *args, note=None):
        result = getattr(module, method)(*args)
        case = {"method": method, "args": [self.enc(a) for a in args], "result": self.enc(result)}
        if note:
            case["note"] = note
        self.cases.append(case)
        return result

    def write(self, path_pt, model_file):
        stem = path_pt[:-3]
        with open(stem + ".cases.bin", "wb") as f:
            f.write(self.blob)
        with open(stem + ".cases.json", "w") as f:
            json.dump({"model": model_file, "tensors": self.tensors, "cases": self.cases, "extra": self.extra}, f,
                      indent=1)


def save_scripted(model, path, trace_input=None):
    model.eval()
    sm = torch.jit.trace(model, trace_input) if trace_input is not None else torch.jit.script(model)
    sm.save(path)
    loaded = torch.jit.load(path)
    loaded.eval()
    return loaded


def close(a, b):
    if isinstance(a, torch.Tensor):
        return torch.allclose(a, b, atol=1e-6, rtol=1e-5)
    if isinstance(a, (list, tuple)):
        return all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return all(close(a[k], b[k]) for k in a)
    return a == b


def check_eager(eager, loaded, method, *args):
    with torch.no_grad():
        want = getattr(eager, method)(*args)
        got = getattr(loaded, method)(*args)
    assert close(want, got), f"scripted {method} differs from eager"


# ---------------------------------------------------------------------------------------------

def export_jepa(out, name, video):
    """I-JEPA (image) or V-JEPA (video) context encoder, target encoder and predictor in `out/name/`."""
    from ijepa import vit, vit_predictor
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(1 if not video else 2)
    frames = 4 if video else 1
    enc = vit(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_frames=frames, tubelet_size=2)
    target = copy.deepcopy(enc)
    other = vit(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_frames=frames, tubelet_size=2)
    with torch.no_grad():  # one EMA step towards another encoder, so that target != context
        for pt, po in zip(target.parameters(), other.parameters()):
            pt.mul_(0.9).add_(po, alpha=0.1)
    pred = vit_predictor(img_size=32, patch_size=8, embed_dim=32, predictor_embed_dim=16, depth=2, num_heads=2,
                         num_frames=frames, tubelet_size=2)
    n = 16 * (frames // 2 if video else 1)
    x = torch.randn(2, 3, frames, 32, 32) if video else torch.randn(2, 3, 32, 32)
    g = torch.Generator().manual_seed(5)
    ctx_mask = torch.stack([torch.randperm(n, generator=g)[: n // 2].sort().values for _ in range(2)])
    rest = [sorted(set(range(n)) - set(ctx_mask[b].tolist())) for b in range(2)]
    tgt1 = torch.tensor([r[:3] for r in rest])
    tgt2 = torch.tensor([r[3:6] for r in rest])
    shared = torch.arange(0, n, 2)  # a 1-D keep mask shared by the batch

    for fname, model in [("context_encoder", enc), ("target_encoder", target)]:
        path = os.path.join(folder, fname + ".pt")
        loaded = save_scripted(model, path)
        check_eager(model, loaded, "forward", x, [ctx_mask])
        c = Cases()
        with torch.no_grad():
            c.call(loaded, "forward", x, note="no masks: all tokens")
            c.call(loaded, "forward", x, [ctx_mask], note="one [B, K] keep mask")
            c.call(loaded, "forward", x, [tgt1, tgt2], note="two masks, concatenated on the batch")
            c.call(loaded, "forward", x, [shared], note="a 1-D keep mask shared by the batch")
            c.call(loaded, "input_shape")
        c.write(path, fname + ".pt")
    path = os.path.join(folder, "predictor.pt")
    loaded = save_scripted(pred, path)
    enc_loaded = torch.jit.load(os.path.join(folder, "context_encoder.pt"))
    with torch.no_grad():
        ctx = enc_loaded(x, [ctx_mask])
    check_eager(pred, loaded, "forward", ctx, [ctx_mask], [tgt1, tgt2])
    c = Cases()
    with torch.no_grad():
        c.call(loaded, "forward", ctx, [ctx_mask], [tgt1, tgt2], note="context [B, K, D], two target masks")
        c.call(loaded, "forward", ctx, [ctx_mask], [tgt1], note="one target mask")
    c.extra = {"images": c.enc(x), "contextMasks": c.enc([ctx_mask]), "targetMasks": c.enc([tgt1, tgt2]),
               "numPatches": n}
    c.write(path, "predictor.pt")


def export_hjepa(out):
    import_timm()
    from hjepa import HJEPA
    torch.manual_seed(3)
    kw = dict(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, predictor_depth=2, predictor_num_heads=2,
              num_hierarchies=3)
    model = HJEPA(**kw)
    other = HJEPA(**kw)
    with torch.no_grad():  # an EMA step, so that the target encoder differs from the context encoder
        for pt, po in zip(model.context_encoder.parameters(), other.context_encoder.parameters()):
            pt.copy_(po)
    model.ema_update(0.5)
    path = os.path.join(out, "hjepa.pt")
    loaded = save_scripted(model, path)
    x = torch.randn(2, 3, 32, 32)
    mask = torch.zeros(2, 16)
    mask[0, [0, 1, 4, 5, 10]] = 1
    mask[1, [2, 3, 6, 7, 8, 15]] = 1
    check_eager(model, loaded, "forward", x, mask)
    for level in range(3):
        check_eager(model, loaded, "extract_features", x, level)
    c = Cases()
    with torch.no_grad():
        c.call(loaded, "forward", x, mask, note="per-level predictions, targets and masks_valid of the masked tokens")
        for level in range(3):
            c.call(loaded, "extract_features", x, level)
        c.call(loaded, "extract_features", x, 1, False, note="context encoder")
        c.call(loaded, "num_levels")
        c.call(loaded, "momentum_at", 15000, note="halfway through ema_warmup_steps")
    c.write(path, "hjepa.pt")


def export_motion(out):
    from motion_ae import MotionFeatureAutoencoder
    torch.manual_seed(4)
    model = MotionFeatureAutoencoder(input_dim=24, model_dim=32, latent_dim=8, num_heads=4, num_layers=2,
                                     dropout=0.1, use_token=True, max_frames=16)
    path = os.path.join(out, "motion_ae.pt")
    loaded = save_scripted(model, path)
    x4 = torch.randn(2, 5, 6, 24)
    x5 = torch.randn(1, 4, 2, 3, 24)
    check_eager(model, loaded, "encode", x4)
    check_eager(model, loaded, "forward", x5)
    c = Cases()
    with torch.no_grad():
        c.call(loaded, "forward", x4, note="[B, T, N, C]")
        c.call(loaded, "forward", x5, note="[B, T, H, W, C]")
        z, _, _ = c.call(loaded, "encode", x4)
        c.call(loaded, "encode", x5)
        c.call(loaded, "decode", z)
    c.write(path, "motion_ae.pt")


def export_vl(out):
    from vl_jepa import Predictor
    torch.manual_seed(6)
    model = Predictor(input_dim=512, hidden_dim=128, output_dim=384)
    path = os.path.join(out, "vl_predictor.pt")
    loaded = save_scripted(model, path)
    images = torch.randn(3, 512)
    labels = ["a dog", "a cat", "a bridge", "a person hanging on a cable"]
    label_emb = torch.nn.functional.normalize(torch.randn(4, 384), dim=-1)
    check_eager(model, loaded, "forward", images)
    c = Cases()
    with torch.no_grad():
        pred = c.call(loaded, "forward", images)
        scores = torch.cosine_similarity(pred[:, None, :], label_emb[None, :, :], dim=-1)
    c.extra = {"imageEmbeddings": c.enc(images), "labelEmbeddings": c.enc(label_emb), "labels": labels,
               "scores": c.enc(scores), "ranking": [[labels[i] for i in row] for row in scores.argsort(
                   dim=-1, descending=True).tolist()]}
    c.write(path, "vl_predictor.pt")


def export_vjepa2_tiny(out):
    import_timm()
    from vjepa2_hf import VJEPA2Encoder, tiny_config
    torch.manual_seed(7)
    model = VJEPA2Encoder(tiny_config()).eval()
    video = torch.randn(1, 4, 3, 16, 16)
    path = os.path.join(out, "vjepa2_tiny.pt")
    with torch.no_grad():
        loaded = save_scripted(model, path, trace_input=video)
        check_eager(model, loaded, "forward", video)
    c = Cases()
    with torch.no_grad():
        c.call(loaded, "forward", video, note="[B, T, C, H, W] -> [B, (T/2)*(H/4)*(W/4), 32]")
    c.write(path, "vjepa2_tiny.pt")


class Values(torch.nn.Module):
    """Exercises the value mapping (every argument and result type) and error paths."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.linspace(-1, 1, 16).reshape(4, 4))
        self.register_buffer("count", torch.zeros(1, dtype=torch.long))
        self.register_buffer("scale", torch.full((1,), 2.0))

    def forward(self, x: torch.Tensor, factor: float = 2.0) -> torch.Tensor:
        return x * factor

    @torch.jit.export
    def echo(self, i: int, f: float, s: str, b: bool, xs: list[int], t: tuple[int, str],
             d: dict[str, torch.Tensor], o: Optional[torch.Tensor] = None
             ) -> Tuple[int, float, str, bool, List[int], Tuple[int, str], Dict[str, torch.Tensor], Optional[torch.Tensor]]:
        d2: dict[str, torch.Tensor] = {}
        for k, v in d.items():
            d2[k + "!"] = v + 1
        return i + 1, f * 2, s + "!", not b, xs + [len(xs)], (t[0] * 10, t[1] + "?"), d2, o

    @torch.jit.export
    def floats(self) -> tuple[float, list[float], dict[str, float]]:
        return 3.0, [1.0, 2.5, -0.0], {"one": 1.0, "half": 0.5}

    @torch.jit.export
    def big(self) -> tuple[int, int]:
        return 1 << 60, -(1 << 53)

    @torch.jit.export
    def int_keys(self) -> dict[int, str]:
        return {1: "one", 2: "two"}

    @torch.jit.export
    def nothing(self) -> None:
        return None

    @torch.jit.export
    def where(self) -> torch.device:
        return self.weight.device

    @torch.jit.export
    def tensors(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        return [x.sum() for x in xs]

    @torch.jit.export
    def optional_int(self, n: Optional[int] = None) -> int:
        if n is None:
            return -1
        return n

    @torch.jit.export
    def any_list(self, xs: list[float]) -> float:
        return sum(xs)

    @torch.jit.export
    def fail(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            raise ValueError("expected a 2-D tensor")
        return x @ self.weight

    @torch.jit.export
    def spin(self, x: torch.Tensor, n: int) -> torch.Tensor:
        """n rounds of tanh(x @ x / k) on a square matrix: a forward of adjustable length."""
        k = float(x.shape[0])
        for _ in range(n):
            x = torch.tanh(x @ x / k)
        return x

    @torch.jit.export
    def bump(self) -> int:
        """Mutates a buffer (a module with state)."""
        self.count += 1
        return int(self.count.item())


def export_values(out):
    torch.manual_seed(8)
    path = os.path.join(out, "values.pt")
    model = Values()
    loaded = save_scripted(model, path)
    c = Cases()
    c.call(loaded, "forward", torch.arange(6, dtype=torch.float32).reshape(2, 3))
    c.call(loaded, "forward", torch.arange(6, dtype=torch.float32).reshape(2, 3), 0.5)
    c.call(loaded, "echo", 41, 1.25, "hi", True, [1, 2], (3, "x"), {"a": torch.ones(2)}, None)
    c.call(loaded, "echo", 0, 3.0, "", False, [], (0, ""), {}, torch.zeros(1))
    c.call(loaded, "floats")
    c.call(loaded, "big")
    c.call(loaded, "int_keys")
    c.call(loaded, "nothing")
    c.call(loaded, "tensors", [torch.ones(3), torch.arange(4, dtype=torch.float32)])
    c.call(loaded, "optional_int")
    c.call(loaded, "optional_int", 7)
    c.call(loaded, "any_list", [1.0, 2.0, 3.5])
    c.call(loaded, "fail", torch.eye(4))
    c.call(loaded, "spin", torch.eye(8) + 0.1, 3)
    c.write(path, "values.pt")
    # A file that is not TorchScript (a torch.save state dict) and a truncated TorchScript file.
    torch.save(model.state_dict(), os.path.join(out, "not_a_module.pt"))
    with open(path, "rb") as f:
        data = f.read()
    with open(os.path.join(out, "truncated.pt"), "wb") as f:
        f.write(data[: len(data) // 2])


def export_ijepa_folder(out):
    """models/ijepa-vit: what `jepa-native export ijepa` writes for a (tiny, random) facebookresearch/ijepa
    training checkpoint; the README's model quick start loads it."""
    import shutil
    import tempfile
    import checkpoints
    from jepa_export.cli import main as export_main
    with open(os.path.join(HERE, "..", "..", "package.json")) as f:
        os.environ["JEPA_NATIVE_VERSION"] = json.load(f)["version"]
    folder = os.path.join(out, "ijepa-vit")
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = os.path.join(tmp, "IN1K-vit.tiny.8-ep3.pth.tar")
        flags = checkpoints.ijepa_checkpoint(ckpt)
        shutil.rmtree(folder, ignore_errors=True)
        if export_main(["ijepa", ckpt, folder] + flags) != 0:
            raise SystemExit("the export of models/ijepa-vit failed")


def export_fixtures(out):
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    export_values(out)
    export_jepa(out, "ijepa", video=False)
    export_jepa(out, "vjepa", video=True)
    export_hjepa(out)
    export_motion(out)
    export_vl(out)
    export_vjepa2_tiny(out)
    export_ijepa_folder(out)


# ---------------------------------------------------------------------------------------------
# Benchmark models (not committed)

def export_bench(out, vitg, frames):
    from ijepa import vit
    from vl_jepa import Predictor
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    save_scripted(vit(img_size=224, patch_size=16, embed_dim=768, depth=12, num_heads=12), os.path.join(out, "vit_b16.pt"))
    save_scripted(Predictor(), os.path.join(out, "vl_predictor.pt"))
    if vitg:
        import_timm()
        from vjepa2_hf import VJEPA2Encoder, vitg_fpc64_384_config
        model = VJEPA2Encoder(vitg_fpc64_384_config()).eval()
        video = torch.randn(1, frames, 3, 384, 384)
        with torch.no_grad():
            torch.jit.trace(model, video).save(os.path.join(out, f"vjepa2_vitg_384_f{frames}.pt"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "test", "fixtures", "models"))
    ap.add_argument("--bench", help="write the benchmark models to this folder instead")
    ap.add_argument("--vitg", action="store_true", help="with --bench: also the V-JEPA 2 ViT-g/16 384 encoder")
    ap.add_argument("--frames", type=int, default=2, help="with --vitg: frames of the traced clip")
    args = ap.parse_args()
    if args.bench:
        export_bench(args.bench, args.vitg, args.frames)
    else:
        export_fixtures(os.path.abspath(args.out))


if __name__ == "__main__":
    main()
