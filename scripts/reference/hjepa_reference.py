"""Python rewrite of jonwiggins/H-JEPA's training recipe, for jepa-native's H-JEPA tests.

It restates, in our words, what jonwiggins/H-JEPA does between reading configs/default.yaml and
the end of a training step (the official files are not copied here; their behaviour is followed,
and scripts/dev/hjepa_official_check.py checks every part below against the official code):
  - HierarchicalMasks: src/masks/hierarchical.py HierarchicalMaskGenerator (NumPy's global
    generator, np.random.uniform / np.random.randint in the same order).
  - warmup_schedule, ema_schedule: src/utils/scheduler.py CosineScheduler / LinearScheduler
    (warmup from 0) and EMAScheduler (held during warmup, then linear, clamped).
  - hjepa_loss: src/losses/hjepa_loss.py HJEPALoss (mse / smoothl1 / huber, optional L2
    normalisation with eps 1e-8, optional validity masks, weights as a float32 buffer).
  - Recipe: what scripts/train.py and src/trainers/trainer.py read from the config (including
    which keys they ignore) and the per-batch body of HJEPATrainer._train_epoch: masks ->
    forward -> loss -> EMA of the target encoder (momentum of the current global step, before
    backward) -> backward -> clip_grad_norm_(model.parameters()) -> AdamW step -> zero_grad ->
    lr = lr_schedule(global_step) -> global_step += 1. The optimizer starts at the config's lr,
    so step 0 runs at the base lr and step s > 0 at lr_schedule(s - 1).

Command line (test/hjepa.test.mjs runs `all` once for the whole file; bench/masks.mjs `bench`):
  python hjepa_reference.py all SPEC.json OUT_DIR
  python hjepa_reference.py bench < {"options", "batch_size", "repeats"}   -> {"ms": per batch}
SPEC: {"models": [{"name", "kwargs", "seed"}], "forward": [{"model", "images", "mask"}],
"masks": [{"seed", "options", "batch_size", "batches"}], "schedules": [{"kind", "args", "steps"}],
"train": [{"config", "stepsPerEpoch", "model", "images": [[shape, seed]], "maskedLoss"}], "threads"}.
Writes OUT_DIR/NAME.pt (TorchScript) per model, OUT_DIR/forward_I.pt (torch.save of the inputs and
outputs), OUT_DIR/result.json and OUT_DIR/params_I.bin (every parameter after training run I,
float32).
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------------------------------------
# Masks

class HierarchicalMasks:
    def __init__(self, input_size=224, patch_size=16, num_hierarchies=3, num_target_masks=4,
                 scale_progression="geometric", base_scale=(0.05, 0.15), aspect_ratio_range=(0.75, 1.5),
                 max_attempts=10):
        h, w = (input_size, input_size) if isinstance(input_size, int) else input_size
        self.H, self.W = h // patch_size, w // patch_size
        self.N = self.H * self.W
        self.levels = num_hierarchies
        self.M = num_target_masks
        self.base_scale = tuple(base_scale)
        self.aspect = tuple(aspect_ratio_range)
        self.max_attempts = max_attempts
        self.configs = []
        for level in range(num_hierarchies):
            factor = 2 ** level if scale_progression == "geometric" else 1 + level
            target = (min(0.95, self.base_scale[0] * factor), min(0.95, self.base_scale[1] * factor))
            ratio = 0.6 + 0.3 * (level / max(1, num_hierarchies - 1))
            self.configs.append((target, (min(0.95, ratio), min(1.0, ratio + 0.15))))

    def block(self, scale_range, occupied, level):
        for _ in range(self.max_attempts):
            scale = np.random.uniform(scale_range[0], scale_range[1])
            lo, hi = self.aspect
            if level == 0:
                lo, hi = max(lo, 0.85), min(hi, 1.15)
            ar = np.random.uniform(lo, hi)
            area = scale * self.N
            h = int(np.round(np.sqrt(area / ar)))
            w = int(np.round(h * ar))
            h = max(1, min(h, self.H))
            w = max(1, min(w, self.W))
            top = np.random.randint(0, self.H - h + 1)
            left = np.random.randint(0, self.W - w + 1)
            if occupied is None or not occupied[top:top + h, left:left + w].any():
                return top, left, h, w
        h = max(1, self.H // (level + 2))
        w = max(1, self.W // (level + 2))
        return np.random.randint(0, self.H - h + 1), np.random.randint(0, self.W - w + 1), h, w

    def to_mask(self, b):
        m = np.zeros((self.H, self.W), dtype=bool)
        m[b[0]:b[0] + b[2], b[1]:b[1] + b[3]] = True
        return torch.from_numpy(m.reshape(-1))

    def __call__(self, batch_size):
        """[(context [B, N] bool, targets [B, M, N] bool, blocks [B][M + 1][4]) per level]."""
        out = []
        for level, (target_scale, context_scale) in enumerate(self.configs):
            ctx, tgt, blocks = [], [], []
            for _ in range(batch_size):
                occupied = np.zeros((self.H, self.W), dtype=bool)
                drawn = []
                for _ in range(self.M):
                    b = self.block(target_scale, occupied, level)
                    drawn.append(b)
                    occupied[b[0]:b[0] + b[2], b[1]:b[1] + b[3]] = True
                c = self.block(context_scale, None, level)
                targets = torch.stack([self.to_mask(b) for b in drawn])
                ctx.append(self.to_mask(c) & ~targets.any(0))
                tgt.append(targets)
                blocks.append([[int(v) for v in b] for b in drawn + [c]])
            out.append((torch.stack(ctx), torch.stack(tgt), blocks))
        return out


# ---------------------------------------------------------------------------------------------
# Schedules

def warmup_schedule(kind, base, final, epochs, steps_per_epoch, warmup_epochs):
    """CosineScheduler / LinearScheduler with start_warmup_value 0: value at a global step."""
    warmup = warmup_epochs * steps_per_epoch
    total = epochs * steps_per_epoch

    def at(step):
        if step < warmup:
            return 0.0 + (base - 0.0) * step / warmup
        if kind == "cosine":
            return final + (base - final) * 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / (total - warmup)))
        return base - (base - final) * (step - warmup) / (total - warmup)
    return at


def ema_schedule(base, final, epochs, steps_per_epoch, warmup_epochs):
    """EMAScheduler: base during warmup, then linear to final, clamped."""
    warmup = warmup_epochs * steps_per_epoch
    total = epochs * steps_per_epoch

    def at(step):
        if step < warmup:
            return base
        progress = min(1.0, (step - warmup) / (total - warmup))
        return base + (final - base) * progress
    return at


# ---------------------------------------------------------------------------------------------
# Loss

def hjepa_loss(predictions, targets, loss_type="mse", weights=None, normalize=False, masks=None, huber_delta=1.0,
               eps=1e-8):
    """Returns (total, [per-level losses])."""
    losses = []
    for i, (p, t) in enumerate(zip(predictions, targets)):
        if normalize:
            p = F.normalize(p, p=2, dim=-1, eps=eps)
            t = F.normalize(t, p=2, dim=-1, eps=eps)
        t = t.detach()
        if masks is not None:
            m = masks[i]
            if m.ndim == 2:
                m = m.unsqueeze(-1)
            if loss_type == "mse":
                base = F.mse_loss(p, t, reduction="none")
            elif loss_type == "smoothl1":
                base = F.smooth_l1_loss(p, t, reduction="none")
            else:
                base = F.huber_loss(p, t, reduction="none", delta=huber_delta)
            level = (base * m.float()).sum() / (m.sum() + eps)
        elif loss_type == "mse":
            level = F.mse_loss(p, t)
        elif loss_type == "smoothl1":
            level = F.smooth_l1_loss(p, t)
        else:
            level = F.huber_loss(p, t, delta=huber_delta)
        losses.append(level)
    w = torch.tensor(weights if weights is not None else [1.0] * len(losses), dtype=torch.float32)
    stacked = torch.stack(losses)
    return (stacked * w).sum(), [float(x) for x in losses]


# ---------------------------------------------------------------------------------------------
# The recipe of a config and its training step

class Recipe:
    """The settings scripts/train.py and HJEPATrainer take from a config dict (YAML shape)."""

    def __init__(self, config, steps_per_epoch):
        model, data, training = config.get("model", {}), config.get("data", {}), config["training"]
        masking, loss = config.get("masking", {}), config.get("loss", {})
        self.image_size = data.get("image_size", 224)
        self.levels = model.get("num_hierarchies", 3)
        self.masks = dict(input_size=(self.image_size, self.image_size), patch_size=16, num_hierarchies=self.levels,
                          num_target_masks=masking.get("num_masks", 4),
                          base_scale=tuple(masking.get("mask_scale", [0.05, 0.15])),
                          aspect_ratio_range=tuple(masking.get("aspect_ratio", [0.75, 1.5])))
        loss_type = loss.get("type", "combined").lower()
        self.loss_type = loss.get("jepa_loss_type", loss_type if loss_type in ("smoothl1", "mse") else "smoothl1")
        w = loss.get("hierarchy_weights", 1.0)
        self.weights = [float(w)] * self.levels if isinstance(w, (int, float)) else list(w)
        self.normalize = loss.get("normalize_embeddings", True)
        self.lr = training.get("lr", training.get("learning_rate", 1e-4))
        self.weight_decay = training.get("weight_decay", 0.0)
        self.betas = tuple(training.get("betas", [0.9, 0.95]))
        self.clip = training.get("clip_grad", None)
        epochs = training["epochs"]
        self.steps_per_epoch = steps_per_epoch // training.get("accumulation_steps", 1)
        self.lr_at = warmup_schedule(training.get("lr_schedule", "cosine"), self.lr,
                                     training.get("scheduler_params", {}).get("min_lr", 1e-6), epochs,
                                     self.steps_per_epoch, training.get("warmup_epochs", 0))
        ema = training.get("ema_momentum_schedule", {})
        self.momentum_at = ema_schedule(ema.get("start", 0.996), ema.get("end", 1.0), epochs, self.steps_per_epoch,
                                        ema.get("warmup_steps", 1000) // self.steps_per_epoch)
        self.seed = config.get("seed", 42)


class Trainer:
    """One HJEPATrainer iteration per `step(images)`, masks from the hierarchical generator.
    `masked_loss` (ours, not jonwiggins' trainer) passes the model's masks_valid to the loss."""

    def __init__(self, model, recipe, masked_loss=False):
        self.model = model
        self.r = recipe
        self.masked_loss = masked_loss
        self.generator = HierarchicalMasks(**recipe.masks)
        self.opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, betas=recipe.betas,
                                     weight_decay=recipe.weight_decay)
        self.global_step = 0

    def step(self, images):
        self.model.train()
        levels = self.generator(images.shape[0])
        mask = levels[0][1].any(dim=1)
        out = self.model(images, mask)
        loss, parts = hjepa_loss(out["predictions"], out["targets"], self.r.loss_type, self.r.weights,
                                 self.r.normalize, out["masks_valid"] if self.masked_loss else None)
        momentum = self.r.momentum_at(self.global_step)
        with torch.no_grad():
            for pt, pc in zip(self.model.target_encoder.parameters(), self.model.context_encoder.parameters()):
                pt.data.mul_(momentum).add_(pc.data, alpha=1.0 - momentum)
        loss.backward()
        lr_used = self.opt.param_groups[0]["lr"]
        if self.r.clip is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.r.clip)
        self.opt.step()
        self.opt.zero_grad()
        lr = self.r.lr_at(self.global_step)
        for g in self.opt.param_groups:
            g["lr"] = lr
        self.global_step += 1
        return {"loss": float(loss), "parts": parts, "momentum": momentum, "lr": lr_used, "mask": mask,
                "levels": levels}


# ---------------------------------------------------------------------------------------------
# Command line

def run_masks(job):
    np.random.seed(job["seed"])
    gen = HierarchicalMasks(**job["options"])
    batches = []
    for _ in range(job.get("batches", 1)):
        levels = gen(job["batch_size"])
        batches.append({
            "context": [c.to(torch.uint8).flatten().tolist() for c, _, _ in levels],
            "targets": [t.to(torch.uint8).flatten().tolist() for _, t, _ in levels],
            "blocks": [b for _, _, b in levels],
        })
    return batches


def run_schedule(job):
    a = job["args"]
    if job["kind"] == "seed001":  # seed 001's README formula as written (k capped at T)
        start, end, T = a
        return [start + (end - start) * (1 + math.cos(math.pi * min(s, T) / T)) / 2 for s in job["steps"]]
    if job["kind"] == "ema":
        at = ema_schedule(*a)
    else:
        at = warmup_schedule(job["kind"], *a)
    # HJEPATrainer: the optimizer's initial lr at step 0, then the scheduler's value of the step before.
    if job.get("lagged"):
        return [a[0] if s == 0 else at(s - 1) for s in job["steps"]]
    return [at(s) for s in job["steps"]]


def run_train(job, models, out_dir, index):
    from hjepa import HJEPA
    spec = models[job["model"]]
    if job.get("jit"):  # the TorchScript file itself (as Node runs it) instead of the eager model
        model = torch.jit.load(spec["path"])
    else:
        model = HJEPA(**spec["kwargs"])
        model.load_state_dict(torch.jit.load(spec["path"]).state_dict())
    recipe = Recipe(job["config"], job["stepsPerEpoch"])
    np.random.seed(recipe.seed)
    trainer = Trainer(model, recipe, masked_loss=job.get("maskedLoss", False))
    steps = []
    for shape, seed in job["images"]:
        images = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
        s = trainer.step(images)
        steps.append({"loss": s["loss"], "parts": s["parts"], "momentum": s["momentum"], "lr": s["lr"],
                      "mask": s["mask"].to(torch.uint8).flatten().tolist()})
    tensors, blob = {}, bytearray()
    for name, p in model.named_parameters():
        tensors[name] = [len(blob), list(p.shape)]
        blob += p.detach().contiguous().float().numpy().tobytes()
    with open(os.path.join(out_dir, f"params_{index}.bin"), "wb") as f:
        f.write(blob)
    return {"steps": steps, "tensors": tensors}


def all_main(spec_path, out_dir):
    spec = json.load(open(spec_path))
    torch.set_num_threads(spec.get("threads", 1))
    sys.path.insert(0, os.path.join(HERE, "..", "models"))
    from hjepa import HJEPA
    models = {}
    for m in spec.get("models", []):
        torch.manual_seed(m.get("seed", 0))
        model = HJEPA(**m["kwargs"])
        path = os.path.join(out_dir, m["name"] + ".pt")
        model.eval()
        torch.jit.script(model).save(path)
        models[m["name"]] = {"kwargs": m["kwargs"], "path": path}
    for i, f in enumerate(spec.get("forward", [])):
        loaded = torch.jit.load(models[f["model"]]["path"])
        x = torch.randn(f["images"][0], generator=torch.Generator().manual_seed(f["images"][1]))
        mask = torch.tensor(f["mask"], dtype=torch.bool)
        loaded.train()
        out = loaded(x, mask)
        loaded.eval()
        with torch.no_grad():
            feats = [loaded.extract_features(x, level) for level in range(loaded.num_levels())]
        torch.save({"images": x, "mask": mask, "predictions": [t.detach() for t in out["predictions"]],
                    "targets": [t.detach() for t in out["targets"]], "masks_valid": out["masks_valid"],
                    "features": feats}, os.path.join(out_dir, f"forward_{i}.pt"))
    result = {
        "masks": [run_masks(j) for j in spec.get("masks", [])],
        "schedules": [run_schedule(j) for j in spec.get("schedules", [])],
        "train": [run_train(j, models, out_dir, i) for i, j in enumerate(spec.get("train", []))],
    }
    with open(os.path.join(out_dir, "result.json"), "w") as f:
        json.dump(result, f)


def bench_main():
    """ms per batch of HierarchicalMasks (stdin: {"options", "batch_size", "repeats"}), median."""
    import time
    spec = json.load(sys.stdin)
    np.random.seed(0)
    gen = HierarchicalMasks(**spec["options"])
    gen(spec["batch_size"])
    times = []
    for _ in range(spec.get("repeats", 5)):
        t0 = time.perf_counter()
        gen(spec["batch_size"])
        times.append((time.perf_counter() - t0) * 1000.0)
    print(json.dumps({"ms": sorted(times)[len(times) // 2]}))


if __name__ == "__main__":
    if sys.argv[1] == "bench":
        bench_main()
    else:
        all_main(sys.argv[2], sys.argv[3])
