// H-JEPA as jonwiggins/H-JEPA trains it, at the seed's own setting (224 px, patch 16, 3 levels: a
// 14 x 14 grid) with a tiny ViT: the hierarchical mask generator, the schedules, the model
// (1-D and 2-D pooling) and three training steps from the same config, weights, batches and
// masks, against the project's Python rewrite (scripts/reference/hjepa_reference.py, itself
// checked against the official code by scripts/dev/hjepa_official_check.py). One Python run
// (before) makes every reference value of the file.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { after, before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { cleanup, ROOT, runPython, thrown, tmpDir } from './helpers.mjs';
import { compare } from './train-helpers.mjs';

const { masks } = jepa;
const TOL = 1e-6;

/** jonwiggins/H-JEPA configs/default.yaml (every section the trainer reads), a short run. */
function defaultConfig() {
  return {
    model: {
      encoder_type: 'vit_base_patch16_224',
      embed_dim: 16,
      num_hierarchies: 3,
      predictor: { depth: 1, num_heads: 2, mlp_ratio: 4.0 },
      ema: { momentum: 0.996, momentum_end: 1.0, momentum_warmup_epochs: 30 },
      rope: { use_rope: false, theta: 10000.0 },
      use_flash_attention: true,
      fpn: { use_fpn: false, feature_dim: null, fusion_method: 'add' },
    },
    data: { dataset: 'imagenet', data_path: '/path/to/dataset', image_size: 224, batch_size: 2, num_workers: 8 },
    masking: {
      num_masks: 4,
      mask_scale: [0.15, 0.2],
      aspect_ratio: [0.75, 1.5],
      num_context_masks: 1,
      context_scale: [0.85, 1.0],
    },
    training: {
      epochs: 10,
      warmup_epochs: 1,
      lr: 1.5e-4,
      min_lr: 1.0e-6,
      weight_decay: 0.05,
      optimizer: 'adamw',
      betas: [0.9, 0.95],
      lr_schedule: 'cosine',
      clip_grad: 3.0,
      use_amp: true,
      accumulation_steps: 1,
      // Not in default.yaml: the trainer's EMA schedule (its defaults are 0.996 -> 1.0 after 1000 steps).
      ema_momentum_schedule: { start: 0.9, end: 1.0, warmup_steps: 2 },
    },
    loss: { type: 'mse', hierarchy_weights: [1.0, 0.5, 0.25], normalize_embeddings: false },
    seed: 42,
    device: 'cpu',
  };
}

/** The B run: 2-D pooling, smooth L1 on normalised embeddings, masked loss, linear lr, no clipping. */
function otherConfig() {
  const c = defaultConfig();
  c.loss = { type: 'smoothl1', hierarchy_weights: [1, 1, 2], normalize_embeddings: true };
  Object.assign(c.training, { lr_schedule: 'linear', clip_grad: null, warmup_epochs: 0, lr: 1e-3 });
  c.seed = 7;
  return c;
}

const TINY = {
  img_size: 224,
  patch_size: 16,
  embed_dim: 16,
  depth: 1,
  num_heads: 2,
  predictor_depth: 1,
  predictor_num_heads: 2,
  num_hierarchies: 3,
};
const STEPS_PER_EPOCH = 2;
const IMAGES = [100, 101, 102].map((seed) => [[2, 3, 224, 224], seed]);

// Mask parity: option sets (ours / the Python class's names) x seeds, two batches each.
const MASK_SETS = [
  [{ ...masks.presets.hjepaDefault }, { base_scale: [0.15, 0.2] }],
  [{}, {}],
  [
    { numHierarchies: 4, numTargetMasks: 6, baseScale: [0.1, 0.3] },
    { num_hierarchies: 4, num_target_masks: 6, base_scale: [0.1, 0.3] },
  ],
  [
    { inputSize: [96, 160], aspectRatio: [0.3, 3.0] },
    { input_size: [96, 160], aspect_ratio_range: [0.3, 3.0] },
  ],
  [
    { scaleProgression: 'linear', numHierarchies: 2, maxAttempts: 2 },
    { scale_progression: 'linear', num_hierarchies: 2, max_attempts: 2 },
  ],
  [
    { inputSize: 64, patchSize: 8, baseScale: [0.3, 0.5], numTargetMasks: 8 },
    { input_size: 64, patch_size: 8, base_scale: [0.3, 0.5], num_target_masks: 8 },
  ],
];
const MASK_SEEDS = [0, 1, 2, 3, 5, 8, 13, 42, 1234, 99999, 2 ** 31, 2 ** 32 - 1];

