"""The Python pipelines jepa-native's image presets reproduce, run on test images it writes itself.

`images(spec)` (spec as JSON on stdin, see test/media-presets.test.mjs) writes the fixture images
into spec["dir"] with Pillow, then runs each case's reference pipeline with the installed
libraries (transformers, torchvision, Pillow: nothing here reimplements them) and writes the
float32 result to <dir>/<case>.f32, plus a JSON summary of shapes on stdout.

Fixtures: alpha, greyscale (8 and 16 bits, with and without alpha), palette with transparency,
16-bit RGB and RGBA PNG, CMYK JPEG, an image smaller than the crop (the test adds a JPEG with a
Display P3 ICC profile, which sharp writes), and one JPEG per EXIF orientation 1-8 (an asymmetric picture, so that each orientation
gives different pixels).
"""
import json
import os
import shutil
import sys

import numpy as np

from torchvision_cpu import import_torchvision


def _pattern(h, w, seed):
    """Smooth gradients plus noise: asymmetric, not JPEG-hostile."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / max(w - 1, 1), y * 255 / max(h - 1, 1), (x + 2 * y) % 256], -1)
    return np.clip(base + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)


def write_fixtures(d):
    from PIL import Image
    import sklearn.datasets

    images = os.path.join(os.path.dirname(sklearn.datasets.__file__), "images")
    for name in ("china.jpg", "flower.jpg"):
        shutil.copy(os.path.join(images, name), os.path.join(d, name))
    rgb = _pattern(61, 83, 1)
    Image.fromarray(rgb).save(os.path.join(d, "rgb.png"))
    alpha = np.random.default_rng(2).integers(0, 256, (61, 83, 1), dtype=np.uint8)
    Image.fromarray(np.concatenate([rgb, alpha], -1), "RGBA").save(os.path.join(d, "rgba.png"))
    grey = rgb[..., 0]
    Image.fromarray(grey, "L").save(os.path.join(d, "grey.png"))
    Image.fromarray(grey, "L").save(os.path.join(d, "grey.jpg"), quality=95)
    Image.fromarray(np.stack([grey, alpha[..., 0]], -1), "LA").save(os.path.join(d, "la.png"))
    pal = Image.fromarray(rgb).quantize(64)
    pal.info["transparency"] = 3
    pal.save(os.path.join(d, "palette.png"), transparency=3)
    rng = np.random.default_rng(3)
    g16 = (grey.astype(np.uint16) * 257 + rng.integers(0, 257, grey.shape)).astype(np.uint16)
    g16[:8] = rng.integers(0, 300, (8, g16.shape[1]))  # low values: PIL's I;16 -> RGB clips at 255
    Image.fromarray(g16).save(os.path.join(d, "grey16.png"))
    # 16-bit RGB(A) and grey + alpha: Pillow cannot write them, so they are written by hand (zlib).
    rgb16 = (rgb.astype(np.uint16) * 257 + rng.integers(0, 257, rgb.shape)).astype(np.uint16)
    _write_png16(os.path.join(d, "rgb16.png"), rgb16, 2)
    a16 = rng.integers(0, 65536, rgb.shape[:2] + (1,), dtype=np.uint16)
    _write_png16(os.path.join(d, "rgba16.png"), np.concatenate([rgb16, a16], -1), 6)
    _write_png16(os.path.join(d, "la16.png"), np.stack([g16, a16[..., 0]], -1), 4)
    cmyk = np.random.default_rng(4).integers(0, 256, (61, 83, 4), dtype=np.uint8)
    cmyk[..., :3] = (cmyk[..., :3] // 2 + rgb // 2)
    Image.fromarray(cmyk, "CMYK").save(os.path.join(d, "cmyk.jpg"), quality=95)
    Image.fromarray(_pattern(20, 30, 5)).save(os.path.join(d, "small.png"))
    # EXIF orientation 1-8 on a 40 x 64 picture (rotations 5-8 swap the sides).
    pic = _pattern(40, 64, 6)
    for o in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = o
        Image.fromarray(pic).save(os.path.join(d, f"exif{o}.jpg"), quality=95, exif=exif.tobytes())


def _write_png16(path, pixels, color_type):
    import struct
    import zlib

    h, w = pixels.shape[:2]
    rows = pixels.reshape(h, -1).astype(">u2").tobytes()
    stride = len(rows) // h
    raw = b"".join(b"\x00" + rows[i * stride:(i + 1) * stride] for i in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw)))
        f.write(chunk(b"IEND", b""))


IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


def reference(case, d):
    """The float32 output of one case's Python pipeline (a numpy array)."""
    import torch
    from PIL import Image, ImageOps
    import torchvision.transforms as T
    import torchvision.transforms.v2 as T2
    import torchvision.transforms.v2.functional as F2

    path = os.path.join(d, case["file"])
    kind = case["ref"]
    size = case.get("size")
    if kind in ("hf-vjepa2", "hf-clip", "hf-clip-pil"):
        from transformers.image_utils import load_image  # EXIF transpose, then convert('RGB')
        img = load_image(path)
        if kind == "hf-vjepa2":
            from transformers import VJEPA2VideoProcessor
            video = np.stack([np.asarray(img)] * 2)  # a still image repeated over T, as seed 000
            return VJEPA2VideoProcessor(crop_size=size)(video, return_tensors="pt")["pixel_values_videos"][0, 0].numpy()
        from transformers import AutoImageProcessor, CLIPImageProcessor, CLIPVisionConfig
        if kind == "hf-clip":
            proc = CLIPImageProcessor()
        else:  # the PIL backend, as AutoImageProcessor gives it with use_fast=False
            folder = os.path.join(d, "clip-processor")
            if not os.path.isdir(folder):
                CLIPImageProcessor().save_pretrained(folder)
                CLIPVisionConfig().save_pretrained(folder)
            proc = AutoImageProcessor.from_pretrained(folder, backend="pil")
            assert type(proc).__name__ == "CLIPImageProcessorPil", type(proc)
        return proc(img, return_tensors="pt")["pixel_values"][0].numpy()
    # torchvision pipelines read as ImageFolder's loader does (no EXIF transpose) unless told.
    pil = Image.open(path)
    if case.get("autoOrient"):
        pil = ImageOps.exif_transpose(pil)
    pil = pil.convert("RGB")
    mean, std = case.get("mean", IMAGENET[0]), case.get("std", IMAGENET[1])
    if kind == "tv1":  # v1 transforms on the uint8 tensor, ToTensor's div(255)
        x = T.functional.pil_to_tensor(pil)
        x = T.Compose([T.Resize(int(size * 256 / 224)), T.CenterCrop(size)])(x)
        return T.Normalize(mean, std)(x.float().div(255)).numpy()
    if kind == "tv1-pil":  # the classic ImageNet evaluation on PIL images
        return T.Compose([T.Resize(int(size * 256 / 224)), T.CenterCrop(size), T.ToTensor(), T.Normalize(mean, std)])(pil).numpy()
    if kind == "tv2":
        x = T2.functional.pil_to_tensor(pil)
        t = T2.Compose([T2.Resize(int(size * 256 / 224)), T2.CenterCrop(size), T2.ToDtype(torch.float32, scale=True), T2.Normalize(mean, std)])
        return t(x).numpy()
    if kind == "pixels":  # decoding only: ToTensor + Normalize of PIL's convert('RGB')
        return T.Normalize(mean, std)(T.ToTensor()(pil)).numpy()
    if kind == "explicit":  # transforms.v2 functional with the case's interpolation
        x = F2.pil_to_tensor(pil)
        r = case.get("resize") or {}
        if r.get("size"):
            mode = F2.InterpolationMode(r["interpolation"])
            x = F2.resize(x, r["size"], interpolation=mode, antialias=r.get("antialias", True))
        if case.get("centerCrop"):
            x = F2.center_crop(x, case["centerCrop"])
        return F2.normalize(F2.to_dtype(x, torch.float32, scale=True), mean, std).numpy()
    raise ValueError(f"unknown reference {kind}")


