// npm run bench:masks: jepa.masks against the Python reference sampler
// (scripts/reference/masks_reference.py, which follows the official code call for call) on the
// same settings, in one run. Python runs on one thread (torch.set_num_threads(1)), as the official
// collators run inside one data-loader process; Node runs the sync form on the main thread.
//
//   node bench/masks.mjs [--quick] [--json out.json]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jepa from 'jepa-native';
import { pythonPath } from '../test/helpers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPT = path.join(ROOT, 'scripts', 'reference', 'masks_reference.py');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : null;

const { masks } = jepa;
const { presets } = masks;
const ijepa = presets.ijepaImageNet;
const vjepa = [presets.vjepaShortRange, presets.vjepaLongRange];

const SETTINGS = [
  {
    name: 'I-JEPA preset, 224 px / patch 16, batch 256',
    node: { ...ijepa, inputSize: 224, patchSize: 16, batchSize: 256 },
    kind: 'multiblock',
  },
  {
    name: 'V-JEPA short+long, 16 x 224 px, tubelet 2, batch 64',
    node: { configs: vjepa, numFrames: 16, cropSize: 224, patchSize: 16, tubeletSize: 2, batchSize: 64 },
    kind: 'multiblock3d',
  },
  {
    name: 'I-JEPA preset, 224 px / patch 16, batch 128',
    node: { ...ijepa, inputSize: 224, patchSize: 16, batchSize: 128 },
    kind: 'multiblock',
  },
  {
    name: 'V-JEPA short+long, 16 x 224 px, tubelet 2, batch 24',
    node: { configs: vjepa, numFrames: 16, cropSize: 224, patchSize: 16, tubeletSize: 2, batchSize: 24 },
    kind: 'multiblock3d',
  },
];

function pythonSetting(s) {
  const o = s.node;
  if (s.kind === 'multiblock') {
    return {
      name: s.name,
      kind: 'multiblock',
      input_size: o.inputSize,
      patch_size: o.patchSize,
      enc_mask_scale: o.encMaskScale,
      pred_mask_scale: o.predMaskScale,
      aspect_ratio: o.aspectRatio,
      nenc: o.nenc,
      npred: o.npred,
      min_keep: o.minKeep,
      allow_overlap: o.allowOverlap,
      batch_size: o.batchSize,
    };
  }
  return {
    name: s.name,
    kind: 'multiblock3d',
    crop_size: o.cropSize,
    num_frames: o.numFrames,
    patch_size: o.patchSize,
    tubelet_size: o.tubeletSize,
    batch_size: o.batchSize,
    cfgs: o.configs.map((c) => ({
      spatial_scale: c.spatialScale,
      temporal_scale: c.temporalScale,
      aspect_ratio: c.aspectRatio,
      num_blocks: c.numBlocks,
      max_temporal_keep: c.maxTemporalKeep,
      max_keep: c.maxKeep,
    })),
  };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function dispose(m) {
  for (const t of [...m.context, ...m.targets]) t.dispose();
}

/** ms per batch of the Node sampler: median of `reps` timed rounds of `inner` batches each. */
function timeNode(s, reps, inner) {
  const run = s.kind === 'multiblock' ? masks.multiblock : masks.multiblock3d;
  for (let i = 0; i < 20; i++) dispose(run({ ...s.node, seed: i, positionSeed: i }));
  const rounds = [];
  let seed = 100;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < inner; i++) dispose(run({ ...s.node, seed: seed++, positionSeed: seed }));
    rounds.push(Number(process.hrtime.bigint() - t0) / 1e6 / inner);
  }
  return median(rounds);
}

/** ms per batch of the async form, `inflight` batches queued at a time (libuv's thread pool). */
async function timeNodeAsync(s, total, inflight) {
  const run = s.kind === 'multiblock' ? masks.multiblockAsync : masks.multiblock3dAsync;
  let seed = 0;
  const t0 = process.hrtime.bigint();
  for (let done = 0; done < total; done += inflight) {
    const batch = await Promise.all(
      Array.from({ length: inflight }, () => run({ ...s.node, seed: seed++, positionSeed: seed })),
    );
    batch.forEach(dispose);
  }
  return Number(process.hrtime.bigint() - t0) / 1e6 / total;
}

