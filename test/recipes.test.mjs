// Recipes as data: Trainer.fromConfig on configs in the official YAML shapes against the Python
// rewrite of each official step (scripts/reference/recipe_reference.py, which reads the same YAML
// with PyYAML): 3 steps from the same weights, batches and masks, losses and every parameter
// within 1e-6, and the schedules' values equal. One Python process for the whole file (before()).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { after, before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { ROOT, runPython, thrown } from './helpers.mjs';
import {
  build,
  cleanupDirs,
  compare,
  fixture,
  ijepaFiles,
  nodeParams,
  randnSpec,
  scratch,
  valuesSpec,
} from './train-helpers.mjs';

const TOL = 1e-6;
const REFERENCE = path.join(ROOT, 'scripts', 'reference', 'recipe_reference.py');

// ---------------------------------------------------------------------------------------------
// Configs in the official shapes (small models, short runs; values chosen so that every rule
// shows within 3 steps: warm-up and cosine, clipping that starts after the warm-up epoch, ...).

const IJEPA = `# facebookresearch/ijepa configs/*.yaml shape
data:
  batch_size: 2
  color_jitter_strength: 0.0
  crop_scale: [0.3, 1.0]
  crop_size: 32
  image_folder: imagenet_full_size/061417/
  num_workers: 10
  pin_mem: true
  root_path: /datasets
  use_color_distortion: false
  use_gaussian_blur: false
  use_horizontal_flip: false
logging:
  folder: /logs/vit.32/
  write_tag: jepa
mask:
  allow_overlap: false
  aspect_ratio: [0.75, 1.5]
  enc_mask_scale: [0.85, 1.0]
  min_keep: 1
  num_enc_masks: 1
  num_pred_masks: 2
  patch_size: 8
  pred_mask_scale: [0.15, 0.3]
meta:
  copy_data: false
  load_checkpoint: false
  model_name: vit_tiny
  pred_depth: 2
  pred_emb_dim: 16
  read_checkpoint: null
  use_bfloat16: false
optimization:
  ema: [0.9, 1.0]
  epochs: 2
  final_lr: 1.0e-06
  final_weight_decay: 0.4
  ipe_scale: 1.25
  lr: 0.001
  start_lr: 0.0002
  warmup: 1
  weight_decay: 0.04
`;

const VJEPA_MASKS = `mask:
  - aspect_ratio: [0.75, 1.5]
    num_blocks: 2
    spatial_scale: [0.15, 0.15]
    temporal_scale: [1.0, 1.0]
    max_temporal_keep: 1.0
    max_keep: null
  - aspect_ratio: [0.75, 1.5]
    num_blocks: 1
    spatial_scale: [0.5, 0.5]
    temporal_scale: [1.0, 1.0]
    max_temporal_keep: 1.0
    max_keep: null
`;

const vjepaConfig = ({
  regCoeff = 0.0,
  clipGrad = '1.0e-06',
} = {}) => `# facebookresearch/jepa configs/pretrain/*.yaml shape
app: vjepa
data:
  dataset_type: VideoDataset
  datasets: [/data/k710.csv]
  decode_one_clip: true
  batch_size: 2
  num_clips: 1
  num_frames: 4
  tubelet_size: 2
  sampling_rate: 4
  crop_size: 32
  patch_size: 8
  pin_mem: true
  num_workers: 12
data_aug:
  auto_augment: false
  random_resize_aspect_ratio: [0.75, 1.35]
  random_resize_scale: [0.3, 1.0]
logging:
  folder: /logs/
  write_tag: jepa
loss:
  loss_exp: 1.0
  reg_coeff: ${regCoeff}
${VJEPA_MASKS}meta:
  load_checkpoint: false
  seed: 234
  use_sdpa: true
  dtype: bfloat16
model:
  model_name: vit_tiny
  pred_depth: 2
  pred_embed_dim: 16
  uniform_power: true
  use_mask_tokens: true
  zero_init_mask_tokens: false
optimization:
  ipe: 2
  ipe_scale: 1.25
  clip_grad: ${clipGrad}
  weight_decay: 0.04
  final_weight_decay: 0.4
  epochs: 2
  warmup: 0.5
  start_lr: 0.0002
  lr: 0.000625
  final_lr: 1.0e-06
  ema: [0.9, 1.0]
`;