const SCHEDULES = [
  // [ours, python job]
  [
    { kind: 'hjepaWarmupCosine', start: 0, peak: 1.5e-4, end: 1e-6, warmupSteps: 40 * 17, steps: 300 * 17 },
    { kind: 'cosine', args: [1.5e-4, 1e-6, 300, 17, 40], lagged: true },
  ],
  [
    { kind: 'hjepaWarmupLinear', peak: 1e-3, end: 1e-5, warmupSteps: 6, steps: 30 },
    { kind: 'linear', args: [1e-3, 1e-5, 10, 3, 2], lagged: true },
  ],
  [
    { kind: 'hjepaWarmupCosine', peak: 2e-4, end: 0, warmupSteps: 0, steps: 50 },
    { kind: 'cosine', args: [2e-4, 0, 50, 1, 0], lagged: true },
  ],
  [
    { kind: 'hjepaEma', start: 0.996, end: 1, warmupSteps: 58 * 17, steps: 300 * 17 },
    { kind: 'ema', args: [0.996, 1.0, 300, 17, 58] },
  ],
  [
    { kind: 'hjepaEma', start: 0.9, warmupSteps: 0, steps: 7 },
    { kind: 'ema', args: [0.9, 1.0, 7, 1, 0] },
  ],
  [
    { kind: 'seed001-literal', start: 0.996, end: 1, steps: 1000 },
    { kind: 'seed001', args: [0.996, 1.0, 1000] },
  ],
];
const SCHEDULE_STEPS = Array.from({ length: 5200 }, (_, i) => i);

let dir;
let ref;
const FORWARD_MASK = (() => {
  const m = new Array(2 * 196).fill(0);
  for (const i of [0, 1, 2, 14, 15, 16, 100, 101, 195]) m[i] = 1;
  for (const i of [30, 31, 44, 45, 46, 60, 61, 62, 150, 151, 152, 153]) m[196 + i] = 1;
  return [m.slice(0, 196), m.slice(196)];
})();

function loadParams(index) {
  const bin = fs.readFileSync(path.join(dir, `params_${index}.bin`));
  const params = new Map();
  for (const [name, [offset, shape]] of Object.entries(ref.train[index].tensors)) {
    const n = shape.reduce((a, b) => a * b, 1);
    params.set(
      `model.${name}`,
      new Float32Array(bin.buffer.slice(bin.byteOffset + offset, bin.byteOffset + offset + 4 * n)),
    );
  }
  return params;
}

before(function () {
  this.timeout(300000);
  dir = tmpDir('hjepa-');
  const spec = {
    threads: jepa.getNumThreads(),
    models: [
      { name: 'hjepa224', kwargs: TINY, seed: 0 },
      { name: 'hjepa224_2d', kwargs: { ...TINY, pooling: '2d' }, seed: 1 },
    ],
    forward: [
      { model: 'hjepa224', images: [[2, 3, 224, 224], 5], mask: FORWARD_MASK },
      { model: 'hjepa224_2d', images: [[2, 3, 224, 224], 5], mask: FORWARD_MASK },
    ],
    masks: MASK_SETS.flatMap(([, py]) => MASK_SEEDS.map((seed) => ({ seed, options: py, batch_size: 3, batches: 2 }))),
    schedules: SCHEDULES.map(([, py]) => ({ ...py, steps: SCHEDULE_STEPS })),
    // The step's rewrite runs the same TorchScript file as Node (jit), and once the eager model of
    // scripts/models/hjepa.py with its weights (see the last training test).
    train: [
      { config: defaultConfig(), stepsPerEpoch: STEPS_PER_EPOCH, model: 'hjepa224', images: IMAGES, jit: true },
      {
        config: otherConfig(),
        stepsPerEpoch: STEPS_PER_EPOCH,
        model: 'hjepa224_2d',
        images: IMAGES,
        maskedLoss: true,
        jit: true,
      },
      { config: defaultConfig(), stepsPerEpoch: STEPS_PER_EPOCH, model: 'hjepa224', images: IMAGES },
    ],
  };
  fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec));
  const script = path.join(ROOT, 'scripts', 'reference', 'hjepa_reference.py');
  const argv = [script, 'all', path.join(dir, 'spec.json'), dir];
  runPython(`import runpy, sys; sys.argv = ${JSON.stringify(argv)}; runpy.run_path(sys.argv[0], run_name='__main__')`);
  ref = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));
});
after(() => dir && cleanup(dir));

