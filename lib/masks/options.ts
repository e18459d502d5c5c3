/**
 * Options of the mask samplers: defaults (those of the official files), presets, and validation
 * with exact messages. Turns the public camelCase options into the plain objects the native
 * samplers take.
 * (Internal to the package.)
 * @module
 */
import type { Device, Dtype } from '../core/dtype';
import { ErrorCode, invalidArgument } from '../core/errors';
import { checkDevice, checkDtype, checkOptions, isPlainObject, show } from '../core/validate';

/** A `[min, max]` range. */
export type Range = readonly [number, number];

/** A size in pixels: one number for a square, or `[height, width]`. */
export type Size2d = number | readonly [number, number];

/** A seed: a non-negative integer (number or bigint below 2^64). */
export type Seed = number | bigint;

/** Options common to every sampler. */
export interface CommonOptions {
  /** Number of samples in the batch (the `len(batch)` the collators see). Required. */
  batchSize: number;
  /**
   * Seed of the position stream: the masks equal the reference's right after
   * `torch.manual_seed(positionSeed)` (for the random tube, `np.random.seed(positionSeed)`, below
   * 2^32). Default 0, the `_GLOBAL_SEED` the official training scripts pass to
   * `torch.manual_seed` and `np.random.seed` (a fresh Python process seeds its generators
   * non-deterministically, so there is nothing else to mirror).
   */
  positionSeed?: Seed;
  /** Device of the returned tensors (sampled on the CPU, copied at the end). Default `'cpu'`. */
  device?: Device;
}

/**
 * Options of {@link multiblock}: those of I-JEPA's `MaskCollator` (facebookresearch/ijepa
 * src/masks/multiblock.py), with its defaults.
 */
export interface MultiblockOptions extends CommonOptions {
  /** Image size in pixels. Default 224. */
  inputSize?: Size2d;
  /** Patch size in pixels. Default 16. */
  patchSize?: number;
  /** Scale range of the context (encoder) block, a fraction of the grid. Default [0.2, 0.8]. */
  encMaskScale?: Range;
  /** Scale range of the target (predictor) blocks. Default [0.2, 0.8]. */
  predMaskScale?: Range;
  /** Aspect-ratio (height / width) range of the target blocks. Default [0.3, 3.0]. */
  aspectRatio?: Range;
  /** Number of context blocks. Default 1. */
  nenc?: number;
  /** Number of target blocks. Default 2. */
  npred?: number;
  /** A block is redrawn until it keeps more than this many patches. Default 4. */
  minKeep?: number;
  /** Whether the context may overlap the targets. Default false. */
  allowOverlap?: boolean;
  /** The collator's step counter for this batch: seeds the block-size generator. Default 0. */
  seed?: Seed;
}

/** One mask config of V-JEPA's `MaskCollator` (an entry of its `cfgs_mask`). */
export interface Multiblock3dConfig {
  /** Spatial scale range of a block, a fraction of a frame's patches. Default [0.2, 0.8]. */
  spatialScale?: Range;
  /** Temporal scale range of a block, a fraction of the time steps. Default [1.0, 1.0]. */
  temporalScale?: Range;
  /** Aspect-ratio (height / width) range. Default [0.3, 3.0]. */
  aspectRatio?: Range;
  /** Number of blocks whose union is masked. Default 1. */
  numBlocks?: number;
  /** Fraction of the time steps the context may span (from the start). Default 1.0. */
  maxTemporalKeep?: number;
  /** Cap on the context length, or null for none. Default null. */
  maxKeep?: number | null;
}

/**
 * Options of {@link multiblock3d}: the video geometry of V-JEPA's `MaskCollator`
 * (facebookresearch/jepa src/masks/multiblock3d.py) and either one config's fields at the top
 * level or a list of configs in `configs`.
 */
export interface Multiblock3dOptions extends CommonOptions, Multiblock3dConfig {
  /** Frame size in pixels. Default 224. */
  cropSize?: Size2d;
  /** Frames per clip. Default 16. */
  numFrames?: number;
  /** Spatial patch size in pixels. Default 16. */
  patchSize?: number;
  /** Frames per tubelet (temporal patch size). Default 2. */
  tubeletSize?: number;
  /** Several configs, sampled in order in one call (one context/targets pair each). */
  configs?: readonly Multiblock3dConfig[];
  /** The collators' step counter for this batch (each config's generator has its own). Default 0. */
  seed?: Seed;
}

