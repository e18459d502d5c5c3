// Seed 002's notebook in Node: its mask samplers (masks.notebook2d / notebook3d) against its own
// functions (scripts/reference/notebook_masks.py, transcribed from the seed) for the same NumPy
// and torch seeds, and Module.clone() for its `target_encoder = copy.deepcopy(context_encoder)`.
// One Python run (before) for the sampler references and the tiny ViT; one more reads Node's clone.
import path from 'node:path';
import { expect } from 'chai';
import { after, before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { cleanup, ROOT, runPython, thrown, tmpDir } from './helpers.mjs';
import { fixture } from './train-helpers.mjs';

const { masks } = jepa;

// 2D: [ours, the notebook's arguments]; the grid is inputSize / patchSize.
const SETS_2D = [
  [
    {},
    { patch_dim: [14, 14], target_aspect_ratio: [0.75, 1.5], target_scale: [0.15, 0.2], context_scale: [0.85, 1.0] },
  ],
  [
    {
      inputSize: [96, 160],
      patchSize: 16,
      targetAspectRatio: [0.3, 3],
      targetScale: [0.05, 0.5],
      contextScale: [0.4, 1],
      numTargets: 6,
    },
    { patch_dim: [6, 10], target_aspect_ratio: [0.3, 3], target_scale: [0.05, 0.5], context_scale: [0.4, 1], M: 6 },
  ],
  [
    { inputSize: 32, patchSize: 8, contextAspectRatio: 2, numTargets: 1 },
    {
      patch_dim: [4, 4],
      target_aspect_ratio: [0.75, 1.5],
      target_scale: [0.15, 0.2],
      context_scale: [0.85, 1.0],
      context_aspect_ratio: 2,
      M: 1,
    },
  ],
  [
    // blocks that round to 0 rows or columns: empty targets, as the notebook draws them
    { inputSize: 64, patchSize: 16, targetScale: [0.01, 0.02], targetAspectRatio: [5, 8] },
    { patch_dim: [4, 4], target_aspect_ratio: [5, 8], target_scale: [0.01, 0.02], context_scale: [0.85, 1.0] },
  ],
];
// 3D: [ours, get_masks arguments]
const SETS_3D = [
  [{ maskType: 'short' }, { patch_dim: [8, 14, 14], scale: 0.15, mask_type: 'short' }],
  [{ maskType: 'long' }, { patch_dim: [8, 14, 14], scale: 0.7, mask_type: 'long' }],
  [
    { maskType: 'short', numFrames: 4, cropSize: [48, 80], patchSize: 16, aspectRatio: [0.3, 3] },
    { patch_dim: [2, 3, 5], scale: 0.15, mask_type: 'short', aspect_ratio_range: [0.3, 3] },
  ],
  [
    { maskType: 'long', numFrames: 2, tubeletSize: 1, cropSize: 112, patchSize: 16 },
    { patch_dim: [2, 7, 7], scale: 0.7, mask_type: 'long' },
  ],
];
const SEEDS = [
  [0, 0],
  [1, 2],
  [3, 5],
  [7, 7],
  [42, 0],
  [123, 456],
  [2 ** 31, 99],
  [2 ** 32 - 1, 2 ** 40],
  [17, 2 ** 53 - 1],
];
const BATCHES = 3;

// NumPy's legacy generator: 300 seeds x 40 draws of random_sample, uniform (any bounds, either
// order) and randint (ranges of 1 value to 2^40, 32- and 64-bit words), from a fixed LCG.
const NUMPY_JOBS = (() => {
  let r = 12345;
  const rnd = () => (r = (r * 1103515245 + 12345) % 2147483648) / 2147483648;
  const spans = [1, 2, 3, 7, 8, 13, 196, 1000, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 2 ** 40];
  return Array.from({ length: 300 }, (_, i) => ({
    kind: 'numpy',
    seed: i < 100 ? i : Math.floor(rnd() * 2 ** 32),
    ops: Array.from({ length: 40 }, () => {
      const t = Math.floor(rnd() * 3);
      if (t === 0) return ['random'];
      if (t === 1) return ['uniform', (rnd() - 0.5) * 10, (rnd() - 0.5) * 10];
      const low = Math.floor((rnd() - 0.5) * 100);
      return ['randint', low, low + spans[Math.floor(rnd() * spans.length)]];
    }),
  }));
})();

let ref;
let numpyRef;
let tiny;
before(function () {
  this.timeout(120000);
  const jobs = [
    ...SETS_2D.flatMap(([, args]) =>
      SEEDS.map(([seed, positionSeed]) => ({ kind: '2d', seed, position_seed: positionSeed, batches: BATCHES, args })),
    ),
    ...SETS_3D.flatMap(([, args]) =>
      SEEDS.map(([, positionSeed]) => ({ kind: '3d', position_seed: positionSeed, batches: BATCHES, args })),
    ),
    ...NUMPY_JOBS,
  ];
  const script = path.join(ROOT, 'scripts', 'reference', 'notebook_masks.py');
  // One Python run: the sampler references (one JSON line), then the tiny ViT's shape (the last line).
  const out = runPython(
    `import json, runpy, sys
sys.argv = [${JSON.stringify(script)}]
runpy.run_path(sys.argv[0], run_name='__main__')
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'scripts', 'models'))})
from ijepa import vit_tiny, vit_tiny_predictor
e = vit_tiny(img_size=224)
p = vit_tiny_predictor(img_size=224)
print(json.dumps([e.embed_dim, len(e.blocks), e.blocks[0].attn.num_heads, e.norm.eps, p.predictor_embed.in_features,
  p.predictor_embed.out_features, len(p.predictor_blocks), p.predictor_blocks[0].attn.num_heads]))`,
    { input: JSON.stringify(jobs) },
  )
    .trim()
    .split('\n');
  ref = JSON.parse(out[out.length - 2]);
  tiny = JSON.parse(out[out.length - 1]);
  numpyRef = ref.splice(ref.length - NUMPY_JOBS.length);
});

const list = (t) => Array.from(t.data(), Number);

describe("NumPy's legacy generator (np.random.seed, random_sample, uniform, randint), reproduced in C++", function () {
  it('draws exactly what NumPy draws: 300 seeds x 40 calls, ranges of 1 to 2^40', function () {
    let draws = 0;
    NUMPY_JOBS.forEach((job, i) => {
      const ours = masks._numpyCheck(job.seed, job.ops);
      ours.forEach((v, k) =>
        expect(v, `seed ${job.seed}, call ${k} ${JSON.stringify(job.ops[k])}`).to.equal(numpyRef[i][k]),
      );
      draws += ours.length;
    });
    expect(draws).to.equal(12000);
  });
});

describe("seed 002's notebook samplers equal its own functions for the same NumPy and torch seeds", function () {
  it('notebook2d (forward + get_target + get_context): 4 parameter sets x 9 seed pairs x 3 batches (MaskSampler)', function () {
    let i = 0;
    for (const [ours] of SETS_2D) {
      for (const [seed, positionSeed] of SEEDS) {
        const sampler = new masks.MaskSampler('notebook2d', { ...ours, seed, positionSeed });
        for (const want of ref[i]) {
          const got = sampler.next();
          expect(got.targets.map(list), `2D set ${i} targets`).to.deep.equal(want.targets);
          expect(got.context.map(list), `2D set ${i} context`).to.deep.equal(want.context);
        }
        i++;
      }
    }
  });

  it('notebook3d (get_masks): short and long range, 4 geometries x 9 seeds x 3 batches (MaskSampler)', function () {
    let i = SETS_2D.length * SEEDS.length;
    for (const [ours] of SETS_3D) {
      for (const [, positionSeed] of SEEDS) {
        const sampler = new masks.MaskSampler('notebook3d', { ...ours, positionSeed });
        for (const want of ref[i]) {
          const got = sampler.next();
          expect(got.targets.map(list), `3D set ${i} targets`).to.deep.equal(want.targets);
          expect(got.context.map(list), `3D set ${i} context`).to.deep.equal(want.context);
        }
        i++;
      }
    }
  });

  it('masks are shared by the batch: 1-D index tensors the trainers apply to every sample', function () {
    const m = masks.notebook2d({ seed: 3, positionSeed: 4 });
    expect(m.kind).to.equal('notebook2d');
    expect(m.grid).to.deep.equal({ duration: 1, height: 14, width: 14 });
    expect(m.targets).to.have.length(4);
    for (const t of [...m.targets, ...m.context]) {
      expect(t.ndim).to.equal(1);
      expect(t.dtype).to.equal('int64');
    }
    const [th, tw] = m.sizes[0];
    expect(m.targets[0].shape).to.deep.equal([th * tw]);
    // context = the context block minus every target patch
    const targets = new Set(m.targets.flatMap(list));
    expect(list(m.context[0]).some((p) => targets.has(p))).to.equal(false);
    const v = masks.notebook3d({ maskType: 'long', positionSeed: 1 });
    expect(v.grid).to.deep.equal({ duration: 8, height: 14, width: 14 });
    expect(v.targets[0].shape[0] + v.context[0].shape[0]).to.equal(8 * 196);
    expect(v.sizes).to.have.length(2);
  });

  it('async forms equal the sync forms; bad options are TypeErrors with exact messages', async function () {
    expect((await masks.notebook2dAsync({ seed: 5 })).targets.map(list)).to.deep.equal(
      masks.notebook2d({ seed: 5 }).targets.map(list),
    );
    expect((await masks.notebook3dAsync({ positionSeed: 5 })).context.map(list)).to.deep.equal(
      masks.notebook3d({ positionSeed: 5 }).context.map(list),
    );
    expect(thrown(() => masks.notebook2d({ seed: 2 ** 32 })).message).to.equal(
      "expected `options.seed` to be below 2^32 (np.random.seed's range), got 4294967296",
    );
    expect(thrown(() => masks.notebook2d({ contextAspectRatio: 0 })).message).to.equal(
      'expected `options.contextAspectRatio` to be a positive finite number, got 0',
    );
    expect(thrown(() => masks.notebook2d({ batchSize: 4 })).message).to.match(/unknown option `options.batchSize`/);
    expect(thrown(() => masks.notebook3d({ maskType: 'medium' })).message).to.equal(
      "expected `options.maskType` to be 'short' or 'long', got \"medium\"",
    );
  });

  it('an I-JEPA trainer takes a notebook2d sampler (masks shared by the batch)', async function () {
    const load = (f) => jepa.loadModuleSync(fixture(`ijepa/${f}.pt`));
    const trainer = new jepa.Trainer({
      kind: 'ijepa',
      context: load('context_encoder'),
      target: load('target_encoder'),
      predictor: load('predictor'),
      lr: 1e-3,
      masks: new masks.MaskSampler('notebook2d', { inputSize: 32, patchSize: 8, targetScale: [0.15, 0.3] }),
    });
    const s = await trainer.step({ images: jepa.randn([2, 3, 32, 32], { seed: 1 }) });
    expect(Number.isFinite(s.loss)).to.equal(true);
  });
});

describe('Module.clone(): target_encoder = copy.deepcopy(context_encoder)', function () {
  let dir;
  before(() => {
    dir = tmpDir('clone-');
  });
  after(() => cleanup(dir));

  it('copies every parameter and buffer into its own memory, in the same mode, dtype and device', async function () {
    const m = await jepa.loadModule(fixture('ijepa/context_encoder.pt'));
    m.train();
    const c = await m.clone();
    expect(c.training).to.equal(true);
    expect(c.device).to.equal(m.device);
    expect(c.dtype).to.equal(m.dtype);
    expect(c.methods()).to.deep.equal(m.methods());
    const a = m.namedParameters();
    const b = c.namedParameters();
    expect([...b.keys()]).to.deep.equal([...a.keys()]);
    for (const [name, t] of a) {
      expect(b.get(name).sharesStorage(t), name).to.equal(false);
      expect(list(b.get(name))).to.deep.equal(list(t));
    }
    for (const [name, t] of m.namedBuffers()) expect(c.namedBuffers().get(name).sharesStorage(t)).to.equal(false);
    const e = m.cloneSync();
    m.eval();
    expect(e.training).to.equal(true); // its own mode
    expect(m.cloneSync().training).to.equal(false);
  });

  it('is independent: training the original leaves the copy (and a copy moved or changed leaves the original)', async function () {
    const context = jepa.loadModuleSync(fixture('ijepa/context_encoder.pt'));
    const target = context.cloneSync();
    const predictor = jepa.loadModuleSync(fixture('ijepa/predictor.pt'));
    const before = list(target.namedParameters().get('blocks.0.mlp.fc1.weight'));
    const trainer = new jepa.Trainer({ kind: 'ijepa', context, target, predictor, lr: 1e-2, momentum: 1 });
    const m = masks.notebook2d({ inputSize: 32, patchSize: 8, targetScale: [0.15, 0.3] });
    await trainer.step({ images: jepa.randn([2, 3, 32, 32], { seed: 2 }), masks: m });
    // momentum 1 keeps the target; the context encoder moved
    expect(list(target.namedParameters().get('blocks.0.mlp.fc1.weight'))).to.deep.equal(before);
    expect(list(context.namedParameters().get('blocks.0.mlp.fc1.weight'))).to.not.deep.equal(before);
    const copy = context.cloneSync();
    copy.to('float64');
    expect(context.dtype).to.equal('float32');
    copy.loadStateDict({ 'norm.weight': jepa.zeros([32]) }, { strict: false });
    expect(list(copy.namedParameters().get('norm.weight')).every((x) => x === 0)).to.equal(true);
    expect(list(context.namedParameters().get('norm.weight')).every((x) => x !== 0)).to.equal(true);
  });

  it("a saved clone is Python's deepcopy: equal values, parameters requiring grad, pos_embed not", async function () {
    const m = jepa.loadModuleSync(fixture('ijepa/context_encoder.pt'));
    const file = path.join(dir, 'clone.pt');
    await (await m.clone()).save(file);
    const out = runPython(`
import copy, json, torch
a = torch.jit.load(${JSON.stringify(fixture('ijepa/context_encoder.pt'))})
b = torch.jit.load(${JSON.stringify(file)})
d = copy.deepcopy(a)
same = all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
grads = [p.requires_grad for p in b.parameters()] == [p.requires_grad for p in d.parameters()]
print(json.dumps([same, grads, dict(b.named_parameters())['pos_embed'].requires_grad]))`);
    expect(JSON.parse(out.trim().split('\n').pop())).to.deep.equal([true, true, false]);
    m.dispose();
    expect(thrown(() => m.cloneSync()).code).to.equal('JEPA_DISPOSED');
  });
});

// The preset writes nothing: it only has to exist in the Python the exporter runs (checked in before).
describe("seed 002's tiny ViT (vit_tiny, vit_predictor)", function () {
  it("scripts/models/ijepa.py builds the notebook's ViT-Tiny: 192 wide, 12 blocks, 3 heads, LayerNorm eps 1e-6", function () {
    expect(tiny).to.deep.equal([192, 12, 3, 1e-6, 192, 384, 6, 12]);
  });
});
