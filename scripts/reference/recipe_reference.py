"""Python rewrite of the official training step of each recipe family, driven by the same YAML
config as the official script, for the recipe parity tests (test/recipes.test.mjs).

Each family follows its official loop operation for operation: how the config is read (PyYAML,
the official keys and `.get` defaults), the optimizer and its parameter groups, the schedulers
(their `_step` counters and arithmetic), the loss, gradient clipping and when it applies, and
the target-encoder EMA formula:

    ijepa   facebookresearch/ijepa src/train.py, src/helper.py (init_opt), src/utils/schedulers.py
    vjepa   facebookresearch/jepa app/vjepa/train.py, app/vjepa/utils.py, src/utils/schedulers.py,
            src/models/utils/multimask.py (the wrappers' loops and mask_index)
    vjepa2  facebookresearch/vjepa2 app/vjepa/train.py, app/vjepa/utils.py, src/utils/schedulers.py,
            src/utils/wrappers.py
    motion  seed 003's train.py as its README gives it (AdamW, lr / weight decay / loss weights)
    vl      seed 004's training loop (README: AdamW(lr=1e-4), 1 - cosine)

The models are TorchScript files (the same files the Node side loads), so that forward and
backward run the same kernels. How this rewrite was checked against the official code (the
official loops run on the same weights, batches and masks): docs/training.md, "Recipes".

    python recipe_reference.py SPEC.json OUT_DIR

SPEC: {"threads": n, "build": [{"kind": "vjepa_predictor", "path", "seed", "kwargs"}],
       "runs": [{"name", "family", "config": YAML text, "files": {...}, "stepsPerEpoch",
                 "steps": [{"batch": {...}, "seed": optional}],
                 "normalizeTargets": optional, I-JEPA only: false leaves out the targets' layer norm}]}
OUT_DIR/NAME.json: {"losses", "lr", "wd", "momentum", "clipped", "tensors": {name: [offset, shape]}}
and OUT_DIR/NAME.bin: every parameter after the last step (float32, little endian).
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------------------------------------
# Shared pieces of the facebookresearch loops

def gather_tokens(x, masks):
    """src/masks/utils.py apply_masks: the kept tokens of each mask, stacked along the batch."""
    out = []
    for m in masks:
        index = m.unsqueeze(-1).expand(-1, -1, x.size(-1))
        out.append(torch.gather(x, dim=1, index=index))
    return torch.cat(out, dim=0)


def repeat_batches(x, batch, repeat):
    """src/utils/tensors.py repeat_interleave_batch."""
    chunks = []
    for i in range(len(x) // batch):
        chunks.extend([x[i * batch:(i + 1) * batch]] * repeat)
    return torch.cat(chunks, dim=0)


def init_opt_groups(encoder, predictor, wd_exclude=True):
    """init_opt's four groups: weights of the encoder, of the predictor, then their biases and
    1-D parameters with weight decay 0 (and WD_exclude, so the wd scheduler leaves them)."""
    def decayed(n, p):
        return "bias" not in n and len(p.shape) != 1
    return [
        {"params": [p for n, p in encoder.named_parameters() if decayed(n, p)]},
        {"params": [p for n, p in predictor.named_parameters() if decayed(n, p)]},
        {"params": [p for n, p in encoder.named_parameters() if not decayed(n, p)], "WD_exclude": wd_exclude,
         "weight_decay": 0},
        {"params": [p for n, p in predictor.named_parameters() if not decayed(n, p)], "WD_exclude": wd_exclude,
         "weight_decay": 0},
    ]


class LrWarmupCosine:
    """WarmupCosineSchedule: linear warm-up over `warmup_steps` calls, then a cosine to
    `final_lr` over the remaining `t_max - warmup_steps`, never below `final_lr`."""

    def __init__(self, opt, warmup_steps, start_lr, ref_lr, t_max, final_lr):
        self.opt, self.warmup, self.start, self.ref, self.final = opt, warmup_steps, start_lr, ref_lr, final_lr
        self.span = t_max - warmup_steps
        self.count = 0.

    def step(self):
        self.count += 1
        if self.count < self.warmup:
            lr = self.start + (float(self.count) / float(max(1, self.warmup))) * (self.ref - self.start)
        else:
            progress = float(self.count - self.warmup) / float(max(1, self.span))
            lr = max(self.final, self.final + (self.ref - self.final) * 0.5 * (1. + math.cos(math.pi * progress)))
        for g in self.opt.param_groups:
            g["lr"] = lr
        return lr


class LrLinearDecay:
    """V-JEPA 2's LinearDecaySchedule (cool-down): from ref_lr towards final_lr over t_max calls."""

    def __init__(self, opt, ref_lr, t_max, final_lr):
        self.opt, self.ref, self.final, self.t_max = opt, ref_lr, final_lr, t_max
        self.count = 0.

    def step(self):
        self.count += 1
        lr = self.ref + (float(self.count) / float(max(1, self.t_max))) * (self.final - self.ref)
        for g in self.opt.param_groups:
            g["lr"] = lr
        return lr


