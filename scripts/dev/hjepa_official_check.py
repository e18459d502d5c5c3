"""Checks jepa-native's Python rewrite of jonwiggins/H-JEPA (scripts/models/hjepa.py,
scripts/reference/hjepa_reference.py) against the official code of that repository.

    python scripts/dev/hjepa_official_check.py /path/to/H-JEPA

/path/to/H-JEPA is a checkout of https://github.com/jonwiggins/H-JEPA (its `src/` is imported;
nothing of it is copied). Needs torch, numpy, timm and the official code's own imports einops and
tqdm (matplotlib, wandb and tensorboard are stubbed: only its plots and loggers use them). Each
check prints its worst difference and the script exits 1 when one is not exact:
  1. masks: HierarchicalMaskGenerator vs HierarchicalMasks, 60 seeds x 6 option sets, 2 batches
     each (every level's context and targets);
  2. schedules: CosineScheduler, LinearScheduler, EMAScheduler vs ours over 5,000 steps;
  3. loss: HJEPALoss vs hjepa_loss (3 types x normalised or not x with or without masks);
  4. model: create_hjepa (vit_tiny_patch16_224 at 224 px, 3 levels) vs our HJEPA with the official
     state_dict loaded strictly: forward in train mode and extract_features at every level;
  5. training: HJEPATrainer._train_epoch over 3 batches (configs/default.yaml with a few
     overrides) vs our Trainer on the same images, weights and NumPy seed: losses and every
     parameter.
"""
import copy
import math
import os
import sys
import tempfile
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "scripts", "models"))
sys.path.insert(0, os.path.join(ROOT, "scripts", "reference"))


def stub(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def setup(official):
    from export import import_timm  # the torchvision work-around
    import_timm()
    mpl = stub("matplotlib", use=lambda *a, **k: None)
    mpl.cm = stub("matplotlib.cm", get_cmap=lambda *a, **k: None)
    mpl.pyplot = stub("matplotlib.pyplot")
    stub("matplotlib.patches")
    sys.path.insert(0, official)


failures = []


def report(name, worst, exact=True):
    ok = worst == 0 if exact else worst <= 1e-6
    print(f"{'ok  ' if ok else 'FAIL'} {name}: worst difference {worst}")
    if not ok:
        failures.append(name)


def check_masks():
    from src.masks.hierarchical import HierarchicalMaskGenerator
    from hjepa_reference import HierarchicalMasks
    option_sets = [
        {},
        dict(base_scale=(0.15, 0.2)),
        dict(num_hierarchies=4, num_target_masks=6, base_scale=(0.1, 0.3)),
        dict(input_size=(96, 160), patch_size=16, aspect_ratio_range=(0.3, 3.0)),
        dict(scale_progression="linear", num_hierarchies=2, max_attempts=2),
        dict(input_size=64, patch_size=8, base_scale=(0.3, 0.5), num_target_masks=8),
    ]
    worst = 0
    for opts in option_sets:
        for seed in range(60):
            np.random.seed(seed)
            off = HierarchicalMaskGenerator(**opts)
            a = [off(batch_size=3) for _ in range(2)]
            np.random.seed(seed)
            ours = HierarchicalMasks(**opts)
            b = [ours(3) for _ in range(2)]
            for x, y in zip(a, b):
                for level, (ctx, tgt, _) in enumerate(y):
                    worst = max(worst, int((x[f"level_{level}"]["context"] != ctx).sum()),
                                int((x[f"level_{level}"]["targets"] != tgt).sum()))
    report("masks (cells that differ)", worst)


def check_schedules():
    from src.utils.scheduler import CosineScheduler, EMAScheduler, LinearScheduler
    from hjepa_reference import ema_schedule, warmup_schedule
    worst = 0.0
    for epochs, spe, warm in [(300, 17, 40), (10, 3, 0), (5, 1000, 1)]:
        pairs = [
            (CosineScheduler(1.5e-4, 1e-6, epochs, spe, warm), warmup_schedule("cosine", 1.5e-4, 1e-6, epochs, spe, warm)),
            (LinearScheduler(1e-3, 1e-5, epochs, spe, warm), warmup_schedule("linear", 1e-3, 1e-5, epochs, spe, warm)),
            (EMAScheduler(0.996, 1.0, epochs, spe, warm), ema_schedule(0.996, 1.0, epochs, spe, warm)),
        ]
        for off, ours in pairs:
            for step in range(0, min(5000, epochs * spe + 10)):
                worst = max(worst, abs(off(step) - ours(step)))
    report("schedules", worst)


def check_loss():
    from src.losses.hjepa_loss import HJEPALoss
    from hjepa_reference import hjepa_loss
    g = torch.Generator().manual_seed(0)
    preds = [torch.randn(2, n, 8, generator=g) for n in (9, 4, 2)]
    tgts = [torch.randn(2, n, 8, generator=g) for n in (9, 4, 2)]
    masks = [torch.rand(2, n, generator=g) > 0.3 for n in (9, 4, 2)]
    worst = 0.0
    for loss_type in ("mse", "smoothl1", "huber"):
        for normalize in (False, True):
            for m in (None, masks):
                off = HJEPALoss(loss_type=loss_type, hierarchy_weights=[1.0, 0.5, 0.25], num_hierarchies=3,
                                normalize_embeddings=normalize)(preds, tgts, m)
                total, parts = hjepa_loss(preds, tgts, loss_type, [1.0, 0.5, 0.25], normalize, m)
                worst = max(worst, abs(float(off["loss"]) - float(total)),
                            *[abs(float(off[f"loss_h{i}"]) - p) for i, p in enumerate(parts)])
    report("loss", worst)


def official_model(levels=3):
    from src.models.hjepa import create_hjepa
    torch.manual_seed(0)
    return create_hjepa(encoder_type="vit_tiny_patch16_224", img_size=224, embed_dim=192, predictor_depth=2,
                        predictor_num_heads=3, num_hierarchies=levels, use_flash_attention=False)


def ours_like(off, **kw):
    from hjepa import HJEPA
    m = HJEPA(img_size=224, patch_size=16, embed_dim=192, depth=12, num_heads=3, predictor_depth=2,
              predictor_num_heads=3, num_hierarchies=3, encoder_type="vit_tiny_patch16_224", **kw)
    m.load_state_dict(off.state_dict(), strict=True)
    return m


def check_model():
    off = official_model()
    ours = ours_like(off)
    off.train()
    ours.train()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 224, 224, generator=g)
    mask = torch.rand(2, 196, generator=g) < 0.3
    worst = 0.0
    a = off(x, mask)
    b = ours(x, mask)
    for key, key2 in (("predictions", "predictions"), ("targets", "targets"), ("masks_valid", "masks_valid")):
        for u, v in zip(a[key], b[key2]):
            worst = max(worst, float((u.float() - v.float()).abs().max()))
    off.eval()
    ours.eval()
    with torch.no_grad():
        for level in range(3):
            for tgt in (True, False):
                worst = max(worst, float((off.extract_features(x, level, tgt) - ours.extract_features(x, level, tgt)).abs().max()))
    report("model forward and extract_features", worst)


