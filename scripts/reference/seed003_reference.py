"""Seed 003 (vfm_encoder) as Python runs it: the reference of `jepa-native motion train`,
`motion encode` and `motion features` (test/motion-cli.test.mjs).

Seed 003's own train.py, encode.py and vfm_feature.py are not public: the seed is their README,
which gives each script's options, defaults, inputs and outputs. This file restates those scripts
from that description with stock PyTorch (DataLoader, AdamW, torch.save), the loss of
scripts/reference/train_reference.py (the Trainer's 'motion' kind) and the model of
scripts/models/motion_ae.py (our stand-in for the seed's model.py). docs/training.md ("Seed 003
in Node") lists what the README fixes and what we chose where it is silent.

    python seed003_reference.py train  --feature_dir D --save_dir S --init CKPT [train.py options] [--seed N]
    python seed003_reference.py encode --checkpoint C --input F --output O [encode.py options]
    python seed003_reference.py features --video_dir V --csv_path C --output_root R --vjepa2_model DIR [...]

Each prints a JSON summary on its last line.
"""
import argparse
import csv
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FEATURE_EXTS = (".pt", ".pth", ".npy")
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
STATE_KEYS = ("model_state_dict", "state_dict", "model", "module")


def load_feature(path):
    """A feature file's tensor: the tensor itself, or a dict's 'feature', 'features', else first key."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        value = torch.from_numpy(np.load(path))
    else:
        value = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(value, dict):
        key = "feature" if "feature" in value else "features" if "features" in value else next(iter(value))
        value = value[key]
    return value.float()


class FeatureFiles(torch.utils.data.Dataset):
    """train.py's dataset: every .pt/.pth/.npy under feature_dir (recursively), sorted by path."""

    def __init__(self, root):
        self.files = sorted(str(p) for p in Path(root).rglob("*") if p.is_file() and p.suffix.lower() in FEATURE_EXTS)
        if not self.files:
            raise SystemExit(f"no feature files under {root}")

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return load_feature(self.files[i])


def motion_autoencoder_loss(x, recon, z, recon_weight, motion_weight, smooth_weight):
    """Reconstruction + temporal difference + latent smoothness (seed 003's losses.py)."""
    rec = F.mse_loss(recon, x)
    temporal = F.mse_loss(recon[:, 1:] - recon[:, :-1], x[:, 1:] - x[:, :-1])
    smooth = (z[:, 1:] - z[:, :-1]).pow(2).mean()
    return recon_weight * rec + motion_weight * temporal + smooth_weight * smooth


def build_model(args):
    sys.path.insert(0, os.path.join(HERE, "..", "models"))
    from motion_ae import MotionFeatureAutoencoder
    return MotionFeatureAutoencoder(input_dim=args.input_dim, model_dim=args.model_dim, latent_dim=args.latent_dim,
                                    num_heads=args.num_heads, num_layers=args.num_layers, dropout=args.dropout,
                                    use_token=args.use_token, max_frames=args.max_frames)


def state_dict_of(ckpt):
    if all(isinstance(v, torch.Tensor) for v in ckpt.values()):
        return ckpt
    for k in STATE_KEYS:
        if isinstance(ckpt.get(k), dict):
            return ckpt[k]
    raise SystemExit(f"no state dict in the checkpoint (keys {list(ckpt)})")