/** Options of {@link randomTube} (facebookresearch/jepa src/masks/random_tube.py). */
export interface RandomTubeOptions extends CommonOptions {
  /** Frame size in pixels. Default 224. */
  cropSize?: Size2d;
  /** Frames per clip. Default 16. */
  numFrames?: number;
  /** Spatial patch size in pixels. Default 16. */
  patchSize?: number;
  /** Frames per tubelet. Default 2. */
  tubeletSize?: number;
  /** Fraction of each frame's patches that is masked, in [0, 1]. Default 0.9. */
  ratio?: number;
}

/**
 * Options of {@link hjepa}: those of jonwiggins/H-JEPA's `HierarchicalMaskGenerator`
 * (src/masks/hierarchical.py), with its defaults. `positionSeed` is the `np.random.seed` before
 * the first batch (every draw of the generator comes from NumPy's global generator); default 42,
 * the `seed` of H-JEPA's configs/default.yaml that its scripts/train.py passes to `np.random.seed`.
 */
export interface HJepaMaskOptions extends CommonOptions {
  /** Image size in pixels. Default 224. */
  inputSize?: Size2d;
  /** Patch size in pixels. Default 16. */
  patchSize?: number;
  /** Hierarchy levels: one set of masks each (the trainer uses level 0). Default 3. */
  numHierarchies?: number;
  /** Target blocks per sample and level. Default 4. */
  numTargetMasks?: number;
  /** How the target scale grows with the level: x 2^level (`'geometric'`) or x (1 + level). Default `'geometric'`. */
  scaleProgression?: 'geometric' | 'linear';
  /**
   * Scale range of the level-0 target blocks, a fraction of the grid (each bound capped at 0.95
   * after scaling). Default [0.05, 0.15] (the class's; configs/default.yaml's `mask_scale` is
   * [0.15, 0.2], see `presets.hjepaDefault`).
   */
  baseScale?: Range;
  /** Aspect-ratio (width / height) range; level 0 narrows it to [0.85, 1.15]. Default [0.75, 1.5]. */
  aspectRatio?: Range;
  /** Draws of a target block that may overlap earlier ones before the fixed-size fallback. Default 10. */
  maxAttempts?: number;
}

/**
 * Options of {@link notebook2d}: the arguments seed 002's notebook passes to its `forward` (the
 * defaults are those of its `train_ijepa`). The masks are drawn once per batch and shared by
 * every sample. `seed` is the `np.random.seed` (scales and aspect ratio), `positionSeed` the
 * `torch.manual_seed` (block corners); both default to 0.
 */
export interface Notebook2dOptions {
  /** Image size in pixels. Default 224. */
  inputSize?: Size2d;
  /** Patch size in pixels. Default 16. */
  patchSize?: number;
  /** Aspect-ratio range of the target blocks, **width / height**. Default [0.75, 1.5]. */
  targetAspectRatio?: Range;
  /** Scale range of the target blocks. Default [0.15, 0.2]. */
  targetScale?: Range;
  /** Scale range of the context block. Default [0.85, 1.0]. */
  contextScale?: Range;
  /** Aspect ratio (width / height) of the context block. Default 1. */
  contextAspectRatio?: number;
  /** Target blocks (`M`). Default 4. */
  numTargets?: number;
  /** `np.random.seed` before the first batch (below 2^32). Default 0. */
  seed?: Seed;
  /** `torch.manual_seed` before the first batch. Default 0. */
  positionSeed?: Seed;
  /** Device of the returned tensors. Default `'cpu'`. */
  device?: Device;
}

/**
 * Options of {@link notebook3d}: seed 002's `get_masks(patch_dim, scale, mask_type,
 * aspect_ratio_range)` on the grid of a clip. Every draw comes from torch's global generator,
 * `torch.manual_seed(positionSeed)` (default 0) before the first batch.
 */
