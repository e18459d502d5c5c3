"""Python side of `npm run train:digits` (examples/train-digits.mjs).

    python digits.py prepare OUT_DIR SEED [PATCH]
                                             scikit-learn's digits (1,797 8x8 images, 10 classes) as
                                             OUT_DIR/digits.pt ({'images': [N, 1, 16, 16] float32,
                                             normalised, 'labels': [N] int64}), and a tiny I-JEPA
                                             (scripts/models/ijepa.py, patch PATCH: 2 or 4) as TorchScript files
                                             OUT_DIR/{context,target,predictor}.pt (target = copy of
                                             context, as I-JEPA starts).
    python digits.py probe FEATURES.pt SEED  logistic regression (scikit-learn) on each feature set
                                             of FEATURES.pt ({'labels', name: [N, D] ...}), trained on
                                             a stratified 70 % split and scored on the other 30 %;
                                             prints {name: test accuracy} as JSON.
"""
import copy
import json
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts", "models"))

# The model: 16x16 inputs (the 8x8 digits upsampled); patch 2 -> an 8x8 grid of 64 tokens (patch 4: 4x4, 16).
SIZE, PATCH, DIM, DEPTH, HEADS = 16, 2, 64, 4, 4
PRED_DIM, PRED_DEPTH = 32, 2


def prepare(out, seed, patch=PATCH):
    from sklearn.datasets import load_digits
    from ijepa import vit, vit_predictor

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0  # [N, 1, 8, 8] in [0, 1]
    x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    x = (x - x.mean()) / x.std()
    torch.save({"images": x.contiguous(), "labels": torch.tensor(d.target, dtype=torch.int64)},
               os.path.join(out, "digits.pt"))
    torch.manual_seed(seed)
    enc = vit(img_size=SIZE, patch_size=patch, embed_dim=DIM, depth=DEPTH, num_heads=HEADS, in_chans=1)
    pred = vit_predictor(img_size=SIZE, patch_size=patch, embed_dim=DIM, predictor_embed_dim=PRED_DIM,
                         depth=PRED_DEPTH, num_heads=HEADS)
    target = copy.deepcopy(enc)
    for name, m in (("context", enc), ("target", target), ("predictor", pred)):
        torch.jit.script(m).save(os.path.join(out, name + ".pt"))
    n = sum(p.numel() for p in enc.parameters()) + sum(p.numel() for p in pred.parameters())
    print(json.dumps({"images": list(x.shape), "parameters": n}))


def probe(path, seed):
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = torch.load(path, weights_only=True)
    y = data.pop("labels").numpy()
    out = {}
    for name, feats in data.items():
        X = feats.float().numpy().astype(np.float64)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, C=1.0))
        clf.fit(Xtr, ytr)
        out[name] = float(clf.score(Xte, yte))
    print(json.dumps(out))


if __name__ == "__main__":
    cmd, arg, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    prepare(arg, seed, *[int(a) for a in sys.argv[4:5]]) if cmd == "prepare" else probe(arg, seed)
