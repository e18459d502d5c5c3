#!/usr/bin/env python3
"""Python -> Node -> Python: Python writes a V-JEPA 2 feature file (seed 000's dict, [4608, 1408]
float16) and a model's state_dict with torch.save; Node (examples/roundtrip.mjs) reads them with
jepa-native, aggregates the features in libtorch and writes the results and the state_dict back;
Python reads everything with torch.load(weights_only=True) and safetensors and checks it equals
what it computes itself, bit for bit.

    python examples/python_roundtrip.py [--keep DIR]

Needs torch and safetensors (the test Python of `npm install`), and `node` on PATH (or $NODE).
Prints "round trip ok" and exits 0, or names what differs and exits 1.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import torch
from safetensors import safe_open

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep", help="work in this folder and keep the files")
    args = ap.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="jepa-roundtrip-")
    os.makedirs(work, exist_ok=True)

    # 1. Python writes.
    torch.manual_seed(0)
    feats = torch.randn(4608, 1408).half()
    torch.save({"features": feats, "shape": feats.shape, "dtype": "float16", "source_chunk": "chunk_000001.pt",
                "image_id": "gbif_1291162453_taxon_2650927_nephrolepis_exaltata_img_1"}, os.path.join(work, "features.pt"))
    model = torch.nn.Sequential(torch.nn.Linear(1408, 256), torch.nn.GELU(), torch.nn.LayerNorm(256), torch.nn.Linear(256, 384))
    state = model.state_dict()
    torch.save(state, os.path.join(work, "state_dict.pt"))

    # 2. Node reads, computes, writes.
    node = os.environ.get("NODE", "node")
    subprocess.run([node, os.path.join(HERE, "roundtrip.mjs"), work], check=True)

    # 3. Python checks.
    failures = []
    agg = torch.load(os.path.join(work, "aggregated.pt"), weights_only=True)
    grid = feats.view(8, 24, 24, 1408)
    expected = {"mean": feats.mean(dim=0), "temporal": grid.mean(dim=(1, 2)), "spatial": grid.mean(dim=0),
                "global": grid.mean(dim=(0, 1, 2))}
    for k, v in expected.items():
        if not (agg[k].dtype == v.dtype and agg[k].shape == v.shape and torch.equal(agg[k], v)):
            failures.append(f"aggregated[{k!r}] differs from Python's")
    if agg["image_id"] != "gbif_1291162453_taxon_2650927_nephrolepis_exaltata_img_1":
        failures.append("image_id differs")

    back = torch.load(os.path.join(work, "state_dict_node.pt"), weights_only=True)
    if type(back) is not type(state) or list(back) != list(state):
        failures.append(f"state_dict_node.pt: {type(back).__name__} with keys {list(back)}, expected {list(state)}")
    with safe_open(os.path.join(work, "state_dict_node.safetensors"), "pt") as f:
        st = {k: f.get_tensor(k) for k in f.keys()}
        if f.metadata() != {"written_by": "jepa-native"}:
            failures.append(f"safetensors metadata {f.metadata()}")
    for k, v in state.items():
        if not torch.equal(back[k], v):
            failures.append(f"state_dict_node.pt[{k!r}] differs")
        if not torch.equal(st[k], v):
            failures.append(f"state_dict_node.safetensors[{k!r}] differs")
    model.load_state_dict(back)  # and it loads into the model

    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("round trip FAILED:\n  " + "\n  ".join(failures))
        return 1
    print(f"round trip ok ({len(state)} state_dict tensors, 4 aggregations of [4608, 1408] float16)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