const VJEPA2 = `# facebookresearch/vjepa2 configs/train/<model>/pretrain-*.yaml shape
app: vjepa
folder: /logs/pretrain
data:
  dataset_type: VideoDataset
  datasets: [/data/k710.csv, /data/ssv2.csv]
  datasets_weights: [0.5, 0.5]
  batch_size: 2
  crop_size: 32
  patch_size: 8
  dataset_fpcs: [4, 4]
  tubelet_size: 2
  fps: 4
data_aug:
  auto_augment: false
  random_resize_aspect_ratio: [0.75, 1.35]
  random_resize_scale: [0.3, 1.0]
loss:
  loss_exp: 1.0
${VJEPA_MASKS.replace(/max_keep: null/g, 'max_keep: null\n    full_complement: false')}meta:
  dtype: bfloat16
  seed: 239
  use_sdpa: true
model:
  model_name: vit_tiny
  pred_depth: 2
  pred_embed_dim: 16
  pred_num_heads: 2
  uniform_power: true
  use_mask_tokens: true
  use_rope: false
  zero_init_mask_tokens: false
optimization:
  ema: [0.9, 0.95]
  epochs: 2
  final_lr: 1.0e-06
  final_weight_decay: 0.04
  ipe: 2
  ipe_scale: 1.25
  lr: 0.000525
  start_lr: 0.0001
  warmup: 1
  weight_decay: 0.04
`;

// Seed 003's train.py options (weight_decay left at its default, 1e-4).
const MOTION = `feature_dir: ./features/VideoMAEv2
save_dir: ./checkpoints
input_dim: 24
model_dim: 32
latent_dim: 8
num_heads: 4
num_layers: 2
dropout: 0.1
epochs: 10
batch_size: 2
lr: 2.0e-4
use_token: true
`;

// Seed 004's loop settings.
const VL = `recipe: vl-jepa
csv: unique_caption.csv
image_dir: my_image_archive
batch_size: 3
epochs: 10
lr: 1.0e-4
`;

const vjepaFiles = (predictor) => ({
  context: fixture('vjepa/context_encoder.pt'),
  target: fixture('vjepa/target_encoder.pt'),
  predictor,
});
const predictorKwargs = (numMaskTokens) => ({
  img_size: 32,
  patch_size: 8,
  embed_dim: 32,
  predictor_embed_dim: 16,
  depth: 2,
  num_heads: 2,
  num_frames: 4,
  tubelet_size: 2,
  num_mask_tokens: numMaskTokens,
  zero_init_mask_tokens: false,
});

