"""Python reference of jepa-native's training steps (jepa.Trainer), used by the tests and by
`npm run bench:train`.

Each step restates its official training loop (facebookresearch/ijepa src/train.py,
facebookresearch/jepa app/vjepa/train.py, seeds 003, 004; H-JEPA's is hjepa_reference.py) with the same modules (TorchScript
files loaded with torch.jit.load), torch.optim.AdamW with I-JEPA's parameter groups, and the
target-encoder EMA of the trainer's default for the kind (I-JEPA's and V-JEPA's loop, else V-JEPA
2's foreach form) unless "emaFormula" says. The lr, weight decay and momentum of each step are
given by the caller (the schedules are tested on their own).

    python train_reference.py SPEC.json OUT_DIR

SPEC: {"kind", "files": {...}, "steps": [{"lr", "wd", "momentum", "seed", "batch": {...}}], options...}
Options beyond the trainer's: "bf16" (forward and loss under torch.autocast(device, bfloat16)),
"eager" ({"context": [factory, kwargs], ...}: build the reference models of scripts/models/ijepa.py
and load the TorchScript files' state_dicts into them with load_state_dict), "resume" (a
checkpoint to load with torch.load(weights_only=True) before the first step: the models'
load_state_dict, AdamW's load_state_dict), "save" ({"path", "after"}: write an I-JEPA-layout
checkpoint with torch.save after step `after`).
OUT_DIR/result.json: {"losses": [...], "parts": [[...]], "tensors": {name: [offset, shape]}} and
OUT_DIR/params.bin: every parameter after the last step (float32, little endian).
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def apply_masks(x, masks):
    out = []
    for m in masks:
        if m.dim() == 1:
            m = m.unsqueeze(0).expand(x.size(0), -1)
        out.append(torch.gather(x, dim=1, index=m.unsqueeze(-1).expand(-1, -1, x.size(-1))))
    return torch.cat(out, dim=0)


def repeat_interleave_batch(x, B, repeat):
    N = len(x) // B
    return torch.cat([torch.cat([x[i * B:(i + 1) * B] for _ in range(repeat)], dim=0) for i in range(N)], dim=0)


def param_groups(named_modules, exclude):
    """I-JEPA's groups: weights of each module, then biases / 1-D parameters without decay."""
    if not exclude:
        return [{"params": [p for _, m in named_modules for _, p in m]}]
    groups = []
    for _, m in named_modules:
        groups.append({"params": [p for n, p in m if ("bias" not in n) and (len(p.shape) != 1)]})
    for _, m in named_modules:
        groups.append({"params": [p for n, p in m if ("bias" in n) or (len(p.shape) == 1)],
                       "WD_exclude": True, "weight_decay": 0})
    return groups


def clip(params, max_norm):
    grads = [p for p in params if p.grad is not None]
    if max_norm is None:
        return float(torch.nn.utils.get_total_norm([p.grad for p in grads])) if grads else 0.0
    return float(torch.nn.utils.clip_grad_norm_(grads, max_norm))


