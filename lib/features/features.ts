/**
 * V-JEPA 2 feature utilities (seed 000): the [T, H, W, D] grid view of a [T*H*W, D] patch
 * feature tensor, aggregation (mean, temporal, spatial, global, hierarchical), and the per-image
 * feature files of the DeepEarth layout (`taxon_{taxon}/gbif_{id}_taxon_{taxon}_{species}_img_{n}_features.pt`
 * holding `{features, shape, dtype, source_chunk, image_id}`).
 *
 * The reductions are the same ATen calls as Python's `features.mean(dim=...)`, so the results
 * equal Python's bit for bit, in the features' own dtype (float16 features give float16 means).
 * @module
 */
import * as path from 'node:path';
import { save } from '../io/pt';
import { ErrorCode, invalidArgument, JepaError } from '../core/errors';
import { Tensor } from '../tensor/tensor';
import { mean, select } from '../tensor/ops.generated';
import { show } from '../core/validate';
import { Size } from '../io/values';

/** The layout of facebook/vjepa2-vitg-fpc64-384 features for one image: 8 x 24 x 24 patches of 1408. */
export const VJEPA2_LAYOUT = Object.freeze({ frames: 8, gridSize: 24, dim: 1408, patches: 4608 });

/** How a [T*H*W, D] feature tensor is laid out (defaults: {@link VJEPA2_LAYOUT}). */
export interface FeatureLayout {
  /** Temporal positions T (tubelets). */
  frames?: number;
  /** Spatial grid side H = W. */
  gridSize?: number;
}

/** Aggregation methods of {@link aggregateFeatures}. */
export type AggregationMethod = 'mean' | 'temporal' | 'spatial' | 'global' | 'hierarchical';

/** What `'hierarchical'` aggregation returns. */
export interface HierarchicalFeatures {
  /** Per temporal position, [T, D]. */
  temporal: Tensor;
  /** Per spatial position, [H, W, D]. */
  spatial: Tensor;
  /** One vector, [D]. */
  global: Tensor;
}

function layoutOf(layout: unknown): { frames: number; gridSize: number } {
  if (layout !== undefined && (typeof layout !== 'object' || layout === null || Array.isArray(layout))) {
    throw invalidArgument(`expected \`layout\` to be {frames, gridSize}, got ${show(layout)}`);
  }
  const o = (layout ?? {}) as FeatureLayout;
  for (const key of Object.keys(o)) {
    if (key !== 'frames' && key !== 'gridSize') {
      throw invalidArgument(`unknown option \`layout.${key}\`: expected one of frames, gridSize`);
    }
  }
  const frames = o.frames ?? VJEPA2_LAYOUT.frames;
  const gridSize = o.gridSize ?? VJEPA2_LAYOUT.gridSize;
  for (const [k, v] of [
    ['frames', frames],
    ['gridSize', gridSize],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1)
      throw invalidArgument(`expected \`layout.${k}\` to be a positive integer, got ${show(v)}`);
  }
  return { frames, gridSize };
}

function checkFeatures(features: unknown, layout: { frames: number; gridSize: number }): Tensor {
  if (!(features instanceof Tensor))
    throw invalidArgument(`expected \`features\` to be a Tensor, got ${show(features)}`);
  const n = layout.frames * layout.gridSize * layout.gridSize;
  const s = features.shape;
  if (s.length !== 2 || s[0] !== n) {
    throw new JepaError(
      ErrorCode.SHAPE_MISMATCH,
      `expected \`features\` to have shape [${n}, D] (${layout.frames} frames x ${layout.gridSize} x ${layout.gridSize} patches), got ${show(s)}`,
    );
  }
  if (!features.dtype.startsWith('float') && features.dtype !== 'bfloat16') {
    throw invalidArgument(`expected \`features\` to be floating point, got dtype ${features.dtype}`);
  }
  return features;
}