/** The runs: config, modules, steps per epoch, and 3 batches (masks from the recipe's own sampler). */
function makeRuns(dir) {
  const masksOf = (config, options) => {
    const r = jepa.readRecipe(config, options);
    const sampler = new jepa.masks.MaskSampler(r.masks.kind, r.masks.options);
    return [0, 1, 2].map(() => {
      const m = sampler.next();
      return { context: m.context.map(valuesSpec), targets: m.targets.map(valuesSpec) };
    });
  };
  const video = (config, seed) =>
    masksOf(config).map((m, i) => ({ batch: { images: randnSpec([2, 3, 4, 32, 32], seed + i), ...m } }));
  return [
    {
      name: 'ijepa',
      family: 'ijepa',
      config: IJEPA,
      files: ijepaFiles,
      stepsPerEpoch: 2,
      steps: masksOf(IJEPA, { stepsPerEpoch: 2 }).map((m, i) => ({
        batch: { images: randnSpec([2, 3, 32, 32], 100 + i), ...m },
      })),
      drawn: true, // Node's trainer draws the masks from its own sampler (same options, same sequence)
    },
    {
      // The trainer's normalizeTargets: false (targets without layer norm), from the same config.
      name: 'ijepa-raw',
      family: 'ijepa',
      config: IJEPA,
      files: ijepaFiles,
      stepsPerEpoch: 2,
      normalizeTargets: false,
      overrides: { normalizeTargets: false },
      steps: masksOf(IJEPA, { stepsPerEpoch: 2 }).map((m, i) => ({
        batch: { images: randnSpec([2, 3, 32, 32], 150 + i), ...m },
      })),
    },
    {
      name: 'vjepa',
      family: 'vjepa',
      config: vjepaConfig(),
      files: vjepaFiles(path.join(dir, 'vjepa_predictor.pt')),
      steps: video(vjepaConfig(), 200),
    },
    {
      name: 'vjepa-reg',
      family: 'vjepa',
      config: vjepaConfig({ regCoeff: 0.5, clipGrad: 'null' }),
      files: vjepaFiles(path.join(dir, 'vjepa_predictor.pt')),
      steps: video(vjepaConfig(), 300),
    },
    {
      name: 'vjepa2',
      family: 'vjepa2',
      config: VJEPA2,
      files: vjepaFiles(path.join(dir, 'vjepa2_predictor.pt')),
      steps: video(VJEPA2, 400),
    },
    {
      name: 'motion',
      family: 'motion',
      config: MOTION,
      files: { model: fixture('motion_ae.pt') },
      steps: [0, 1, 2].map((i) => ({ batch: { features: randnSpec([2, 5, 6, 24], 500 + i) }, seed: 7 + i })),
    },
    {
      name: 'vl',
      family: 'vl',
      config: VL,
      files: { model: fixture('vl_predictor.pt') },
      steps: [0, 1, 2].map((i) => ({
        batch: { imageEmbeddings: randnSpec([3, 512], 600 + i), textEmbeddings: randnSpec([3, 384], 700 + i) },
      })),
    },
  ];
}

function readResult(dir, name) {
  const result = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
  const bin = fs.readFileSync(path.join(dir, `${name}.bin`));
  const params = new Map();
  for (const [key, [offset, shape]] of Object.entries(result.tensors)) {
    const n = shape.reduce((a, b) => a * b, 1);
    params.set(key, new Float32Array(bin.buffer.slice(bin.byteOffset + offset, bin.byteOffset + offset + 4 * n)));
  }
  return { ...result, params };
}

after(cleanupDirs);