class WdCosine:
    """CosineWDSchedule: a cosine from ref_wd to final_wd over t_max calls, clamped at final_wd,
    written to every group not marked WD_exclude."""

    def __init__(self, opt, ref_wd, t_max, final_wd):
        self.opt, self.ref, self.final, self.t_max = opt, ref_wd, final_wd, t_max
        self.count = 0.

    def step(self):
        self.count += 1
        wd = self.final + (self.ref - self.final) * 0.5 * (1. + math.cos(math.pi * (self.count / self.t_max)))
        wd = max(self.final, wd) if self.final <= self.ref else min(self.final, wd)
        for g in self.opt.param_groups:
            if not g.get("WD_exclude", False):
                g["weight_decay"] = wd
        return wd


def momentum_values(ema, ipe, epochs, ipe_scale):
    """The momentum generator of the loops: a linear ramp over ipe * epochs * ipe_scale steps."""
    total = ipe * epochs * ipe_scale
    return (ema[0] + i * (ema[1] - ema[0]) / total for i in range(int(total) + 1))


def ema_loop(encoder, target, m):
    """I-JEPA's and V-JEPA's update: k <- k * m + ((1 - m) * q), rounded in that order."""
    with torch.no_grad():
        for q, k in zip(encoder.parameters(), target.parameters()):
            k.data.mul_(m).add_((1. - m) * q.detach().data)


def ema_foreach(encoder, target, m):
    """V-JEPA 2's update: foreach multiply, then foreach add with alpha = 1 - m."""
    with torch.no_grad():
        ks = list(target.parameters())
        qs = list(encoder.parameters())
        torch._foreach_mul_(ks, m)
        torch._foreach_add_(ks, qs, alpha=1 - m)


def schedulers(opt, o, ipe, ipe_scale, anneal=False):
    t_max = int(ipe_scale * o["epochs"] * ipe)
    if anneal:
        lr = LrLinearDecay(opt, o.get("lr"), t_max, o.get("final_lr"))
    else:
        lr = LrWarmupCosine(opt, int(o["warmup"] * ipe), o["start_lr"], o["lr"], t_max, o["final_lr"])
    wd = WdCosine(opt, float(o["weight_decay"]), t_max, float(o["final_weight_decay"]))
    return lr, wd


# ---------------------------------------------------------------------------------------------
# The families

def run_ijepa(cfg, run, modules, record):
    o = cfg["optimization"]
    ipe = run["stepsPerEpoch"]
    enc, tgt, pred = modules["context"], modules["target"], modules["predictor"]
    opt = torch.optim.AdamW(init_opt_groups(enc, pred))
    lr_s, wd_s = schedulers(opt, o, ipe, o["ipe_scale"])
    momenta = momentum_values(o["ema"], ipe, o["epochs"], o["ipe_scale"])
    for step in run["steps"]:
        begin(step)
        b = step["batch"]
        imgs, masks_enc, masks_pred = b["images"], b["context"], b["targets"]
        lr, wd = lr_s.step(), wd_s.step()
        with torch.no_grad():
            h = tgt(imgs)
            if run.get("normalizeTargets", True):  # False: the trainer option (seed 002's notebook variant)
                h = F.layer_norm(h, (h.size(-1),))
            h = repeat_batches(gather_tokens(h, masks_pred), len(h), len(masks_enc))
        z = pred(enc(imgs, masks_enc), masks_enc, masks_pred)
        loss = F.smooth_l1_loss(z, h)
        loss.backward()
        opt.step()
        opt.zero_grad()
        m = next(momenta)
        ema_loop(enc, tgt, m)
        record(float(loss), lr, wd, m, False)