def model_args(p):
    p.add_argument("--input_dim", type=int, default=768)
    p.add_argument("--model_dim", type=int, default=384)
    p.add_argument("--latent_dim", type=int, default=192)
    p.add_argument("--num_heads", type=int, default=8)
    p.add_argument("--num_layers", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--use_token", action="store_true")
    p.add_argument("--max_frames", type=int, default=256)


def train(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--feature_dir", type=Path, required=True)
    p.add_argument("--save_dir", type=Path, default=Path("./checkpoints"))
    model_args(p)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch_size", type=int, default=2)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--weight_decay", type=float, default=1e-4)
    p.add_argument("--num_workers", type=int, default=4)
    p.add_argument("--recon_weight", type=float, default=1.0)
    p.add_argument("--motion_weight", type=float, default=1.0)
    p.add_argument("--smooth_weight", type=float, default=0.05)
    # Ours: the initial weights (the checkpoint the Node side's model folder was exported from)
    # and the seed of the shuffle and of dropout.
    p.add_argument("--init", type=Path, required=True)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    model = build_model(args)
    model.load_state_dict(state_dict_of(torch.load(args.init, weights_only=True)))
    torch.manual_seed(args.seed)
    loader = torch.utils.data.DataLoader(FeatureFiles(args.feature_dir), batch_size=args.batch_size, shuffle=True,
                                         num_workers=args.num_workers,
                                         generator=torch.Generator().manual_seed(args.seed))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    args.save_dir.mkdir(parents=True, exist_ok=True)
    losses, epochs = [], []
    for epoch in range(1, args.epochs + 1):
        model.train()
        total, steps = 0.0, 0
        for x in loader:
            recon, z, _ = model(x)
            loss = motion_autoencoder_loss(x, recon, z, args.recon_weight, args.motion_weight, args.smooth_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            total += loss.item()
            steps += 1
        epochs.append(total / steps)
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch, "loss": total / steps},
                   args.save_dir / f"motion_ae_epoch{epoch}.pt")
    print(json.dumps({"losses": losses, "epochs": epochs}))


def encode(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--input", type=Path, required=True)
    p.add_argument("--output", type=Path, required=True)
    model_args(p)
    args = p.parse_args(argv)
    model = build_model(args)
    model.load_state_dict(state_dict_of(torch.load(args.checkpoint, map_location="cpu", weights_only=True)))
    model.eval()
    x = load_feature(args.input).unsqueeze(0)
    with torch.no_grad():
        latent, motion, ratio = model.encode(x)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"latent": latent.squeeze(0).cpu(), "motion_embedding": motion.squeeze(0).cpu(),
                "compression_ratio": float(ratio)}, args.output)
    print(json.dumps({"latent": list(latent.shape[1:]), "motion_embedding": list(motion.shape[1:]),
                      "compression_ratio": float(ratio)}))


def read_captions(csv_path):
    """{video file name and stem: caption}: the video column is the first of VIDEO_COLUMNS in the
    header (else the first column), the caption column the first of CAPTION_COLUMNS (else the second)."""
    if not csv_path or not Path(csv_path).is_file():
        return {}
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    header = [h.strip().lower() for h in rows[0]]
    vcol = next((header.index(c) for c in ("video", "video_name", "video_id", "filename", "file", "name", "id")
                 if c in header), 0)
    ccol = next((header.index(c) for c in ("caption", "text", "comment", "description") if c in header),
                1 if len(header) > 1 else 0)
    out = {}
    for row in rows[1:]:
        if len(row) > max(vcol, ccol):
            key = row[vcol].strip()
            out.setdefault(key, row[ccol])
            out.setdefault(Path(key).stem, row[ccol])
    return out