describe('H-JEPA masks: masks.hjepa equals HierarchicalMaskGenerator after np.random.seed', function () {
  it('every level, context and targets, over 6 option sets x 12 seeds x 2 batches (MaskSampler)', function () {
    let i = 0;
    for (const [ours] of MASK_SETS) {
      for (const seed of MASK_SEEDS) {
        const sampler = new masks.MaskSampler('hjepa', { ...ours, batchSize: 3, positionSeed: seed });
        for (const want of ref.masks[i]) {
          const got = sampler.next();
          expect(got.levels).to.have.length(want.context.length);
          got.levels.forEach((level, l) => {
            expect(Array.from(level.context.data()), `set ${i}, level ${l} context`).to.deep.equal(want.context[l]);
            expect(Array.from(level.targets.data()), `set ${i}, level ${l} targets`).to.deep.equal(want.targets[l]);
          });
          expect(got.blocks).to.deep.equal(want.blocks);
        }
        i++;
      }
    }
  });

  it('returns [B, N] context, [B, M, N] targets and the level-0 union as the prediction mask', function () {
    const m = masks.hjepa({ ...masks.presets.hjepaDefault, batchSize: 4 });
    expect(m.kind).to.equal('hjepa');
    expect(m.grid).to.deep.equal({ duration: 1, height: 14, width: 14 });
    expect(m.levels.map((l) => [l.context.shape, l.targets.shape, l.context.dtype])).to.deep.equal([
      [[4, 196], [4, 4, 196], 'bool'],
      [[4, 196], [4, 4, 196], 'bool'],
      [[4, 196], [4, 4, 196], 'bool'],
    ]);
    const t = m.levels[0].targets.data();
    const mask = m.mask.data();
    for (let b = 0; b < 4; b++) {
      for (let n = 0; n < 196; n++) {
        const any = [0, 1, 2, 3].some((k) => t[(b * 4 + k) * 196 + n]);
        expect(mask[b * 196 + n]).to.equal(any ? 1 : 0);
        // context never overlaps a target of its level
        if (m.levels[0].context.data()[b * 196 + n]) expect(any).to.equal(false);
      }
    }
    // the default seed is 42, configs/default.yaml's
    expect(Array.from(masks.hjepa({ batchSize: 2 }).mask.data())).to.deep.equal(
      Array.from(masks.hjepa({ batchSize: 2, positionSeed: 42 }).mask.data()),
    );
  });

  it('async form equals the sync form; bad options are TypeErrors with exact messages', async function () {
    const a = masks.hjepa({ batchSize: 2, positionSeed: 3 });
    const b = await masks.hjepaAsync({ batchSize: 2, positionSeed: 3 });
    expect(Array.from(b.mask.data())).to.deep.equal(Array.from(a.mask.data()));
    expect(thrown(() => masks.hjepa({})).message).to.equal(
      'missing option `options.batchSize`: expected a positive integer',
    );
    expect(thrown(() => masks.hjepa({ batchSize: 1, numHierarchies: 0 })).message).to.equal(
      'expected `options.numHierarchies` to be an integer in [1, 16], got 0',
    );
    expect(thrown(() => masks.hjepa({ batchSize: 1, scaleProgression: 'cubic' })).message).to.equal(
      "expected `options.scaleProgression` to be 'geometric' or 'linear', got \"cubic\"",
    );
    expect(thrown(() => masks.hjepa({ batchSize: 1, positionSeed: 2 ** 32 })).message).to.equal(
      "expected `options.positionSeed` to be below 2^32 (np.random.seed's range), got 4294967296",
    );
    expect(thrown(() => masks.hjepa({ batchSize: 1, baseScale: [0.2, 0.1] })).message).to.match(
      /^expected `options.baseScale` to be a range/,
    );
    expect(thrown(() => masks.hjepa({ batchSize: 1, maxAttempts: -1 })).message).to.equal(
      'expected `options.maxAttempts` to be a non-negative integer, got -1',
    );
    const e = thrown(() => masks.hjepa({ batchSize: 1, aspectRatio: [5e-324, 5e-324] })); // level 1: area / r overflows
    expect(e.code).to.equal('JEPA_INVALID_ARGUMENT');
    expect(e.message).to.match(/not finite/);
  });
});

