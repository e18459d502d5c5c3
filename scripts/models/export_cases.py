"""The Python half of test/export.test.mjs, in one process: makes a checkpoint or folder of every
export source (checkpoints.py), exports each with jepa_export (what `jepa-native export` runs),
and writes the expected outputs computed by the *source* model in Python:
- facebookresearch layouts: the official-faithful rewrites in python/jepa_export/models loaded
  from the checkpoint (docs/models.md records how they were checked against the official code);
- Hugging Face folders: transformers' own classes (IJepaModel, VJEPA2Model,
  CLIPVisionModelWithProjection, CLIPModel); minilm: SentenceTransformer(folder).encode.
Also runs the error cases whose messages the test checks (in-process: each is one `main` call).

    python scripts/models/export_cases.py OUT    -> prints a JSON manifest on its last line
"""
import contextlib
import io
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import checkpoints  # noqa: E402
from export import Cases  # noqa: E402
from jepa_export.checkpoint import strip_wrappers  # noqa: E402
from jepa_export.cli import main as export_main  # noqa: E402
from jepa_export.models import ijepa, vjepa, vjepa2  # noqa: E402


class Unsafe:
    """A pickled object of this class is what torch.load(weights_only=True) refuses."""


def run_export(argv):
    """jepa_export's main in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = export_main(argv)
    return code, out.getvalue(), err.getvalue()


def write(c, path, name):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    c.write(path, name)


def masks(n, batch, keep, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randperm(n, generator=g)[:keep].sort().values for _ in range(batch)])


def loaded(model, sd):
    model.load_state_dict(strip_wrappers(sd), strict=True)
    return model.eval()


def jepa_cases(folder, enc, tgt, pred, x, n, mask_index):
    """Cases of a JEPA export: encoders on all tokens and on keep-index masks, the predictor on
    the context encoder's output (with mask indices for V-JEPA / V-JEPA 2)."""
    os.makedirs(folder, exist_ok=True)
    B = x.shape[0]
    ctx_m = masks(n, B, n // 2, 11)
    m1, m2 = masks(n, B, 3, 12), masks(n, B, 3, 13)
    c = Cases()
    with torch.no_grad():
        c.call(enc, "forward", x, note="all tokens")
        c.call(enc, "forward", x, [ctx_m], note="one keep mask")
        c.call(enc, "forward", x, [m1, m2], note="two masks, concatenated on the batch")
    c.write(os.path.join(folder, "context_encoder.pt"), "context_encoder")
    c = Cases()
    with torch.no_grad():
        c.call(tgt, "forward", x, note="all tokens")
    c.write(os.path.join(folder, "target_encoder.pt"), "target_encoder")
    if pred is None:
        return
    c = Cases()
    with torch.no_grad():
        ctx = enc(x, [ctx_m])
        c.call(pred, "forward", ctx, [ctx_m], [m1], note="one target mask")
        if mask_index:
            c.call(pred, "forward", ctx, [ctx_m], [m2], 0, note="mask_index 0")
            c.call(pred, "forward", ctx, [ctx_m], [m2], 5, note="mask_index 5 (modulo the tokens)")
        else:
            c.call(pred, "forward", ctx, [ctx_m], [m1, m2], note="two target masks")
    c.extra = {"images": c.enc(x), "contextMasks": c.enc([ctx_m]), "targetMasks": c.enc([m1]), "context": c.enc(ctx)}
    c.write(os.path.join(folder, "predictor.pt"), "predictor")


def configs(out, made, refs, manifest):
    """--config: training YAMLs with the official key names (values for these checkpoints; the keys
    the exporter does not read are there as in the official files). ijepa: a vit_tiny checkpoint
    whose architecture comes from the YAML alone (meta.model_name, ...); vjepa, vjepa2, hjepa: the
    fixtures above, whose widths are outside the vit_* / timm tables, so the size flags stay while
    the YAML gives what the shapes cannot tell (crop size and clip length, RoPE, the predictor's
    heads and mask tokens, H-JEPA's predictor and EMA settings)."""
    import yaml
    folder = os.path.join(out, "inputs", "configs")
    os.makedirs(folder, exist_ok=True)

    def config(name, cfg):
        path = os.path.join(folder, f"{name}.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(cfg, f)
        return path

    def export(name, source, ckpt, cfg, flags=()):
        outdir = os.path.join(out, "models", f"{name}-config")
        code, stdout, stderr = run_export([source, ckpt, outdir, "--config", config(name, cfg), "--json"] + list(flags))
        if code != 0:
            raise SystemExit(f"export {name} --config failed ({code}): {stderr}")
        manifest["exports"][f"{name}-config"] = {"dir": outdir, "summary": json.loads(stdout.strip().splitlines()[-1])}

    tiny = os.path.join(out, "inputs", "ijepa-vit-tiny", "IN1K-vit.t.16-ep300.pth.tar")
    os.makedirs(os.path.dirname(tiny), exist_ok=True)
    checkpoints.large_ijepa(tiny, "vit_tiny", patch=16, crop=32, pred_depth=1, pred_emb_dim=24, with_opt=False)
    export("ijepa", "ijepa", tiny, {
        "data": {"batch_size": 128, "crop_size": 32, "crop_scale": [0.3, 1.0]},
        "mask": {"patch_size": 16, "num_enc_masks": 1, "num_pred_masks": 4},
        "meta": {"model_name": "vit_tiny", "pred_depth": 1, "pred_emb_dim": 24, "use_bfloat16": True},
        "optimization": {"ema": [0.996, 1.0], "epochs": 300, "lr": 0.001}})
    ck = torch.load(tiny, weights_only=True)
    enc = loaded(ijepa.build_encoder(ijepa.SIZES["vit_tiny"], 16, 32), ck["encoder"])
    tgt = loaded(ijepa.build_encoder(ijepa.SIZES["vit_tiny"], 16, 32), ck["target_encoder"])
    pred = loaded(ijepa.build_predictor(enc, 1, 24), ck["predictor"])
    jepa_cases(os.path.join(refs, "ijepa-config"), enc, tgt, pred, torch.randn(1, 3, 32, 32), 4, False)

    sizes = ["--embed-dim", "48", "--depth", "2", "--num-heads", "2"]
    block = {"aspect_ratio": [0.75, 1.5], "num_blocks": 8, "spatial_scale": [0.15, 0.15],
             "temporal_scale": [1.0, 1.0], "max_temporal_keep": 1.0}
    export("vjepa", "vjepa", made["vjepa"]["input"], {
        "app": "vjepa",
        "data": {"crop_size": 16, "patch_size": 4, "num_frames": 4, "tubelet_size": 2, "sampling_rate": 4},
        "mask": [block, {**block, "num_blocks": 2, "spatial_scale": [0.7, 0.7]}],
        "meta": {"use_sdpa": True, "dtype": "bfloat16"},
        "model": {"model_name": "vit_large", "pred_depth": 2, "pred_embed_dim": 24, "uniform_power": True,
                  "use_mask_tokens": True, "zero_init_mask_tokens": True}}, sizes)
    export("vjepa2", "vjepa2", made["vjepa2"]["input"], {
        "app": "vjepa",
        "data": {"crop_size": 16, "patch_size": 4, "dataset_fpcs": [4], "tubelet_size": 2, "fps": 4},
        "mask": [block, {**block, "num_blocks": 2}, {**block, "num_blocks": 4}],
        "meta": {"use_sdpa": True, "dtype": "bfloat16"},
        "model": {"model_name": "vit_large", "pred_depth": 2, "pred_embed_dim": 24, "pred_num_heads": 2,
                  "uniform_power": True, "use_mask_tokens": True, "use_rope": True}}, sizes)
    hjepa_cfg = {
        "model": {"encoder_type": "vit_base_patch16_224", "embed_dim": 32, "num_hierarchies": 3,
                  "predictor": {"depth": 2, "num_heads": 2, "mlp_ratio": 4.0},
                  "ema": {"momentum": 0.99, "momentum_end": 1.0, "momentum_warmup_epochs": 3},
                  "rope": {"use_rope": False, "theta": 10000.0}, "fpn": {"use_fpn": False}},
        "data": {"dataset": "imagenet", "image_size": 32, "batch_size": 128}}
    export("hjepa", "hjepa", made["hjepa"]["input"], hjepa_cfg, ["--num-heads", "2"])
    rope = {**hjepa_cfg, "model": {**hjepa_cfg["model"], "rope": {"use_rope": True}}}
    outdir = os.path.join(out, "models", "bad-rope")
    code, _, stderr = run_export(["hjepa", made["hjepa"]["input"], outdir, "--config", config("hjepa-rope", rope)])
    manifest["errors"]["unsupported"] = {"code": code, "stderr": stderr, "outdir": outdir}


def main(out):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    made = checkpoints.make(os.path.join(out, "inputs"))
    refs = os.path.join(out, "refs")
    manifest = {"exports": {}, "errors": {}}

    def export(name, source, extra=(), outname=None):
        outdir = os.path.join(out, "models", outname or name)
        code, stdout, stderr = run_export([source, made[name]["input"], outdir, "--json"] + made[name]["flags"] +
                                          list(extra))
        if code != 0:
            raise SystemExit(f"export {name} failed ({code}): {stderr}")
        manifest["exports"][outname or name] = {"dir": outdir, "summary": json.loads(stdout.strip().splitlines()[-1])}
        return outdir

    os.makedirs(os.path.join(out, "models"), exist_ok=True)
    # facebookresearch layouts: the rewrites loaded from the checkpoint are the source model.
    ck = torch.load(made["ijepa"]["input"], weights_only=True)
    size = (32, 2, 2, 4.0)
    enc = loaded(ijepa.build_encoder(size, 8, 32), ck["encoder"])
    tgt = loaded(ijepa.build_encoder(size, 8, 32), ck["target_encoder"])
    pred = loaded(ijepa.build_predictor(enc, 2, 16), ck["predictor"])
    export("ijepa", "ijepa")
    export("ijepa", "ijepa", ["--dtype", "float16"], "ijepa-float16")
    jepa_cases(os.path.join(refs, "ijepa"), enc, tgt, pred, torch.randn(2, 3, 32, 32), 16, False)

    for name, family, rope in [("vjepa", "vjepa", False), ("vjepa2", "vjepa2", True), ("vjepa2-sincos", "vjepa2", False)]:
        ck = torch.load(made[name]["input"], weights_only=True)
        kw = dict(img_size=16, patch_size=4, num_frames=4, tubelet_size=2, embed_dim=48, depth=2, num_heads=2)
        if family == "vjepa":
            make = lambda: vjepa.VisionTransformer(**kw)  # noqa: E731
            mod, pkw = vjepa, {}
        else:
            make = lambda: vjepa2.VisionTransformer(use_rope=rope, **kw)  # noqa: E731
            mod, pkw = vjepa2, {}
        enc, tgt = loaded(make(), ck["encoder"]), loaded(make(), ck["target_encoder"])
        ntok = len([k for k in ck["predictor"] if "mask_tokens." in k])
        pred = loaded(mod.build_predictor(enc, 2, 24, uniform_power=True, num_mask_tokens=ntok, **pkw), ck["predictor"])
        export(name, family)
        jepa_cases(os.path.join(refs, name), enc, tgt, pred, torch.randn(2, 3, 4, 16, 16), 16, True)
    export("vjepa2", "vjepa2", ["--dtype", "bfloat16"], "vjepa2-bfloat16")

    # jonwiggins/H-JEPA: models/hjepa.py (checked against the official HJEPA) loaded from the checkpoint.
    from jepa_export.models.hjepa import HJEPA
    export("hjepa", "hjepa")
    ck = torch.load(made["hjepa"]["input"], weights_only=True)
    hj = HJEPA(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, predictor_depth=2,
               predictor_num_heads=2, num_hierarchies=3)
    hj.load_state_dict(ck["model_state_dict"], strict=True)
    hj.eval()
    x = torch.randn(2, 3, 32, 32)
    mask = torch.zeros(2, 16)
    mask[0, [0, 1, 4, 5, 10]] = 1
    mask[1, [2, 3, 6, 7, 8, 15]] = 1
    c = Cases()
    with torch.no_grad():
        c.call(hj, "forward", x, mask, note="per-level predictions, targets, masks_valid")
        for level in range(3):
            c.call(hj, "extract_features", x, level, True, note=f"level {level}, target encoder")
        c.call(hj, "extract_features", x, 1, False, note="level 1, context encoder")
    write(c, os.path.join(refs, "hjepa", "model.pt"), "model")

    # Hugging Face folders: transformers' classes are the source model.
    tr = checkpoints.import_transformers()
    for name in ["hf-ijepa", "hf-ijepa-bin"]:
        export(name, "hf-ijepa")
        model = tr.IJepaModel.from_pretrained(made[name]["input"]).eval()
        x = torch.randn(2, 3, 32, 32)
        c = Cases()
        with torch.no_grad():
            c.cases.append({"method": "forward", "args": [c.enc(x)],
                            "result": c.enc(model(pixel_values=x).last_hidden_state), "note": "IJepaModel"})
        write(c, os.path.join(refs, name, "encoder.pt"), "encoder")

    export("hf-vjepa2", "hf-vjepa2")
    export("hf-vjepa2", "vjepa2", [], "hf-vjepa2-via-vjepa2")
    model = tr.VJEPA2Model.from_pretrained(made["hf-vjepa2"]["input"]).eval()
    video = torch.randn(2, 4, 3, 16, 16)  # VJEPA2Model's [B, T, C, H, W]
    clip = video.permute(0, 2, 1, 3, 4).contiguous()
    cm, tm = masks(16, 2, 8, 21), masks(16, 2, 4, 22)
    with torch.no_grad():
        full = model(pixel_values_videos=video, skip_predictor=True).last_hidden_state
        out_p = model(pixel_values_videos=video, context_mask=[cm], target_mask=[tm])
    c = Cases()
    c.cases.append({"method": "forward", "args": [c.enc(clip)], "result": c.enc(full), "note": "VJEPA2Model encoder"})
    write(c, os.path.join(refs, "hf-vjepa2", "encoder.pt"), "encoder")
    c = Cases()
    c.cases.append({"method": "forward", "args": [c.enc(out_p.masked_hidden_state), [c.enc(cm)], [c.enc(tm)]],
                    "result": c.enc(out_p.predictor_output.last_hidden_state),
                    "note": "VJEPA2Model predictor (its default mask index 1)"})
    write(c, os.path.join(refs, "hf-vjepa2", "predictor.pt"), "predictor")

    for name, cls in [("clip-vision", tr.CLIPVisionModelWithProjection), ("clip-full", tr.CLIPModel)]:
        export(name, "clip-vision")
        model = cls.from_pretrained(made[name]["input"]).eval()
        x = torch.randn(3, 3, 32, 32)
        with torch.no_grad():
            if name == "clip-vision":
                e = model(pixel_values=x).image_embeds
            else:
                e = model.get_image_features(pixel_values=x)
                e = getattr(e, "pooler_output", e)
        e = e / e.norm(p=2, dim=-1, keepdim=True)
        c = Cases()
        c.cases.append({"method": "forward", "args": [c.enc(x)], "result": c.enc(e), "note": cls.__name__})
        write(c, os.path.join(refs, name, "image_encoder.pt"), "image_encoder")

    export("minilm", "minilm")
    from sentence_transformers import SentenceTransformer
    st = SentenceTransformer(made["minilm"]["input"], device="cpu")
    texts = ["a dog", "a photo of two cats playing together", "persons hanging on the cable", "sunset over the ocean"]
    feats = st.tokenize(texts)
    emb = torch.from_numpy(st.encode(texts))
    c = Cases()
    c.cases.append({"method": "forward", "args": [c.enc(feats["input_ids"]), c.enc(feats["attention_mask"])],
                    "result": c.enc(emb), "note": "SentenceTransformer.encode"})
    c.extra = {"texts": texts}
    write(c, os.path.join(refs, "minilm", "text_encoder.pt"), "text_encoder")

    # User modules: seed 003's motion autoencoder (a training checkpoint with model_state_dict)
    # and seed 004's VL-JEPA predictor (a bare state dict), classes imported from scripts/models.
    from motion_ae import MotionFeatureAutoencoder
    from vl_jepa import Predictor
    own = os.path.join(out, "inputs", "module")
    os.makedirs(own, exist_ok=True)
    mae_args = {"input_dim": 24, "model_dim": 32, "latent_dim": 8, "num_heads": 4, "num_layers": 2, "use_token": True,
                "max_frames": 16}
    mae = checkpoints.randomize(MotionFeatureAutoencoder(**mae_args), 9).eval()
    torch.save({"epoch": 7, "model_state_dict": mae.state_dict(), "optimizer_state_dict": {}},
               os.path.join(own, "motion_ae_epoch7.pt"))
    vl = checkpoints.randomize(Predictor(input_dim=512, hidden_dim=64, output_dim=384), 10).eval()
    torch.save(vl.state_dict(), os.path.join(own, "predictor.pt"))
    for name, file, cls, init, kind in [
            ("motion-ae", "motion_ae_epoch7.pt", "motion_ae:MotionFeatureAutoencoder", mae_args, "motion-autoencoder"),
            ("vl-predictor", "predictor.pt", "vl_jepa:Predictor", {"input_dim": 512, "hidden_dim": 64}, "vl-predictor")]:
        outdir = os.path.join(out, "models", name)
        code, stdout, stderr = run_export(["module", "--checkpoint", os.path.join(own, file), outdir, "--class", cls,
                                           "--init-args", json.dumps(init), "--kind", kind, "--path", HERE, "--json"])
        if code != 0:
            raise SystemExit(f"export {name} failed ({code}): {stderr}")
        manifest["exports"][name] = {"dir": outdir, "summary": json.loads(stdout.strip().splitlines()[-1])}
    c = Cases()
    with torch.no_grad():
        feats = torch.randn(2, 5, 6, 24)
        c.call(mae, "encode", feats)
        c.call(mae, "forward", feats)
    write(c, os.path.join(refs, "motion-ae", "model.pt"), "model")
    c = Cases()
    with torch.no_grad():
        c.call(vl, "forward", torch.randn(3, 512))
    write(c, os.path.join(refs, "vl-predictor", "model.pt"), "model")
    code, _, stderr = run_export(["module", os.path.join(own, "predictor.pt"), os.path.join(out, "models", "bad-5"),
                                  "--class", "vl_jepa:Predictor", "--init-args", '{"hidden_dim": 64}', "--kind",
                                  "motion-autoencoder", "--path", HERE])
    manifest["errors"]["contract"] = {"code": code, "stderr": stderr, "outdir": os.path.join(out, "models", "bad-5")}

    # Error cases (exit code and stderr of one export each).
    bad = os.path.join(out, "inputs", "bad")
    os.makedirs(bad, exist_ok=True)
    ck = torch.load(made["ijepa"]["input"], weights_only=True)
    enc_sd = dict(ck["encoder"])
    for i in range(12):  # 12 unexpected keys (more than the 10 listed)
        enc_sd[f"module.extra.{i}.weight"] = torch.zeros(1)
    enc_sd.pop("module.norm.weight")  # 1 missing key
    enc_sd["module.blocks.0.mlp.fc1.weight"] = torch.zeros(100, 32)  # 2 shape mismatches
    enc_sd["module.blocks.1.attn.qkv.weight"] = torch.zeros(96, 30)
    torch.save({**ck, "encoder": enc_sd}, os.path.join(bad, "mismatch.pth.tar"))

    torch.save({"encoder": ck["encoder"], "predictor": ck["predictor"], "note": Unsafe()},
               os.path.join(bad, "unsafe.pth.tar"))
    flags = made["ijepa"]["flags"]
    for key, argv in [
        ("mismatch", ["ijepa", os.path.join(bad, "mismatch.pth.tar"), os.path.join(out, "models", "bad-1")] + flags),
        ("unsafe", ["ijepa", os.path.join(bad, "unsafe.pth.tar"), os.path.join(out, "models", "bad-2")] + flags),
        ("source", ["nonsense", made["ijepa"]["input"], os.path.join(out, "models", "bad-3")]),
        ("exists", ["ijepa", made["ijepa"]["input"], os.path.join(out, "models", "ijepa")] + flags),
        ("missing", ["ijepa", os.path.join(bad, "nope.pth.tar"), os.path.join(out, "models", "bad-4")] + flags),
    ]:
        code, stdout, stderr = run_export(argv)
        manifest["errors"][key] = {"code": code, "stderr": stderr, "outdir": argv[2]}
    # --overwrite replaces a folder that exists (its stale file goes with it).
    outdir = os.path.join(out, "models", "overwritten")
    os.makedirs(outdir)
    with open(os.path.join(outdir, "stale.txt"), "w") as f:
        f.write("from an earlier export\n")
    code, _, stderr = run_export(["ijepa", made["ijepa"]["input"], outdir, "--overwrite", "--no-verify"] + flags)
    manifest["errors"]["overwrite"] = {"code": code, "stderr": stderr, "outdir": outdir}

    # A missing package: safetensors for a model.safetensors folder (None in sys.modules makes its
    # import fail as if it were not installed; transformers, which holds it, is already imported).
    saved = sys.modules.get("safetensors")
    sys.modules["safetensors"] = None
    try:
        outdir = os.path.join(out, "models", "bad-6")
        code, _, stderr = run_export(["hf-ijepa", made["hf-ijepa"]["input"], outdir])
    finally:
        if saved is None:
            del sys.modules["safetensors"]
        else:
            sys.modules["safetensors"] = saved
    manifest["errors"]["package"] = {"code": code, "stderr": stderr, "outdir": outdir}
    configs(out, made, refs, manifest)
    manifest["inputs"] = made
    manifest["refs"] = refs
    print(json.dumps(manifest))


if __name__ == "__main__":
    main(os.path.abspath(sys.argv[1]))