def features(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--video_dir", type=Path, default=Path("../dataset/motion_top100"))
    p.add_argument("--csv_path", type=Path, default=Path("../dataset/motion_top100.csv"))
    p.add_argument("--output_root", type=Path, default=Path("../dataset/vfm_features_motion_top100"))
    p.add_argument("--num_frames", type=int, default=48)
    p.add_argument("--videomae_resize_h", type=int, default=160)
    p.add_argument("--videomae_resize_w", type=int, default=240)
    p.add_argument("--vjepa2_model", type=Path, required=True)
    args = p.parse_args(argv)
    import av
    sys.path.insert(0, HERE)
    from torchvision_cpu import import_torchvision
    import_torchvision()
    from torchvision.transforms.v2 import functional as TF

    info = json.loads((args.vjepa2_model / "jepa.json").read_text())
    files = info["files"]
    enc_file = files.get("targetEncoder") or files.get("encoder") or files["contextEncoder"]
    encoder = torch.jit.load(str(args.vjepa2_model / enc_file)).eval()
    tubelet = info["input"].get("tubeletSize", 1)
    mean = torch.tensor(info.get("preprocess", {}).get("mean", [0.485, 0.456, 0.406])).view(1, 3, 1, 1)
    std = torch.tensor(info.get("preprocess", {}).get("std", [0.229, 0.224, 0.225])).view(1, 3, 1, 1)
    captions = read_captions(args.csv_path)
    out_dir = args.output_root / "VJEPA2"
    out_dir.mkdir(parents=True, exist_ok=True)
    videos = sorted(p for p in args.video_dir.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTS)
    failed, dims, done = [], None, []
    for v in videos:
        try:
            with av.open(str(v)) as c:
                frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])])
        except Exception:  # noqa: BLE001 - any decoding failure goes to the failed list
            failed.append(str(v.relative_to(args.video_dir)))
            continue
        idx = np.linspace(0, len(frames) - 1, args.num_frames).astype(int)
        x = torch.from_numpy(frames[idx]).permute(0, 3, 1, 2)  # [T, 3, H, W] uint8
        x = TF.resize(x, [args.videomae_resize_h, args.videomae_resize_w], antialias=True)
        x = (TF.to_dtype(x, torch.float32, scale=True) - mean) / std
        with torch.no_grad():
            tokens = encoder(x.permute(1, 0, 2, 3).unsqueeze(0))[0]  # [T/tubelet * N, C]
        t = args.num_frames // tubelet
        feat = tokens.reshape(t, tokens.shape[0] // t, tokens.shape[1]).cpu()
        dims = feat.shape[-1]
        torch.save({"feature": feat, "caption": captions.get(v.name, captions.get(v.stem, "")), "video": v.name,
                    "model": "VJEPA2"}, out_dir / f"{v.stem}.pt")
        done.append(v.name)
    (out_dir / "failed_videos.txt").write_text("".join(f"{f}\n" for f in failed))
    (args.output_root / "vfm_dimensions.txt").write_text(f"VJEPA2: {dims}\n" if dims is not None else "")
    print(json.dumps({"done": done, "failed": failed, "dim": dims}))


def cases(argv):
    """The fixtures of test/motion-cli.test.mjs and the reference results, in one process: a
    motion autoencoder (scripts/models/motion_ae.py, random weights) saved as a checkpoint and
    exported with jepa_export (`export module`), feature files (.pt dicts, a bare .npy, a nested
    folder), a tiny V-JEPA 2 checkpoint exported with jepa_export (`export vjepa2`), videos made
    by ffmpeg plus a broken one, a caption CSV; then train, encode and features above on them."""
    out = Path(argv[0])
    spec = json.loads(argv[1])
    sys.path.insert(0, os.path.join(HERE, "..", "models"))
    sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
    import subprocess
    import checkpoints
    from jepa_export.cli import main as export_main
    from motion_ae import MotionFeatureAutoencoder

    mae = spec["mae"]
    init = out / "init" / "motion_ae_init.pt"
    init.parent.mkdir(parents=True, exist_ok=True)
    model = checkpoints.randomize(MotionFeatureAutoencoder(**mae), 3)
    torch.save({"epoch": 0, "model_state_dict": model.state_dict()}, init)
    if export_main(["module", "--checkpoint", str(init), str(out / "motion-model"), "--class",
                    "motion_ae:MotionFeatureAutoencoder", "--init-args", json.dumps(mae), "--kind",
                    "motion-autoencoder", "--path", os.path.join(HERE, "..", "models")]) != 0:
        raise SystemExit("export module failed")
    feats = out / "features"
    (feats / "b").mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(5)
    T, N, C = spec["T"], spec["N"], mae["input_dim"]
    torch.save({"feature": torch.randn(T, N, C, generator=g), "caption": "a", "video": "a.mp4", "model": "x"},
               feats / "a.pt")
    torch.save({"features": torch.randn(T, N, C, generator=g)}, feats / "b" / "c.pth")
    np.save(feats / "b" / "d.npy", torch.randn(T, N, C, generator=g).numpy())
    torch.save(torch.randn(T, N, C, generator=g), feats / "e.pt")
    torch.save({"other": torch.randn(T, N, C, generator=g)}, feats / "f.pt")

    common = ["--input_dim", str(C), "--model_dim", str(mae["model_dim"]), "--latent_dim", str(mae["latent_dim"]),
              "--num_heads", str(mae["num_heads"]), "--num_layers", str(mae["num_layers"]),
              "--dropout", str(mae["dropout"]), "--max_frames", str(mae["max_frames"])] + \
             (["--use_token"] if mae["use_token"] else [])
    import contextlib
    import io as _io
    results = {}
    for name, fn, args in [
        ("train", train, ["--feature_dir", str(feats), "--save_dir", str(out / "py-ckpt"), "--init", str(init),
                          "--epochs", "2", "--batch_size", "2", "--num_workers", "0", "--seed", "7",
                          "--lr", "1e-3"] + common),
        ("encode", encode, ["--checkpoint", str(out / "py-ckpt" / "motion_ae_epoch2.pt"), "--input",
                            str(feats / "b" / "d.npy"), "--output", str(out / "py-latent.pt")] + common)]:
        buf = _io.StringIO()
        with contextlib.redirect_stdout(buf):
            fn(args)
        results[name] = json.loads(buf.getvalue().strip().splitlines()[-1])

    vck = out / "vjepa2" / "ckpt.pt"
    vck.parent.mkdir(parents=True, exist_ok=True)
    flags = checkpoints.video_checkpoint(str(vck), "vjepa2", use_rope=True, num_mask_tokens=2, seed=3)
    if export_main(["vjepa2", str(vck), str(out / "vjepa2-model"), "--dtype", "float32"] + flags) != 0:
        raise SystemExit("export vjepa2 failed")
    videos = out / "videos"
    (videos / "sub").mkdir(parents=True, exist_ok=True)
    for name, src in [("clip1.mp4", "testsrc=size=40x28:rate=10"), ("sub/clip2.mp4", "mandelbrot=size=40x28:rate=10")]:
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", src, "-frames:v", "9", "-pix_fmt",
                        "yuv420p", str(videos / name)], check=True)
    (videos / "broken.mp4").write_bytes(b"not a video at all")
    (out / "captions.csv").write_text("video,caption\nclip1.mp4,a test pattern\nclip2,\"a fractal, zooming\"\n")
    buf = _io.StringIO()
    with contextlib.redirect_stdout(buf):
        features(["--video_dir", str(videos), "--csv_path", str(out / "captions.csv"), "--output_root",
                  str(out / "py-vfm"), "--num_frames", "4", "--videomae_resize_h", "16", "--videomae_resize_w", "24",
                  "--vjepa2_model", str(out / "vjepa2-model")])
    results["features"] = json.loads(buf.getvalue().strip().splitlines()[-1])
    print(json.dumps(results))


