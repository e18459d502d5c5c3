// Fuzz harness of the mask option parser (lib/masks/options.ts) and, behind it, the native mask
// samplers (native/masks/masks.cc; their own libFuzzer harness is native/fuzz/masks_fuzz.cc): option
// objects with every key present or not, each holding a valid value (small grids and batches,
// any scale, aspect ratios up to 1e300, any seed) or a hostile one (NaN, Infinity, 2^64, -0,
// strings, bigints, arrays of the wrong length, nested objects, unknown keys), through the public
// masks.multiblock / multiblock3d / randomTube / binary / hjepa / notebook2d / notebook3d. Each call
// must either return masks whose indices all lie in the grid (binary and H-JEPA masks: only 0 and
// 1, of the grid's size) or throw an Error (TypeError,
// JepaError or a native Error) with an option or mask code and a message; anything else
// (another error, a crash, a hang) fails.
//
//   node test/fuzz/masks-options.fuzz.mjs [SECONDS=45]      (npm run test:fuzz runs it)
import fc from 'fast-check';
import jepa from 'jepa-native';
import { corpus, run, seconds } from './runner.mjs';

const { masks } = jepa;
const CODES = new Set([
  'JEPA_INVALID_ARGUMENT',
  'JEPA_MASK_UNSATISFIABLE',
  'JEPA_CUDA_UNAVAILABLE',
  'JEPA_UNKNOWN_DTYPE',
]);

const weird = fc.oneof(
  fc.constantFrom(
    null,
    NaN,
    Infinity,
    -Infinity,
    -1,
    0,
    -0,
    0.5,
    1e200,
    2 ** 53,
    2 ** 64,
    'x',
    '',
    '16',
    true,
    false,
    [],
    {},
    [1],
    [1, 2, 3],
    [NaN, 1],
    [0, 1],
    [1, 0],
    [0.5, Infinity],
    2n ** 64n,
    -1n,
    5n,
    { batchSize: 1 },
  ),
  // Numbers stay at most 64: a valid but huge count (batchSize: 2 ** 31) is a request for that
  // much work, not a parser bug, and would only make the run slow.
  fc.anything({
    maxDepth: 1,
    values: [
      fc.boolean(),
      fc.integer({ min: -1000, max: 64 }),
      fc.double({ min: -1e308, max: 64 }),
      fc.string({ maxLength: 3 }),
      fc.constant(null),
    ],
  }),
);
/** A key's value: mostly valid, sometimes hostile. */
const v = (valid) => fc.oneof({ weight: 20, arbitrary: valid }, { weight: 1, arbitrary: weird });
/** Undefined 9 times in 10, else a value of `arb`. */
const rarely = (arb) => fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, arb);
const int = (min, max) => fc.integer({ min, max });
const unit = fc.double({ min: 0, max: 1, noNaN: true });
const scale = fc.tuple(unit, unit).map(([a, b]) => (a <= b ? [a, b] : [b, a]));
const aspect = fc
  .tuple(fc.double({ min: 1e-300, max: 1e300, noNaN: true }), fc.double({ min: 1e-3, max: 10, noNaN: true }))
  .map(([a, b]) => (a <= b ? [a, b] : [b, a]));
const seed = fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
const size2d = fc.oneof(int(1, 96), fc.tuple(int(1, 96), int(1, 96)));
const common = {
  batchSize: v(int(1, 3)),
  positionSeed: v(seed),
  device: v(fc.oneof({ weight: 10, arbitrary: fc.constant('cpu') }, fc.constantFrom('cuda', 'cuda:0', 'meta', 'mps'))),
};
const video = {
  cropSize: v(size2d),
  numFrames: v(int(1, 16)),
  patchSize: v(int(1, 16)),
  tubeletSize: v(int(1, 4)),
};
const config = {
  spatialScale: v(scale),
  temporalScale: v(scale),
  aspectRatio: v(aspect),
  numBlocks: v(int(1, 4)),
  maxTemporalKeep: v(unit),
  maxKeep: v(fc.oneof(int(1, 64), fc.constant(null))),
};
const opt = (keys, requiredKeys = ['batchSize']) =>
  fc
    .tuple(fc.record(keys, { requiredKeys }), rarely(fc.constantFrom('bogus', 'inputsize', '__proto__')))
    .map(([o, extra]) => (extra ? { ...o, [extra]: 1 } : o));
const numpySeed = fc.oneof(fc.nat(), fc.constantFrom(2 ** 32 - 1, 2 ** 32, 2n ** 32n - 1n));

