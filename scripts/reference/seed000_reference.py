"""Seed 000's pipeline in Python, on a small V-JEPA 2 model, for test/features-extract.test.mjs.

`seed000(spec)` (spec as JSON on stdin):
1. builds a transformers `VJEPA2Model` from a small config with random weights (seeded), and
   exports it with the package's exporter (`jepa-native export hf-vjepa2 --dtype float16`:
   encoder.pt, predictor.pt and jepa.json, docs/models.md), as a user would;
2. writes test images (scikit-learn's two photographs under seed 000's names, and a generated one);
3. runs seed 000's extraction on them: transformers' `VJEPA2VideoProcessor` on the image repeated
   over T frames, the float16 `VJEPA2Model` (eager, not the traced file), and `torch.save` of
   seed 000's dict `{features, shape, dtype, source_chunk, image_id}` under
   `taxon_{taxon}/gbif_..._features.pt`, into spec["reference"].
"""
import json
import os
import shutil
import sys

import numpy as np
import torch

from torchvision_cpu import import_torchvision

SEED_NAMES = {
    "china.jpg": "gbif_1291162453_taxon_2650927_nephrolepis_exaltata_img_1.jpg",
    "flower.jpg": "gbif_1291162453_taxon_2650927_nephrolepis_exaltata_img_2.jpg",
}


def tiny_config():
    from transformers import VJEPA2Config
    return VJEPA2Config(patch_size=4, crop_size=16, frames_per_clip=4, tubelet_size=2, hidden_size=32,
                        num_attention_heads=2, num_hidden_layers=2, mlp_ratio=4.0, pred_hidden_size=16,
                        pred_num_attention_heads=2, pred_num_hidden_layers=1, pred_num_mask_tokens=2)


def small_config(crop_size=224, frames=2, hidden=192, layers=4, heads=3, patch=16):
    """A V-JEPA 2 ViT small enough for a laptop CPU (bench:extract, the demo): tubelets of 2 frames."""
    from transformers import VJEPA2Config
    return VJEPA2Config(patch_size=patch, crop_size=crop_size, frames_per_clip=frames, tubelet_size=2, hidden_size=hidden,
                        num_attention_heads=heads, num_hidden_layers=layers, mlp_ratio=4.0, pred_hidden_size=hidden // 2,
                        pred_num_attention_heads=heads, pred_num_hidden_layers=1, pred_num_mask_tokens=2)


PYTHON_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python")


def write_model_folder(model, folder, dtype=torch.float16):
    """Exports a transformers `VJEPA2Model` as a user does: `save_pretrained` into a temporary
    folder, then the package's own exporter (`jepa-native export hf-vjepa2 ... --dtype`, the
    python/jepa_export package) into `folder` (encoder.pt, predictor.pt, jepa.json)."""
    import contextlib
    import tempfile

    if PYTHON_DIR not in sys.path:
        sys.path.insert(0, PYTHON_DIR)
    from jepa_export import cli

    with tempfile.TemporaryDirectory() as hf, contextlib.redirect_stdout(sys.stderr):
        model.save_pretrained(hf)
        code = cli.main(["hf-vjepa2", hf, folder, "--dtype", str(dtype).replace("torch.", ""), "--overwrite"])
    if code != 0:
        raise SystemExit(f"jepa_export hf-vjepa2 failed with exit code {code}")


def write_images(folder):
    from PIL import Image
    import sklearn.datasets

    os.makedirs(folder, exist_ok=True)
    images = os.path.join(os.path.dirname(sklearn.datasets.__file__), "images")
    for src, name in SEED_NAMES.items():
        shutil.copy(os.path.join(images, src), os.path.join(folder, name))
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)).save(os.path.join(folder, "plain.png"))
    with open(os.path.join(folder, "broken.jpg"), "wb") as f:
        f.write(b"not an image")


def seed000(spec):
    import_torchvision()
    from PIL import Image
    from transformers import VJEPA2Model, VJEPA2VideoProcessor

    config = tiny_config()
    torch.manual_seed(spec.get("seed", 0))
    model = VJEPA2Model(config).eval().half()
    write_model_folder(model, spec["model"])
    write_images(spec["images"])
    processor = VJEPA2VideoProcessor(crop_size=config.crop_size)
    out = {}
    for name in sorted(os.listdir(spec["images"])):
        if name == "broken.jpg":
            continue
        image = Image.open(os.path.join(spec["images"], name)).convert("RGB")
        video = np.stack([np.asarray(image)] * config.frames_per_clip)  # the image repeated over T
        inputs = processor(video, return_tensors="pt")
        with torch.no_grad():
            features = model(pixel_values_videos=inputs["pixel_values_videos"].half(), skip_predictor=True).last_hidden_state[0]
        stem = os.path.splitext(name)[0]
        if stem.startswith("gbif_"):
            taxon = stem.split("_taxon_")[1].split("_")[0]
            path = os.path.join(spec["reference"], f"taxon_{taxon}", f"{stem}_features.pt")
        else:
            path = os.path.join(spec["reference"], f"{stem}_features.pt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        torch.save({"features": features, "shape": features.shape, "dtype": "float16", "source_chunk": name,
                    "image_id": stem}, path)
        out[name] = os.path.relpath(path, spec["reference"])
    print(json.dumps(out))


def bench_fixtures(spec):
    """bench:extract's model folder (small_config, float32) and `spec["count"]` generated JPEG
    photographs-like images (smooth colour fields plus noise, 640 x 480 and 480 x 640)."""
    import_torchvision()
    from PIL import Image
    from transformers import VJEPA2Model

    # "small": 192 wide, 4 blocks (the model takes most of the time on a CPU); "tiny": 64 wide, 2 blocks.
    config = small_config() if spec.get("size", "small") == "small" else small_config(hidden=64, layers=2, heads=2)
    torch.manual_seed(1)
    write_model_folder(VJEPA2Model(config).eval(), spec["model"], torch.float32)
    os.makedirs(spec["images"], exist_ok=True)
    rng = np.random.default_rng(1)
    if os.path.isdir(spec["images"]) and len(os.listdir(spec["images"])) == spec["count"]:
        print(json.dumps({"ok": True}))
        return
    for i in range(spec["count"]):
        h, w = (480, 640) if i % 2 == 0 else (640, 480)
        y, x = np.mgrid[0:h, 0:w] / max(h, w)
        c = rng.uniform(0, 1, (3, 3))
        base = np.stack([(np.sin(6 * (c[k, 0] * x + c[k, 1] * y) + 6 * c[k, 2]) + 1) * 110 for k in range(3)], -1)
        img = np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(os.path.join(spec["images"], f"gbif_{1000 + i}_taxon_{7 + i % 3}_quercus_robur_img_1.jpg"), quality=90)
    print(json.dumps({"ok": True}))


if __name__ == "__main__":
    globals()[sys.argv[1]](json.loads(sys.stdin.read()))