describe('Trainer.fromConfig: each recipe equals the Python rewrite of its official step (3 steps, 1e-6)', function () {
  this.timeout(600000);
  let dir;
  let runs;
  const results = {};

  before(() => {
    dir = scratch('recipes-');
    runs = makeRuns(dir);
    const spec = {
      threads: jepa.getNumThreads(),
      build: [
        { kind: 'vjepa_predictor', path: path.join(dir, 'vjepa_predictor.pt'), seed: 11, kwargs: predictorKwargs(2) },
        // V-JEPA 2: one mask token per mask config and per entry of dataset_fpcs (2 x 2).
        { kind: 'vjepa_predictor', path: path.join(dir, 'vjepa2_predictor.pt'), seed: 12, kwargs: predictorKwargs(4) },
      ],
      runs: runs.map(({ drawn: _drawn, overrides: _overrides, ...r }) => r),
    };
    fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec));
    const argv = [REFERENCE, path.join(dir, 'spec.json'), dir];
    runPython(
      `import runpy, sys; sys.argv = ${JSON.stringify(argv)}; runpy.run_path(sys.argv[0], run_name='__main__')`,
    );
    for (const r of runs) results[r.name] = readResult(dir, r.name);
  });

  async function parity(name, check = () => {}) {
    const run = runs.find((r) => r.name === name);
    const modules = {};
    for (const [key, file] of Object.entries(run.files)) modules[key] = await jepa.loadModule(file);
    const trainer = jepa.Trainer.fromConfig(run.config, {
      ...modules,
      stepsPerEpoch: run.stepsPerEpoch,
      overrides: run.overrides,
    });
    const py = results[name];
    const stats = [];
    for (const step of run.steps) {
      if (step.seed !== undefined) jepa.manualSeed(step.seed);
      const t = build(step.batch);
      const batch = t.features
        ? { features: t.features }
        : t.imageEmbeddings
          ? { imageEmbeddings: t.imageEmbeddings, textEmbeddings: t.textEmbeddings }
          : { images: t.images, ...(run.drawn ? {} : { masks: { context: t.context, targets: t.targets } }) };
      stats.push(await trainer.step(batch));
    }
    stats.forEach((s, i) => {
      expect(Math.abs(s.loss - py.losses[i]), `${name} loss of step ${i}: ${s.loss} vs ${py.losses[i]}`).to.be.at.most(
        TOL,
      );
      expect(s.lr, `${name} lr of step ${i}`).to.equal(py.lr[i]);
      expect(s.weightDecay, `${name} weight decay of step ${i}`).to.equal(py.wd[i]);
      expect(s.momentum, `${name} momentum of step ${i}`).to.equal(py.momentum[i]);
      expect(s.clipped, `${name} clipped at step ${i}`).to.equal(py.clipped[i]);
    });
    const node = nodeParams(trainer.modules);
    const worst = compare(node, py.params, { tol: TOL });
    // The target encoder's EMA is elementwise: with the same context encoder (equal thread counts
    // make every kernel identical) it equals Python's bit for bit, which tells the EMA formulas
    // apart (they differ by one ulp).
    for (const [key, a] of node) {
      if (key.startsWith('target.'))
        expect(Buffer.compare(Buffer.from(a.buffer), Buffer.from(py.params.get(key).buffer)), key).to.equal(0);
    }
    if (process.env.JEPA_DEBUG)
      console.log(
        name,
        'worst parameter difference',
        worst,
        stats.map((s, i) => s.loss - py.losses[i]),
      );
    check(trainer, stats);
    return trainer;
  }

  it('I-JEPA (facebookresearch/ijepa): warm-up + cosine lr, cosine weight decay, linear momentum, 4 groups, EMA loop; masks from the recipe sampler', async () => {
    await parity('ijepa', (trainer) => {
      expect(trainer.recipe.family).to.equal('ijepa');
      expect(trainer.sampler.kind).to.equal('multiblock');
      expect(trainer.paramGroups().map((g) => g.wdExclude)).to.deep.equal([false, false, true, true]);
    });
  });

  it('I-JEPA with normalizeTargets: false (no layer norm on the targets)', async () => {
    const raw = await parity('ijepa-raw');
    // ... and it is another step than the official one (same batches and masks): the losses differ
    // by more than the parity tolerance (little: the fixture encoder ends with a LayerNorm of unit
    // weight and zero bias, so its output is nearly normalised already).
    const m = Object.fromEntries(Object.entries(ijepaFiles).map(([k, f]) => [k, jepa.loadModuleSync(f)]));
    const normalised = jepa.Trainer.fromConfig(IJEPA, { ...m, stepsPerEpoch: 2 });
    const t = build(runs.find((r) => r.name === 'ijepa-raw').steps[0].batch);
    const loss = normalised.stepSync({ images: t.images, masks: { context: t.context, targets: t.targets } }).loss;
    expect(Math.abs(loss - results['ijepa-raw'].losses[0])).to.be.greaterThan(TOL);
    expect(raw.recipe.trainer.normalizeTargets).to.equal(true); // the recipe's; the override wins
  });

  it('V-JEPA (facebookresearch/jepa): per-config mask tokens by mask_index, clipping only after the warm-up epoch', async () => {
    await parity('vjepa', (trainer, stats) => {
      expect(stats.map((s) => s.clipped)).to.deep.equal([false, false, true]); // epoch 1 > warmup 0.5
      expect(stats[2].gradNorm).to.be.greaterThan(1e-6); // so the clipping changed the update
      // bfloat16 in the config: the official loop's torch.cuda.amp.autocast does nothing on the CPU
      expect(trainer.recipe.notes.join('\n')).to.match(/float32/);
    });
  });

  it("V-JEPA: the reg_coeff term (predictor variance) as app/vjepa/train.py's reg_fn", async () => {
    await parity('vjepa-reg');
  });

  it('V-JEPA 2 (facebookresearch/vjepa2): foreach EMA, mask_index of the clip-length group, no clipping', async () => {
    await parity('vjepa2', (trainer) => {
      expect(trainer.kind).to.equal('vjepa2');
      // mask_index 0 for every config: mask tokens 1-3 get no gradient (unchanged, as in Python: compared above)
    });
  });

  it('JEPA.predict passes maskIndex to a V-JEPA predictor (default: its own, 1); an I-JEPA predictor refuses one', async () => {
    const model = await jepa.JEPA.load({
      contextEncoder: fixture('vjepa/context_encoder.pt'),
      targetEncoder: fixture('vjepa/target_encoder.pt'),
      predictor: path.join(dir, 'vjepa_predictor.pt'),
    });
    const t = build(runs.find((r) => r.name === 'vjepa').steps[0].batch);
    const z = await model.encode(t.images, { masks: t.context[0], encoder: 'context' });
    const p = await Promise.all(
      [0, 1, 2, -1].map((maskIndex) => model.predict(z, t.context[0], t.targets[0], { maskIndex })),
    );
    const byDefault = await model.predict(z, t.context[0], t.targets[0]);
    const same = (a, b) => Buffer.compare(Buffer.from(a.data().buffer), Buffer.from(b.data().buffer)) === 0;
    expect(same(p[0], p[1])).to.equal(false); // two tokens (trunc-normal init): the index matters
    expect(same(p[1], byDefault) && same(p[0], p[2]) && same(p[1], p[3])).to.equal(true); // modulo 2, default 1
    const direct = await model.predictor.forward(z, [t.context[0]], [t.targets[0]], 0);
    expect(same(direct, p[0])).to.equal(true);
    const ijepa = await jepa.JEPA.load({
      contextEncoder: ijepaFiles.context,
      targetEncoder: ijepaFiles.target,
      predictor: ijepaFiles.predictor,
    });
    const err = await ijepa
      .predict(jepa.zeros([2, 3, 32]), jepa.zeros([2, 3], { dtype: 'int64' }), jepa.zeros([2, 1], { dtype: 'int64' }), {
        maskIndex: 0,
      })
      .catch((e) => e);
    expect(err.message).to.match(/^`options.maskIndex` needs a predictor whose forward takes `mask_index`/);
  });

  it("seed 003's motion autoencoder step (train.py defaults: weight decay 1e-4, loss weights 1, 1, 0.05)", async () => {
    await parity('motion', (trainer) => {
      expect(trainer.schedules.weightDecay).to.include({ kind: 'constant', start: 1e-4 });
    });
  });

  it("seed 004's VL-JEPA predictor step (AdamW lr 1e-4, its default weight decay 0.01)", async () => {
    await parity('vl', (trainer) => {
      expect(trainer.schedules.weightDecay).to.include({ kind: 'constant', start: 0.01 });
    });
  });
});