const reps = quick ? 3 : 15;
const pyRepeats = quick ? 3 : 15;
console.log(`jepa.masks vs the Python reference sampler (${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? '?'})`);
console.log(
  `node ${process.version}, libtorch ${jepa.torchVersion}; Python: ${pyRepeats} batches per setting, median\n`,
);

const py = spawnSync(pythonPath(), [SCRIPT, 'bench'], {
  input: JSON.stringify({ settings: SETTINGS.map(pythonSetting), repeats: pyRepeats }),
  encoding: 'utf8',
  maxBuffer: 1 << 26,
});
if (py.status !== 0) throw new Error(`python bench failed:\n${py.stderr}`);
const pyResults = JSON.parse(py.stdout);

const rows = [];
for (const [i, s] of SETTINGS.entries()) {
  const nodeMs = timeNode(s, reps, s.kind === 'multiblock' ? 50 : 20);
  const asyncMs = await timeNodeAsync(s, quick ? 40 : 200, 4);
  const pyMs = pyResults[i].ms;
  rows.push({ setting: s.name, pythonMs: pyMs, nodeMs, nodeAsyncMs: asyncMs, speedup: pyMs / nodeMs });
}

const pad = (x, n) => String(x).padEnd(n);
console.log(`${pad('setting', 54)}${pad('Python ms', 11)}${pad('Node ms', 10)}${pad('async ms', 10)}speed-up`);
for (const r of rows) {
  console.log(
    `${pad(r.setting, 54)}${pad(r.pythonMs.toFixed(2), 11)}${pad(r.nodeMs.toFixed(3), 10)}` +
      `${pad(r.nodeAsyncMs.toFixed(3), 10)}${r.speedup.toFixed(0)}x`,
  );
}
console.log('\nms per batch; async: 4 batches in flight on the libuv pool, wall time per batch.');

// The samplers of jonwiggins/H-JEPA (HierarchicalMaskGenerator, NumPy, pure Python) and of seed
// 002's notebook (get_target / get_context, torch.randint per block), against the project's
// Python rewrite / transcription of them (scripts/reference/hjepa_reference.py, notebook_masks.py).
function pyBench(script, mode, spec) {
  const r = spawnSync(pythonPath(), [path.join(ROOT, 'scripts', 'reference', script), mode], {
    input: JSON.stringify(spec),
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`python bench failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()).ms;
}
function timeCalls(fn, reps, inner) {
  for (let i = 0; i < 5; i++) fn();
  const rounds = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < inner; i++) fn();
    rounds.push(Number(process.hrtime.bigint() - t0) / 1e6 / inner);
  }
  return median(rounds);
}
const seedRows = [];
{
  const sampler = new masks.MaskSampler('hjepa', { ...presets.hjepaDefault, batchSize: 128 });
  const nodeMs = timeCalls(
    () => {
      const m = sampler.next();
      for (const l of m.levels) {
        l.context.dispose();
        l.targets.dispose();
      }
      m.mask.dispose();
    },
    reps,
    5,
  );
  const pyMs = pyBench('hjepa_reference.py', 'bench', {
    options: { base_scale: [0.15, 0.2] },
    batch_size: 128,
    repeats: quick ? 3 : 7,
  });
  seedRows.push({
    setting: 'H-JEPA hierarchical, 224 px / 16, 3 levels, batch 128',
    pythonMs: pyMs,
    nodeMs,
    speedup: pyMs / nodeMs,
  });
}
{
  const sampler = new masks.MaskSampler('notebook2d', {});
  const nodeMs = timeCalls(() => dispose(sampler.next()), reps, 50);
  const pyMs = pyBench('notebook_masks.py', 'bench', {
    args: {
      patch_dim: [14, 14],
      target_aspect_ratio: [0.75, 1.5],
      target_scale: [0.15, 0.2],
      context_scale: [0.85, 1.0],
    },
    repeats: quick ? 20 : 200,
  });
  seedRows.push({
    setting: 'seed 002 notebook 2D, 224 px / 16, batch-shared',
    pythonMs: pyMs,
    nodeMs,
    speedup: pyMs / nodeMs,
  });
}
console.log(`\n${pad('setting', 56)}${pad('Python ms', 11)}${pad('Node ms', 10)}speed-up`);
for (const r of seedRows) {
  console.log(
    `${pad(r.setting, 56)}${pad(r.pythonMs.toFixed(3), 11)}${pad(r.nodeMs.toFixed(3), 10)}${r.speedup.toFixed(0)}x`,
  );
}
rows.push(...seedRows);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
