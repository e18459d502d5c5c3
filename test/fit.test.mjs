// trainer.fit: the epoch loop, its callbacks and resumable checkpoints. A run interrupted and
// resumed from its last checkpoint must end with exactly the parameters of an uninterrupted run
// (same batches, masks and dropout draws); Python reads the checkpoints.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import jepa from 'jepa-native';
import { after, before, describe, it } from 'mocha';
import { cleanup, pythonJson, rejection, tmpDir } from './helpers.mjs';
import { FIXTURES } from './model-fixtures.mjs';

let dir;
const file = (...p) => path.join(dir, ...p);
const motion = () =>
  new jepa.Trainer({ kind: 'motion', model: jepa.loadModuleSync(path.join(FIXTURES, 'motion_ae.pt')), lr: 1e-3 });
const features = () =>
  new jepa.data.DataLoader(new jepa.data.FeatureDataset(file('features')), { batchSize: 2, shuffle: true, seed: 3 });
const params = (trainer) =>
  Object.values(trainer.modules).flatMap((m) =>
    [...m.namedParameters()].flatMap(([, p]) => Array.from(p.contiguous().data())),
  );

/** Runs fit and stops it (as a kill would) when `stopAfter` steps have run. */
async function interrupted(trainer, options, stopAfter) {
  let n = 0;
  const e = await rejection(
    trainer.fit({
      ...options,
      onStep: () => {
        if (++n === stopAfter) throw new Error('stop');
      },
    }),
  );
  expect(e.message).to.equal('stop');
}

