// Trains an I-JEPA model for a few steps on a folder of images with jepa.Trainer: the images
// are decoded with jepa.image.load, masks drawn by a MaskSampler with I-JEPA's ImageNet
// settings, and each step (forward, loss, backward, AdamW, EMA of the target encoder) runs in
// libtorch on a worker thread. Saves the target encoder's weights as a state_dict .pt that
// Python reads with torch.load(weights_only=True).
//
//   node examples/train.mjs [--data DIR] [--models DIR] [--steps N] [--batch-size N] [--out FILE]
//
// --data: images (default: 16 synthetic images made with sharp in a temporary folder);
// --models: a folder with context_encoder.pt, target_encoder.pt, predictor.pt (TorchScript;
// default: the small test models). Prints one line per step and the file written.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import jepa from 'jepa-native';
import sharp from 'sharp';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    models: { type: 'string', default: path.join(here, '..', 'test', 'fixtures', 'models', 'ijepa') },
    steps: { type: 'string', default: '5' },
    'batch-size': { type: 'string', default: '4' },
    out: { type: 'string', default: path.join(os.tmpdir(), 'jepa-target-encoder.pt') },
  },
});
const steps = Number(args.steps);
const batchSize = Number(args['batch-size']);

async function syntheticImages(dir, n) {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const w = 48 + 8 * (i % 4);
    const data = Buffer.alloc(w * 48 * 3);
    for (let p = 0; p < data.length; p += 3) {
      const x = (p / 3) % w;
      const y = Math.floor(p / 3 / w);
      data[p] = (x * 5 + i * 20) & 255; // gradients and stripes that differ per image
      data[p + 1] = (y * 5) & 255;
      data[p + 2] = ((x + y + i) % 8) * 32;
    }
    await sharp(data, { raw: { width: w, height: 48, channels: 3 } })
      .png()
      .toFile(path.join(dir, `img${i}.png`));
  }
  return dir;
}

const synthetic = args.data === undefined;
const dataDir = args.data ?? (await syntheticImages(fs.mkdtempSync(path.join(os.tmpdir(), 'jepa-train-')), 16));
const files = fs
  .readdirSync(dataDir)
  .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
  .sort()
  .map((f) => path.join(dataDir, f));
if (files.length < batchSize)
  throw new Error(`${dataDir} has ${files.length} images; need at least --batch-size ${batchSize}`);

const m = await jepa.JEPA.load(args.models);
const [, height, width] = m.spec.input;
const patchSize = m.spec.patch;
// I-JEPA's ImageNet mask settings for real grids (14 x 14 patches and up); the small test models
// have a 4 x 4 grid, where 15-20 % target blocks would be single patches.
const grid = (height / patchSize) * (width / patchSize);
const maskSettings =
  grid >= 196
    ? jepa.masks.presets.ijepaImageNet
    : { encMaskScale: [0.85, 1], predMaskScale: [0.15, 0.3], aspectRatio: [0.75, 1.5], npred: 2, minKeep: 0 };
const trainer = new jepa.Trainer({
  kind: 'ijepa',
  context: m.contextEncoder,
  target: m.targetEncoder,
  predictor: m.predictor,
  lr: { kind: 'warmupCosine', start: 1e-4, peak: 1e-3, end: 1e-5, warmupSteps: Math.max(1, steps >> 2), steps },
  weightDecay: 0.04,
  momentum: { kind: 'linear', start: 0.996, end: 1, steps },
  masks: new jepa.masks.MaskSampler('multiblock', {
    ...maskSettings,
    inputSize: [height, width],
    patchSize,
    batchSize,
  }),
});

jepa.manualSeed(0);
let next = null;
const loadBatch = (step) => {
  const start = (step * batchSize) % files.length;
  const names = Array.from({ length: batchSize }, (_, i) => files[(start + i) % files.length]);
  return jepa.image.load(names, { size: [height, width] });
};
next = loadBatch(0);
for (let step = 0; step < steps; step++) {
  const images = await next;
  if (step + 1 < steps) next = loadBatch(step + 1); // decode the next batch while this one trains
  const s = await trainer.step({ images });
  console.log(
    `step ${s.step}: loss ${s.loss.toFixed(5)} lr ${s.lr.toExponential(2)} momentum ${s.momentum.toFixed(4)} (${s.ms.toFixed(0)} ms)`,
  );
  images.dispose();
}

const state = new jepa.OrderedDict();
for (const [name, t] of m.targetEncoder.namedParameters()) state.set(name, t.clone());
await jepa.save(args.out, state);
console.log(`saved ${args.out}`);
if (synthetic) fs.rmSync(dataDir, { recursive: true, force: true });