class Reference:
    def __init__(self, spec):
        self.kind = spec["kind"]
        files = spec["files"]
        self.exclude = spec.get("excludeBiasAndNorm", self.kind not in ("motion", "vl"))
        self.clip = spec.get("clipGrad")
        self.loss_exp = spec.get("lossExp", 1.0)
        self.ema_formula = spec.get("emaFormula", "loop" if self.kind in ("ijepa", "vjepa") else "foreach")
        self.level_weights = spec.get("levelWeights") or []
        self.weights = (spec.get("reconWeight", 1.0), spec.get("motionWeight", 1.0), spec.get("smoothWeight", 0.05))
        betas = tuple(spec.get("betas", (0.9, 0.999)))
        eps = spec.get("eps", 1e-8)
        self.bf16 = spec.get("bf16", False)
        self.lr = 0.0
        eager = spec.get("eager")
        if self.kind in ("ijepa", "vjepa"):
            if eager:
                sys.path.insert(0, os.path.join(HERE, "..", "models"))
                import ijepa
                def build(key):
                    factory, kwargs = eager[key]
                    m = getattr(ijepa, factory)(**kwargs)
                    m.load_state_dict(torch.jit.load(files[key]).state_dict())
                    return m
                self.context, self.target, self.predictor = build("context"), build("target"), build("predictor")
            else:
                self.context = torch.jit.load(files["context"])
                self.target = torch.jit.load(files["target"])
                self.predictor = torch.jit.load(files["predictor"])
            for m in (self.context, self.target, self.predictor):
                m.train()
            named = [("context.", list(self.context.named_parameters())),
                     ("predictor.", list(self.predictor.named_parameters()))]
            self.clip_sets = [[p for _, p in named[0][1]], [p for _, p in named[1][1]]]
            tgt = dict(self.target.named_parameters())
            self.ema = [(tgt[n], p) for n, p in self.context.named_parameters()]
            self.modules = {"context": self.context, "target": self.target, "predictor": self.predictor}
        else:
            self.model = torch.jit.load(files["model"])
            self.model.train()
            all_named = list(self.model.named_parameters())
            trained = [(n, p) for n, p in all_named if not n.startswith("target_encoder.")]
            named = [("", trained)]
            self.clip_sets = [[p for _, p in trained]]
            self.ema = []
            self.modules = {"model": self.model}
        self.opt = torch.optim.AdamW(param_groups(named, self.exclude), betas=betas, eps=eps)

    def loss(self, batch):
        parts = []
        if self.kind in ("ijepa", "vjepa"):
            imgs = batch["images"]
            masks_enc, masks_pred = batch["context"], batch["targets"]
            with torch.no_grad():
                h = self.target(imgs)
                h = F.layer_norm(h, (h.size(-1),))
            if self.kind == "ijepa":
                with torch.no_grad():
                    t = repeat_interleave_batch(apply_masks(h, masks_pred), len(imgs), repeat=len(masks_enc))
                z = self.predictor(self.context(imgs, masks_enc), masks_enc, masks_pred)
                return F.smooth_l1_loss(z, t), parts
            loss = 0.
            for mc, mt in zip(masks_enc, masks_pred):
                with torch.no_grad():
                    hi = apply_masks(h, [mt])
                z = self.predictor(self.context(imgs, [mc]), [mc], [mt])
                li = torch.mean(torch.abs(z - hi) ** self.loss_exp) / self.loss_exp
                parts.append(float(li))
                loss += li
            loss /= len(masks_pred)
            return loss, parts
        if self.kind == "motion":
            x = batch["features"]
            recon, z, _ = self.model(x)
            rec = F.mse_loss(recon, x)
            temporal = F.mse_loss(recon[:, 1:] - recon[:, :-1], x[:, 1:] - x[:, :-1])
            smooth = (z[:, 1:] - z[:, :-1]).pow(2).mean()
            parts = [float(rec), float(temporal), float(smooth)]
            rw, mw, sw = self.weights
            return rec * rw + temporal * mw + smooth * sw, parts
        pred = self.model(batch["inputs"])
        return 1 - torch.cosine_similarity(pred, batch["targets"], dim=-1).mean(), parts

    def step(self, lr, wd, momentum):
        self.lr = lr
        for g in self.opt.param_groups:
            g["lr"] = lr
            if not g.get("WD_exclude", False):
                g["weight_decay"] = wd

    def run(self, lr, wd, momentum, batch):
        self.step(lr, wd, momentum)
        device = next(iter(self.modules.values())).parameters().__next__().device.type
        with torch.autocast(device, dtype=torch.bfloat16, enabled=self.bf16):
            loss, parts = self.loss(batch)
        loss.backward()
        norms = [clip(s, self.clip) for s in self.clip_sets]
        self.opt.step()
        self.opt.zero_grad()
        if self.ema and self.ema_formula == "loop":  # I-JEPA
            with torch.no_grad():
                for param_k, param_q in self.ema:
                    param_k.data.mul_(momentum).add_((1. - momentum) * param_q.detach().data)
        elif self.ema:  # V-JEPA 2
            with torch.no_grad():
                params_k = [k for k, _ in self.ema]
                params_q = [q for _, q in self.ema]
                torch._foreach_mul_(params_k, momentum)
                torch._foreach_add_(params_k, params_q, alpha=1 - momentum)
        return float(loss), parts, norms

    def checkpoint(self, epoch, loss, batch_size, step):
        """I-JEPA's save_checkpoint layout (src/train.py), plus the step; 'model' for one-module kinds."""
        out = {}
        if self.kind in ("ijepa", "vjepa"):
            out["encoder"] = self.context.state_dict()
            out["predictor"] = self.predictor.state_dict()
            out["target_encoder"] = self.target.state_dict()
        else:
            out["model"] = self.model.state_dict()
        out.update({"opt": self.opt.state_dict(), "scaler": None, "epoch": epoch, "loss": loss,
                    "batch_size": batch_size, "world_size": 1, "lr": self.lr, "step": step})
        return out

    def resume(self, path):
        """Loads a checkpoint as I-JEPA's load_checkpoint does (weights_only=True, the default)."""
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if self.kind in ("ijepa", "vjepa"):
            for key, m in (("encoder", self.context), ("predictor", self.predictor), ("target_encoder", self.target)):
                m.load_state_dict(ckpt[key])
        else:
            self.model.load_state_dict(ckpt["model"])
        self.opt.load_state_dict(ckpt["opt"])
        return ckpt

    def named_tensors(self):
        out = []
        for key, m in self.modules.items():
            for n, p in m.named_parameters():
                out.append((f"{key}.{n}", p))
        return out