def compare(argv):
    """Node's outputs read with torch.load (weights_only=True) next to Python's: max |difference|."""
    spec = json.loads(argv[0])
    out = {}
    for key, (a, b) in spec.items():
        x, y = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
        if key.startswith("ckpt"):
            x, y = x["model"], y["model"]
            out[key] = {"keys": sorted(x) == sorted(y),
                        "max": max(float((x[k] - y[k]).abs().max()) for k in y)}
        elif key.startswith("latent"):
            out[key] = {"keys": sorted(x) == sorted(y),
                        "types": [type(x["compression_ratio"]).__name__, type(y["compression_ratio"]).__name__],
                        "ratio": [x["compression_ratio"], y["compression_ratio"]],
                        "shapes": [list(x[k].shape) == list(y[k].shape) for k in ("latent", "motion_embedding")],
                        "max": max(float((x[k] - y[k]).abs().max()) for k in ("latent", "motion_embedding"))}
        else:
            out[key] = {"keys": sorted(x) == sorted(y),
                        "meta": [[x[k], y[k]] for k in ("caption", "video", "model")],
                        "dtype": [str(x["feature"].dtype), str(y["feature"].dtype)],
                        "shape": [list(x["feature"].shape), list(y["feature"].shape)],
                        "max": float((x["feature"] - y["feature"]).abs().max())}
    print(json.dumps(out))


if __name__ == "__main__":
    {"train": train, "encode": encode, "features": features, "cases": cases, "compare": compare}[sys.argv[1]](sys.argv[2:])
