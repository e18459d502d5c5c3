/**
 * JEPA masks (`jepa.masks`): I-JEPA multi-block, V-JEPA 3D multi-block, random tubes, H-JEPA's
 * hierarchical masks and binary masks, and the samplers of seed 002's notebook, drawn in C++ for
 * the whole batch and identical to the reference samplers for the same seeds. See docs/masks.md.
 *
 * ```js
 * const m = jepa.masks.multiblock({ ...jepa.masks.presets.ijepaImageNet, batchSize: 128, seed: 0, positionSeed: 0 });
 * m.context[0].shape; // [128, K]  (collated_masks_enc[0])
 * m.targets.length;   // 4         (collated_masks_pred)
 * ```
 * @module
 */
import { native } from '../core/binding';
import type { Dtype } from '../core/dtype';
import { ErrorCode, invalidArgument, JepaError, withCallerStack } from '../core/errors';
import type { NativeMaskResult } from '../core/native-types';
import {
  binaryDtype,
  checkSeed,
  hjepaOptions,
  multiblock3dOptions,
  multiblockOptions,
  notebook2dOptions,
  notebook3dOptions,
  randomTubeOptions,
  type BinaryOptions,
  type HJepaMaskOptions,
  type Multiblock3dOptions,
  type MultiblockOptions,
  type NativeHJepa,
  type Notebook2dOptions,
  type Notebook3dOptions,
  type RandomTubeOptions,
  type Seed,
} from './options';
import { checkTensor, nativeOf, Tensor, wrap } from '../tensor/tensor';
import { checkOptions, show } from '../core/validate';

export {
  presets,
  type BinaryOptions,
  type CommonOptions,
  type HJepaMaskOptions,
  type Notebook2dOptions,
  type Notebook3dOptions,
  type Multiblock3dConfig,
  type Multiblock3dOptions,
  type MultiblockOptions,
  type RandomTubeOptions,
  type Range,
  type Seed,
  type Size2d,
} from './options';
export { render, renderColors, type RenderOptions, type Rgb } from './render';

/** Which sampler made a {@link Masks}. */
export type MaskKind = 'multiblock' | 'multiblock3d' | 'randomTube' | 'notebook2d' | 'notebook3d';

/** The kinds of {@link MaskSampler}: those of {@link Masks}, and `'hjepa'` ({@link HJepaMasks}). */
export type SamplerKind = MaskKind | 'hjepa';

/** The patch grid masks index into: index = (t * height + i) * width + j. */
export interface MaskGrid {
  /** Time steps (numFrames / tubeletSize); 1 for images. */
  readonly duration: number;
  readonly height: number;
  readonly width: number;
}

/**
 * One batch of masks, as the reference collators return them.
 *
 * - `multiblock`: `context` = `collated_masks_enc` (nenc tensors [B, K]), `targets` =
 *   `collated_masks_pred` (npred tensors [B, K]).
 * - `multiblock3d`: one entry per config in both lists (the collator's `masks_enc` and
 *   `masks_pred` lists): `context[i]` [B, K] are the kept patches, `targets[i]` the masked ones.
 * - `randomTube`: one entry each.
 * - `notebook2d` / `notebook3d` (seed 002): the same masks for every sample, so each tensor is
 *   1-D `[K]`: `notebook2d` `targets` = `target_patches` (M blocks), `context` =
 *   `context_patches`; `notebook3d` one entry each (`target_patches`, `context_patches`).
 *
 * Every tensor is int64 and holds ascending patch indices per row.
 */
export interface Masks {
  readonly kind: MaskKind;
  readonly context: Tensor[];
  readonly targets: Tensor[];
  readonly grid: MaskGrid;
  /**
   * Block sizes drawn from `seed`: multiblock and notebook2d `[[targetH, targetW], [contextH,
   * contextW]]`; multiblock3d one `[t, h, w]` per config; notebook3d one `[top, left, h, w]` per
   * block; randomTube empty.
   */
  readonly sizes: number[][];
  /**
   * multiblock only: how many context masks of the batch were drawn after the sampler relaxed its
   * acceptable regions (20 failed draws in a row drop the last target's exclusion), so that they
   * may overlap a target even with `allowOverlap: false`, as in the reference.
   */
  readonly relaxed: number;
  /** The step counter the block sizes came from (null for randomTube and the notebook samplers). */
  readonly seed: number | bigint | null;
}

