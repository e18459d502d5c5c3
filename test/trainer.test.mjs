// Training steps from Node against the same steps in Python (scripts/reference/train_reference.py)
// with the same TorchScript modules, inputs and masks: the losses and every updated parameter
// (context encoder, target encoder after the EMA, predictor) within 1e-5.
import { expect } from 'chai';
import { after, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { rejection, thrown } from './helpers.mjs';
import {
  build,
  cleanupDirs,
  compare,
  fixture,
  ijepaFiles,
  ijepaMasks,
  ijepaMaskTensors,
  nodeParams,
  python,
  randnSpec,
  stepSpec,
  testSchedules,
  TOL,
  valuesSpec,
} from './train-helpers.mjs';

after(cleanupDirs);

/**
 * Trains `steps` steps in Node and in Python from the same files and compares. `batches[i]` are
 * batch specs; `toBatch(tensors)` makes the Node batch of built tensors.
 */
async function parity({ kind, files, options = {}, batches, toBatch, seeds, sync = false, before, tol = TOL }) {
  const modules = {};
  for (const [key, file] of Object.entries(files)) modules[key] = await jepa.loadModule(file);
  before?.(modules);
  const schedules = testSchedules();
  const trainer = new jepa.Trainer({ kind, ...modules, ...schedules, ...options });
  const stats = [];
  for (let i = 0; i < batches.length; i++) {
    if (seeds) jepa.manualSeed(seeds[i]);
    const batch = toBatch(Object.fromEntries(Object.entries(batches[i]).map(([k, v]) => [k, build(v)])));
    stats.push(sync ? trainer.stepSync(batch) : await trainer.step(batch));
  }
  const spec = {
    kind,
    files,
    threads: jepa.getNumThreads(),
    ...options,
    steps: batches.map((batch, i) => stepSpec(schedules, i, batch, seeds ? { seed: seeds[i] } : {})),
  };
  delete spec.betas;
  if (options.betas) spec.betas = options.betas;
  const py = await python(spec);
  stats.forEach((s, i) => {
    expect(s.step).to.equal(i);
    expect(s.lr).to.equal(schedules.lr.at(i));
    expect(s.weightDecay).to.equal(schedules.weightDecay.at(i));
    expect(Math.abs(s.loss - py.losses[i]), `loss of step ${i}: ${s.loss} vs ${py.losses[i]}`).to.be.at.most(tol);
    s.parts.forEach((p, j) => expect(Math.abs(p - py.parts[i][j])).to.be.at.most(tol));
  });
  const worst = compare(nodeParams(trainer.modules), py.params, { tol });
  if (process.env.JEPA_DEBUG)
    console.log(
      kind,
      'worst',
      worst,
      'loss diffs',
      stats.map((s, i) => s.loss - py.losses[i]),
    );
  return { trainer, stats, py, worst, modules };
}

describe('Trainer: one step from Node equals the same step in Python (within 1e-5)', function () {
  this.timeout(60000);

  it("I-JEPA: smooth L1, AdamW with I-JEPA's groups, EMA; two steps (async)", async () => {
    const batches = [0, 1].map((s) => ({ images: randnSpec([2, 3, 32, 32], 10 + s), ...ijepaMasks(s) }));
    const { stats, trainer, worst } = await parity({
      kind: 'ijepa',
      files: ijepaFiles,
      batches,
      toBatch: (t) => ({ images: t.images, masks: { context: t.context, targets: t.targets } }),
    });
    expect(stats[0].momentum).to.equal(0.9);
    expect(stats[0].gradNorm).to.be.greaterThan(0);
    expect(stats[0].gradNormPredictor).to.be.greaterThan(0);
    expect(trainer.stepCount).to.equal(2);
    expect(worst).to.be.at.most(TOL);
    const groups = trainer.paramGroups();
    expect(groups).to.have.length(4);
    expect(groups[2].wdExclude).to.equal(true);
    expect(groups[2].weightDecay).to.equal(0);
    expect(groups[0].names).to.include('context.blocks.0.attn.qkv.weight');
    expect(groups[2].names).to.include('context.blocks.0.attn.qkv.bias');
    expect(groups[0].names).to.include('context.pos_embed'); // 3-D, so in the decayed group (it has no gradient)
  });

  it('I-JEPA with gradient clipping and the I-JEPA EMA loop (sync)', async () => {
    const batches = [{ images: randnSpec([2, 3, 32, 32], 20), ...ijepaMasks(3) }];
    const { stats } = await parity({
      kind: 'ijepa',
      files: ijepaFiles,
      options: { clipGrad: 1e-5, betas: [0.9, 0.95], emaFormula: 'loop' },
      batches,
      sync: true,
      toBatch: (t) => ({ images: t.images, masks: { context: t.context, targets: t.targets } }),
    });
    expect(stats[0].gradNorm).to.be.greaterThan(1e-5); // it was clipped
  });

  it("bf16 autocast on CPU equals Python's torch.autocast('cpu', dtype=torch.bfloat16) (I-JEPA, two steps)", async () => {
    // The same ops in the same order, cast to bfloat16 where autocast casts: both sides round the
    // same way (measured: identical at equal thread counts); 1e-4 leaves room for other kernels.
    const batches = [0, 1].map((s) => ({ images: randnSpec([2, 3, 32, 32], 80 + s), ...ijepaMasks(s + 5) }));
    const { stats, worst } = await parity({
      kind: 'ijepa',
      files: ijepaFiles,
      options: { bf16: true },
      batches,
      toBatch: (t) => ({ images: t.images, masks: { context: t.context, targets: t.targets } }),
      tol: 1e-4,
    });
    // And bf16 really ran: the loss differs from the float32 step's.
    const m = Object.fromEntries(Object.entries(ijepaFiles).map(([k, f]) => [k, jepa.loadModuleSync(f)]));
    const f32 = new jepa.Trainer({ kind: 'ijepa', ...m, ...testSchedules() });
    const b = build(batches[0]);
    const loss32 = f32.stepSync({ images: b.images, masks: { context: b.context, targets: b.targets } }).loss;
    expect(Math.abs(loss32 - stats[0].loss)).to.be.greaterThan(1e-6);
    if (process.env.JEPA_DEBUG) console.log('bf16 worst', worst, 'f32 vs bf16 loss', loss32 - stats[0].loss);
  });

  it('V-JEPA: two mask configs, loss averaged over them', async () => {
    const masks = (seed) => {
      const v = jepa.masks.multiblock3d({
        configs: [
          { ...jepa.masks.presets.vjepaShortRange, numBlocks: 2, spatialScale: [0.15, 0.15] },
          { ...jepa.masks.presets.vjepaLongRange, spatialScale: [0.5, 0.5] },
        ],
        numFrames: 4,
        cropSize: 32,
        patchSize: 8,
        tubeletSize: 2,
        batchSize: 2,
        seed,
        positionSeed: seed,
      });
      return { context: v.context.map(valuesSpec), targets: v.targets.map(valuesSpec) };
    };
    const batches = [0, 1].map((s) => ({ images: randnSpec([2, 3, 4, 32, 32], 30 + s), ...masks(s) }));
    const { stats } = await parity({
      kind: 'vjepa',
      files: {
        context: fixture('vjepa/context_encoder.pt'),
        target: fixture('vjepa/target_encoder.pt'),
        predictor: fixture('vjepa/predictor.pt'),
      },
      batches,
      toBatch: (t) => ({ images: t.images, masks: { context: t.context, targets: t.targets } }),
    });
    expect(stats[0].parts).to.have.length(2);
    expect(stats[0].loss).to.be.closeTo((stats[0].parts[0] + stats[0].parts[1]) / 2, 1e-6);
  });

  // H-JEPA's step (jonwiggins/H-JEPA's recipe) is compared in test/hjepa.test.mjs.

  it("motion autoencoder: seed 003's loss (dropout 0.1 drawn from the same seeded generator)", async () => {
    const batches = [0, 1].map((s) => ({ features: randnSpec([2, 5, 6, 24], 50 + s) }));
    const { stats } = await parity({
      kind: 'motion',
      files: { model: fixture('motion_ae.pt') },
      batches,
      seeds: [7, 8],
      toBatch: (t) => t,
    });
    expect(stats[0].parts).to.have.length(3);
    expect(stats[0].momentum).to.equal(null);
  });

  it("VL-JEPA predictor: seed 004's 1 - cosine", async () => {
    const batches = [0, 1].map((s) => ({ inputs: randnSpec([3, 512], 60 + s), targets: randnSpec([3, 384], 70 + s) }));
    const { stats } = await parity({
      kind: 'vl',
      files: { model: fixture('vl_predictor.pt') },
      batches,
      toBatch: (t) => ({ imageEmbeddings: t.inputs, textEmbeddings: t.targets }),
    });
    expect(stats[0].loss).to.be.within(0, 2);
  });
});

describe('Trainer: semantics and errors', function () {
  this.timeout(60000);
  const load = () => ({
    context: jepa.loadModuleSync(ijepaFiles.context),
    target: jepa.loadModuleSync(ijepaFiles.target),
    predictor: jepa.loadModuleSync(ijepaFiles.predictor),
  });

  it('draws masks from a MaskSampler when the batch has none; steps queue in order', async () => {
    const sampler = new jepa.masks.MaskSampler('multiblock', {
      inputSize: 32,
      patchSize: 8,
      batchSize: 2,
      encMaskScale: [0.85, 1],
      predMaskScale: [0.15, 0.3],
      aspectRatio: [0.75, 1.5],
      npred: 2,
      minKeep: 0,
    });
    const trainer = new jepa.Trainer({ kind: 'ijepa', ...load(), lr: 1e-3, masks: sampler });
    const images = jepa.randn([2, 3, 32, 32], { seed: 1 });
    const all = await Promise.all([trainer.step({ images }), trainer.step({ images }), trainer.step({ images })]);
    expect(all.map((s) => s.step)).to.deep.equal([0, 1, 2]);
    expect(sampler.step).to.equal(3);
    expect(trainer.stepSync({ images }).step).to.equal(3);
  });

  it('the trained modules are in train mode and busy during a step', async () => {
    const m = load();
    const trainer = new jepa.Trainer({ kind: 'ijepa', ...m, lr: 1e-3 });
    expect(m.context.training && m.predictor.training && m.target.training).to.equal(true);
    const p = trainer.step({ images: jepa.randn([2, 3, 32, 32], { seed: 1 }), masks: ijepaMaskTensors() });
    const err = thrown(() => m.context.eval());
    expect(err.code).to.equal('JEPA_MODULE_BUSY');
    await p;
    m.target.eval();
  });

  it('the loss falls over a few steps on a fixed batch', async () => {
    const trainer = new jepa.Trainer({ kind: 'vl', model: jepa.loadModuleSync(fixture('vl_predictor.pt')), lr: 1e-2 });
    const batch = {
      imageEmbeddings: jepa.randn([8, 512], { seed: 1 }),
      textEmbeddings: jepa.randn([8, 384], { seed: 2 }),
    };
    const losses = [];
    for (let i = 0; i < 10; i++) losses.push(trainer.stepSync(batch).loss);
    expect(losses[9]).to.be.lessThan(losses[0] * 0.7);
  });

  it('bad options and batches: exact messages; torch errors from a step reject with JEPA_TORCH_ERROR', async () => {
    const m = load();
    expect(thrown(() => new jepa.Trainer({ kind: 'xjepa' })).message).to.match(/^expected `options.kind` to be one of/);
    expect(thrown(() => new jepa.Trainer({ kind: 'ijepa', context: m.context, lr: 1 })).message).to.equal(
      'expected `options.target` to be a Module (the ijepa trainer needs context, target, predictor), got undefined',
    );
    expect(thrown(() => new jepa.Trainer({ kind: 'ijepa', ...m })).message).to.match(/^expected `options.lr`/);
    expect(thrown(() => new jepa.Trainer({ kind: 'vl', model: m.context, lr: 1, masks: 3 })).message).to.match(
      /MaskSampler/,
    );
    expect(thrown(() => new jepa.Trainer({ kind: 'ijepa', ...m, lr: 1, bf16: 1 })).message).to.equal(
      'expected `options.bf16` to be a boolean, got 1',
    );
    expect(thrown(() => new jepa.Trainer({ kind: 'ijepa', ...m, lr: { kind: 'linear', start: 1 } })).message).to.equal(
      'expected `options.lr.end` to be a finite number (the linear schedule needs it), got undefined',
    );
    const mismatch = thrown(
      () =>
        new jepa.Trainer({
          kind: 'ijepa',
          context: m.context,
          target: jepa.loadModuleSync(fixture('vjepa/target_encoder.pt')),
          predictor: m.predictor,
          lr: 1,
        }),
    );
    expect(mismatch.code).to.equal('JEPA_PARAMETER_MISMATCH');
    expect(mismatch.message).to.include('patch_embed.proj.weight: target [32, 3, 2, 8, 8]');
    const trainer = new jepa.Trainer({ kind: 'ijepa', ...m, lr: 1e-3 });
    expect(thrown(() => trainer.stepSync({ images: jepa.randn([2, 3, 32, 32]) })).message).to.match(/`batch.masks`/);
    expect(thrown(() => trainer.stepSync({ images: 1, masks: {} })).message).to.equal(
      'expected `batch.images` to be a Tensor, got 1',
    );
    expect(
      thrown(() =>
        trainer.stepSync({ images: jepa.randn([2, 3, 32, 32]), masks: { context: [jepa.zeros([2, 3])], targets: [] } }),
      ).message,
    ).to.equal('expected `batch.masks.context[0]` to hold int64 patch indices, got dtype float32');
    expect(thrown(() => trainer.stepSync({ images: jepa.randn([2, 3, 32, 32]), extra: 1 })).message).to.match(
      /unknown option `batch.extra`/,
    );
    const err = await rejection(trainer.step({ images: jepa.randn([2, 3, 16, 16]), masks: ijepaMaskTensors() }));
    expect(err.code).to.equal('JEPA_TORCH_ERROR');
    expect(err.stack).to.include('trainer.test.mjs');
    // The trainer still works after a failed step.
    const ok = await trainer.step({ images: jepa.randn([2, 3, 32, 32]), masks: ijepaMaskTensors() });
    expect(ok.step).to.equal(0);
  });
});