def check_training():
    import yaml
    from src.masks.hierarchical import HierarchicalMaskGenerator
    from src.losses import create_loss_from_config
    from src.trainers.trainer import HJEPATrainer, create_optimizer
    from hjepa_reference import Recipe, Trainer
    config = yaml.safe_load(open(os.path.join(sys.argv[1], "configs", "default.yaml")))
    tmp = tempfile.mkdtemp()
    config["training"].update(epochs=10, warmup_epochs=1, use_amp=False)
    config["training"]["ema_momentum_schedule"] = {"start": 0.9, "end": 1.0, "warmup_steps": 3}
    config["model"].update(embed_dim=192, num_hierarchies=3)
    config["logging"].update(log_dir=tmp, wandb={"enabled": False}, tensorboard={"enabled": False})
    config["checkpoint"]["checkpoint_dir"] = tmp
    g = torch.Generator().manual_seed(2)
    images = torch.randn(6, 3, 224, 224, generator=g)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images), batch_size=2, shuffle=False)

    off = official_model()
    start = copy.deepcopy(off.state_dict())
    torch.set_num_threads(1)
    np.random.seed(config["seed"])
    masking = HierarchicalMaskGenerator(input_size=(224, 224), patch_size=16, num_hierarchies=3,
                                        num_target_masks=config["masking"]["num_masks"],
                                        base_scale=tuple(config["masking"]["mask_scale"]),
                                        aspect_ratio_range=tuple(config["masking"]["aspect_ratio"]))
    trainer = HJEPATrainer(off, loader, None, create_optimizer(off, config), create_loss_from_config(config), masking,
                           config, device="cpu")
    trainer._train_epoch(0)

    ours = ours_like(official_model())
    ours.load_state_dict(start)
    np.random.seed(config["seed"])
    t = Trainer(ours, Recipe(config, steps_per_epoch=len(loader)))
    for (batch,) in loader:
        t.step(batch)
    a, b = off.state_dict(), ours.state_dict()
    worst = max(float((a[k].float() - b[k].float()).abs().max()) for k in a)
    report("3 training steps (every parameter)", worst)
    lr_off = trainer.optimizer.param_groups[0]["lr"]
    lr_ours = t.opt.param_groups[0]["lr"]
    report("learning rate after 3 steps", abs(lr_off - lr_ours))


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    setup(os.path.abspath(sys.argv[1]))
    check_masks()
    check_schedules()
    check_loss()
    check_model()
    check_training()
    if failures:
        print("FAILED:", ", ".join(failures))
        sys.exit(1)
    print("all checks exact")


if __name__ == "__main__":
    main()