export interface Notebook3dOptions {
  /** Frame size in pixels. Default 224. */
  cropSize?: Size2d;
  /** Frames per clip. Default 16. */
  numFrames?: number;
  /** Spatial patch size in pixels. Default 16. */
  patchSize?: number;
  /** Frames per tubelet. Default 2. */
  tubeletSize?: number;
  /** `'short'`: 8 blocks of 15 % of a frame; `'long'`: 2 blocks of 70 %. Default `'short'`. */
  maskType?: 'short' | 'long';
  /** Aspect-ratio range, one draw per block (h = sqrt(n * r), w = sqrt(n / r)). Default [0.75, 1.5]. */
  aspectRatio?: Range;
  /** `torch.manual_seed` before the first batch. Default 0. */
  positionSeed?: Seed;
  /** Device of the returned tensors. Default `'cpu'`. */
  device?: Device;
}

/** Options of {@link binary}: a sampler's options plus the sampler and the dtype. */
export type BinaryOptions =
  | (MultiblockOptions & { sampler?: 'multiblock'; dtype?: Dtype })
  | (RandomTubeOptions & { sampler: 'randomTube'; dtype?: Dtype });

// Python ints are unbounded; ours go to the native side as numbers: keep every range that
// libtorch samples from far below 2^28 (where torch switches to 64-bit draws).
const MAX_PATCHES = 1 << 24;

function fail(message: string): never {
  throw invalidArgument(message);
}

function positiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    fail(`expected \`${name}\` to be a positive integer, got ${show(value)}`);
  }
  return value;
}

function nonNegativeInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(`expected \`${name}\` to be a non-negative integer, got ${show(value)}`);
  }
  return value;
}

function blockCount(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    fail(`expected \`${name}\` to be at least 1 block (a positive integer), got ${show(value)}`);
  }
  return value;
}

function isPair(value: unknown): value is [number, number] {
  return Array.isArray(value) && value.length === 2 && value.every((x) => typeof x === 'number' && Number.isFinite(x));
}

/** A scale range: 0 < min <= max <= 1. */
function scale(value: unknown, name: string): [number, number] {
  if (!isPair(value) || !(value[0] > 0 && value[0] <= value[1] && value[1] <= 1)) {
    fail(`expected \`${name}\` to be a range [min, max] with 0 < min <= max <= 1, got ${show(value)}`);
  }
  return [value[0], value[1]];
}

/** An aspect-ratio range: 0 < min <= max. */
function aspect(value: unknown, name: string): [number, number] {
  if (!isPair(value) || !(value[0] > 0 && value[0] <= value[1])) {
    fail(`expected \`${name}\` to be a range [min, max] with 0 < min <= max, got ${show(value)}`);
  }
  return [value[0], value[1]];
}

function size2d(value: unknown, name: string): [number, number] {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return [value, value];
  if (
    Array.isArray(value) &&
    value.length === 2 &&
    value.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 1)
  ) {
    return [value[0], value[1]];
  }
  return fail(`expected \`${name}\` to be a positive integer or a pair [height, width] of them, got ${show(value)}`);
}

/** A seed as a bigint in [0, 2^64). */
export function checkSeed(value: unknown, name: string): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'bigint' && value >= 0n && value < 1n << 64n) return value;
  return fail(
    `expected \`${name}\` to be a non-negative integer (a number or a bigint below 2^64), got ${show(value)}`,
  );
}

function bool(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') fail(`expected \`${name}\` to be a boolean, got ${show(value)}`);
  return value;
}

// Python's round() on a float: ties to even.
function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** I-JEPA's block size for a uniform draw r (both scale and aspect ratio follow r). @internal */
export function blockSize2d(r: number, height: number, width: number, sc: Range, ar: Range): [number, number] {
  const maxKeep = Math.trunc(height * width * (sc[0] + r * (sc[1] - sc[0])));
  const a = ar[0] + r * (ar[1] - ar[0]);
  // The reference's `while h >= height: h -= 1`, in one step: with an aspect ratio like 1e200
  // the loop would never end (h - 1 === h for a double that large).
  const h = Math.min(pyRound(Math.sqrt(maxKeep * a)), height - 1);
  const w = Math.min(pyRound(Math.sqrt(maxKeep / a)), width - 1);
  return [h, w];
}