describe('readRecipe: official configs and their defaults', () => {
  it('reads the official configs of each family (files from the snapshots, restated)', () => {
    const r = jepa.readRecipe(IJEPA, { stepsPerEpoch: 5004 });
    expect(r.trainer.lr).to.deep.equal({
      kind: 'warmupCosine',
      start: 0.0002,
      peak: 0.001,
      end: 1e-6,
      warmupSteps: 5004,
      steps: 12510,
    });
    expect(r.trainer.momentum).to.deep.equal({ kind: 'linear', start: 0.9, end: 1, steps: 5004 * 2 * 1.25 });
    expect(r.trainer.emaFormula).to.equal('loop');
    const v = jepa.readRecipe(vjepaConfig());
    expect(v.stepsPerEpoch).to.equal(2); // optimization.ipe
    expect(v.trainer).to.include({
      clipGrad: 1e-6,
      clipGradFrom: 2,
      maskIndex: 'config',
      regCoeff: 0,
      emaFormula: 'loop',
    });
    const v2 = jepa.readRecipe(VJEPA2);
    expect(v2.family).to.equal('vjepa2');
    expect(v2.trainer).to.include({ clipGrad: null, maskIndex: 0, emaFormula: 'foreach' });
    expect(v2.model.numMaskTokens).to.equal(4);
    const anneal = jepa.readRecipe(
      VJEPA2.replace('  weight_decay: 0.04\n', '  weight_decay: 0.04\n  is_anneal: true\n'),
    );
    expect(anneal.trainer.lr).to.deep.equal({ kind: 'linearDecay', start: 0.000525, end: 1e-6, steps: 5 });
    expect(jepa.readRecipe(MOTION).trainer).to.include({ lr: 2e-4, weightDecay: 1e-4, smoothWeight: 0.05 });
  });

  it('PyYAML semantics: 1e-6 without a dot is a string (a clear error where the code needs a number)', () => {
    const err = thrown(() => jepa.readRecipe(IJEPA.replace('lr: 0.001', 'lr: 1e-3'), { stepsPerEpoch: 10 }));
    expect(err.code).to.equal('JEPA_INVALID_ARGUMENT');
    expect(err.message).to.match(/`config.optimization.lr` to be a number, got "1e-3" \(YAML 1.1/);
    // ... while float() keys take it, as the official code's float(...)
    expect(
      jepa.readRecipe(IJEPA.replace('weight_decay: 0.04', 'weight_decay: 4e-2'), { stepsPerEpoch: 10 }).trainer
        .weightDecay.start,
    ).to.equal(0.04);
  });

  it('errors name the key, the source that requires it, and unsupported settings', () => {
    const missing = thrown(() => jepa.readRecipe(IJEPA.replace('  lr: 0.001\n', ''), { stepsPerEpoch: 10 }));
    expect(missing.message).to.equal(
      "`config.optimization.lr` is required: facebookresearch/ijepa's src/train.py reads it without a default",
    );
    expect(thrown(() => jepa.readRecipe(IJEPA)).message).to.match(
      /^expected `options.stepsPerEpoch` \(the I-JEPA loop runs len\(unsupervised_loader\)/,
    );
    expect(thrown(() => jepa.readRecipe({ foo: 1 })).message).to.match(/^could not tell which training recipe/);
    expect(thrown(() => jepa.readRecipe(VJEPA2.replace('[4, 4]', '[4, 8]'))).message).to.match(
      /dataset_fpcs: \[4, 8\]` is not supported/,
    );
    expect(thrown(() => jepa.readRecipe('a: [1, 2')).message).to.match(/^the config is not valid YAML/);
    expect(thrown(() => jepa.readRecipe(IJEPA, { family: 'x-jepa' })).message).to.match(
      /^expected `options.family` to be one of 'ijepa', 'i-jepa'/,
    );
  });

  it('fromConfig checks the modules against the config: mask tokens, their mask_index, patches', () => {
    const m = Object.fromEntries(
      Object.entries(vjepaFiles(fixture('vjepa/predictor.pt'))).map(([k, f]) => [k, jepa.loadModuleSync(f)]),
    );
    const err = thrown(() => jepa.Trainer.fromConfig(vjepaConfig(), m));
    expect(err.code).to.equal('JEPA_PARAMETER_MISMATCH');
    expect(err.message).to.match(/^the predictor has 0 mask tokens \(mask_tokens.N\), the config's V-JEPA predictor 2/);
    const i = Object.fromEntries(Object.entries(ijepaFiles).map(([k, f]) => [k, jepa.loadModuleSync(f)]));
    const patches = thrown(() =>
      jepa.Trainer.fromConfig(IJEPA.replace('crop_size: 32', 'crop_size: 64'), { ...i, stepsPerEpoch: 2 }),
    );
    expect(patches.message).to.equal(
      "the predictor's position embedding has 16 patches, the config's model 64 (crop 64 / patch 8)",
    );
  });
});

describe('jepa-native train CONFIG.yaml', function () {
  this.timeout(120000);

  it('trains as Trainer.fromConfig does, writes the official checkpoint name and the CSV log; --dry-run prints the recipe', () => {
    const dir = scratch('cli-train-');
    fs.writeFileSync(path.join(dir, 'in1k.yaml'), IJEPA);
    // Two copies of one image: every shuffled batch of 2 is the same batch.
    const one = jepa.randn([1, 3, 32, 32], { seed: 5 }).data();
    const images = new Float32Array(2 * one.length);
    images.set(one, 0);
    images.set(one, one.length);
    jepa.saveSync(path.join(dir, 'images.pt'), { images: jepa.tensor(images, [2, 3, 32, 32]) });
    const run = (...args) =>
      spawnSync(
        process.execPath,
        [path.join(ROOT, 'bin', 'jepa-native.js'), 'train', path.join(dir, 'in1k.yaml'), ...args],
        { encoding: 'utf8' },
      );
    const r = run(
      '--model',
      path.dirname(ijepaFiles.context),
      '--data',
      path.join(dir, 'images.pt'),
      '--out',
      path.join(dir, 'out'),
      '--json',
    );
    expect(r.status, r.stderr).to.equal(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).to.include({ family: 'ijepa', steps: 2 }); // floor(2 / batch_size 2) = 1 step per epoch, 2 epochs
    expect(summary.checkpoints).to.deep.equal([path.join(dir, 'out', 'jepa-latest.pth.tar')]);
    expect(fs.readFileSync(summary.log, 'utf8').trim().split('\n')).to.have.length(3);
    const m = Object.fromEntries(Object.entries(ijepaFiles).map(([k, f]) => [k, jepa.loadModuleSync(f)]));
    const trainer = jepa.Trainer.fromConfig(IJEPA, { ...m, stepsPerEpoch: 1 });
    const batch = { images: jepa.tensor(images.slice(0, 2 * one.length), [2, 3, 32, 32]) };
    expect([trainer.stepSync(batch).loss, trainer.stepSync(batch).loss]).to.deep.equal(summary.losses);
    const resumed = jepa.Trainer.fromConfig(IJEPA, {
      ...Object.fromEntries(Object.entries(ijepaFiles).map(([k, f]) => [k, jepa.loadModuleSync(f)])),
      stepsPerEpoch: 1,
    });
    expect(resumed.loadSync(summary.checkpoints[0])).to.deep.equal({ step: 2, epoch: 2 });
    compare(nodeParams(resumed.modules), nodeParams(trainer.modules), { tol: 0 });
    const dry = run('--dry-run', '--data', path.join(dir, 'images.pt'));
    expect(dry.status, dry.stderr).to.equal(0);
    expect(JSON.parse(dry.stdout).recipe.trainer.lr).to.deep.equal(
      jepa.readRecipe(IJEPA, { stepsPerEpoch: 1 }).trainer.lr,
    );
    const bad = run('--data', path.join(dir, 'images.pt'));
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.match(/expected --model DIR/);
  });
});

describe('Trainer defaults per kind (TRAINER_DEFAULTS)', () => {
  it('each kind takes its official defaults; bare Trainers of motion and VL need no lr', () => {
    expect(jepa.TRAINER_DEFAULTS.ijepa).to.include({
      weightDecay: 0.04,
      momentum: 0.996,
      emaFormula: 'loop',
      clipGrad: null,
    });
    expect(jepa.TRAINER_DEFAULTS.vjepa2).to.include({ momentum: 0.99925, emaFormula: 'foreach', maskIndex: 0 });
    expect(jepa.TRAINER_DEFAULTS.motion).to.include({ lr: 2e-4, weightDecay: 1e-4, excludeBiasAndNorm: false });
    expect(jepa.TRAINER_DEFAULTS.vl).to.include({ lr: 1e-4, weightDecay: 0.01 });
    const t = new jepa.Trainer({ kind: 'motion', model: jepa.loadModuleSync(fixture('motion_ae.pt')) });
    expect(t.schedules.lr).to.include({ start: 2e-4 });
    expect(
      thrown(
        () => new jepa.Trainer({ kind: 'vl', model: jepa.loadModuleSync(fixture('vl_predictor.pt')), maskIndex: 1 }),
      ).message,
    ).to.equal('option `options.maskIndex` does not apply to the vl trainer (only to vjepa, vjepa2)');
  });
});