const multiblock = opt({
  inputSize: v(size2d),
  patchSize: v(int(1, 16)),
  encMaskScale: v(scale),
  predMaskScale: v(scale),
  aspectRatio: v(aspect),
  nenc: v(int(1, 4)),
  npred: v(int(1, 6)),
  minKeep: v(fc.oneof({ weight: 4, arbitrary: int(0, 4) }, int(0, 40))),
  allowOverlap: v(fc.boolean()),
  seed: v(seed),
  ...common,
});
const multiblock3d = opt({
  ...video,
  ...config,
  configs: v(fc.array(fc.record(config, { requiredKeys: [] }), { maxLength: 3 })),
  seed: v(seed),
  ...common,
});
const randomTube = opt({ ...video, ratio: v(unit), ...common });
const hjepa = opt({
  inputSize: v(size2d),
  patchSize: v(int(1, 16)),
  numHierarchies: v(int(1, 5)),
  numTargetMasks: v(int(1, 6)),
  scaleProgression: v(fc.constantFrom('geometric', 'linear')),
  baseScale: v(scale),
  aspectRatio: v(aspect),
  maxAttempts: v(int(0, 12)),
  ...common,
  positionSeed: v(numpySeed),
});
const notebook2d = opt(
  {
    inputSize: v(size2d),
    patchSize: v(int(1, 16)),
    targetAspectRatio: v(aspect),
    targetScale: v(scale),
    contextScale: v(scale),
    contextAspectRatio: v(fc.double({ min: 1e-300, max: 1e300, noNaN: true })),
    numTargets: v(int(1, 6)),
    seed: v(numpySeed),
    positionSeed: v(seed),
    device: common.device,
  },
  [],
);
const notebook3d = opt(
  {
    ...video,
    maskType: v(fc.constantFrom('short', 'long')),
    aspectRatio: v(aspect),
    positionSeed: v(seed),
    device: common.device,
  },
  [],
);
const call = fc.oneof(
  fc.record({ fn: fc.constant('multiblock'), options: multiblock }),
  fc.record({ fn: fc.constant('multiblock3d'), options: multiblock3d }),
  fc.record({ fn: fc.constant('randomTube'), options: randomTube }),
  fc.record({ fn: fc.constant('hjepa'), options: hjepa }),
  fc.record({ fn: fc.constant('notebook2d'), options: notebook2d }),
  fc.record({ fn: fc.constant('notebook3d'), options: notebook3d }),
  fc.record({
    fn: fc.constant('binary'),
    options: fc
      .tuple(
        fc.oneof(
          multiblock.map((o) => ({ ...o, sampler: 'multiblock' })),
          randomTube.map((o) => ({ ...o, sampler: 'randomTube' })),
        ),
        rarely(weird),
        v(fc.constantFrom('int64', 'float32', 'bool', 'uint8')),
      )
      .map(([o, sampler, dtype]) => ({ ...o, ...(sampler === undefined ? {} : { sampler }), dtype })),
  }),
);

function checkHJepa(m) {
  const n = m.grid.height * m.grid.width;
  for (const [l, level] of m.levels.entries()) {
    const [b, k, cells] = level.targets.shape;
    if (
      level.context.dtype !== 'bool' ||
      cells !== n ||
      level.context.shape[1] !== n ||
      level.context.shape[0] !== b ||
      k < 1
    )
      throw new Error(`hjepa: level ${l} has context [${level.context.shape}] and targets [${level.targets.shape}]`);
    const c = level.context.data();
    const t = level.targets.data();
    for (let i = 0; i < b; i++) {
      for (let x = 0; x < n; x++) {
        let any = 0;
        for (let j = 0; j < k; j++) any |= t[(i * k + j) * n + x];
        if (c[i * n + x] && any) throw new Error(`hjepa: level ${l} context overlaps a target`);
        if (l === 0 && m.mask.data()[i * n + x] !== any) throw new Error('hjepa: the mask is not the level-0 union');
      }
    }
    level.context.dispose();
    level.targets.dispose();
  }
  m.mask.dispose();
}

function checkMasks(m, fn) {
  if (fn === 'hjepa') return checkHJepa(m);
  const n = m.grid.duration * m.grid.height * m.grid.width;
  const ndim = fn.startsWith('notebook') ? 1 : 2;
  for (const t of [...m.context, ...m.targets]) {
    if (t.dtype !== 'int64' || t.ndim !== ndim)
      throw new Error(`${fn}: a mask of dtype ${t.dtype} and shape [${t.shape}]`);
    for (const x of t.data()) {
      if (x < 0n || x >= BigInt(n)) throw new Error(`${fn}: index ${x} outside the ${n}-patch grid`);
    }
    t.dispose();
  }
}

function check({ fn, options }) {
  let out;
  try {
    out = masks[fn](options);
  } catch (e) {
    if (!(e instanceof Error) || !CODES.has(e.code) || !(e.message.length > 10)) {
      throw new Error(`${fn}: not a clean option error: ${e?.constructor?.name} ${e?.code}: ${e?.message}`, {
        cause: e,
      });
    }
    return;
  }
  if (fn !== 'binary') return checkMasks(out, fn);
  const data = out.to('float32').data();
  for (const x of data) if (x !== 0 && x !== 1) throw new Error(`binary: value ${x}`);
  out.dispose();
}

// Corpus entries: JSON {fn, options} (bigints written as {"$bigint": "..."}).
const revive = (_k, x) => (x && typeof x === 'object' && typeof x.$bigint === 'string' ? BigInt(x.$bigint) : x);
const replace = (_k, x) => (typeof x === 'bigint' ? { $bigint: String(x) } : x);
run({
  name: 'masks-options',
  replay: corpus('masks-options').map((c) => ({ label: c.name, input: JSON.parse(c.bytes.toString('utf8'), revive) })),
  arbitrary: call,
  check,
  encode: (input) => JSON.stringify(input, replace, 1),
  secs: seconds(),
});