/** V-JEPA's block size for three uniform draws. @internal */
export function blockSize3d(
  r: readonly [number, number, number],
  grid: { duration: number; height: number; width: number },
  c: NativeMultiblock3dConfig,
): [number, number, number] {
  const { duration, height, width } = grid;
  const t = Math.max(1, Math.trunc(duration * (c.temporalScale[0] + r[0] * (c.temporalScale[1] - c.temporalScale[0]))));
  const keep = Math.trunc(height * width * (c.spatialScale[0] + r[1] * (c.spatialScale[1] - c.spatialScale[0])));
  const a = c.aspectRatio[0] + r[2] * (c.aspectRatio[1] - c.aspectRatio[0]);
  const h = Math.min(pyRound(Math.sqrt(keep * a)), height);
  const w = Math.min(pyRound(Math.sqrt(keep / a)), width);
  return [t, h, w];
}

// ---------------------------------------------------------------------------------------------
// Normalized forms (what the native samplers take)

/** @internal */
export interface NativeCommon {
  batchSize: number;
  positionSeed: bigint;
  device: Device;
}

/** @internal */
export interface NativeMultiblock extends NativeCommon {
  height: number;
  width: number;
  encScale: [number, number];
  predScale: [number, number];
  aspectRatio: [number, number];
  nenc: number;
  npred: number;
  minKeep: number;
  allowOverlap: boolean;
  seed: bigint;
  binary?: boolean;
}

/** @internal */
export interface NativeMultiblock3dConfig {
  spatialScale: [number, number];
  temporalScale: [number, number];
  aspectRatio: [number, number];
  numBlocks: number;
  maxTemporalKeep: number;
  maxKeep: number;
}

/** @internal */
export interface NativeMultiblock3d extends NativeCommon {
  duration: number;
  height: number;
  width: number;
  configs: NativeMultiblock3dConfig[];
  seed: bigint;
}

/** @internal */
export interface NativeRandomTube extends NativeCommon {
  duration: number;
  height: number;
  width: number;
  ratio: number;
  binary?: boolean;
}

const COMMON_KEYS = ['batchSize', 'positionSeed', 'device'] as const;
export const MULTIBLOCK_KEYS = [
  'inputSize',
  'patchSize',
  'encMaskScale',
  'predMaskScale',
  'aspectRatio',
  'nenc',
  'npred',
  'minKeep',
  'allowOverlap',
  'seed',
  ...COMMON_KEYS,
] as const;
const CONFIG_KEYS = [
  'spatialScale',
  'temporalScale',
  'aspectRatio',
  'numBlocks',
  'maxTemporalKeep',
  'maxKeep',
] as const;
const VIDEO_KEYS = ['cropSize', 'numFrames', 'patchSize', 'tubeletSize'] as const;
export const MULTIBLOCK3D_KEYS = [...VIDEO_KEYS, ...CONFIG_KEYS, 'configs', 'seed', ...COMMON_KEYS] as const;
export const RANDOM_TUBE_KEYS = [...VIDEO_KEYS, 'ratio', ...COMMON_KEYS] as const;

function common(o: Record<string, unknown>, name: string): NativeCommon {
  if (o.batchSize === undefined) fail(`missing option \`${name}.batchSize\`: expected a positive integer`);
  return {
    batchSize: positiveInt(o.batchSize, `${name}.batchSize`),
    positionSeed: o.positionSeed === undefined ? 0n : checkSeed(o.positionSeed, `${name}.positionSeed`),
    device: o.device === undefined ? 'cpu' : checkDevice(o.device, `${name}.device`),
  };
}

function gridLimit(patches: number, what: string): void {
  if (patches > MAX_PATCHES) {
    fail(`expected the patch grid to have at most ${MAX_PATCHES} patches, got ${what} = ${patches}`);
  }
}