/**
 * The [T, H, W, D] view of [T*H*W, D] features (no copy: `features.view(T, H, W, D)` as in
 * seed 000). `grid[t]` is frame t's [H, W, D]; `grid[:, i, j]` patch (i, j) over time.
 */
export function featureGrid(features: Tensor, layout?: FeatureLayout): Tensor {
  const l = layoutOf(layout);
  const f = checkFeatures(features, l);
  return f.view(l.frames, l.gridSize, l.gridSize, f.shape[1]);
}

/** Frame `t` of the grid: [H, W, D] (a view). */
export function frameFeatures(features: Tensor, frame: number, layout?: FeatureLayout): Tensor {
  const l = layoutOf(layout);
  if (!Number.isSafeInteger(frame) || frame < 0 || frame >= l.frames) {
    throw invalidArgument(`expected \`frame\` to be an integer in [0, ${l.frames - 1}], got ${show(frame)}`);
  }
  const grid = featureGrid(features, l);
  try {
    return select(grid, 0, frame);
  } finally {
    grid.dispose();
  }
}

/** Patch (row, col) over time: [T, D] (a view). */
export function patchFeatures(features: Tensor, row: number, col: number, layout?: FeatureLayout): Tensor {
  const l = layoutOf(layout);
  for (const [k, v] of [
    ['row', row],
    ['col', col],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0 || v >= l.gridSize) {
      throw invalidArgument(`expected \`${k}\` to be an integer in [0, ${l.gridSize - 1}], got ${show(v)}`);
    }
  }
  const grid = featureGrid(features, l);
  const rows = select(grid, 1, row);
  try {
    return select(rows, 1, col);
  } finally {
    rows.dispose();
    grid.dispose();
  }
}

/**
 * Aggregates [T*H*W, D] features as seed 000 does:
 * - `'mean'`: `features.mean(dim=0)` -> [D]
 * - `'temporal'`: `grid.mean(dim=(1, 2))` -> [T, D]
 * - `'spatial'`: `grid.mean(dim=0)` -> [H, W, D]
 * - `'global'`: `grid.mean(dim=(0, 1, 2))` -> [D]
 * - `'hierarchical'`: all three of temporal, spatial and global.
 */
export function aggregateFeatures(
  features: Tensor,
  method: 'hierarchical',
  layout?: FeatureLayout,
): HierarchicalFeatures;
export function aggregateFeatures(
  features: Tensor,
  method?: Exclude<AggregationMethod, 'hierarchical'>,
  layout?: FeatureLayout,
): Tensor;
export function aggregateFeatures(
  features: Tensor,
  method: AggregationMethod = 'mean',
  layout?: FeatureLayout,
): Tensor | HierarchicalFeatures {
  const l = layoutOf(layout);
  const f = checkFeatures(features, l);
  switch (method) {
    case 'mean':
      return mean(f, [0]);
    case 'temporal':
      return mean(featureGrid(f, l), [1, 2]);
    case 'spatial':
      return mean(featureGrid(f, l), [0]);
    case 'global':
      return mean(featureGrid(f, l), [0, 1, 2]);
    case 'hierarchical': {
      const grid = featureGrid(f, l);
      return { temporal: mean(grid, [1, 2]), spatial: mean(grid, [0]), global: mean(grid, [0, 1, 2]) };
    }
    default:
      throw invalidArgument(
        `expected \`method\` to be one of mean, temporal, spatial, global, hierarchical, got ${show(method)}`,
      );
  }
}

// ---------------------------------------------------------------------------------------------
// Feature files

/** What names one image's feature file. */
export interface FeatureFileInfo {
  /** GBIF occurrence id. */
  gbifId: number | bigint | string;
  /** GBIF taxon id. */
  taxonId: number | bigint | string;
  /** Species name, e.g. 'Nephrolepis exaltata' (written lower case, spaces as underscores). */
  species: string;
  /** Image number within the occurrence (1-based in the seed's examples). */
  imageNumber: number;
}