function seedOut(seed: bigint): number | bigint {
  return seed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seed) : seed;
}

function result(kind: MaskKind, raw: NativeMaskResult, grid: MaskGrid, seed: bigint | null): Masks {
  return {
    kind,
    context: raw.context.map(wrap),
    targets: raw.targets.map(wrap),
    grid: Object.freeze({ duration: grid.duration, height: grid.height, width: grid.width }),
    sizes: raw.sizes,
    relaxed: raw.relaxed,
    seed: seed === null ? null : seedOut(seed),
  };
}

function grid2d(o: { height: number; width: number }): MaskGrid {
  return { duration: 1, height: o.height, width: o.width };
}

// ---------------------------------------------------------------------------------------------
// Samplers

/**
 * I-JEPA multi-block masks for one batch: exactly `MaskCollator.__call__` of
 * facebookresearch/ijepa src/masks/multiblock.py with its step counter at `seed`, right after
 * `torch.manual_seed(positionSeed)`. Throws `JEPA_INVALID_ARGUMENT` on bad options and
 * `JEPA_MASK_UNSATISFIABLE` when the blocks drawn for this seed cannot keep more than `minKeep`
 * patches (where the reference loops forever).
 */
export function multiblock(options: MultiblockOptions): Masks {
  const o = multiblockOptions(options);
  return result('multiblock', native.masksMultiblock(o), grid2d(o), o.seed);
}

/** {@link multiblock} on a worker thread. */
export async function multiblockAsync(options: MultiblockOptions): Promise<Masks> {
  const o = multiblockOptions(options);
  const raw = await withCallerStack(native.masksMultiblockAsync(o));
  return result('multiblock', raw, grid2d(o), o.seed);
}

/**
 * V-JEPA 3D multi-block masks for one batch: the `MaskCollator` of facebookresearch/jepa
 * src/masks/multiblock3d.py with one `_MaskGenerator` per config (given as `configs`, or one
 * config's fields at the top level), every generator's step counter at `seed`, right after
 * `torch.manual_seed(positionSeed)`. Configs draw in order from the one position stream.
 */
export function multiblock3d(options: Multiblock3dOptions): Masks {
  const o = multiblock3dOptions(options);
  return result('multiblock3d', native.masksMultiblock3d(o), o, o.seed);
}

/** {@link multiblock3d} on a worker thread. */
export async function multiblock3dAsync(options: Multiblock3dOptions): Promise<Masks> {
  const o = multiblock3dOptions(options);
  const raw = await withCallerStack(native.masksMultiblock3dAsync(o));
  return result('multiblock3d', raw, o, o.seed);
}

/**
 * Random tube masks: the `_MaskGenerator` of facebookresearch/jepa src/masks/random_tube.py,
 * right after `np.random.seed(positionSeed)`: each sample masks a random `ratio` of a frame's
 * patches (numpy's shuffle, reproduced exactly), the same in every time step.
 */
export function randomTube(options: RandomTubeOptions): Masks {
  const o = randomTubeOptions(options);
  return result('randomTube', native.masksRandomTube(o), o, null);
}

/** {@link randomTube} on a worker thread. */
export async function randomTubeAsync(options: RandomTubeOptions): Promise<Masks> {
  const o = randomTubeOptions(options);
  const raw = await withCallerStack(native.masksRandomTubeAsync(o));
  return result('randomTube', raw, o, null);
}

function binaryCall(options: BinaryOptions | undefined): {
  run: (o: object) => NativeMaskResult;
  runAsync: (o: object) => Promise<NativeMaskResult>;
  o: object;
  dtype: Dtype;
} {
  const sampler = (options as { sampler?: unknown } | undefined)?.sampler ?? 'multiblock';
  const { sampler: _s, dtype, ...rest } = (options ?? {}) as Record<string, unknown>;
  void _s;
  const d = binaryDtype(dtype, 'options.dtype');
  if (sampler === 'multiblock') {
    return {
      run: native.masksMultiblock,
      runAsync: native.masksMultiblockAsync,
      o: { ...multiblockOptions(rest), binary: true },
      dtype: d,
    };
  }
  if (sampler === 'randomTube') {
    return {
      run: native.masksRandomTube,
      runAsync: native.masksRandomTubeAsync,
      o: { ...randomTubeOptions(rest), binary: true },
      dtype: d,
    };
  }
  throw invalidArgument(`expected \`options.sampler\` to be 'multiblock' or 'randomTube', got ${show(sampler)}`);
}