/** Validates and defaults {@link MultiblockOptions}. @internal */
export function multiblockOptions(opts: unknown, name = 'options', extra: readonly string[] = []): NativeMultiblock {
  if (opts === undefined) fail(`expected \`${name}\` to be an object with at least \`batchSize\`, got undefined`);
  const o = checkOptions(opts, name, [...MULTIBLOCK_KEYS, ...extra]);
  const [ih, iw] = size2d(o.inputSize ?? 224, `${name}.inputSize`);
  const patch = positiveInt(o.patchSize ?? 16, `${name}.patchSize`);
  const height = Math.floor(ih / patch);
  const width = Math.floor(iw / patch);
  const n: NativeMultiblock = {
    ...common(o, name),
    height,
    width,
    encScale: scale(o.encMaskScale ?? [0.2, 0.8], `${name}.encMaskScale`),
    predScale: scale(o.predMaskScale ?? [0.2, 0.8], `${name}.predMaskScale`),
    aspectRatio: aspect(o.aspectRatio ?? [0.3, 3.0], `${name}.aspectRatio`),
    nenc: blockCount(o.nenc ?? 1, `${name}.nenc`),
    npred: blockCount(o.npred ?? 2, `${name}.npred`),
    minKeep: nonNegativeInt(o.minKeep ?? 4, `${name}.minKeep`),
    allowOverlap: bool(o.allowOverlap ?? false, `${name}.allowOverlap`),
    seed: o.seed === undefined ? 0n : checkSeed(o.seed, `${name}.seed`),
  };
  if (height < 2 || width < 2) {
    fail(
      `expected a patch grid of at least 2x2 for multi-block masks, got ${height}x${width} ` +
        `(\`${name}.inputSize\` ${ih}x${iw} / \`${name}.patchSize\` ${patch}): the blocks cannot fit`,
    );
  }
  gridLimit(height * width, `${height}x${width}`);
  // The smallest blocks (uniform draw 0) must keep more than minKeep patches, or the reference
  // sampler would redraw forever. Larger draws are checked by the native sampler.
  const [ph, pw] = blockSize2d(0, height, width, n.predScale, n.aspectRatio);
  if (ph * pw <= n.minKeep) {
    fail(
      `the smallest target block (\`${name}.predMaskScale\` ${n.predScale[0]} of a ${height}x${width} grid) ` +
        `is ${ph}x${pw} = ${ph * pw} patches, not more than \`${name}.minKeep\` ${n.minKeep}: the blocks ` +
        'cannot fit (raise predMaskScale or lower minKeep)',
    );
  }
  const [eh, ew] = blockSize2d(0, height, width, n.encScale, [1, 1]);
  if (eh * ew <= n.minKeep) {
    fail(
      `the smallest context block (\`${name}.encMaskScale\` ${n.encScale[0]} of a ${height}x${width} grid) ` +
        `is ${eh}x${ew} = ${eh * ew} patches, not more than \`${name}.minKeep\` ${n.minKeep}: the blocks ` +
        'cannot fit (raise encMaskScale or lower minKeep)',
    );
  }
  return n;
}

function videoGrid(o: Record<string, unknown>, name: string): { duration: number; height: number; width: number } {
  const [ch, cw] = size2d(o.cropSize ?? 224, `${name}.cropSize`);
  const frames = positiveInt(o.numFrames ?? 16, `${name}.numFrames`);
  const patch = positiveInt(o.patchSize ?? 16, `${name}.patchSize`);
  const tubelet = positiveInt(o.tubeletSize ?? 2, `${name}.tubeletSize`);
  const duration = Math.floor(frames / tubelet);
  const height = Math.floor(ch / patch);
  const width = Math.floor(cw / patch);
  if (duration < 1) {
    fail(`expected \`${name}.numFrames\` (${frames}) to be at least \`${name}.tubeletSize\` (${tubelet})`);
  }
  if (height < 1 || width < 1) {
    fail(`expected \`${name}.cropSize\` (${ch}x${cw}) to hold at least one patch of \`${name}.patchSize\` ${patch}`);
  }
  gridLimit(duration * height * width, `${duration}x${height}x${width}`);
  return { duration, height, width };
}