describe("H-JEPA schedules equal jonwiggins/H-JEPA's schedulers as its trainer applies them", function () {
  it('hjepaWarmupCosine / hjepaWarmupLinear (step 0 at the base lr, then the value of the step before), hjepaEma, seed001-literal: 5,200 steps each, bit for bit', function () {
    SCHEDULES.forEach(([ours], i) => {
      const got = Array.from(jepa.ema.schedule(ours).values(0, SCHEDULE_STEPS.length));
      got.forEach((v, s) => expect(v, `${ours.kind} (${i}) at step ${s}`).to.equal(ref.schedules[i][s]));
    });
  });

  it("'seed001-literal' runs backwards, from 1.0 down to 0.996; a zero division throws as Python's", function () {
    const s = jepa.ema.schedule({ kind: 'seed001-literal', start: 0.996, end: 1, steps: 100 });
    expect(s.at(0)).to.equal(1);
    expect(s.at(100)).to.equal(0.996);
    expect(s.at(50)).to.be.below(s.at(10));
    const z = jepa.ema.schedule({ kind: 'hjepaEma', start: 0.996, warmupSteps: 10, steps: 10 });
    expect(z.at(9)).to.equal(0.996);
    expect(() => z.at(10)).to.throw(/steps - warmupSteps = 0 at step 10/);
  });
});

describe('H-JEPA model at 224 px, patch 16, 3 levels (a 14 x 14 grid)', function () {
  this.timeout(60000);

  for (const [i, name, pooling, cells] of [
    [0, 'hjepa224', '1d', [196, 98, 49]],
    [1, 'hjepa224_2d', '2d', [196, 49, 16]],
  ]) {
    it(`${pooling} pooling: forward and extractFeatures equal the TorchScript model in Python`, async function () {
      const h = await jepa.HJEPA.load(path.join(dir, `${name}.pt`));
      expect([h.imageSize, h.gridSize, h.numLevels, h.pooling]).to.deep.equal([224, 14, 3, pooling]);
      expect([0, 1, 2].map((l) => h.cellsAt(l))).to.deep.equal(cells);
      const want = await jepa.load(path.join(dir, `forward_${i}.pt`));
      h.module.train();
      const out = await h.forward(want.images, want.mask);
      for (const key of ['predictions', 'targets']) {
        out[key].forEach((t, l) => {
          expect(t.shape).to.deep.equal(want[key][l].shape);
          const a = t.data();
          const b = want[key][l].data();
          let d = 0;
          for (let k = 0; k < a.length; k++) d = Math.max(d, Math.abs(a[k] - b[k]));
          expect(d, `${key}[${l}]`).to.be.at.most(TOL);
        });
      }
      out.masks_valid.forEach((t, l) =>
        expect(Array.from(t.data())).to.deep.equal(Array.from(want.masks_valid[l].data())),
      );
      // 9 and 12 masked patches: 1-D levels hold 12, 6, 3 entries (the first sample padded)
      if (pooling === '1d') expect(out.predictions.map((p) => p.shape[1])).to.deep.equal([12, 6, 3]);
      else expect(out.predictions.map((p) => p.shape[1])).to.deep.equal(cells);
      h.module.eval();
      for (let l = 0; l < 3; l++) {
        const f = await h.extractFeatures(want.images, l);
        expect(f.shape).to.deep.equal([2, cells[l], 16]);
        const a = f.data();
        const b = want.features[l].data();
        let d = 0;
        for (let k = 0; k < a.length; k++) d = Math.max(d, Math.abs(a[k] - b[k]));
        expect(d, `features ${l}`).to.be.at.most(TOL);
      }
      h.dispose();
    });
  }
});

