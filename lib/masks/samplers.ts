/**
 * JEPA masks (`jepa.masks`): I-JEPA multi-block, V-JEPA 3D multi-block, random tubes and H-JEPA
 * binary masks, drawn in C++ for the whole batch and identical to the reference samplers for the
 * same seeds. See docs/masks.md.
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
import { invalidArgument, withCallerStack } from '../core/errors';
import type { NativeMaskResult } from '../core/native-types';
import {
  binaryDtype,
  checkSeed,
  multiblock3dOptions,
  multiblockOptions,
  randomTubeOptions,
  type BinaryOptions,
  type Multiblock3dOptions,
  type MultiblockOptions,
  type NativeCommon,
  type RandomTubeOptions,
  type Seed,
} from './options';
import { nativeOf, wrap, type Tensor } from '../tensor/tensor';
import { checkOptions, show } from '../core/validate';

export {
  presets,
  type BinaryOptions,
  type CommonOptions,
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
export type MaskKind = 'multiblock' | 'multiblock3d' | 'randomTube';

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
 *
 * Every tensor is int64 and holds ascending patch indices per row.
 */
export interface Masks {
  readonly kind: MaskKind;
  readonly context: Tensor[];
  readonly targets: Tensor[];
  readonly grid: MaskGrid;
  /**
   * Block sizes drawn from `seed`: multiblock `[[targetH, targetW], [contextH, contextW]]`;
   * multiblock3d one `[t, h, w]` per config; randomTube empty.
   */
  readonly sizes: number[][];
  /**
   * multiblock only: how many context masks of the batch were drawn after the sampler relaxed its
   * acceptable regions (20 failed draws in a row drop the last target's exclusion), so that they
   * may overlap a target even with `allowOverlap: false`, as in the reference.
   */
  readonly relaxed: number;
  /** The step counter the block sizes came from (null for randomTube). */
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
};

/**
 * A sampler that keeps both streams between batches, as a reference collator does over an
 * epoch: batch i uses step counter `seed + i` for the block sizes, and the position stream
 * continues where the previous batch left it (the reference's global generator, seeded once with
 * `positionSeed`). So the k-th `next()` equals the reference collator's k-th call after
 * `torch.manual_seed(positionSeed)` (random tube: `np.random.seed(positionSeed)`).
 *
 * ```js
 * const sampler = new jepa.masks.MaskSampler('multiblock', { ...jepa.masks.presets.ijepaImageNet, batchSize: 256, positionSeed: 0 });
 * const a = sampler.next();            // step 0
 * const b = await sampler.nextAsync(); // step 1, on a worker thread
 * ```
 */
export class MaskSampler<K extends MaskKind = MaskKind> {
  readonly kind: K;
  #options: NativeCommon & { seed?: bigint };
  #given: SamplerOptions[K];
  #seed: bigint;
  #state: Uint32Array | null = null;
  #pending = 0;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(kind: K, options: SamplerOptions[K]) {
    if (kind === 'multiblock') this.#options = multiblockOptions(options);
    else if (kind === 'multiblock3d') this.#options = multiblock3dOptions(options);
    else if (kind === 'randomTube') this.#options = randomTubeOptions(options);
    else
      throw invalidArgument(`expected \`kind\` to be 'multiblock', 'multiblock3d' or 'randomTube', got ${show(kind)}`);
    this.kind = kind;
    this.#given = options;
    this.#seed = this.#options.seed ?? 0n;
  }

  /** The seed of the block positions' generator (`positionSeed`). */
  get positionSeed(): bigint {
    return (this.#options as { positionSeed: bigint }).positionSeed;
  }

  /**
   * A new sampler with the same options and step counter whose block positions come from a
   * fresh generator seeded with `positionSeed`. A data-parallel `jepa.Trainer` uses it to give
   * each rank its own masks (`jepa.distributed.deriveSeed(positionSeed, rank)`).
   */
  withPositionSeed(positionSeed: Seed): MaskSampler<K> {
    const step = this.kind === 'randomTube' ? {} : { seed: this.#seed };
    return new MaskSampler(this.kind, { ...this.#given, ...step, positionSeed } as SamplerOptions[K]);
  }

  /** The step counter the next batch will use (randomTube: counts batches). */
  get step(): number | bigint {
    return seedOut(this.#seed);
  }

  #native(): {
    sync: (o: object, s: Uint32Array | null) => NativeMaskResult;
    async: (o: object, s: Uint32Array | null) => Promise<NativeMaskResult>;
  } {
    if (this.kind === 'multiblock') return { sync: native.masksMultiblock, async: native.masksMultiblockAsync };
    if (this.kind === 'multiblock3d') return { sync: native.masksMultiblock3d, async: native.masksMultiblock3dAsync };
    return { sync: native.masksRandomTube, async: native.masksRandomTubeAsync };
  }

  #finish(raw: NativeMaskResult, seed: bigint): Masks {
    this.#state = raw.state;
    const o = this.#options as NativeCommon & { height: number; width: number; duration?: number };
    const grid = { duration: o.duration ?? 1, height: o.height, width: o.width };
    return result(this.kind, raw, grid, this.kind === 'randomTube' ? null : seed);
  }

  /** The next batch, drawn on this thread. Throws if a {@link nextAsync} is still pending. */
  next(): Masks {
    if (this.#pending > 0) {
      throw invalidArgument('MaskSampler.next() called while a nextAsync() batch is pending: await it first');
    }
    const seed = this.#seed;
    const raw = this.#native().sync({ ...this.#options, seed }, this.#state);
    this.#seed = seed + 1n;
    return this.#finish(raw, seed);
  }

  /** The next batch, drawn on a worker thread. Calls queue up and resolve in order. */
  nextAsync(): Promise<Masks> {
    const seed = this.#seed;
    this.#seed = seed + 1n;
    this.#pending += 1;
    const run = this.#tail.then(async () => {
      try {
        const raw = await this.#native().async({ ...this.#options, seed }, this.#state);
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