describe('trainer.fit', function () {
  this.timeout(300000);

  before(function () {
    dir = tmpDir('fit-');
    fs.mkdirSync(file('features'));
    // Seed 003's features [T, N, C] with its extra metadata, 7 files: batches of 2, 2 and 1 ... per epoch.
    for (let i = 0; i < 7; i++) {
      jepa.saveSync(file('features', `clip${i}.pt`), {
        feature: jepa.randn([5, 6, 24], { seed: i }),
        caption: `clip ${i}`,
        model: 'vjepa2',
      });
    }
  });
  after(() => cleanup(dir));

  it('resumes from the last checkpoint with the batches and dropout draws of an uninterrupted run', async function () {
    jepa.manualSeed(11);
    const whole = motion();
    const a = await whole.fit({ data: features(), epochs: 3 });
    expect(a.steps).to.equal(12);
    expect(a.epochs.map((e) => e.steps)).to.deep.equal([4, 4, 4]);

    jepa.manualSeed(11);
    const ck = file('ck-motion');
    await interrupted(motion(), { data: features(), epochs: 3, checkpoint: { dir: ck, every: 3 } }, 7);
    // Checkpoints after steps 3, 4 (the end of epoch 0) and 6; the last two are kept.
    expect(fs.readdirSync(ck).sort()).to.deep.equal(['checkpoint-000000004.pt', 'checkpoint-000000006.pt']);

    jepa.manualSeed(999); // the checkpoint restores libtorch's generator
    const resumed = motion();
    const epochs = [];
    const b = await resumed.fit({
      data: features(),
      epochs: 3,
      checkpoint: { dir: ck, every: 3 },
      onEpoch: (e) => epochs.push(e),
    });
    expect(b.resumedFrom).to.equal(path.join(ck, 'checkpoint-000000006.pt'));
    expect(b.steps).to.equal(12);
    expect(epochs.map((e) => [e.epoch, e.steps])).to.deep.equal([
      [1, 2],
      [2, 4],
    ]);
    expect(epochs[1].loss).to.equal(a.epochs[2].loss);
    expect(params(resumed)).to.deep.equal(params(whole));
    expect(resumed.epoch).to.equal(3);
  });

  it('resumes an I-JEPA run with its mask sampler where it was', async function () {
    const files = (n) => path.join(FIXTURES, 'ijepa', n);
    const trainer = () => {
      const sampler = new jepa.masks.MaskSampler('multiblock', {
        inputSize: 32,
        patchSize: 8,
        batchSize: 2,
        encMaskScale: [0.85, 1],
        predMaskScale: [0.15, 0.3],
        aspectRatio: [0.75, 1.5],
        npred: 2,
        minKeep: 0,
        positionSeed: 4,
      });
      return new jepa.Trainer({
        kind: 'ijepa',
        context: jepa.loadModuleSync(files('context_encoder.pt')),
        target: jepa.loadModuleSync(files('target_encoder.pt')),
        predictor: jepa.loadModuleSync(files('predictor.pt')),
        lr: 1e-3,
        masks: sampler,
      });
    };
    const images = { length: 4, get: (i) => jepa.randn([3, 32, 32], { seed: 100 + i }) };
    // Seed 0: the checkpoints hold the bigint 0n (which the .pt writer once refused).
    const loader = () => new jepa.data.DataLoader(images, { batchSize: 2, shuffle: true, seed: 0 });
    jepa.manualSeed(2);
    const whole = trainer();
    const losses = [];
    await whole.fit({ data: loader(), epochs: 2, onStep: (s) => losses.push(s.stats.loss) });
    jepa.manualSeed(2);
    const ck = file('ck-ijepa');
    await interrupted(trainer(), { data: loader(), epochs: 2, checkpoint: { dir: ck, every: 1 } }, 3);
    const resumed = trainer();
    const after = [];
    const r = await resumed.fit({
      data: loader(),
      epochs: 2,
      checkpoint: { dir: ck },
      onStep: (s) => after.push(s.stats.loss),
    });
    expect(r.resumedFrom).to.match(/checkpoint-000000003\.pt$/);
    // The same images and masks: the same loss, and the sampler where the uninterrupted one is.
    expect(after).to.deep.equal(losses.slice(3));
    expect(resumed.sampler.step).to.equal(whole.sampler.step);
    // TorchScript's profiling executor runs a module's first calls unoptimized and later ones
    // through an optimized graph, which may round the last bit differently: the fresh modules of
    // a resumed run update within 1e-6 of the warmed-up ones (the motion model above: exactly).
    const [x, y] = [params(resumed), params(whole)];
    expect(x.length).to.equal(y.length);
    expect(Math.max(...x.map((v, i) => Math.abs(v - y[i])))).to.be.below(1e-6);
  });

  it('calls onStep, validate and onEpoch in order, and Python reads its checkpoints', async function () {
    const calls = [];
    const ck = file('ck-calls');
    const trainer = motion();
    const result = await trainer.fit({
      data: features(),
      epochs: 2,
      checkpoint: { dir: ck, keep: 5 },
      onStep: (s) => calls.push(['step', s.epoch, s.batch, s.batches, s.stats.step]),
      validate: ({ epoch, trainer: t }) => {
        calls.push(['validate', epoch, t.epoch]);
        return { score: epoch * 10 };
      },
      onEpoch: (e) => calls.push(['epoch', e.epoch, e.steps, e.validation.score, path.basename(e.checkpoint)]),
    });
    expect(calls).to.deep.equal([
      ['step', 0, 0, 4, 0],
      ['step', 0, 1, 4, 1],
      ['step', 0, 2, 4, 2],
      ['step', 0, 3, 4, 3],
      ['validate', 0, 1],
      ['epoch', 0, 4, 0, 'checkpoint-000000004.pt'],
      ['step', 1, 0, 4, 4],
      ['step', 1, 1, 4, 5],
      ['step', 1, 2, 4, 6],
      ['step', 1, 3, 4, 7],
      ['validate', 1, 2],
      ['epoch', 1, 4, 10, 'checkpoint-000000008.pt'],
    ]);
    expect(result.epochs.map((e) => e.validation)).to.deep.equal([{ score: 0 }, { score: 10 }]);
    const py = pythonJson(
      `
import json, sys, torch
v = torch.load(sys.argv[1])
f = v['fit']
print(json.dumps({'keys': sorted(v), 'epoch': v['epoch'], 'step': v['step'], 'loader': f['loader'],
                  'rng': list(f['rng'].shape), 'masks': f['masks'], 'opt': len(v['opt']['state'])}))`,
      { args: [path.join(ck, 'checkpoint-000000008.pt')] },
    );
    expect(py.keys).to.include.members(['model', 'opt', 'epoch', 'step', 'fit']);
    expect([py.epoch, py.step, py.loader, py.rng, py.masks]).to.deep.equal([
      2,
      8,
      { epoch: 2, batch: 0, seed: 3 },
      [5056],
      null,
    ]);
    expect(py.opt).to.be.above(0);
    // Finished: a second call has nothing left to train.
    const again = await motion().fit({ data: features(), epochs: 2, checkpoint: { dir: ck } });
    expect([again.epochs.length, again.steps]).to.deep.equal([0, 8]);
  });

  it('draws a progress bar on a terminal, lines with progress: true elsewhere, nothing by default', async function () {
    // stderr as a terminal (or a pipe) would present it, its output captured and restored.
    const stderr = process.stderr;
    const saved = { isTTY: stderr.isTTY, columns: stderr.columns, write: stderr.write };
    const ESC = String.fromCharCode(27);
    // One trainer, one more epoch per run (a fresh TorchScript module's first steps are slow).
    const trainer = motion();
    const run = async (isTTY, options) => {
      let out = '';
      const write = (chunk, ...rest) => {
        out += String(chunk);
        rest.find((r) => typeof r === 'function')?.();
        return true;
      };
      Object.assign(stderr, { isTTY, columns: 120, write });
      try {
        const r = await trainer.fit({ data: features(), epochs: trainer.epoch + 1, ...options });
        expect(r.epochs.map((e) => e.steps)).to.deep.equal([4]);
      } finally {
        Object.assign(stderr, saved);
      }
      return out;
    };
    // The bar's last frame: the epoch, all 4 batches and the last step's loss.
    const last = (n) => new RegExp(`^epoch ${n}/${n} \\[[^\\]]+\\] 4/4 \\| loss \\d+\\.\\d{4} \\|[^\\n\\r]*$`);
    const tty = await run(true, {}); // progress: 'auto'
    expect(tty).to.include(`${ESC}[?25l`); // the cursor hidden while it draws
    const frames = tty
      .split(ESC)
      .map((f) => f.replace(/^\[[0-9;?]*[A-Za-z]/, ''))
      .filter((f) => f.startsWith('epoch'));
    expect(frames.length).to.be.above(0);
    expect(frames.at(-1).trimEnd()).to.match(last(1));
    const lines = await run(false, { progress: true });
    expect(lines).to.not.include(ESC);
    expect(lines.trimEnd().split('\n').at(-1)).to.match(last(2));
    expect(await run(false, {})).to.equal('');
    expect(await run(true, { progress: false })).to.equal('');
  });

  it('refuses to resume with a loader of another seed, and checks its options', async function () {
    const ck = file('ck-calls');
    const other = new jepa.data.DataLoader(new jepa.data.FeatureDataset(file('features')), {
      batchSize: 2,
      shuffle: true,
      seed: 4,
    });
    const e = await rejection(motion().fit({ data: other, epochs: 3, checkpoint: { dir: ck } }));
    expect(e.message).to.match(/seed 3.*seed: 3n/);
    const fresh = await motion().fit({ data: other, epochs: 1, checkpoint: { dir: ck, resume: false, keep: 1 } });
    expect(fresh.resumedFrom).to.equal(null);
    const t = motion();
    for (const [opts, re] of [
      [{ data: [], epochs: 1 }, /DataLoader/],
      [{ data: features(), epochs: 0 }, /epochs/],
      [{ data: features(), epochs: 1, onStep: 1 }, /onStep/],
      [{ data: features(), epochs: 1, checkpoint: { every: 0, dir: 'x' } }, /every/],
      [{ data: features(), epochs: 1, progress: 'yes' }, /progress/],
      [{ data: features(), epochs: 1, nope: 1 }, /nope/],
    ]) {
      const err = await rejection(t.fit(opts));
      expect(err).to.be.instanceOf(TypeError);
      expect(err.message).to.match(re);
    }
    const bad = new jepa.data.DataLoader({ length: 2, get: () => ({ text: 'x' }) }, { batchSize: 2 });
    expect((await rejection(t.fit({ data: bad, epochs: 1 }))).message).to.match(/toBatch/);
  });
});