function config3d(
  c: Record<string, unknown>,
  name: string,
  grid: { duration: number; height: number; width: number },
): NativeMultiblock3dConfig {
  const keep = c.maxTemporalKeep ?? 1.0;
  if (typeof keep !== 'number' || !(keep > 0 && keep <= 1)) {
    fail(`expected \`${name}.maxTemporalKeep\` to be a number in (0, 1], got ${show(keep)}`);
  }
  const maxKeep = c.maxKeep ?? null;
  const n: NativeMultiblock3dConfig = {
    spatialScale: scale(c.spatialScale ?? [0.2, 0.8], `${name}.spatialScale`),
    temporalScale: scale(c.temporalScale ?? [1.0, 1.0], `${name}.temporalScale`),
    aspectRatio: aspect(c.aspectRatio ?? [0.3, 3.0], `${name}.aspectRatio`),
    numBlocks: blockCount(c.numBlocks ?? 1, `${name}.numBlocks`),
    maxTemporalKeep: keep,
    maxKeep: maxKeep === null ? -1 : positiveInt(maxKeep, `${name}.maxKeep`),
  };
  // A block covering the whole grid for every draw leaves no context: the reference would loop.
  const [t, h, w] = blockSize3d([0, 0, 0], grid, n);
  if (t >= grid.duration && h >= grid.height && w >= grid.width) {
    fail(
      `the smallest block of \`${name}\` (${t}x${h}x${w}) covers the whole ${grid.duration}x${grid.height}x` +
        `${grid.width} grid: the context would always be empty (lower spatialScale or temporalScale)`,
    );
  }
  return n;
}

/** Validates and defaults {@link Multiblock3dOptions}. @internal */
export function multiblock3dOptions(opts: unknown, name = 'options'): NativeMultiblock3d {
  if (opts === undefined) fail(`expected \`${name}\` to be an object with at least \`batchSize\`, got undefined`);
  const o = checkOptions(opts, name, MULTIBLOCK3D_KEYS);
  const grid = videoGrid(o, name);
  let configs: NativeMultiblock3dConfig[];
  if (o.configs !== undefined) {
    const inline = CONFIG_KEYS.filter((k) => o[k] !== undefined);
    if (inline.length > 0) {
      fail(
        `give either \`${name}.configs\` or one config's fields at the top level, not both ` +
          `(found ${inline.map((k) => `\`${k}\``).join(', ')} next to \`configs\`)`,
      );
    }
    if (!Array.isArray(o.configs) || o.configs.length === 0) {
      fail(`expected \`${name}.configs\` to be a non-empty array of mask configs, got ${show(o.configs)}`);
    }
    configs = o.configs.map((c: unknown, i: number) => {
      const cname = `${name}.configs[${i}]`;
      if (!isPlainObject(c)) fail(`expected \`${cname}\` to be an object, got ${show(c)}`);
      return config3d(checkOptions(c, cname, CONFIG_KEYS), cname, grid);
    });
  } else {
    configs = [config3d(o, name, grid)];
  }
  return {
    ...common(o, name),
    ...grid,
    configs,
    seed: o.seed === undefined ? 0n : checkSeed(o.seed, `${name}.seed`),
  };
}

/** Validates and defaults {@link RandomTubeOptions}. @internal */
export function randomTubeOptions(opts: unknown, name = 'options', extra: readonly string[] = []): NativeRandomTube {
  if (opts === undefined) fail(`expected \`${name}\` to be an object with at least \`batchSize\`, got undefined`);
  const o = checkOptions(opts, name, [...RANDOM_TUBE_KEYS, ...extra]);
  const grid = videoGrid(o, name);
  const ratio = o.ratio ?? 0.9;
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) {
    fail(`expected \`${name}.ratio\` to be a number in [0, 1], got ${show(ratio)}`);
  }
  if (o.positionSeed !== undefined && checkSeed(o.positionSeed, `${name}.positionSeed`) >= 1n << 32n) {
    fail(`expected \`${name}.positionSeed\` to be below 2^32 (np.random.seed's range), got ${show(o.positionSeed)}`);
  }
  return { ...common(o, name), ...grid, ratio };
}

/** @internal */
export interface NativeHJepa extends NativeCommon {
  height: number;
  width: number;
  numHierarchies: number;
  numTargetMasks: number;
  geometric: boolean;
  baseScale: [number, number];
  aspectRatio: [number, number];
  maxAttempts: number;
  seed: bigint;
}

/** @internal */
export interface NativeNotebook2d {
  height: number;
  width: number;
  targetAspectRatio: [number, number];
  targetScale: [number, number];
  contextScale: [number, number];
  contextAspectRatio: number;
  numTargets: number;
  seed: bigint;
  positionSeed: bigint;
  device: Device;
}

/** @internal */
export interface NativeNotebook3d {
  duration: number;
  height: number;
  width: number;
  longRange: boolean;
  aspectRatio: [number, number];
  positionSeed: bigint;
  device: Device;
}

