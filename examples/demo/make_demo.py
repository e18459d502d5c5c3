"""Writes the demo's bundled files (`npm start`, `jepa-native demo`): a small V-JEPA 2 encoder with
random weights (transformers' VJEPA2Model from a small config, seeded) as an exported model folder,
and four synthetic pictures drawn here (no third-party photographs), named as seed 000's inputs.

    python examples/demo/make_demo.py     # rewrites examples/demo/model and examples/demo/images

Needs torch, transformers, Pillow and numpy (the test Python has them). The files are committed,
so the demo itself needs none of them.
"""
import os
import sys

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "reference"))

from seed000_reference import small_config, write_model_folder  # noqa: E402
from torchvision_cpu import import_torchvision  # noqa: E402


def picture(kind, seed, size=(320, 240)):
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w] / h
    sky = np.stack([90 + 60 * y, 140 + 50 * y, 210 - 40 * y], -1)
    img = Image.fromarray(np.clip(sky + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    if kind == "fern":
        for i in range(14):
            t = i / 13
            cx, cy = 160 + 30 * np.sin(3 * t), 225 - 200 * t
            d.ellipse([cx - 70 * (1 - t) - 8, cy - 9, cx + 70 * (1 - t) + 8, cy + 9], fill=(40, int(120 + 60 * t), 50))
        d.line([(160, 230), (160 + 30 * np.sin(3), 25)], fill=(60, 90, 40), width=4)
    elif kind == "flower":
        d.rectangle([0, 180, w, h], fill=(70, 140, 60))
        for a in range(0, 360, 45):
            r = np.deg2rad(a)
            cx, cy = 160 + 40 * np.cos(r), 110 + 40 * np.sin(r)
            d.ellipse([cx - 28, cy - 28, cx + 28, cy + 28], fill=(230, 90 + a // 4, 150))
        d.ellipse([135, 85, 185, 135], fill=(250, 210, 60))
    elif kind == "oak":
        d.rectangle([0, 190, w, h], fill=(110, 150, 70))
        d.rectangle([145, 120, 175, 215], fill=(100, 70, 40))
        for _ in range(40):
            cx, cy = rng.normal(160, 45), rng.normal(95, 30)
            d.ellipse([cx - 25, cy - 20, cx + 25, cy + 20], fill=(50, int(rng.uniform(100, 160)), 50))
    else:  # stones on a shore
        d.rectangle([0, 150, w, h], fill=(200, 185, 150))
        for _ in range(12):
            cx, cy, r = rng.uniform(20, 300), rng.uniform(160, 230), rng.uniform(8, 22)
            g = int(rng.uniform(90, 160))
            d.ellipse([cx - r * 1.4, cy - r, cx + r * 1.4, cy + r], fill=(g, g, g - 10))
    return img.filter(ImageFilter.GaussianBlur(0.8))


def main():
    import_torchvision()
    from transformers import VJEPA2Model

    config = small_config(crop_size=64, frames=2, hidden=32, layers=2, heads=2, patch=8)
    torch.manual_seed(2026)
    model = VJEPA2Model(config).eval()
    write_model_folder(model, os.path.join(HERE, "model"), torch.float32)
    images = os.path.join(HERE, "images")
    os.makedirs(images, exist_ok=True)
    names = [("fern", "gbif_1001_taxon_2650927_nephrolepis_exaltata_img_1.jpg"),
             ("fern", "gbif_1001_taxon_2650927_nephrolepis_exaltata_img_2.jpg"),
             ("flower", "gbif_2002_taxon_3189866_bellis_perennis_img_1.jpg"),
             ("oak", "gbif_3003_taxon_2878688_quercus_robur_img_1.jpg"),
             ("stones", "shore.jpg")]
    for i, (kind, name) in enumerate(names):
        picture(kind, i).save(os.path.join(images, name), quality=88)


if __name__ == "__main__":
    main()
