// npm run bench:train — one I-JEPA training step (target encoder, context encoder, predictor,
// smooth L1, backward, AdamW with I-JEPA's groups, EMA) from Node (jepa.Trainer) against the same
// step in Python (scripts/reference/train_reference.py: torch.optim.AdamW, torch._foreach EMA)
// with the same TorchScript modules, batches, masks and thread count, in one run.
// Model: ViT-Tiny (192 wide, 12 blocks, 3 heads) at 128 px / patch 16 (64 tokens), predictor 96 wide, 6
// blocks; batch 16, 4 target blocks. Options: --steps N (default 12, the first 2 not timed).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jepa from 'jepa-native';
import { machine, python } from './common.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const STEPS = arg('steps', 12);
const WARMUP = 2;
const BATCH = 16;
const SIZE = 128;
const PATCH = 16;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jepa-bench-train-'));
try {
  python(
    `
import json, os, sys, torch
sys.path.insert(0, sys.argv[2])
from ijepa import vit, vit_predictor
out = sys.argv[1]
torch.manual_seed(0)
enc = vit(img_size=${SIZE}, patch_size=${PATCH}, embed_dim=192, depth=12, num_heads=3)
pred = vit_predictor(img_size=${SIZE}, patch_size=${PATCH}, embed_dim=192, predictor_embed_dim=96, depth=6, num_heads=3)
import copy
tgt = copy.deepcopy(enc)
for name, m in (("context", enc), ("target", tgt), ("predictor", pred)):
    torch.jit.script(m).save(os.path.join(out, name + ".pt"))
print(json.dumps({"params": sum(p.numel() for p in enc.parameters()) + sum(p.numel() for p in pred.parameters())}))`,
    [dir, path.join(ROOT, 'scripts', 'models')],
  );
  const files = Object.fromEntries(['context', 'target', 'predictor'].map((k) => [k, path.join(dir, `${k}.pt`)]));

  const sampler = new jepa.masks.MaskSampler('multiblock', {
    inputSize: SIZE,
    patchSize: PATCH,
    batchSize: BATCH,
    encMaskScale: [0.85, 1],
    predMaskScale: [0.15, 0.2],
    aspectRatio: [0.75, 1.5],
    nenc: 1,
    npred: 4,
    minKeep: 4,
    seed: 0,
  });
  const spec = (t) => ({ values: Array.from(t.data(), Number), dtype: t.dtype, shape: t.shape });
  const batches = [];
  for (let i = 0; i < STEPS; i++) {
    const m = sampler.next();
    batches.push({ images: jepa.randn([BATCH, 3, SIZE, SIZE], { seed: i }), context: m.context, targets: m.targets });
  }
  const schedules = {
    lr: jepa.ema.schedule({ kind: 'warmupCosine', start: 1e-4, peak: 1e-3, end: 1e-5, warmupSteps: 5, steps: 100 }),
    weightDecay: jepa.ema.schedule({ kind: 'cosineWd', start: 0.04, end: 0.4, steps: 100 }),
    momentum: jepa.ema.schedule({ kind: 'linear', start: 0.996, end: 1, steps: 100 }),
  };

  // ---- Node ----
  const modules = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, jepa.loadModuleSync(f)]));
  const trainer = new jepa.Trainer({ kind: 'ijepa', ...modules, ...schedules });
  const wall = [];
  const inner = [];
  const losses = [];
  for (const b of batches) {
    const t0 = process.hrtime.bigint();
    const s = trainer.stepSync({ images: b.images, masks: { context: b.context, targets: b.targets } });
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    inner.push(s.ms);
    losses.push(s.loss);
  }

  // ---- Python (the same steps; the spec carries every mask and the image seeds) ----
  const refSpec = {
    kind: 'ijepa',
    files,
    threads: jepa.getNumThreads(),
    steps: batches.map((b, i) => ({
      lr: schedules.lr.at(i),
      wd: schedules.weightDecay.at(i),
      momentum: schedules.momentum.at(i),
      batch: {
        images: { randn: [[BATCH, 3, SIZE, SIZE], i] },
        context: b.context.map((t) => ({ ...spec(t), values: unflat(spec(t)) })),
        targets: b.targets.map((t) => ({ ...spec(t), values: unflat(spec(t)) })),
      },
    })),
  };
  fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(refSpec));
  const argv = [path.join(ROOT, 'scripts', 'reference', 'train_reference.py'), path.join(dir, 'spec.json'), dir];
  python(
    `import runpy, sys; sys.argv = ${JSON.stringify(argv)}; runpy.run_path(sys.argv[0], run_name='__main__'); print('{}')`,
  );
  const py = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));

  const nodeMs = median(wall.slice(WARMUP));
  const nodeInner = median(inner.slice(WARMUP));
  const pyMs = median(py.ms.slice(WARMUP));
  const min = (xs) => Math.min(...xs.slice(WARMUP));
  const maxLossDiff = Math.max(...losses.map((l, i) => Math.abs(l - py.losses[i])));
  console.log(`bench:train — ${machine()}, ${jepa.getNumThreads()} libtorch threads`);
  console.log(
    `I-JEPA ViT-Tiny ${SIZE} px / patch ${PATCH}, batch ${BATCH}, 4 target blocks; median of ${STEPS - WARMUP} steps after ${WARMUP}`,
  );
  console.log('');
  console.log('| one training step | median ms | min ms |');
  console.log('| --- | ---: | ---: |');
  console.log(`| Node trainer.stepSync (wall, JS call to return) | ${nodeMs.toFixed(1)} | ${min(wall).toFixed(1)} |`);
  console.log(`| Node, inside C++ (stats.ms) | ${nodeInner.toFixed(1)} | ${min(inner).toFixed(1)} |`);
  console.log(
    `| Python reference (forward, loss, backward, AdamW, foreach EMA) | ${pyMs.toFixed(1)} | ${min(py.ms).toFixed(1)} |`,
  );
  console.log('');
  console.log(
    `Node / Python time: median ${(nodeMs / pyMs).toFixed(3)}, min ${(min(wall) / min(py.ms)).toFixed(3)}; ` +
      `largest loss difference over the ${STEPS} steps: ${maxLossDiff.toExponential(2)}`,
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

function unflat({ values, shape }) {
  const nest = (s, off) =>
    s.length === 1
      ? values.slice(off, off + s[0])
      : Array.from({ length: s[0] }, (_, i) => nest(s.slice(1), off + i * s.slice(1).reduce((a, b) => a * b, 1)));
  return nest(shape, 0);
}
