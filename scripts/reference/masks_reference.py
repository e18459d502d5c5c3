"""Reference mask samplers for jepa-native's tests and benchmarks.

These re-express, step by step, the samplers of
  - facebookresearch/ijepa  src/masks/multiblock.py   (MaskCollator)            -> multiblock()
  - facebookresearch/jepa   src/masks/multiblock3d.py (_MaskGenerator, collator) -> multiblock3d()
  - facebookresearch/jepa   src/masks/random_tube.py  (_MaskGenerator)           -> random_tube()
with the same torch / numpy calls in the same order, so that their random streams are consumed
exactly as the official code consumes them. The two seeds of the official collators become
explicit arguments:
  - `seed`: the value the collator's step counter returns for the batch; the block sizes are drawn
    from `torch.Generator().manual_seed(seed)`;
  - `position_seed`: `torch.manual_seed(position_seed)` (the global generator that draws the block
    positions; for the random tube, `np.random.seed(position_seed)`).
The official files are not copied here; only their sampling logic is followed.

Command line (used by test/masks.test.mjs and bench/masks.mjs):
  python masks_reference.py run   < jobs.json   -> JSON list of results, one per job
  python masks_reference.py bench < spec.json   -> JSON timings (ms per batch, one thread)
"""

import json
import logging
import math
import sys
import time

import numpy as np
import torch


# The official sampler logs a warning each time it relaxes the acceptable regions; the call is kept
# (it costs what it costs there) but goes nowhere.
logger = logging.getLogger('masks_reference')
logger.addHandler(logging.NullHandler())
logger.propagate = False