def make_batch(b):
    """A batch from its JSON form: each value a tensor spec or a list of them; a tensor spec is
    {"randn": [shape, seed]} (torch.randn with a fresh generator) or {"values": nested, "dtype"}."""
    def t(v):
        if "randn" in v:
            shape, seed = v["randn"]
            return torch.randn(shape, generator=torch.Generator().manual_seed(seed))
        return torch.tensor(v["values"], dtype=getattr(torch, v["dtype"]))
    return {k: [t(x) for x in v] if isinstance(v, list) else t(v) for k, v in b.items()}


def main():
    spec = json.load(open(sys.argv[1]))
    out_dir = sys.argv[2]
    torch.set_num_threads(spec.get("threads", 1))
    ref = Reference(spec)
    losses, parts, norms, times = [], [], [], []
    resumed = None
    if spec.get("resume"):
        ckpt = ref.resume(spec["resume"])
        resumed = {"epoch": ckpt["epoch"], "step": ckpt.get("step"), "loss": ckpt["loss"], "lr": ckpt["lr"],
                   "batch_size": ckpt["batch_size"], "keys": sorted(ckpt.keys())}
    save = spec.get("save")
    for i, s in enumerate(spec["steps"]):
        batch = make_batch(s["batch"])
        if "seed" in s:
            torch.manual_seed(s["seed"])
        t0 = time.perf_counter()
        loss, p, n = ref.run(s["lr"], s["wd"], s["momentum"], batch)
        times.append((time.perf_counter() - t0) * 1000)
        losses.append(loss)
        parts.append(p)
        norms.append(n)
        if save and save["after"] == i:
            b = next(v for v in batch.values() if torch.is_tensor(v))
            torch.save(ref.checkpoint(save.get("epoch", 0), loss, len(b), i + 1), save["path"])
    index = {}
    blob = bytearray()
    for name, p in ref.named_tensors():
        data = p.detach().contiguous().float().numpy().tobytes()
        index[name] = [len(blob), list(p.shape)]
        blob += data
    with open(os.path.join(out_dir, "params.bin"), "wb") as f:
        f.write(blob)
    with open(os.path.join(out_dir, "result.json"), "w") as f:
        json.dump({"losses": losses, "parts": parts, "norms": norms, "ms": times, "tensors": index,
                   "resumed": resumed}, f)


if __name__ == "__main__":
    main()
