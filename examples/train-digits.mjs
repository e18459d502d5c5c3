// npm run train:digits — trains a tiny I-JEPA from Node on scikit-learn's digits (1,797 8x8
// grey images, 10 classes; upsampled to 16x16, patch 2: 64 tokens), on CPU, then compares a
// linear probe (logistic regression, scikit-learn) on the frozen target encoder's mean-pooled
// features with the same probe on the randomly initialised encoder it started from.
//
//   node examples/train-digits.mjs [--epochs 20] [--batch 32] [--lr 3e-4] [--ema 0.998] [--seed 0]
//                                  [--patch 2] [--steps N] [--out docs] [--quiet]
//
// --patch 4 trains the same encoder on a 4x4 grid of 16 tokens (about 4x faster; the learning
// check of test/train-digits.test.mjs uses it).
//
// Writes OUT/images/digits-loss.png (the loss curve) and OUT/digits-result.json (the numbers).
// Python (with torch and scikit-learn: `npm install` sets it up) prepares the data and the
// TorchScript models (examples/digits.py) and fits the probes; every training step runs in Node.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jepa from 'jepa-native';
import { renderLineChart } from './line-chart.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const EPOCHS = Number(arg('epochs', 20));
const BATCH = Number(arg('batch', 32));
const SEED = Number(arg('seed', 0));
const LR = Number(arg('lr', 3e-4));
const EMA = Number(arg('ema', 0.998));
const MAX_STEPS = Number(arg('steps', Infinity));
const PATCH = Number(arg('patch', 2));
if (PATCH !== 2 && PATCH !== 4) throw new Error(`--patch is 2 or 4, got ${PATCH}`);
const OUT = path.resolve(arg('out', path.join(ROOT, 'docs')));
const QUIET = process.argv.includes('--quiet');
const log = (...a) => QUIET || console.log(...a);