def _pair(value):
    """An int or a pair, as the official collators accept `input_size` / `crop_size`."""
    if isinstance(value, (list, tuple)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _collate(masks):
    """torch.utils.data.default_collate on a list of equal-length 1-D int64 tensors."""
    return torch.utils.data.default_collate(masks)


# ---------------------------------------------------------------------------------------------
# I-JEPA multi-block (2D)
# ---------------------------------------------------------------------------------------------
class MultiBlock2D:
    def __init__(self, input_size=(224, 224), patch_size=16, enc_mask_scale=(0.2, 0.8),
                 pred_mask_scale=(0.2, 0.8), aspect_ratio=(0.3, 3.0), nenc=1, npred=2,
                 min_keep=4, allow_overlap=False):
        h, w = _pair(input_size)
        self.height, self.width = h // patch_size, w // patch_size
        self.enc_mask_scale = tuple(enc_mask_scale)
        self.pred_mask_scale = tuple(pred_mask_scale)
        self.aspect_ratio = tuple(aspect_ratio)
        self.nenc = nenc
        self.npred = npred
        self.min_keep = min_keep
        self.allow_overlap = allow_overlap

    def block_size(self, generator, scale, aspect_ratio_scale):
        # One uniform number sets both the scale and the aspect ratio.
        r = torch.rand(1, generator=generator).item()
        lo, hi = scale
        mask_scale = lo + r * (hi - lo)
        max_keep = int(self.height * self.width * mask_scale)
        lo, hi = aspect_ratio_scale
        ar = lo + r * (hi - lo)
        h = int(round(math.sqrt(max_keep * ar)))
        w = int(round(math.sqrt(max_keep / ar)))
        while h >= self.height:
            h -= 1
        while w >= self.width:
            w -= 1
        return h, w

    def block_mask(self, size, acceptable_regions=None):
        h, w = size
        tries = 0
        timeout = 20
        while True:
            # top in [0, height - h) and left in [0, width - w): the official bounds.
            top = torch.randint(0, self.height - h, (1,))
            left = torch.randint(0, self.width - w, (1,))
            grid = torch.zeros((self.height, self.width), dtype=torch.int32)
            grid[top:top + h, left:left + w] = 1
            if acceptable_regions is not None:
                for k in range(max(int(len(acceptable_regions) - tries), 0)):
                    grid *= acceptable_regions[k]
            idx = torch.nonzero(grid.flatten())
            if len(idx) > self.min_keep:
                break
            timeout -= 1
            if timeout == 0:
                tries += 1
                timeout = 20
                logger.warning(f'Mask generator says: "Valid mask not found, decreasing acceptable-regions [{tries}]"')
        idx = idx.squeeze()
        complement = torch.ones((self.height, self.width), dtype=torch.int32)
        complement[top:top + h, left:left + w] = 0
        return idx, complement

    def __call__(self, batch_size, seed):
        g = torch.Generator()
        g.manual_seed(seed)
        p_size = self.block_size(g, self.pred_mask_scale, self.aspect_ratio)
        e_size = self.block_size(g, self.enc_mask_scale, (1.0, 1.0))
        preds, encs = [], []
        keep_pred = keep_enc = self.height * self.width
        for _ in range(batch_size):
            masks_p, complements = [], []
            for _ in range(self.npred):
                m, c = self.block_mask(p_size)
                masks_p.append(m)
                complements.append(c)
                keep_pred = min(keep_pred, len(m))
            preds.append(masks_p)
            regions = None if self.allow_overlap else complements
            masks_e = []
            for _ in range(self.nenc):
                m, _ = self.block_mask(e_size, acceptable_regions=regions)
                masks_e.append(m)
                keep_enc = min(keep_enc, len(m))
            encs.append(masks_e)
        # Every mask of the batch is cut to the shortest one, then collated per block: a list of
        # npred (nenc) int64 tensors of shape [B, K].
        preds = _collate([[m[:keep_pred] for m in ms] for ms in preds])
        encs = _collate([[m[:keep_enc] for m in ms] for ms in encs])
        return encs, preds


def multiblock(job):
    sampler = MultiBlock2D(
        input_size=job.get('input_size', (224, 224)), patch_size=job.get('patch_size', 16),
        enc_mask_scale=job.get('enc_mask_scale', (0.2, 0.8)),
        pred_mask_scale=job.get('pred_mask_scale', (0.2, 0.8)),
        aspect_ratio=job.get('aspect_ratio', (0.3, 3.0)), nenc=job.get('nenc', 1),
        npred=job.get('npred', 2), min_keep=job.get('min_keep', 4),
        allow_overlap=job.get('allow_overlap', False))
    torch.manual_seed(job['position_seed'])
    out = []
    for b in range(job.get('batches', 1)):
        encs, preds = sampler(job['batch_size'], job['seed'] + b)
        out.append({'context': [m.tolist() for m in encs], 'targets': [m.tolist() for m in preds]})
    return out


# ---------------------------------------------------------------------------------------------
# V-JEPA multi-block 3D
# ---------------------------------------------------------------------------------------------
class MultiBlock3D:
    def __init__(self, crop_size=(224, 224), num_frames=16, spatial_patch_size=16,
                 temporal_patch_size=2, spatial_pred_mask_scale=(0.2, 0.8),
                 temporal_pred_mask_scale=(1.0, 1.0), aspect_ratio=(0.3, 3.0), npred=1,
                 max_context_frames_ratio=1.0, max_keep=None):
        h, w = _pair(crop_size)
        self.height, self.width = h // spatial_patch_size, w // spatial_patch_size
        self.duration = num_frames // temporal_patch_size
        self.aspect_ratio = tuple(aspect_ratio)
        self.spatial_scale = tuple(spatial_pred_mask_scale)
        self.temporal_scale = tuple(temporal_pred_mask_scale)
        self.npred = npred
        self.max_context_duration = max(1, int(self.duration * max_context_frames_ratio))
        self.max_keep = max_keep

    def block_size(self, generator):
        # Three uniform numbers: temporal scale, spatial scale, aspect ratio.
        r = torch.rand(1, generator=generator).item()
        lo, hi = self.temporal_scale
        t = max(1, int(self.duration * (lo + r * (hi - lo))))
        r = torch.rand(1, generator=generator).item()
        lo, hi = self.spatial_scale
        keep = int(self.height * self.width * (lo + r * (hi - lo)))
        r = torch.rand(1, generator=generator).item()
        lo, hi = self.aspect_ratio
        ar = lo + r * (hi - lo)
        h = min(int(round(math.sqrt(keep * ar))), self.height)
        w = min(int(round(math.sqrt(keep / ar))), self.width)
        return t, h, w

    def block_mask(self, size):
        t, h, w = size
        top = torch.randint(0, self.height - h + 1, (1,))
        left = torch.randint(0, self.width - w + 1, (1,))
        start = torch.randint(0, self.duration - t + 1, (1,))
        grid = torch.ones((self.duration, self.height, self.width), dtype=torch.int32)
        grid[start:start + t, top:top + h, left:left + w] = 0
        if self.max_context_duration < self.duration:
            grid[self.max_context_duration:, :, :] = 0
        return grid

    def __call__(self, batch_size, seed):
        g = torch.Generator()
        g.manual_seed(seed)
        p_size = self.block_size(g)
        preds, encs = [], []
        keep_enc = keep_pred = self.duration * self.height * self.width
        for _ in range(batch_size):
            while True:
                visible = torch.ones((self.duration, self.height, self.width), dtype=torch.int32)
                for _ in range(self.npred):
                    visible *= self.block_mask(p_size)
                visible = visible.flatten()
                mask_p = torch.argwhere(visible == 0).squeeze()
                mask_e = torch.nonzero(visible).squeeze()
                if len(mask_e) != 0:
                    break
            keep_pred = min(keep_pred, len(mask_p))
            keep_enc = min(keep_enc, len(mask_e))
            preds.append(mask_p)
            encs.append(mask_e)
        if self.max_keep is not None:
            keep_enc = min(keep_enc, self.max_keep)
        preds = _collate([m[:keep_pred] for m in preds])
        encs = _collate([m[:keep_enc] for m in encs])
        return encs, preds


def multiblock3d(job):
    gens = [
        MultiBlock3D(
            crop_size=job.get('crop_size', (224, 224)), num_frames=job.get('num_frames', 16),
            spatial_patch_size=job.get('patch_size', 16),
            temporal_patch_size=job.get('tubelet_size', 2),
            spatial_pred_mask_scale=c.get('spatial_scale'),
            temporal_pred_mask_scale=c.get('temporal_scale'), aspect_ratio=c.get('aspect_ratio'),
            npred=c.get('num_blocks'), max_context_frames_ratio=c.get('max_temporal_keep', 1.0),
            max_keep=c.get('max_keep', None))
        for c in job['cfgs']
    ]
    torch.manual_seed(job['position_seed'])
    out = []
    for b in range(job.get('batches', 1)):
        ctx, tgt = [], []
        for gen in gens:
            e, p = gen(job['batch_size'], job['seed'] + b)
            ctx.append(e.tolist())
            tgt.append(p.tolist())
        out.append({'context': ctx, 'targets': tgt})
    return out


# ---------------------------------------------------------------------------------------------
# Random tube (numpy's global RandomState draws the spatial permutation)
# ---------------------------------------------------------------------------------------------
class RandomTube:
    def __init__(self, crop_size=(224, 224), num_frames=16, spatial_patch_size=16,
                 temporal_patch_size=2, ratio=0.9):
        h, w = _pair(crop_size)
        self.height, self.width = h // spatial_patch_size, w // spatial_patch_size
        self.duration = num_frames // temporal_patch_size
        self.num_patches_spatial = self.height * self.width
        self.num_keep_spatial = int(self.num_patches_spatial * (1.0 - ratio))

    def __call__(self, batch_size):
        encs, preds = [], []
        for _ in range(batch_size):
            spatial = np.hstack([np.zeros(self.num_patches_spatial - self.num_keep_spatial),
                                 np.ones(self.num_keep_spatial)])
            np.random.shuffle(spatial)
            full = torch.tensor(np.tile(spatial, (self.duration, 1))).flatten()
            preds.append(torch.argwhere(full == 0).squeeze())
            encs.append(torch.nonzero(full).squeeze())
        return _collate(encs), _collate(preds)


def random_tube(job):
    gen = RandomTube(crop_size=job.get('crop_size', (224, 224)), num_frames=job.get('num_frames', 16),
                     spatial_patch_size=job.get('patch_size', 16),
                     temporal_patch_size=job.get('tubelet_size', 2), ratio=job.get('ratio', 0.9))
    np.random.seed(job['position_seed'])
    out = []
    for _ in range(job.get('batches', 1)):
        e, p = gen(job['batch_size'])
        out.append({'context': [e.tolist()], 'targets': [p.tolist()]})
    return out


def torch_draws(job):
    """Raw draws of libtorch's CPU generator, for the RNG self-check of the tests."""
    g = torch.Generator().manual_seed(job['seed'])
    out = []
    for hi in job['ranges']:
        if hi == 0:
            out.append(torch.rand(1, generator=g).item())
        else:
            out.append(torch.randint(0, hi, (1,), generator=g).item())
    return out


KINDS = {'multiblock': multiblock, 'multiblock3d': multiblock3d, 'randomTube': random_tube,
         'torchDraws': torch_draws}


def run(jobs):
    return [KINDS[job['kind']](job) for job in jobs]


def bench(spec):
    """ms per batch of each setting in `spec['settings']`, one thread, median of `repeats`."""
    torch.set_num_threads(1)
    results = []
    for s in spec['settings']:
        job = dict(s)
        kind = job['kind']
        if kind == 'multiblock':
            sampler = MultiBlock2D(
                input_size=job['input_size'], patch_size=job['patch_size'],
                enc_mask_scale=job['enc_mask_scale'], pred_mask_scale=job['pred_mask_scale'],
                aspect_ratio=job['aspect_ratio'], nenc=job['nenc'], npred=job['npred'],
                min_keep=job['min_keep'], allow_overlap=job['allow_overlap'])
            call = lambda i: sampler(job['batch_size'], i)  # noqa: E731
        elif kind == 'multiblock3d':
            gens = [MultiBlock3D(
                crop_size=job['crop_size'], num_frames=job['num_frames'],
                spatial_patch_size=job['patch_size'], temporal_patch_size=job['tubelet_size'],
                spatial_pred_mask_scale=c['spatial_scale'],
                temporal_pred_mask_scale=c['temporal_scale'], aspect_ratio=c['aspect_ratio'],
                npred=c['num_blocks'], max_context_frames_ratio=c.get('max_temporal_keep', 1.0),
                max_keep=c.get('max_keep')) for c in job['cfgs']]
            call = lambda i: [gen(job['batch_size'], i) for gen in gens]  # noqa: E731
        else:
            raise ValueError(kind)
        torch.manual_seed(0)
        call(0)
        times = []
        for i in range(spec.get('repeats', 5)):
            t0 = time.perf_counter()
            call(i + 1)
            times.append((time.perf_counter() - t0) * 1000.0)
        results.append({'name': s.get('name', kind), 'ms': sorted(times)[len(times) // 2],
                        'all': times})
    return results


if __name__ == '__main__':
    mode = sys.argv[1] if len(sys.argv) > 1 else 'run'
    payload = json.load(sys.stdin)
    if mode == 'run':
        json.dump(run(payload), sys.stdout, separators=(',', ':'))
    elif mode == 'bench':
        json.dump(bench(payload), sys.stdout)
    else:
        raise SystemExit(f'unknown mode {mode!r}: expected run or bench')
    sys.stdout.write('\n')