def run_vjepa(cfg, run, modules, record):
    o = cfg["optimization"]
    ipe = o.get("ipe", None) or run["stepsPerEpoch"]
    ipe_scale = o.get("ipe_scale", 1.0)
    clip_grad = o.get("clip_grad", None)
    warmup = o.get("warmup")
    loss_exp, reg_coeff = cfg["loss"].get("loss_exp"), cfg["loss"].get("reg_coeff")
    enc, tgt, pred = modules["context"], modules["target"], modules["predictor"]
    opt = torch.optim.AdamW(init_opt_groups(enc, pred), betas=o.get("betas", (0.9, 0.999)), eps=o.get("eps", 1.e-8))
    lr_s, wd_s = schedulers(opt, o, ipe, ipe_scale)
    momenta = momentum_values(o.get("ema"), ipe, o.get("epochs"), ipe_scale)
    for index, step in enumerate(run["steps"]):
        begin(step)
        epoch = index // ipe  # `for epoch ...: for itr in range(ipe)`
        b = step["batch"]
        clips, masks_enc, masks_pred = b["images"], b["context"], b["targets"]
        lr, wd = lr_s.step(), wd_s.step()
        with torch.no_grad():
            h = tgt(clips)
            h = F.layer_norm(h, (h.size(-1),))
            hs = [gather_tokens(h, [mp]) for mp in masks_pred]
        # MultiMaskWrapper: the encoder on each mask; PredictorMultiMaskWrapper: mask_index = i.
        zs = [enc(clips, [me]) for me in masks_enc]
        zs = [pred(z, [me], [mp], i) for i, (z, me, mp) in enumerate(zip(zs, masks_enc, masks_pred))]
        loss_jepa = 0.
        for zi, hi in zip(zs, hs):
            loss_jepa += torch.mean(torch.abs(zi - hi) ** loss_exp) / loss_exp
        loss_jepa /= len(masks_pred)
        pstd = sum([torch.sqrt(zi.var(dim=1) + 0.0001) for zi in zs]) / len(zs)
        loss_reg = 0.
        loss_reg += torch.mean(F.relu(1. - pstd))
        loss = loss_jepa + reg_coeff * loss_reg
        loss.backward()
        clipped = (epoch > warmup) and (clip_grad is not None)
        if clipped:
            torch.nn.utils.clip_grad_norm_(enc.parameters(), clip_grad)
            torch.nn.utils.clip_grad_norm_(pred.parameters(), clip_grad)
        opt.step()
        opt.zero_grad()
        m = next(momenta)
        ema_loop(enc, tgt, m)
        record(float(loss), lr, wd, m, clipped)


def run_vjepa2(cfg, run, modules, record):
    o = cfg["optimization"]
    ipe = o.get("ipe", None) or run["stepsPerEpoch"]
    ipe_scale = o.get("ipe_scale", 1.0)
    loss_exp = cfg["loss"].get("loss_exp")
    enc, tgt, pred = modules["context"], modules["target"], modules["predictor"]
    opt = torch.optim.AdamW(init_opt_groups(enc, pred), betas=o.get("betas", (0.9, 0.999)), eps=o.get("eps", 1.0e-8))
    lr_s, wd_s = schedulers(opt, o, ipe, ipe_scale, anneal=o.get("is_anneal", False))
    momenta = momentum_values(o.get("ema"), ipe, o.get("epochs"), ipe_scale)
    for step in run["steps"]:
        begin(step)
        b = step["batch"]
        # One clip-length group (every official config lists one length): lists of one.
        clips, masks_enc, masks_pred = [b["images"]], [b["context"]], [b["targets"]]
        lr, wd = lr_s.step(), wd_s.step()
        with torch.no_grad():
            h = [F.layer_norm(hi, (hi.size(-1),)) for hi in [tgt(c) for c in clips]]
        # MultiSeqWrapper / PredictorMultiSeqWrapper: mask_index is the group's index i.
        z = [[enc(c, [m]) for m in me] for c, me in zip(clips, masks_enc)]
        z = [[pred(zij, [mx], [my], i) for zij, mx, my in zip(zi, mxi, myi)]
             for i, (zi, mxi, myi) in enumerate(zip(z, masks_enc, masks_pred))]
        h = [[gather_tokens(hi, [m]) for m in mi] for hi, mi in zip(h, masks_pred)]
        loss, n = 0, 0
        for zi, hi in zip(z, h):
            for zij, hij in zip(zi, hi):
                loss += torch.mean(torch.abs(zij - hij) ** loss_exp) / loss_exp
                n += 1
        loss /= n
        loss.backward()
        opt.step()
        opt.zero_grad()
        m = next(momenta)
        ema_foreach(enc, tgt, m)
        record(float(loss), lr, wd, m, False)


