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

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPT = path.join(ROOT, 'scripts', 'reference', 'masks_reference.py');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : null;

function python() {
  if (process.env.JEPA_PYTHON) return process.env.JEPA_PYTHON;
  const config = path.join(ROOT, 'build', 'config.json');
  if (fs.existsSync(config)) return JSON.parse(fs.readFileSync(config, 'utf8')).python;
  throw new Error('no Python with torch: set JEPA_PYTHON or run npm install');
}

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

const py = spawnSync(python(), [SCRIPT, 'bench'], {
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
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