function binaryResult(raw: NativeMaskResult, dtype: Dtype): Tensor {
  for (const t of [...raw.context, ...raw.targets]) t.dispose();
  const mask = wrap(raw.binary[0]);
  if (dtype === 'uint8') return mask;
  const out = mask.to(dtype);
  mask.dispose();
  return out;
}

/**
 * H-JEPA binary masks: a `[B, N]` tensor with 1 where a patch is masked (to be predicted) and 0
 * where it is visible. With the default `sampler: 'multiblock'`, the union of the target blocks
 * the I-JEPA sampler draws for the same options and seeds (whole blocks, before the collator's
 * cut); with `sampler: 'randomTube'`, the random tube's masked patches. `dtype` defaults to int64.
 */
export function binary(options: BinaryOptions): Tensor {
  const c = binaryCall(options);
  return binaryResult(c.run(c.o), c.dtype);
}

/** {@link binary} on a worker thread. */
export async function binaryAsync(options: BinaryOptions): Promise<Tensor> {
  const c = binaryCall(options);
  return binaryResult(await withCallerStack(c.runAsync(c.o)), c.dtype);
}

// ---------------------------------------------------------------------------------------------
// H-JEPA hierarchical masks

/** One level of {@link HJepaMasks}. */
export interface HJepaLevelMasks {
  /** bool `[B, N]`: the context block minus the union of the targets (true = visible context). */
  readonly context: Tensor;
  /** bool `[B, M, N]`: each target block. */
  readonly targets: Tensor;
}

/** What {@link hjepa} returns: the generator's dict `{level_l: {context, targets}}`, as a list. */
export interface HJepaMasks {
  readonly kind: 'hjepa';
  /** One entry per hierarchy level (`level_0`, `level_1`, ...). */
  readonly levels: HJepaLevelMasks[];
  /**
   * bool `[B, N]`, true = masked: the union of the level-0 targets, the mask H-JEPA's trainer
   * gives its model (`masks['level_0']['targets'].any(dim=1)`).
   */
  readonly mask: Tensor;
  readonly grid: MaskGrid;
  /**
   * The blocks drawn: `blocks[level][sample]` lists `[top, left, height, width]` of the M target
   * blocks, then of the context block.
   */
  readonly blocks: number[][][][];
}

function hjepaResult(raw: NativeMaskResult, o: NativeHJepa): HJepaMasks {
  const levels = raw.context.map((c, l) => ({ context: wrap(c), targets: wrap(raw.targets[l]) }));
  const blocks: number[][][][] = [];
  for (let l = 0; l < o.numHierarchies; l++) {
    const perSample: number[][][] = [];
    for (let b = 0; b < o.batchSize; b++) {
      const flat = raw.sizes[l * o.batchSize + b];
      const list: number[][] = [];
      for (let i = 0; i < flat.length; i += 4) list.push(flat.slice(i, i + 4));
      perSample.push(list);
    }
    blocks.push(perSample);
  }
  return { kind: 'hjepa', levels, mask: wrap(raw.binary[0]), grid: Object.freeze(grid2d(o)), blocks };
}

/**
 * H-JEPA's hierarchical masks for one batch: exactly `HierarchicalMaskGenerator.__call__` of
 * jonwiggins/H-JEPA src/masks/hierarchical.py right after `np.random.seed(positionSeed)` (NumPy's
 * legacy generator, reproduced in C++: every `np.random.uniform` / `np.random.randint` it makes,
 * in its order). Level by level, sample by sample: 4 target blocks that avoid each other (10
 * draws, then a fixed-size fallback), one context block, context minus targets.
 */
export function hjepa(options: HJepaMaskOptions): HJepaMasks {
  const o = hjepaOptions(options);
  return hjepaResult(native.masksHjepa(o), o);
}

/** {@link hjepa} on a worker thread. */
export async function hjepaAsync(options: HJepaMaskOptions): Promise<HJepaMasks> {
  const o = hjepaOptions(options);
  return hjepaResult(await withCallerStack(native.masksHjepaAsync(o)), o);
}