def run_motion(cfg, run, modules, record):
    model = modules["model"]
    lr, wd = cfg.get("lr", 2e-4), float(cfg.get("weight_decay", 1e-4))
    rw, mw, sw = cfg.get("recon_weight", 1.0), cfg.get("motion_weight", 1.0), cfg.get("smooth_weight", 0.05)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    for step in run["steps"]:
        begin(step)
        x = step["batch"]["features"]
        recon, z, _ = model(x)
        loss = (rw * F.mse_loss(recon, x)
                + mw * F.mse_loss(recon[:, 1:] - recon[:, :-1], x[:, 1:] - x[:, :-1])
                + sw * (z[:, 1:] - z[:, :-1]).pow(2).mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
        record(float(loss), lr, wd, None, False)


def run_vl(cfg, run, modules, record):
    model = modules["model"]
    lr = cfg.get("lr", 1e-4)
    opt = torch.optim.AdamW(model.parameters(), lr=lr) if "weight_decay" not in cfg else \
        torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=float(cfg["weight_decay"]))
    for step in run["steps"]:
        begin(step)
        b = step["batch"]
        pred = model(b["imageEmbeddings"])
        loss = 1 - torch.cosine_similarity(pred, b["textEmbeddings"], dim=-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        record(float(loss), lr, opt.param_groups[0]["weight_decay"], None, False)


FAMILIES = {"ijepa": run_ijepa, "vjepa": run_vjepa, "vjepa2": run_vjepa2, "motion": run_motion, "vl": run_vl}


# ---------------------------------------------------------------------------------------------

def begin(step):
    """Dropout and drop-path draw from torch.manual_seed(seed) when a step names a seed (the Node
    side seeds jepa.manualSeed the same way before its step)."""
    if step.get("seed") is not None:
        torch.manual_seed(step["seed"])


def tensor(spec):
    """A tensor from its JSON form: {"randn": [shape, seed]} or {"values": nested, "dtype"}."""
    if isinstance(spec, list):
        return [tensor(s) for s in spec]
    if "randn" in spec:
        shape, seed = spec["randn"]
        return torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    return torch.tensor(spec["values"], dtype=getattr(torch, spec["dtype"]))


def build(item):
    """Fixture models made in this process (V-JEPA predictors with mask tokens)."""
    sys.path.insert(0, os.path.join(HERE, "..", "models"))
    import ijepa
    torch.manual_seed(item["seed"])
    model = ijepa.vit_predictor(**item["kwargs"])
    torch.jit.script(model).save(item["path"])


def run_one(run, out_dir):
    cfg = yaml.safe_load(run["config"])
    modules = {k: torch.jit.load(f) for k, f in run["files"].items()}
    for m in modules.values():
        m.train()
    steps = [{"batch": {k: tensor(v) for k, v in s["batch"].items()}, "seed": s.get("seed")} for s in run["steps"]]
    out = {"losses": [], "lr": [], "wd": [], "momentum": [], "clipped": []}

    def record(loss, lr, wd, m, clipped):
        for k, v in zip(out, (loss, lr, wd, m, clipped)):
            out[k].append(v)

    FAMILIES[run["family"]](cfg, dict(run, steps=steps), modules, record)
    write(out, modules, os.path.join(out_dir, run["name"]))


def write(out, modules, stem):
    index, blob = {}, bytearray()
    for key, m in modules.items():
        for n, p in m.named_parameters():
            index[f"{key}.{n}"] = [len(blob), list(p.shape)]
            blob += p.detach().contiguous().float().numpy().tobytes()
    out["tensors"] = index
    with open(stem + ".bin", "wb") as f:
        f.write(blob)
    with open(stem + ".json", "w") as f:
        json.dump(out, f)


def main():
    spec = json.load(open(sys.argv[1]))
    out_dir = sys.argv[2]
    torch.set_num_threads(spec.get("threads", 1))
    for item in spec.get("build", []):
        build(item)
    for run in spec["runs"]:
        run_one(run, out_dir)


if __name__ == "__main__":
    main()