function idString(v: unknown, name: string): string {
  const s = typeof v === 'bigint' || typeof v === 'number' ? String(v) : v;
  if (typeof s !== 'string' || !/^\d+$/.test(s)) {
    throw invalidArgument(`expected \`${name}\` to be a non-negative integer id, got ${show(v)}`);
  }
  return s;
}

/** The species part of a file name: lower case, runs of other characters as one underscore. */
export function speciesSlug(species: string): string {
  if (typeof species !== 'string') throw invalidArgument(`expected \`species\` to be a string, got ${show(species)}`);
  const slug = species
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (slug.length === 0) throw invalidArgument(`expected \`species\` to hold letters or digits, got ${show(species)}`);
  return slug;
}

/** `gbif_{id}_taxon_{taxon}_{species}_img_{n}_features.pt` (seed 000's naming). */
export function featureFileName(info: FeatureFileInfo): string {
  if (typeof info !== 'object' || info === null)
    throw invalidArgument(`expected \`info\` to be an object, got ${show(info)}`);
  const n = info.imageNumber;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw invalidArgument(`expected \`info.imageNumber\` to be a non-negative integer, got ${show(n)}`);
  }
  return `gbif_${idString(info.gbifId, 'info.gbifId')}_taxon_${idString(info.taxonId, 'info.taxonId')}_${speciesSlug(info.species)}_img_${n}_features.pt`;
}

/** `root/taxon_{taxon}/<featureFileName>` (seed 000's folder layout). */
export function featureFilePath(root: string, info: FeatureFileInfo): string {
  if (typeof root !== 'string' || root.length === 0)
    throw invalidArgument(`expected \`root\` to be a folder path, got ${show(root)}`);
  return path.join(root, `taxon_${idString(info.taxonId, 'info.taxonId')}`, featureFileName(info));
}

/** Parses a feature file name (or path) back; null when it does not follow the naming. */
export function parseFeatureFileName(
  name: string,
): { gbifId: string; taxonId: string; species: string; imageNumber: number } | null {
  const m = /^gbif_(\d+)_taxon_(\d+)_(.+)_img_(\d+)_features\.pt$/.exec(path.basename(name));
  if (!m) return null;
  return { gbifId: m[1], taxonId: m[2], species: m[3], imageNumber: Number(m[4]) };
}

/** The dict one feature file holds (seed 000), ready for the `.pt` writer. */
export interface FeatureDict {
  features: Tensor;
  shape: Size;
  dtype: string;
  source_chunk: string;
  image_id: string;
}

/** Builds the seed's dict: `{features, shape: torch.Size, dtype: 'float16', source_chunk, image_id}`. */
export function featureDict(features: Tensor, meta: { sourceChunk: string; imageId: string }): FeatureDict {
  if (!(features instanceof Tensor))
    throw invalidArgument(`expected \`features\` to be a Tensor, got ${show(features)}`);
  if (typeof meta !== 'object' || meta === null)
    throw invalidArgument(`expected \`meta\` to be {sourceChunk, imageId}, got ${show(meta)}`);
  for (const k of ['sourceChunk', 'imageId'] as const) {
    if (typeof meta[k] !== 'string')
      throw invalidArgument(`expected \`meta.${k}\` to be a string, got ${show(meta[k])}`);
  }
  return {
    features,
    shape: Size.fromItems(features.shape),
    dtype: features.dtype,
    source_chunk: meta.sourceChunk,
    image_id: meta.imageId,
  };
}

/**
 * Writes one image's features to `root/taxon_{taxon}/gbif_..._features.pt` with the seed's dict
 * layout, with {@link save} (the `.pt` writer, atomic). Returns the path.
 */
export async function writeFeatureFile(
  root: string,
  info: FeatureFileInfo,
  features: Tensor,
  meta: { sourceChunk: string; imageId: string },
): Promise<string> {
  const file = featureFilePath(root, info);
  const dict = featureDict(features, meta);
  const fs = await import('node:fs');
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  await save(file, dict);
  return file;
}