export const HJEPA_KEYS = [
  'inputSize',
  'patchSize',
  'numHierarchies',
  'numTargetMasks',
  'scaleProgression',
  'baseScale',
  'aspectRatio',
  'maxAttempts',
  ...COMMON_KEYS,
] as const;
export const NOTEBOOK2D_KEYS = [
  'inputSize',
  'patchSize',
  'targetAspectRatio',
  'targetScale',
  'contextScale',
  'contextAspectRatio',
  'numTargets',
  'seed',
  'positionSeed',
  'device',
] as const;
export const NOTEBOOK3D_KEYS = [...VIDEO_KEYS, 'maskType', 'aspectRatio', 'positionSeed', 'device'] as const;

/** A seed for `np.random.seed`: below 2^32. */
function numpySeed(value: unknown, name: string): bigint {
  const s = checkSeed(value, name);
  if (s >= 1n << 32n) fail(`expected \`${name}\` to be below 2^32 (np.random.seed's range), got ${show(value)}`);
  return s;
}

/** An image grid: floor(inputSize / patchSize), at least 1x1. */
function imageGrid(o: Record<string, unknown>, name: string): { height: number; width: number } {
  const [ih, iw] = size2d(o.inputSize ?? 224, `${name}.inputSize`);
  const patch = positiveInt(o.patchSize ?? 16, `${name}.patchSize`);
  const height = Math.floor(ih / patch);
  const width = Math.floor(iw / patch);
  if (height < 1 || width < 1) {
    fail(`expected \`${name}.inputSize\` (${ih}x${iw}) to hold at least one patch of \`${name}.patchSize\` ${patch}`);
  }
  gridLimit(height * width, `${height}x${width}`);
  return { height, width };
}

/** Validates and defaults {@link HJepaMaskOptions}. @internal */
export function hjepaOptions(opts: unknown, name = 'options'): NativeHJepa {
  if (opts === undefined) fail(`expected \`${name}\` to be an object with at least \`batchSize\`, got undefined`);
  const o = checkOptions(opts, name, HJEPA_KEYS);
  const levels = o.numHierarchies ?? 3;
  if (typeof levels !== 'number' || !Number.isSafeInteger(levels) || levels < 1 || levels > 16) {
    fail(`expected \`${name}.numHierarchies\` to be an integer in [1, 16], got ${show(levels)}`);
  }
  const progression = o.scaleProgression ?? 'geometric';
  if (progression !== 'geometric' && progression !== 'linear') {
    fail(`expected \`${name}.scaleProgression\` to be 'geometric' or 'linear', got ${show(progression)}`);
  }
  const c = common({ ...o, positionSeed: o.positionSeed ?? 42 }, name);
  return {
    ...c,
    ...imageGrid(o, name),
    numHierarchies: levels,
    numTargetMasks: blockCount(o.numTargetMasks ?? 4, `${name}.numTargetMasks`),
    geometric: progression === 'geometric',
    baseScale: scale(o.baseScale ?? [0.05, 0.15], `${name}.baseScale`),
    aspectRatio: aspect(o.aspectRatio ?? [0.75, 1.5], `${name}.aspectRatio`),
    maxAttempts: nonNegativeInt(o.maxAttempts ?? 10, `${name}.maxAttempts`),
    seed: numpySeed(o.positionSeed ?? 42, `${name}.positionSeed`),
  };
}

/** Validates and defaults {@link Notebook2dOptions}. @internal */
export function notebook2dOptions(opts: unknown, name = 'options'): NativeNotebook2d {
  const o = checkOptions(opts ?? {}, name, NOTEBOOK2D_KEYS);
  const contextAspect = o.contextAspectRatio ?? 1;
  if (typeof contextAspect !== 'number' || !Number.isFinite(contextAspect) || !(contextAspect > 0)) {
    fail(`expected \`${name}.contextAspectRatio\` to be a positive finite number, got ${show(contextAspect)}`);
  }
  return {
    ...imageGrid(o, name),
    targetAspectRatio: aspect(o.targetAspectRatio ?? [0.75, 1.5], `${name}.targetAspectRatio`),
    targetScale: scale(o.targetScale ?? [0.15, 0.2], `${name}.targetScale`),
    contextScale: scale(o.contextScale ?? [0.85, 1.0], `${name}.contextScale`),
    contextAspectRatio: contextAspect,
    numTargets: blockCount(o.numTargets ?? 4, `${name}.numTargets`),
    seed: o.seed === undefined ? 0n : numpySeed(o.seed, `${name}.seed`),
    positionSeed: o.positionSeed === undefined ? 0n : checkSeed(o.positionSeed, `${name}.positionSeed`),
    device: o.device === undefined ? 'cpu' : checkDevice(o.device, `${name}.device`),
  };
}