// ---------------------------------------------------------------------------------------------
// Seed 002's notebook

/**
 * The I-JEPA masks of seed 002's notebook for one batch (shared by every sample): its `forward`
 * draws the target aspect ratio (width / height), the target scale and the context scale with
 * `np.random.uniform`, then `get_target` places M blocks and `get_context` one block (minus the
 * targets) with `torch.randint`, each corner in [0, H - h] inclusive. Right after
 * `np.random.seed(seed)` and `torch.manual_seed(positionSeed)`. `targets` are the M blocks'
 * patch indices `[h * w]`, `context` one `[K]` tensor.
 */
export function notebook2d(options?: Notebook2dOptions): Masks {
  const o = notebook2dOptions(options);
  return result('notebook2d', native.masksNotebook2d(o), grid2d(o), null);
}

/** {@link notebook2d} on a worker thread. */
export async function notebook2dAsync(options?: Notebook2dOptions): Promise<Masks> {
  const o = notebook2dOptions(options);
  return result('notebook2d', await withCallerStack(native.masksNotebook2dAsync(o)), grid2d(o), null);
}

/**
 * The V-JEPA masks of seed 002's notebook (`get_masks`) for one clip grid, shared by every
 * sample: 8 (`maskType: 'short'`, 15 % of a frame each) or 2 (`'long'`, 70 %) blocks, each with
 * its own aspect ratio (`torch.rand`) and corner (`torch.randint`), masked in every time step;
 * the context is the rest. Right after `torch.manual_seed(positionSeed)`.
 */
export function notebook3d(options?: Notebook3dOptions): Masks {
  const o = notebook3dOptions(options);
  return result('notebook3d', native.masksNotebook3d(o), o, null);
}

/** {@link notebook3d} on a worker thread. */
export async function notebook3dAsync(options?: Notebook3dOptions): Promise<Masks> {
  const o = notebook3dOptions(options);
  return result('notebook3d', await withCallerStack(native.masksNotebook3dAsync(o)), o, null);
}

// ---------------------------------------------------------------------------------------------
// Conversions

/**
 * Index masks `[B, K]` → a binary mask `[B, numPatches]` with 1 at the given indices (the union
 * when several are given, e.g. all of `masks.targets`). On the device of the first index tensor.
 * Throws `JEPA_INVALID_ARGUMENT` on an index outside [0, numPatches).
 */
export function toBinary(
  indices: Tensor | readonly Tensor[],
  numPatches: number | MaskGrid,
  options?: { dtype?: Dtype },
): Tensor {
  const list = Array.isArray(indices) ? indices : [indices];
  if (list.length === 0) throw invalidArgument('expected `indices` to hold at least one Tensor, got []');
  const handles = list.map((t, i) => nativeOf(t, Array.isArray(indices) ? `indices[${i}]` : 'indices'));
  const n =
    typeof numPatches === 'object' && numPatches !== null
      ? numPatches.duration * numPatches.height * numPatches.width
      : numPatches;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw invalidArgument(
      `expected \`numPatches\` to be a non-negative integer or a mask grid, got ${show(numPatches)}`,
    );
  }
  const o = checkOptions(options, 'options', ['dtype']);
  return wrap(native.masksToBinary(handles, n, binaryDtype(o.dtype, 'options.dtype')));
}

/**
 * A binary mask `[B, N]` → int64 indices `[B, K]` of its nonzero entries (`value: 1`, the
 * default) or of its zero entries (`value: 0`), ascending. Rows with different counts are cut to
 * the shortest, as the reference collators cut their masks.
 */
export function toIndices(mask: Tensor, options?: { value?: 0 | 1 }): Tensor {
  const h = nativeOf(mask, 'mask');
  const o = checkOptions(options, 'options', ['value']);
  const value = o.value ?? 1;
  if (value !== 0 && value !== 1) throw invalidArgument(`expected \`options.value\` to be 0 or 1, got ${show(value)}`);
  return wrap(native.masksToIndices(h, value === 1));
}

// ---------------------------------------------------------------------------------------------
// Stateful sampler