describe("H-JEPA training: jepa.Trainer equals the Python rewrite of jonwiggins/H-JEPA's step (3 steps, 1e-6)", function () {
  this.timeout(120000);

  async function run(index, config, modelName, extra = {}, tol = TOL) {
    const recipe = jepa.hjepaRecipe(config, { stepsPerEpoch: STEPS_PER_EPOCH });
    const model = await jepa.loadModule(path.join(dir, `${modelName}.pt`));
    const sampler = new masks.MaskSampler('hjepa', recipe.masks.options);
    const check = new masks.MaskSampler('hjepa', recipe.masks.options);
    const trainer = new jepa.Trainer({ ...recipe.trainer, ...extra, model, masks: sampler });
    const want = ref.train[index];
    for (let i = 0; i < IMAGES.length; i++) {
      const [shape, seed] = IMAGES[i];
      const s = await trainer.step({ images: jepa.randn(shape, { seed }) });
      const w = want.steps[i];
      expect(Array.from(check.next().mask.data()), `mask of step ${i}`).to.deep.equal(w.mask);
      expect(s.lr, `lr of step ${i}`).to.equal(w.lr);
      expect(s.momentum, `momentum of step ${i}`).to.equal(w.momentum);
      expect(Math.abs(s.loss - w.loss), `loss of step ${i}: ${s.loss} vs ${w.loss}`).to.be.at.most(tol);
      s.parts.forEach((p, l) => expect(Math.abs(p - w.parts[l]), `level ${l} of step ${i}`).to.be.at.most(tol));
    }
    const node = new Map();
    for (const [n, t] of model.namedParameters()) node.set(`model.${n}`, Float32Array.from(t.contiguous().data()));
    const worst = compare(node, loadParams(index), { tol });
    if (process.env.JEPA_DEBUG) console.log(`run ${index}: worst parameter difference ${worst}`);
    return { trainer, recipe, worst, model };
  }

  it('configs/default.yaml (1-D pooling, MSE, weights [1, 0.5, 0.25], clip 3, warm-up, EMA before the step): losses, lr, momentum, masks and every parameter', async function () {
    const { trainer, recipe, model } = await run(0, defaultConfig(), 'hjepa224');
    // The schedules the recipe made: the lr lags one step behind jonwiggins' scheduler.
    expect(recipe.trainer.lr).to.deep.equal({
      kind: 'hjepaWarmupCosine',
      start: 0,
      peak: 1.5e-4,
      end: 1e-6,
      warmupSteps: 2,
      steps: 20,
    });
    expect(recipe.trainer.momentum).to.deep.equal({ kind: 'hjepaEma', start: 0.9, end: 1, warmupSteps: 2, steps: 20 });
    expect(ref.train[0].steps.map((s) => s.lr)).to.deep.equal([1.5e-4, 0, 7.5e-5]);
    expect(recipe.notes.join('\n')).to.include('use_amp');
    // one AdamW group with every trained parameter (no target encoder), decayed
    const groups = trainer.paramGroups();
    expect(groups).to.have.length(1);
    expect(groups[0].weightDecay).to.equal(0.05);
    expect(groups[0].names.some((n) => n.startsWith('target_encoder.'))).to.equal(false);
    expect(groups[0].names).to.include('context_encoder.vit.blocks.0.attn.qkv.bias');
    // the parameters did move (a do-nothing step would fail the comparison above)
    const start = await jepa.loadModule(path.join(dir, 'hjepa224.pt'));
    const a = start.namedParameters().get('predictor.head.weight').data();
    const b = model.namedParameters().get('predictor.head.weight').data();
    expect(Math.max(...a.map((x, i) => Math.abs(x - b[i])))).to.be.greaterThan(1e-5);
  });

  it('2-D pooling, smooth L1 on L2-normalised embeddings, masked loss, linear lr, no clipping', async function () {
    const { recipe } = await run(1, otherConfig(), 'hjepa224_2d', { maskedLoss: true });
    expect(recipe.trainer).to.include({ lossType: 'smoothl1', normalizeEmbeddings: true, clipGrad: null });
    expect(recipe.trainer.lr.kind).to.equal('hjepaWarmupLinear');
  });

  it('the eager model of scripts/models/hjepa.py in the Python step: the same run within 1e-5 (autograd rounding of eager vs TorchScript)', async function () {
    // Measured: 1.4e-6 apart at most after 3 steps (1.8e-6 for the 2-D run): Adam turns rounding
    // differences of tiny gradients into lr-sized steps. The forward passes agree within 1e-6
    // (above) and the TorchScript step equals Node's exactly (0 difference, measured).
    const { worst } = await run(2, defaultConfig(), 'hjepa224', {}, 1e-5);
    expect(worst).to.be.at.most(1e-5);
  });

  it("the EMA runs before the optimizer step: 'afterStep' gives another target encoder", async function () {
    const recipe = jepa.hjepaRecipe(defaultConfig(), { stepsPerEpoch: STEPS_PER_EPOCH });
    const target = async (targetUpdate) => {
      const model = await jepa.loadModule(path.join(dir, 'hjepa224.pt'));
      const t = new jepa.Trainer({
        ...recipe.trainer,
        targetUpdate,
        model,
        masks: new masks.MaskSampler('hjepa', recipe.masks.options),
      });
      await t.step({ images: jepa.randn([2, 3, 224, 224], { seed: 100 }) });
      return model.namedParameters().get('target_encoder.vit.blocks.0.mlp.fc1.weight').data();
    };
    const before = await target('beforeStep');
    const afterStep = await target('afterStep');
    const diff = Math.max(...before.map((x, i) => Math.abs(x - afterStep[i])));
    expect(diff).to.be.greaterThan(1e-7);
    // with 'beforeStep' it is the Python reference's first step (params of run 0 are after 3 steps)
  });
});

