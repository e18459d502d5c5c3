"""The mask samplers of seed 002's notebook (the I-JEPA / V-JEPA teaching notebook the project
was made from, /work/shared/seeds/002_*.txt), for the parity test of jepa.masks.notebook2d /
notebook3d (test/notebook.test.mjs).

`get_mask`, `get_target`, `get_context` and `get_masks` are transcribed from the seed as it
stands (the seed is the project's own material); `sample_2d` is the part of the notebook's
`forward` that draws the masks (its three np.random.uniform calls, then get_target and
get_context), without the models.

    python notebook_masks.py < jobs.json     -> JSON list of results, one per job
    python notebook_masks.py bench < spec     -> {"ms": per call} (bench/masks.mjs)
A job: {"kind": "2d" | "3d", "seed": np seed, "position_seed": torch seed, "batches": n, "args": {...}},
or {"kind": "numpy", "seed", "ops": [["random"] | ["uniform", low, high] | ["randint", low, high]]}
(NumPy's own values, for the test of jepa-native's NumPy generator).
"""
import json
import math
import sys

import numpy as np
import torch


# -- transcribed from seed 002 ------------------------------------------------------------------

def get_mask(patch_h, patch_w, scale, aspect_ratio):
    """
    :param patch_h: number of patches along height
    :param patch_w: number of patches along width
    :param scale: scale of the mask with respect to the image (0 to 1)
    :param aspect_ratio: aspect ratio of the mask (width / height)
    :return: height and width of the mask
    """
    mask_h = int(round(math.sqrt(scale * patch_h * patch_w / aspect_ratio)))
    mask_w = int(round(math.sqrt(scale * patch_h * patch_w * aspect_ratio)))

    # Clamp to valid dimensions
    mask_h = min(mask_h, patch_h)
    mask_w = min(mask_w, patch_w)

    return mask_h, mask_w


def get_target(patch_dim, aspect_ratio, scale, M):
    # get the patch dimensions
    patch_h, patch_w = patch_dim
    block_h, block_w = get_mask(patch_h, patch_w, scale, aspect_ratio)
    target_patches = []
    all_patches = []
    for z in range(M):
        # get a random starting patch
        start_patch_h = torch.randint(0, patch_h - block_h + 1, (1,)).item()
        start_patch_w = torch.randint(0, patch_w - block_w + 1, (1,)).item()
        start_patch = start_patch_h * patch_w + start_patch_w

        patches = []
        # get the patches in the target block
        for i in range(block_h):
            for j in range(block_w):
                patches.append(start_patch + i * patch_w + j)
                if start_patch + i * patch_w + j not in all_patches:
                    all_patches.append(start_patch + i * patch_w + j)

        # get the target block
        target_patches.append(torch.tensor(patches))
    return target_patches, all_patches


def get_context(patch_dim, aspect_ratio, scale, target_patches):
    patch_h, patch_w = patch_dim
    block_h, block_w = get_mask(patch_h, patch_w, scale, aspect_ratio)

    # get a random patch
    start_patch_h = torch.randint(0, patch_h - block_h + 1, (1,)).item()
    start_patch_w = torch.randint(0, patch_w - block_w + 1, (1,)).item()
    start_patch = start_patch_h * patch_w + start_patch_w

    # get the patches in the context_block
    patches = []
    for i in range(block_h):
        for j in range(block_w):
            if start_patch + i * patch_w + j not in target_patches:  # remove the target patches to avoid overlapping
                patches.append(start_patch + i * patch_w + j)
    context_patches = [torch.tensor(patches)]
    return context_patches