/** The options of each kind of {@link MaskSampler}. */
export type SamplerOptions = {
  multiblock: MultiblockOptions;
  multiblock3d: Multiblock3dOptions;
  randomTube: RandomTubeOptions;
  hjepa: HJepaMaskOptions;
  notebook2d: Notebook2dOptions;
  notebook3d: Notebook3dOptions;
};

/** What each kind of {@link MaskSampler} draws. */
export type SamplerResult = {
  multiblock: Masks;
  multiblock3d: Masks;
  randomTube: Masks;
  hjepa: HJepaMasks;
  notebook2d: Masks;
  notebook3d: Masks;
};

type NativeSampler = (o: object, s: Uint32Array | null) => NativeMaskResult;
type NativeSamplerAsync = (o: object, s: Uint32Array | null) => Promise<NativeMaskResult>;

// Per kind: the option parser, the native calls, the result. `stepped`: a step counter (`seed`)
// sets the block sizes of each batch; the other kinds draw everything from their streams.
// `numpyPositions`: the position stream is NumPy's, seeded below 2^32.
const KINDS: Record<
  SamplerKind,
  {
    parse: (o: unknown) => Record<string, unknown>;
    sync: () => NativeSampler;
    async: () => NativeSamplerAsync;
    stepped: boolean;
    numpyPositions: boolean;
    finish: (raw: NativeMaskResult, o: Record<string, unknown>, seed: bigint) => Masks | HJepaMasks;
  }
> = {
  multiblock: {
    parse: (o) => ({ ...multiblockOptions(o) }),
    sync: () => native.masksMultiblock,
    async: () => native.masksMultiblockAsync,
    stepped: true,
    numpyPositions: false,
    finish: (raw, o, seed) => result('multiblock', raw, grid2d(o as { height: number; width: number }), seed),
  },
  multiblock3d: {
    parse: (o) => ({ ...multiblock3dOptions(o) }),
    sync: () => native.masksMultiblock3d,
    async: () => native.masksMultiblock3dAsync,
    stepped: true,
    numpyPositions: false,
    finish: (raw, o, seed) => result('multiblock3d', raw, o as unknown as MaskGrid, seed),
  },
  randomTube: {
    parse: (o) => ({ ...randomTubeOptions(o) }),
    sync: () => native.masksRandomTube,
    async: () => native.masksRandomTubeAsync,
    stepped: false,
    numpyPositions: true,
    finish: (raw, o) => result('randomTube', raw, o as unknown as MaskGrid, null),
  },
  hjepa: {
    parse: (o) => ({ ...hjepaOptions(o) }),
    sync: () => native.masksHjepa,
    async: () => native.masksHjepaAsync,
    stepped: false,
    numpyPositions: true,
    finish: (raw, o) => hjepaResult(raw, o as unknown as NativeHJepa),
  },
  notebook2d: {
    parse: (o) => ({ ...notebook2dOptions(o) }),
    sync: () => native.masksNotebook2d,
    async: () => native.masksNotebook2dAsync,
    stepped: false,
    numpyPositions: false,
    finish: (raw, o) => result('notebook2d', raw, grid2d(o as { height: number; width: number }), null),
  },
  notebook3d: {
    parse: (o) => ({ ...notebook3dOptions(o) }),
    sync: () => native.masksNotebook3d,
    async: () => native.masksNotebook3dAsync,
    stepped: false,
    numpyPositions: false,
    finish: (raw, o) => result('notebook3d', raw, o as unknown as MaskGrid, null),
  },
};

/**
 * A sampler that keeps its random streams between batches, as a reference collator or generator
 * does over an epoch. For `multiblock` and `multiblock3d`, batch i uses step counter `seed + i`
 * for the block sizes, and the position stream continues where the previous batch left it (the
 * reference's global generator, seeded once with `positionSeed`); every other kind draws
 * everything from its streams, which continue from batch to batch (`hjepa` and `randomTube`:
 * NumPy's, seeded with `np.random.seed(positionSeed)`; `notebook2d`: NumPy's from `seed` and
 * torch's from `positionSeed`; `notebook3d`: torch's). So the k-th `next()` equals the
 * reference's k-th call after the same seeding.
 *
 * ```js
 * const sampler = new jepa.masks.MaskSampler('multiblock', { ...jepa.masks.presets.ijepaImageNet, batchSize: 256, positionSeed: 0 });
 * const a = sampler.next();            // step 0
 * const b = await sampler.nextAsync(); // step 1, on a worker thread
 * ```
 */