describe('H-JEPA recipe and trainer options', function () {
  it('reads the config as jonwiggins/H-JEPA does and refuses what it cannot reproduce', function () {
    const r = jepa.hjepaRecipe(defaultConfig(), { stepsPerEpoch: 5 });
    expect(r.masks.kind).to.equal('hjepa');
    expect(r.masks.options).to.deep.equal({
      inputSize: 224,
      patchSize: 16,
      numHierarchies: 3,
      numTargetMasks: 4,
      baseScale: [0.15, 0.2],
      aspectRatio: [0.75, 1.5],
      batchSize: 2,
      positionSeed: 42,
    });
    expect(r.model).to.include({ imageSize: 224, embedDim: 16, numHierarchies: 3, emaWarmupSteps: 30000 });
    expect(r.trainer).to.include({
      weightDecay: 0.05,
      clipGrad: 3,
      lossType: 'mse',
      normalizeEmbeddings: false,
      targetUpdate: 'beforeStep',
    });
    expect(r.trainer.betas).to.deep.equal([0.9, 0.95]);
    expect(r.trainer.levelWeights).to.deep.equal([1, 0.5, 0.25]);
    // warmup_steps 2 // 5 = 0 epochs of EMA warm-up
    expect(r.trainer.momentum.warmupSteps).to.equal(0);
    const bad = (patch, re) => {
      const c = defaultConfig();
      patch(c);
      expect(thrown(() => jepa.hjepaRecipe(c, { stepsPerEpoch: 5 })).message).to.match(re);
    };
    bad((c) => {
      c.training.optimizer = 'sgd';
    }, /`config.training.optimizer: "sgd"` is not supported/);
    bad((c) => {
      delete c.loss.type;
    }, /`config.loss.type: "combined"` is not supported.*VICReg/);
    bad((c) => {
      c.training.accumulation_steps = 2;
    }, /accumulation_steps/);
    bad((c) => {
      c.model.fpn.use_fpn = true;
    }, /FPN/);
    bad((c) => {
      c.loss.hierarchy_weights = [1, 2];
    }, /one per level/);
    bad((c) => {
      delete c.training.epochs;
    }, /^expected `config.training.epochs` to be a finite number, got undefined$/);
    expect(thrown(() => jepa.hjepaRecipe(defaultConfig(), { stepsPerEpoch: 0 })).message).to.equal(
      'expected `options.stepsPerEpoch` to be a positive integer, got 0',
    );
    expect(thrown(() => jepa.hjepaRecipe(defaultConfig(), {})).message).to.match(
      /^expected `options.stepsPerEpoch` \(the H-JEPA loop runs len\(train_loader\)/,
    );
  });

  it("kind hjepa defaults to jonwiggins' settings; H-JEPA options are checked", async function () {
    const model = await jepa.loadModule(path.join(dir, 'hjepa224.pt'));
    const t = new jepa.Trainer({ kind: 'hjepa', model, lr: 1e-4 });
    expect(t.paramGroups()).to.have.length(1);
    expect(t.paramGroups()[0].weightDecay).to.equal(0.05);
    expect(thrown(() => new jepa.Trainer({ kind: 'hjepa', model, lr: 1, levelWeights: [1, 1] })).message).to.equal(
      'expected `options.levelWeights` to hold one weight per level (the model has 3), got 2: [1, 1]',
    );
    expect(thrown(() => new jepa.Trainer({ kind: 'hjepa', model, lr: 1, lossType: 'l1' })).message).to.equal(
      "expected `options.lossType` to be 'mse', 'smoothl1' or 'huber', got \"l1\"",
    );
    expect(thrown(() => new jepa.Trainer({ kind: 'hjepa', model, lr: 1, targetUpdate: 'never' })).message).to.equal(
      "expected `options.targetUpdate` to be 'beforeStep' or 'afterStep', got \"never\"",
    );
    // I-JEPA's multi-block sampler also serves: the union of its target blocks is the mask.
    const mb = new jepa.Trainer({
      kind: 'hjepa',
      model,
      lr: 1e-4,
      masks: new masks.MaskSampler('multiblock', {
        ...masks.presets.ijepaImageNet,
        inputSize: 224,
        patchSize: 16,
        batchSize: 2,
      }),
    });
    const st = await mb.step({ images: jepa.randn([2, 3, 224, 224], { seed: 3 }) });
    expect(st.parts).to.have.length(3);
    expect(Number.isFinite(st.loss)).to.equal(true);
    expect(st.loss).to.be.closeTo(st.parts[0] + 0.5 * st.parts[1] + 0.25 * st.parts[2], 1e-6);
    const vl = jepa.loadModuleSync(path.join(ROOT, 'test', 'fixtures', 'models', 'vl_predictor.pt'));
    expect(thrown(() => new jepa.Trainer({ kind: 'vl', model: vl, lr: 1, lossType: 'mse' })).message).to.equal(
      'option `options.lossType` does not apply to the vl trainer (only to hjepa)',
    );
    expect(
      thrown(
        () =>
          new jepa.Trainer({
            kind: 'hjepa',
            model,
            lr: 1,
            masks: new masks.MaskSampler('randomTube', { batchSize: 1 }),
          }),
      ).message,
    ).to.equal(
      'expected `options.masks` to be a hjepa or multiblock MaskSampler for the hjepa trainer, got a randomTube sampler',
    );
  });
});