def images(spec):
    import_torchvision()
    d = spec["dir"]
    write_fixtures(d)
    shapes = {}
    for case in spec["cases"]:
        out = np.ascontiguousarray(reference(case, d), dtype=np.float32)
        out.tofile(os.path.join(d, case["id"] + ".f32"))
        shapes[case["id"]] = list(out.shape)
    print(json.dumps(shapes))


def videos(spec):
    """Frame indices of V-JEPA's sampler for each setting of spec["sampling"], and for each case
    of spec["cases"] the clips PyAV decodes (every frame, `to_ndarray(format="rgb24")`, indexed in
    presentation order) preprocessed by transformers' VJEPA2VideoProcessor, written to
    <dir>/<id>.f32 as [clips, T, 3, H, W]."""
    import av
    import_torchvision()
    from transformers import VJEPA2VideoProcessor

    from vjepa_sampling import clip_indices

    out = {"sampling": [], "videos": {}}
    for s in spec["sampling"]:
        np.random.seed(s.pop("seed", 0))
        if s.pop("uniform", False):
            out["sampling"].append([np.linspace(0, s["total"] - 1, s["frames_per_clip"]).astype(int).tolist()])
        else:
            # numpy leaves -1 where a clip's bound is -1 (one-frame videos): decord reads it as the last frame.
            out["sampling"].append([np.where(c < 0, c + s["total"], c).tolist() for c in clip_indices(**s)])
    d = spec["dir"]
    decoded = {}
    for case in spec["cases"]:
        path = os.path.join(d, case["file"])
        if path not in decoded:
            with av.open(path) as container:
                stream = container.streams.video[0]
                frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
                decoded[path] = (np.stack(frames), float(stream.average_rate) if stream.average_rate else None)
        frames, rate = decoded[path]
        out["videos"][case["file"]] = {"frames": len(frames), "fps": rate}
        s = dict(case["sampling"])
        np.random.seed(s.pop("seed", 0))
        clips = clip_indices(len(frames), rate, **s)
        proc = VJEPA2VideoProcessor(crop_size=case["size"])
        result = np.stack([proc(frames[c], return_tensors="pt")["pixel_values_videos"][0].numpy() for c in clips])
        np.ascontiguousarray(result, dtype=np.float32).tofile(os.path.join(d, case["id"] + ".f32"))
        out[case["id"]] = [np.where(c < 0, c + len(frames), c).tolist() for c in clips]
    print(json.dumps(out))


if __name__ == "__main__":
    globals()[sys.argv[1]](json.loads(sys.stdin.read()))