/** Validates and defaults {@link Notebook3dOptions}. @internal */
export function notebook3dOptions(opts: unknown, name = 'options'): NativeNotebook3d {
  const o = checkOptions(opts ?? {}, name, NOTEBOOK3D_KEYS);
  const type = o.maskType ?? 'short';
  if (type !== 'short' && type !== 'long') {
    fail(`expected \`${name}.maskType\` to be 'short' or 'long', got ${show(type)}`);
  }
  return {
    ...videoGrid(o, name),
    longRange: type === 'long',
    aspectRatio: aspect(o.aspectRatio ?? [0.75, 1.5], `${name}.aspectRatio`),
    positionSeed: o.positionSeed === undefined ? 0n : checkSeed(o.positionSeed, `${name}.positionSeed`),
    device: o.device === undefined ? 'cpu' : checkDevice(o.device, `${name}.device`),
  };
}

/** The dtype of a binary mask. @internal */
export function binaryDtype(value: unknown, name: string): Dtype {
  return value === undefined ? 'int64' : checkDtype(value, name);
}

/** The error code for options whose blocks cannot be drawn. */
export const UNSATISFIABLE = ErrorCode.MASK_UNSATISFIABLE;

// ---------------------------------------------------------------------------------------------
// Presets

function freeze<T extends object>(o: T): Readonly<T> {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) Object.freeze(v);
  return Object.freeze(o);
}

/**
 * The mask settings of the official configs. Spread them into a sampler's options:
 * `jepa.masks.multiblock({ ...jepa.masks.presets.ijepaImageNet, inputSize: 224, patchSize: 16, batchSize: 128 })`.
 */
export const presets = Object.freeze({
  /**
   * I-JEPA on ImageNet-1k (facebookresearch/ijepa configs/in1k_*.yaml): aspect 0.75-1.5, context
   * scale 0.85-1.0, target scale 0.15-0.2, 1 context block, 4 target blocks, min_keep 10, no
   * overlap. (Those configs use 224 px crops with ViT patch 14 or 16; give `inputSize` and
   * `patchSize` yourself.)
   */
  ijepaImageNet: freeze({
    encMaskScale: [0.85, 1.0] as Range,
    predMaskScale: [0.15, 0.2] as Range,
    aspectRatio: [0.75, 1.5] as Range,
    nenc: 1,
    npred: 4,
    minKeep: 10,
    allowOverlap: false,
  }),
  /** V-JEPA short-range masks (facebookresearch/jepa configs/pretrain): 8 blocks of 15 % of each frame. */
  vjepaShortRange: freeze({
    spatialScale: [0.15, 0.15] as Range,
    temporalScale: [1.0, 1.0] as Range,
    aspectRatio: [0.75, 1.5] as Range,
    numBlocks: 8,
    maxTemporalKeep: 1.0,
    maxKeep: null,
  }),
  /**
   * H-JEPA's configs/default.yaml `masking` section as its scripts/train.py hands it to the
   * hierarchical generator: `mask_scale` [0.15, 0.2] as the base scale, `aspect_ratio`
   * [0.75, 1.5], `num_masks` 4, 3 levels (`model.num_hierarchies`).
   */
  hjepaDefault: freeze({
    baseScale: [0.15, 0.2] as Range,
    aspectRatio: [0.75, 1.5] as Range,
    numTargetMasks: 4,
    numHierarchies: 3,
  }),
  /** V-JEPA long-range masks: 2 blocks of 70 % of each frame. */
  vjepaLongRange: freeze({
    spatialScale: [0.7, 0.7] as Range,
    temporalScale: [1.0, 1.0] as Range,
    aspectRatio: [0.75, 1.5] as Range,
    numBlocks: 2,
    maxTemporalKeep: 1.0,
    maxKeep: null,
  }),
});