function pythonPath() {
  if (process.env.JEPA_PYTHON) return process.env.JEPA_PYTHON;
  const cfg = path.join(ROOT, 'build', 'config.json');
  if (fs.existsSync(cfg)) return JSON.parse(fs.readFileSync(cfg, 'utf8')).python;
  return 'python3';
}
function python(...args) {
  const r = spawnSync(pythonPath(), [path.join(ROOT, 'examples', 'digits.py'), ...args.map(String)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`examples/digits.py ${args[0]} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const t0 = Date.now();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'jepa-digits-'));
try {
  // 1. Data and the tiny I-JEPA (random init), from Python.
  const prep = python('prepare', work, SEED, PATCH);
  const data = jepa.loadSync(path.join(work, 'digits.pt'));
  const images = data.images.contiguous();
  const labels = data.labels;
  const [N, C, H, W] = images.shape;
  const pixels = images.data();
  log(`digits: ${N} images ${C}x${H}x${W}; model: ${prep.parameters} parameters; ${jepa.getNumThreads()} threads`);

  // 2. Train: I-JEPA's schedules, masks and loss, every step in libtorch.
  const files = Object.fromEntries(['context', 'target', 'predictor'].map((k) => [k, path.join(work, `${k}.pt`)]));
  const modules = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, jepa.loadModuleSync(f)]));
  const initial = jepa.loadModuleSync(files.target); // the random init, kept for the baseline probe
  const perEpoch = Math.floor(N / BATCH);
  const steps = Math.min(EPOCHS * perEpoch, MAX_STEPS);
  const warmup = Math.max(1, Math.round(steps * 0.1));
  const trainer = new jepa.Trainer({
    kind: 'ijepa',
    ...modules,
    lr: { kind: 'warmupCosine', start: LR / 5, peak: LR, end: 1e-6, warmupSteps: warmup, steps },
    weightDecay: { kind: 'cosineWd', start: 0.04, end: 0.4, steps },
    momentum: { kind: 'linear', start: EMA, end: 1, steps },
    masks: new jepa.masks.MaskSampler('multiblock', {
      // On the 4x4 grid of --patch 4 a target block of 15-20 % is 1-3 patches: larger blocks, no minimum.
      inputSize: H,
      patchSize: PATCH,
      batchSize: BATCH,
      encMaskScale: [0.85, 1],
      predMaskScale: PATCH === 2 ? [0.15, 0.2] : [0.15, 0.3],
      aspectRatio: [0.75, 1.5],
      nenc: 1,
      npred: 4,
      minKeep: PATCH === 2 ? 4 : 0,
      allowOverlap: false,
      seed: SEED,
    }),
  });
  let rng = SEED + 1;
  const random = () => (rng = (rng * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const order = Array.from({ length: N }, (_, i) => i);
  const per = C * H * W;
  const losses = [];
  const tTrain = Date.now();
  for (let epoch = 0; epoch < EPOCHS && losses.length < steps; epoch++) {
    for (let i = N - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    trainer.epoch = epoch;
    for (let b = 0; b < perEpoch && losses.length < steps; b++) {
      const batch = new Float32Array(BATCH * per);
      for (let k = 0; k < BATCH; k++)
        batch.set(pixels.subarray(order[b * BATCH + k] * per, (order[b * BATCH + k] + 1) * per), k * per);
      const s = await trainer.step({ images: jepa.tensor(batch, [BATCH, C, H, W]) });
      losses.push(s.loss);
    }
    const last = losses.slice(-perEpoch);
    log(
      `epoch ${epoch + 1}/${EPOCHS}: mean loss ${(last.reduce((a, b) => a + b, 0) / last.length).toFixed(4)} (${((Date.now() - tTrain) / 1000).toFixed(0)} s)`,
    );
  }
  const trainSeconds = (Date.now() - tTrain) / 1000;
  await trainer.save(path.join(work, 'checkpoint.pt'));

  // 3. Features of the frozen encoders (mean over the 64 tokens) and the probes.
  const features = async (m) => {
    m.eval();
    const out = await m.forward(images); // [N, 64 tokens, D]
    const [n, t, d] = out.shape;
    const x = out.contiguous().data();
    const f = new Float32Array(n * d);
    for (let i = 0; i < n; i++)
      for (let k = 0; k < t; k++) for (let c = 0; c < d; c++) f[i * d + c] += x[(i * t + k) * d + c] / t;
    return jepa.tensor(f, [n, d]);
  };
  const featFile = path.join(work, 'features.pt');
  jepa.saveSync(featFile, {
    labels,
    trained_target_encoder: await features(modules.target),
    random_init_encoder: await features(initial),
    pixels: images.reshape([N, per]),
  });
  const probe = python('probe', featFile, SEED);

  // 4. The loss curve and the numbers.
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const window = Math.max(1, Math.min(20, Math.floor(losses.length / 10)));
  const smooth = losses.map((_, i) => mean(losses.slice(Math.max(0, i - window + 1), i + 1)));
  fs.mkdirSync(path.join(OUT, 'images'), { recursive: true });
  fs.writeFileSync(
    path.join(OUT, 'images', 'digits-loss.png'),
    renderLineChart({
      title: `I-JEPA ON DIGITS, TRAINED FROM NODE (${losses.length} STEPS)`,
      xLabel: 'STEP',
      yLabel: 'LOSS',
      series: [
        { name: 'LOSS', values: losses, color: [150, 180, 230] },
        { name: `MEAN OF ${window}`, values: smooth, color: [200, 40, 40], width: 2 },
      ],
    }),
  );
  const k = Math.max(1, Math.min(perEpoch, Math.floor(losses.length / 4)));
  const result = {
    command: `npm run train:digits -- --epochs ${EPOCHS} --batch ${BATCH} --lr ${LR} --ema ${EMA} --seed ${SEED} --patch ${PATCH}`,
    images: N,
    parameters: prep.parameters,
    steps: losses.length,
    epochs: Math.ceil(losses.length / perEpoch),
    batch: BATCH,
    threads: jepa.getNumThreads(),
    trainSeconds: Number(trainSeconds.toFixed(1)),
    totalSeconds: Number(((Date.now() - t0) / 1000).toFixed(1)),
    lossFirst: Number(mean(losses.slice(0, k)).toFixed(4)),
    lossLast: Number(mean(losses.slice(-k)).toFixed(4)),
    lossWindow: k,
    probe,
    machine: `${os.cpus().length} cores (${os.cpus()[0].model}), Node ${process.version}`,
  };
  fs.writeFileSync(path.join(OUT, 'digits-result.json'), `${JSON.stringify(result, null, 2)}\n`);
  log(`loss: mean of the first ${k} steps ${result.lossFirst}, of the last ${k} ${result.lossLast}`);
  log(
    `linear probe test accuracy (30 % held out): trained target encoder ${(probe.trained_target_encoder * 100).toFixed(1)} %, ` +
      `random init ${(probe.random_init_encoder * 100).toFixed(1)} %, raw pixels ${(probe.pixels * 100).toFixed(1)} %`,
  );
  log(
    `wrote ${path.join(OUT, 'images', 'digits-loss.png')} and ${path.join(OUT, 'digits-result.json')} in ${result.totalSeconds} s`,
  );
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