def get_masks(patch_dim, scale, mask_type, aspect_ratio_range=(0.75, 1.5)):
    patch_t, patch_h, patch_w = patch_dim
    num_patches_per_frame = patch_h * patch_w
    total_patches = patch_t * num_patches_per_frame

    # Set parameters based on mask type
    if mask_type == "short":
        num_blocks = 8
        assert scale == 0.15, "For 'short' mask type, scale should be 0.15"
    else:  # long
        num_blocks = 2
        assert scale == 0.70, "For 'long' mask type, scale should be 0.70"

    # Collect all target patches (union of blocks)
    target_set = set()

    for _ in range(num_blocks):
        # Sample aspect ratio randomly for each block (per paper)
        min_ar, max_ar = aspect_ratio_range
        aspect_ratio = min_ar + torch.rand(1).item() * (max_ar - min_ar)

        # Calculate block dimensions for a single frame
        num_patches_block = int(num_patches_per_frame * scale)
        block_h = int(round(math.sqrt(num_patches_block * aspect_ratio)))
        block_w = int(round(math.sqrt(num_patches_block / aspect_ratio)))

        # Clamp to valid dimensions
        block_h = min(block_h, patch_h)
        block_w = min(block_w, patch_w)

        # Random starting position (same for all frames - creating a tube)
        start_h = torch.randint(0, max(1, patch_h - block_h + 1), (1,)).item()
        start_w = torch.randint(0, max(1, patch_w - block_w + 1), (1,)).item()

        # Add patches from all frames (tube spanning full temporal dimension)
        for t in range(patch_t):
            frame_offset = t * num_patches_per_frame
            for i in range(block_h):
                for j in range(block_w):
                    patch_idx = frame_offset + (start_h + i) * patch_w + (start_w + j)
                    target_set.add(patch_idx)

    # Context is the complement of target
    all_patches = set(range(total_patches))
    context_set = all_patches - target_set

    target_patches = [torch.tensor(sorted(target_set), dtype=torch.long)]
    context_patches = [torch.tensor(sorted(context_set), dtype=torch.long)]

    return target_patches, context_patches


# -- the mask draws of the notebook's forward ---------------------------------------------------

def sample_2d(patch_dim, target_aspect_ratio, target_scale, context_scale, context_aspect_ratio=1, M=4):
    target_aspect_ratio = np.random.uniform(target_aspect_ratio[0], target_aspect_ratio[1])
    target_scale = np.random.uniform(target_scale[0], target_scale[1])
    context_scale = np.random.uniform(context_scale[0], context_scale[1])
    target_patches, all_patches = get_target(patch_dim, target_aspect_ratio, target_scale, M)
    context_patches = get_context(patch_dim, context_aspect_ratio, context_scale, all_patches)
    return target_patches, context_patches


def main():
    out = []
    for job in json.load(sys.stdin):
        np.random.seed(job.get("seed", 0))
        torch.manual_seed(job.get("position_seed", 0))
        if job["kind"] == "numpy":  # NumPy's own draws, for the generator under every sampler
            values = []
            for op in job["ops"]:
                if op[0] == "random":
                    values.append(float(np.random.random_sample()))
                elif op[0] == "uniform":
                    values.append(float(np.random.uniform(op[1], op[2])))
                else:
                    values.append(int(np.random.randint(op[1], op[2])))
            out.append(values)
            continue
        batches = []
        for _ in range(job.get("batches", 1)):
            a = job["args"]
            if job["kind"] == "2d":
                targets, context = sample_2d(tuple(a["patch_dim"]), a["target_aspect_ratio"], a["target_scale"],
                                             a["context_scale"], a.get("context_aspect_ratio", 1), a.get("M", 4))
            else:
                targets, context = get_masks(tuple(a["patch_dim"]), a["scale"], a["mask_type"],
                                             tuple(a.get("aspect_ratio_range", (0.75, 1.5))))
            batches.append({"targets": [t.tolist() for t in targets], "context": [c.tolist() for c in context]})
        out.append(batches)
    print(json.dumps(out))


def bench():
    """ms per call of the notebook's 2D mask draws (stdin: {"args", "repeats"}), median."""
    import time
    spec = json.load(sys.stdin)
    a = spec["args"]
    np.random.seed(0)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    times = []
    for _ in range(spec.get("repeats", 5) + 1):
        t0 = time.perf_counter()
        sample_2d(tuple(a["patch_dim"]), a["target_aspect_ratio"], a["target_scale"], a["context_scale"])
        times.append((time.perf_counter() - t0) * 1000.0)
    times = times[1:]
    print(json.dumps({"ms": sorted(times)[len(times) // 2]}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "bench":
        bench()
    else:
        main()
