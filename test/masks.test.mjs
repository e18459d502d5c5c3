// jepa.masks: parity with a Python sampler that follows the official code step by step
// (scripts/reference/masks_reference.py), the random stream, invariants over thousands of seeded
// batches, results. Options, conversions, async forms and rendering: masks-api.test.mjs.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { pythonPath, ROOT } from './helpers.mjs';
import { expectSame, rowsOf, SHORT_LONG } from './masks-helpers.mjs';

const { masks } = jepa;
const { presets } = masks;
const SCRIPT = path.join(ROOT, 'scripts', 'reference', 'masks_reference.py');

/** Runs jobs through the Python reference in one process; returns one result list per job. */
function reference(jobs) {
  const r = spawnSync(pythonPath(), [SCRIPT, 'run'], {
    input: JSON.stringify(jobs),
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`reference sampler failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

const pair = (v) => (Array.isArray(v) ? v : [v, v]);

/** A cheap assertion for hot loops (chai's expect costs microseconds per call). */
function check(ok, message) {
  if (!ok) expect.fail(message);
}

/** JS options -> a job of the Python reference. */
function job2d(o, batches = 1) {
  return {
    kind: 'multiblock',
    input_size: pair(o.inputSize ?? 224),
    patch_size: o.patchSize ?? 16,
    enc_mask_scale: o.encMaskScale ?? [0.2, 0.8],
    pred_mask_scale: o.predMaskScale ?? [0.2, 0.8],
    aspect_ratio: o.aspectRatio ?? [0.3, 3.0],
    nenc: o.nenc ?? 1,
    npred: o.npred ?? 2,
    min_keep: o.minKeep ?? 4,
    allow_overlap: o.allowOverlap ?? false,
    batch_size: o.batchSize,
    seed: o.seed ?? 0,
    position_seed: o.positionSeed,
    batches,
  };
}

function cfg3d(c) {
  return {
    spatial_scale: c.spatialScale ?? [0.2, 0.8],
    temporal_scale: c.temporalScale ?? [1.0, 1.0],
    aspect_ratio: c.aspectRatio ?? [0.3, 3.0],
    num_blocks: c.numBlocks ?? 1,
    max_temporal_keep: c.maxTemporalKeep ?? 1.0,
    max_keep: c.maxKeep ?? null,
  };
}

function job3d(o, batches = 1) {
  return {
    kind: 'multiblock3d',
    crop_size: pair(o.cropSize ?? 224),
    num_frames: o.numFrames ?? 16,
    patch_size: o.patchSize ?? 16,
    tubelet_size: o.tubeletSize ?? 2,
    cfgs: (o.configs ?? [o]).map(cfg3d),
    batch_size: o.batchSize,
    seed: o.seed ?? 0,
    position_seed: o.positionSeed,
    batches,
  };
}

function jobTube(o, batches = 1) {
  return {
    kind: 'randomTube',
    crop_size: pair(o.cropSize ?? 224),
    num_frames: o.numFrames ?? 16,
    patch_size: o.patchSize ?? 16,
    tubelet_size: o.tubeletSize ?? 2,
    ratio: o.ratio ?? 0.9,
    batch_size: o.batchSize,
    position_seed: o.positionSeed,
    batches,
  };
}

const CONFIGS_2D = [
  { name: 'I-JEPA ImageNet preset, 224/16', o: { ...presets.ijepaImageNet, batchSize: 8 } },
  { name: 'I-JEPA ImageNet preset, 224/14', o: { ...presets.ijepaImageNet, patchSize: 14, batchSize: 5 } },
  { name: 'official defaults', o: { batchSize: 6 } },
  {
    name: 'overlap allowed, 2 context and 3 target blocks, 192x256',
    o: { inputSize: [192, 256], nenc: 2, npred: 3, allowOverlap: true, batchSize: 5 },
  },
  {
    // A crowded 6x6 grid: the context often fails 20 times and the sampler relaxes its regions.
    name: 'crowded 6x6 grid (relaxation)',
    o: {
      inputSize: 96,
      encMaskScale: [0.3, 0.5],
      predMaskScale: [0.2, 0.3],
      aspectRatio: [0.5, 2],
      npred: 3,
      minKeep: 3,
      batchSize: 6,
    },
  },
];

const CONFIGS_3D = [
  { name: 'V-JEPA short + long range, 16x224', o: { ...SHORT_LONG, batchSize: 3 } },
  {
    name: 'temporal scale, max temporal keep and max keep, 8x160x224',
    o: {
      cropSize: [160, 224],
      numFrames: 8,
      configs: [
        {
          spatialScale: [0.2, 0.5],
          temporalScale: [0.3, 0.8],
          aspectRatio: [0.5, 2],
          numBlocks: 3,
          maxTemporalKeep: 0.5,
          maxKeep: 100,
        },
        { spatialScale: [0.1, 0.2], numBlocks: 4 },
      ],
      batchSize: 4,
    },
  },
  {
    name: 'official defaults, one config at the top level, tubelet 4',
    o: { numFrames: 16, tubeletSize: 4, cropSize: 128, batchSize: 4 },
  },
];

const CONFIGS_TUBE = [
  { name: 'ratio 0.9', o: { batchSize: 4 } },
  { name: 'ratio 0.5, 8x96x160', o: { ratio: 0.5, numFrames: 8, cropSize: [96, 160], batchSize: 5 } },
  { name: 'ratio 0.75, tubelet 1', o: { ratio: 0.75, numFrames: 4, tubeletSize: 1, cropSize: 64, batchSize: 3 } },
];

describe('masks', function () {
  describe('parity with the reference samplers (one Python run)', function () {
    let cases;
    let refs;
    before(function () {
      cases = [];
      for (const c of CONFIGS_2D) {
        for (let i = 0; i < 24; i++) {
          const o = { ...c.o, seed: i * 7 + 1, positionSeed: 1000 + i * 13 };
          cases.push({
            where: `${c.name}, seed ${o.seed}/${o.positionSeed}`,
            run: () => masks.multiblock(o),
            job: job2d(o),
          });
        }
      }
      for (const c of CONFIGS_3D) {
        for (let i = 0; i < 16; i++) {
          const o = { ...c.o, seed: i * 5, positionSeed: 77 + i * 31 };
          cases.push({
            where: `${c.name}, seed ${o.seed}/${o.positionSeed}`,
            run: () => masks.multiblock3d(o),
            job: job3d(o),
          });
        }
      }
      for (const c of CONFIGS_TUBE) {
        for (let i = 0; i < 10; i++) {
          const o = { ...c.o, positionSeed: 5 + i * 1001 };
          cases.push({
            where: `random tube ${c.name}, seed ${o.positionSeed}`,
            run: () => masks.randomTube(o),
            job: jobTube(o),
          });
        }
      }
      // Big seeds (the generators use the low 32 bits of a seed) and the default position seed.
      const big = { ...presets.ijepaImageNet, batchSize: 4, seed: 2 ** 40 + 3, positionSeed: 2n ** 63n + 11n };
      // JSON cannot carry 2^63 + 11: that job's seed is patched into the text below.
      cases.push({
        where: 'bigint seeds',
        run: () => masks.multiblock(big),
        job: { ...job2d({ ...big, positionSeed: 0 }), position_seed: null },
      });
      const dflt = { ...presets.ijepaImageNet, batchSize: 4, seed: 9 };
      cases.push({
        where: 'default position seed',
        run: () => masks.multiblock(dflt),
        job: job2d({ ...dflt, positionSeed: 0 }),
      });
      const text = JSON.stringify(cases.map((c) => c.job)).replace(
        '"position_seed":null',
        `"position_seed":${2n ** 63n + 11n}`,
      );
      const r = spawnSync(pythonPath(), [SCRIPT, 'run'], { input: text, encoding: 'utf8', maxBuffer: 1 << 30 });
      if (r.status !== 0) throw new Error(r.stderr);
      refs = JSON.parse(r.stdout);
    });

    it('2D multi-block: every configuration and seed gives the reference tensors', function () {
      let n = 0;
      let relaxed = 0;
      cases.forEach((c, i) => {
        if (c.job.kind !== 'multiblock') return;
        const m = c.run();
        relaxed += m.relaxed;
        expectSame(m, refs[i][0], c.where);
        n++;
      });
      expect(n).to.equal(CONFIGS_2D.length * 24 + 2);
      // The crowded configuration really exercises the relaxation path of the reference.
      expect(relaxed).to.be.greaterThan(0);
    });

    it('3D multi-block: every configuration and seed gives the reference tensors', function () {
      let n = 0;
      cases.forEach((c, i) => {
        if (c.job.kind !== 'multiblock3d') return;
        expectSame(c.run(), refs[i][0], c.where);
        n++;
      });
      expect(n).to.equal(CONFIGS_3D.length * 16);
    });

    it('random tube: every configuration and seed gives the reference tensors', function () {
      let n = 0;
      cases.forEach((c, i) => {
        if (c.job.kind !== 'randomTube') return;
        expectSame(c.run(), refs[i][0], c.where);
        n++;
      });
      expect(n).to.equal(CONFIGS_TUBE.length * 10);
    });

    it('MaskSampler equals the reference collator over consecutive batches', async function () {
      const o2 = { ...presets.ijepaImageNet, batchSize: 4, seed: 3, positionSeed: 42 };
      const o3 = { ...SHORT_LONG, batchSize: 2, seed: 0, positionSeed: 43 };
      const ot = { ratio: 0.8, batchSize: 3, positionSeed: 44 };
      const [r2, r3, rt] = reference([job2d(o2, 6), job3d(o3, 4), jobTube(ot, 4)]);
      const s2 = new masks.MaskSampler('multiblock', o2);
      for (let b = 0; b < 3; b++) expectSame(s2.next(), r2[b], `2D batch ${b}`);
      expect(s2.step).to.equal(6);
      // The async form continues the same streams; queued calls resolve in order.
      const rest = await Promise.all([s2.nextAsync(), s2.nextAsync(), s2.nextAsync()]);
      rest.forEach((m, i) => {
        expect(m.seed).to.equal(6 + i);
        expectSame(m, r2[3 + i], `2D async batch ${3 + i}`);
      });
      const s3 = new masks.MaskSampler('multiblock3d', o3);
      for (let b = 0; b < 4; b++) expectSame(b % 2 ? await s3.nextAsync() : s3.next(), r3[b], `3D batch ${b}`);
      const st = new masks.MaskSampler('randomTube', ot);
      for (let b = 0; b < 4; b++) expectSame(st.next(), rt[b], `tube batch ${b}`);
    });

    it('the default position seed is 0, the _GLOBAL_SEED of the official training scripts', function () {
      const o = { ...presets.ijepaImageNet, batchSize: 4, seed: 9 };
      expectSame(masks.multiblock(o), refs.at(-1)[0], 'default position seed');
      expect(rowsOf(masks.multiblock3d({ batchSize: 2 }).context[0])).to.deep.equal(
        rowsOf(masks.multiblock3d({ batchSize: 2, positionSeed: 0 }).context[0]),
      );
    });
  });

  describe('random stream', function () {
    it('draws exactly what libtorch at::rand / at::randint draw on a seeded CPU generator', function () {
      const ranges = [0, 1, 2, 3, 13, 14, 196, 1000, 2 ** 20, 2 ** 27, 2 ** 28, 2 ** 31 - 1, 2 ** 40, 0, 7];
      for (let seed = 0; seed < 300; seed++) {
        const list = Array.from({ length: 40 }, (_, i) => ranges[(i * 7 + seed) % ranges.length]);
        const { ours, torch } = masks._rngCheck(seed * 7919, list);
        expect(ours, `seed ${seed}`).to.deep.equal(torch);
      }
    });

    it('matches Python torch.rand / torch.randint draws', function () {
      const list = [0, 5, 14, 0, 1, 99, 13, 0, 2];
      const jobs = [0, 1, 12345, 2 ** 32 + 5].map((seed) => ({ kind: 'torchDraws', seed, ranges: list }));
      const ref = reference(jobs);
      jobs.forEach((j, i) => expect(masks._rngCheck(j.seed, list).ours).to.deep.equal(ref[i]));
    });
  });

  describe('invariants over thousands of seeded batches', function () {
    /** Every (h, w) I-JEPA's block size can take: all 2^24 float32 draws in [0, 1). */
    function achievable2d(height, width, scale, aspect) {
      const set = new Set();
      const n = 1 << 24;
      for (let k = 0; k < n; k++) {
        const r = k / n;
        const maxKeep = Math.trunc(height * width * (scale[0] + r * (scale[1] - scale[0])));
        const a = aspect[0] + r * (aspect[1] - aspect[0]);
        let h = Math.round(Math.sqrt(maxKeep * a));
        let w = Math.round(Math.sqrt(maxKeep / a));
        // Math.round rounds ties up; Python rounds them to even: add both candidates at a tie.
        const hs = Number.isInteger(Math.sqrt(maxKeep * a) - 0.5) ? [h - 1, h] : [h];
        const ws = Number.isInteger(Math.sqrt(maxKeep / a) - 0.5) ? [w - 1, w] : [w];
        for (h of hs) {
          for (w of ws) set.add(`${Math.min(h, height - 1)}x${Math.min(w, width - 1)}`);
        }
      }
      return set;
    }

    it('2D (I-JEPA preset): ranges, uniqueness, rectangles, disjointness, sizes, min_keep', function () {
      this.timeout(300000);
      const H = 14;
      const W = 14;
      const p = presets.ijepaImageNet;
      const predSizes = achievable2d(H, W, p.predMaskScale, p.aspectRatio);
      const encSizes = achievable2d(H, W, p.encMaskScale, [1, 1]);
      let samples = 0;
      for (let s = 0; s < 3000; s++) {
        const m = masks.multiblock({ ...p, batchSize: 8, seed: s, positionSeed: s * 2 + 1 });
        const where = `seed ${s}`;
        const [[ph, pw], [eh, ew]] = m.sizes;
        check(predSizes.has(`${ph}x${pw}`), `${where}: target size ${ph}x${pw} outside the scale/aspect ranges`);
        check(encSizes.has(`${eh}x${ew}`), `${where}: context size ${eh}x${ew} outside the scale range`);
        check(m.relaxed === 0 && m.targets.length === 4 && m.context.length === 1, `${where}: counts`);
        const ctx = rowsOf(m.context[0]);
        const tgts = m.targets.map(rowsOf);
        check(ctx[0].length > p.minKeep && ph * pw > p.minKeep, `${where}: min_keep`);
        for (let b = 0; b < 8; b++) {
          const covered = new Set();
          for (const t of tgts) {
            const row = t[b];
            check(row.length === ph * pw, `${where}: target length`);
            // A full ph x pw rectangle whose top-left is in [0, H - ph) x [0, W - pw).
            const top = Math.floor(row[0] / W);
            const left = row[0] % W;
            check(top >= 0 && top < H - ph && left >= 0 && left < W - pw, `${where}: target corner ${top},${left}`);
            row.forEach((x, k) => {
              check(x === (top + Math.floor(k / pw)) * W + left + (k % pw), `${where}: target not a rectangle`);
              covered.add(x);
            });
          }
          const c = ctx[b];
          let minCol = W;
          let maxCol = -1;
          for (let k = 0; k < c.length; k++) {
            check(c[k] >= 0 && c[k] < H * W, `${where}: context index ${c[k]} out of range`);
            check(k === 0 || c[k] > c[k - 1], `${where}: context not ascending (so not unique)`);
            check(!covered.has(c[k]), `${where}: context overlaps a target`);
            minCol = Math.min(minCol, c[k] % W);
            maxCol = Math.max(maxCol, c[k] % W);
          }
          // The context lies in one eh x ew block.
          check(
            Math.floor(c.at(-1) / W) - Math.floor(c[0] / W) + 1 <= eh && maxCol - minCol + 1 <= ew,
            `${where}: context block`,
          );
          samples++;
        }
        for (const t of [...m.context, ...m.targets]) t.dispose();
      }
      expect(samples).to.equal(24000);
    });

    it('2D with overlap and relaxation: min_keep, ranges and uniqueness still hold', function () {
      for (let s = 0; s < 2000; s++) {
        const m = masks.multiblock({ ...CONFIGS_2D[4].o, batchSize: 4, seed: s, positionSeed: s });
        for (const t of [...m.context, ...m.targets]) {
          check(t.shape[0] === 4 && t.shape[1] > 3, `seed ${s}: shape ${t.shape}`);
          for (const row of rowsOf(t)) {
            check(new Set(row).size === row.length, `seed ${s}: repeated index`);
            for (const x of row) check(x >= 0 && x < 36, `seed ${s}: index ${x} out of range`);
          }
        }
      }
    });

    it('3D (V-JEPA presets): complements, sizes, ranges, time limits, max keep', function () {
      this.timeout(300000);
      const D = 8;
      const H = 14;
      const W = 14;
      const N = D * H * W;
      const variants = [
        { configs: [presets.vjepaShortRange, presets.vjepaLongRange] },
        { configs: [{ ...presets.vjepaShortRange, temporalScale: [0.25, 0.75], maxTemporalKeep: 0.5, maxKeep: 300 }] },
      ];
      const seen = new Uint8Array(N);
      let samples = 0;
      for (let s = 0; s < 1500; s++) {
        const v = variants[s % 2];
        const m = masks.multiblock3d({ ...v, batchSize: 4, seed: s, positionSeed: s + 9 });
        const where = `seed ${s}`;
        v.configs.forEach((c, ci) => {
          const [t, h, w] = m.sizes[ci];
          const tLo = Math.max(1, Math.trunc(D * c.temporalScale[0]));
          const tHi = Math.max(1, Math.trunc(D * c.temporalScale[1]));
          const keep = Math.trunc(H * W * c.spatialScale[0]);
          const hLo = Math.round(Math.sqrt(keep * c.aspectRatio[0])) - 1;
          const hHi = Math.min(H, Math.round(Math.sqrt(keep * c.aspectRatio[1])) + 1);
          const wLo = Math.round(Math.sqrt(keep / c.aspectRatio[1])) - 1;
          const wHi = Math.min(W, Math.round(Math.sqrt(keep / c.aspectRatio[0])) + 1);
          check(t >= tLo && t <= tHi && h >= hLo && h <= hHi && w >= wLo && w <= wHi, `${where}: size ${t}x${h}x${w}`);
          const ctx = rowsOf(m.context[ci]);
          const tgt = rowsOf(m.targets[ci]);
          const maxContext = Math.max(1, Math.trunc(D * (c.maxTemporalKeep ?? 1)));
          check(ctx[0].length > 0, `${where}: empty context`);
          check(!c.maxKeep || ctx[0].length <= c.maxKeep, `${where}: context longer than maxKeep`);
          for (let b = 0; b < 4; b++) {
            seen.fill(0);
            for (const x of tgt[b]) {
              check(x >= 0 && x < N && !seen[x], `${where}: target index ${x} out of range or repeated`);
              seen[x] = 1;
            }
            for (const x of ctx[b]) {
              check(x >= 0 && x < N && !seen[x], `${where}: context index ${x} out of range, repeated or a target`);
              check(Math.floor(x / (H * W)) < maxContext, `${where}: context beyond maxTemporalKeep`);
              seen[x] = 2;
            }
            samples++;
          }
        });
        for (const x of [...m.context, ...m.targets]) x.dispose();
      }
      expect(samples).to.equal(750 * 4 * 2 + 750 * 4);
    });

    it('random tube: the same masked patches in every frame, the exact ratio', function () {
      for (let s = 0; s < 2000; s++) {
        const m = masks.randomTube({
          ratio: 0.75,
          numFrames: 8,
          tubeletSize: 2,
          cropSize: 128,
          batchSize: 4,
          positionSeed: s,
        });
        const S = 64;
        const keep = Math.trunc(S * (1 - 0.75));
        const ctx = rowsOf(m.context[0]);
        const tgt = rowsOf(m.targets[0]);
        for (let b = 0; b < 4; b++) {
          check(ctx[b].length === keep * 4 && tgt[b].length === (S - keep) * 4, `seed ${s}: lengths`);
          for (let f = 1; f < 4; f++) {
            for (let k = 0; k < keep; k++)
              check(ctx[b][f * keep + k] - f * S === ctx[b][k], `seed ${s}: frames differ`);
          }
          check(new Set([...ctx[b], ...tgt[b]]).size === 4 * S, `seed ${s}: not a partition`);
        }
      }
    });
  });

  describe('results', function () {
    it('carry the kind, the grid, the block sizes and the seed', function () {
      const m2 = masks.multiblock({ ...presets.ijepaImageNet, inputSize: [160, 224], batchSize: 2, seed: 3 });
      expect(m2).to.include({ kind: 'multiblock', seed: 3, relaxed: 0 });
      expect(m2.grid).to.deep.equal({ duration: 1, height: 10, width: 14 });
      expect(m2.sizes).to.have.length(2);
      const m3 = masks.multiblock3d({ ...SHORT_LONG, batchSize: 2, seed: 2n ** 60n });
      expect(m3.kind).to.equal('multiblock3d');
      expect(m3.seed).to.equal(2n ** 60n);
      expect(m3.grid).to.deep.equal({ duration: 8, height: 14, width: 14 });
      expect(m3.sizes.map((x) => x[0])).to.deep.equal([8, 8]);
      const t = masks.randomTube({ batchSize: 2, numFrames: 4, tubeletSize: 1 });
      expect(t).to.include({ kind: 'randomTube', seed: null });
      expect(t.grid).to.deep.equal({ duration: 4, height: 14, width: 14 });
      for (const x of [...m2.context, ...m3.targets, ...t.context]) expect(x.dtype).to.equal('int64');
    });
  });
});