export class MaskSampler<K extends SamplerKind = SamplerKind> {
  readonly kind: K;
  #options: Record<string, unknown>;
  #given: SamplerOptions[K];
  #seed: bigint;
  #state: Uint32Array | null = null;
  #pending = 0;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(kind: K, options: SamplerOptions[K]) {
    if (!Object.prototype.hasOwnProperty.call(KINDS, kind as string)) {
      throw invalidArgument(
        `expected \`kind\` to be one of ${Object.keys(KINDS)
          .map((k) => `'${k}'`)
          .join(', ')}, got ${show(kind)}`,
      );
    }
    this.#options = KINDS[kind].parse(options);
    this.kind = kind;
    this.#given = options;
    this.#seed = KINDS[kind].stepped ? ((this.#options.seed as bigint | undefined) ?? 0n) : 0n;
  }

  /** The seed of the block positions' generator (`positionSeed`). */
  get positionSeed(): bigint {
    return this.#options.positionSeed as bigint;
  }

  /**
   * A new sampler with the same options and step counter whose block positions come from a
   * fresh generator seeded with `positionSeed` (taken modulo 2^32 where that generator is
   * NumPy's). A data-parallel `jepa.Trainer` uses it to give each rank its own masks
   * (`jepa.distributed.deriveSeed(positionSeed, rank)`).
   */
  withPositionSeed(positionSeed: Seed): MaskSampler<K> {
    const k = KINDS[this.kind];
    const step = k.stepped ? { seed: this.#seed } : {};
    let p = positionSeed;
    if (k.numpyPositions) p = checkSeed(positionSeed, 'positionSeed') % (1n << 32n);
    return new MaskSampler(this.kind, { ...this.#given, ...step, positionSeed: p } as SamplerOptions[K]);
  }

  /** The step counter the next batch will use (other kinds than multiblock / multiblock3d: counts batches). */
  get step(): number | bigint {
    return seedOut(this.#seed);
  }

  #call(seed: bigint): object {
    return KINDS[this.kind].stepped ? { ...this.#options, seed } : this.#options;
  }

  #finish(raw: NativeMaskResult, seed: bigint): SamplerResult[K] {
    this.#state = raw.state;
    return KINDS[this.kind].finish(raw, this.#options, seed) as SamplerResult[K];
  }

  /**
   * Where the sampler is, for a checkpoint: the step counter of the next batch and a copy of the
   * position generator's state (null before the first batch). {@link setState} restores it, so
   * that a resumed training run draws the masks an uninterrupted one would.
   */
  getState(): { step: bigint; generator: Uint32Array | null } {
    return { step: this.#seed, generator: this.#state ? this.#state.slice() : null };
  }

  /** Restores a state from {@link getState} (throws while a {@link nextAsync} is pending). */
  setState(state: { step: number | bigint; generator: Uint32Array | null }): void {
    if (this.#pending > 0)
      throw invalidArgument('MaskSampler.setState() called while a nextAsync() batch is pending: await it first');
    const o = checkOptions(state, 'state', ['step', 'generator']);
    const step = checkSeed(o.step, 'state.step');
    if (o.generator !== null && !(o.generator instanceof Uint32Array)) {
      throw invalidArgument(`expected \`state.generator\` to be a Uint32Array or null, got ${show(o.generator)}`);
    }
    this.#seed = step;
    this.#state = o.generator === null ? null : (o.generator as Uint32Array).slice();
  }

  /** The next batch, drawn on this thread. Throws if a {@link nextAsync} is still pending. */
  next(): SamplerResult[K] {
    if (this.#pending > 0) {
      throw invalidArgument('MaskSampler.next() called while a nextAsync() batch is pending: await it first');
    }
    const seed = this.#seed;
    const raw = KINDS[this.kind].sync()(this.#call(seed), this.#state);
    this.#seed = seed + 1n;
    return this.#finish(raw, seed);
  }

  /** The next batch, drawn on a worker thread. Calls queue up and resolve in order. */
  nextAsync(): Promise<SamplerResult[K]> {
    const seed = this.#seed;
    this.#seed = seed + 1n;
    this.#pending += 1;
    const run = this.#tail.then(async () => {
      try {
        const raw = await KINDS[this.kind].async()(this.#call(seed), this.#state);
        return this.#finish(raw, seed);
      } finally {
        this.#pending -= 1;
      }
    });
    this.#tail = run.catch(() => undefined);
    return withCallerStack(run);
  }
}

/**
 * Checks this build's fast random stream against libtorch's own `at::rand` / `at::randint` on a
 * CPU generator: for each range r, one draw of each (r = 0: rand, else randint(0, r)).
 * @internal
 */
export function _rngCheck(seed: number, ranges: number[]): { ours: number[]; torch: number[] } {
  checkSeed(seed, 'seed');
  return native.masksRngCheck(seed, ranges);
}

/**
 * Draws with this build's NumPy legacy generator after `np.random.seed(seed)`: each op is
 * `['random']`, `['uniform', low, high]` or `['randint', low, high]`; returns the values, to be
 * compared with NumPy's own.
 * @internal
 */
export function _numpyCheck(seed: number, ops: ([string] | [string, number, number])[]): number[] {
  checkSeed(seed, 'seed');
  const codes: Record<string, number> = { random: 0, uniform: 1, randint: 2 };
  const flat: number[] = [];
  for (const op of ops) flat.push(codes[op[0]] ?? 0, op[1] ?? 0, op[2] ?? 0);
  return native.masksNumpyCheck(seed, flat);
}

// ---------------------------------------------------------------------------------------------
// Masks that callers bring

function maskList(masks: unknown, name: string): Tensor[] {
  if (masks instanceof Tensor) return [masks];
  if (!Array.isArray(masks) || masks.length === 0) {
    throw invalidArgument(`expected \`${name}\` to be a Tensor or a non-empty array of Tensors, got ${show(masks)}`);
  }
  return masks.map((m, i) => checkTensor(m, `${name}[${i}]`));
}

/**
 * Keep-index masks (a Tensor or a non-empty array of them): int64, [B, K] (or [K] shared by the
 * batch), every mask keeping as many patches (unless `sameLength` is false: V-JEPA's mask configs
 * each keep their own number); where given, B = `batch`, indices in [0, numPatches) and tensors
 * on `device`. The one check of masks that callers bring (the JEPA classes, the trainer's
 * batches). @internal
 */
export function checkIndexMasks(
  masks: unknown,
  name: string,
  {
    batch = null,
    numPatches,
    device,
    sameLength = true,
  }: { batch?: number | null; numPatches?: number; device?: string; sameLength?: boolean } = {},
): Tensor[] {
  const list = maskList(masks, name);
  list.forEach((m, i) => {
    const where = `${name}[${i}]`;
    if (m.dtype !== 'int64') {
      throw invalidArgument(`expected \`${where}\` to hold int64 patch indices, got dtype ${m.dtype}`);
    }
    if (m.ndim !== 1 && m.ndim !== 2) {
      throw new JepaError(
        ErrorCode.SHAPE_MISMATCH,
        `expected \`${where}\` to have shape [B, K] or [K] (patch indices to keep), got ${show(m.shape)}`,
      );
    }
    if (m.ndim === 2 && batch !== null && m.shape[0] !== batch) {
      throw new JepaError(
        ErrorCode.SHAPE_MISMATCH,
        `expected \`${where}\` to have ${batch} rows (one per sample), got shape ${show(m.shape)}`,
      );
    }
    if (sameLength && i > 0 && m.shape[m.ndim - 1] !== list[0].shape[list[0].ndim - 1]) {
      throw new JepaError(
        ErrorCode.SHAPE_MISMATCH,
        `expected every mask of \`${name}\` to keep the same number of patches, got ${show(list.map((x) => x.shape))}`,
      );
    }
    if (numPatches !== undefined && m.device === 'cpu') {
      const data = m.contiguous().data<'int64'>();
      for (let j = 0; j < data.length; j++) {
        if (data[j] < 0n || data[j] >= BigInt(numPatches)) {
          throw invalidArgument(`expected \`${where}\` to hold patch indices in [0, ${numPatches}), got ${data[j]}`);
        }
      }
    }
    if (device !== undefined && m.device !== device) {
      throw new JepaError(
        ErrorCode.DEVICE_MISMATCH,
        `expected \`${where}\` to be on ${device} (the model's device), got ${m.device}`,
      );
    }
  });
  return list;
}
