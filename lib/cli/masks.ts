/**
 * `jepa-native masks KIND [options] [--png OUT]`: samples one batch of masks with a mask
 * configuration, prints a summary (or `--json`) and renders it as a PNG.
 * (Internal to the package.)
 * @module
 */
import { usage, lib, shapeText, type Io } from './common';

export const MASK_KINDS = ['multiblock', 'multiblock3d', 'randomTube'] as const;
export type MaskKindArg = (typeof MASK_KINDS)[number];

export interface MasksCliOptions {
  preset?: string;
  batchSize?: number;
  inputSize?: number | [number, number];
  patchSize?: number;
  numFrames?: number;
  tubeletSize?: number;
  seed?: number;
  positionSeed?: number;
  options?: Record<string, unknown>;
  png?: string;
  samples?: number;
  cellSize?: number;
  json?: boolean;
}

/** Samples and renders; returns the summary printed. */
export async function masks(kind: string, opts: MasksCliOptions, io: Io): Promise<Record<string, unknown>> {
  const L = lib();
  if (!(MASK_KINDS as readonly string[]).includes(kind)) {
    throw usage(`unknown mask kind '${kind}': expected one of ${MASK_KINDS.join(', ')}`);
  }
  const presets = L.masks.presets as Record<string, object>;
  let base: Record<string, unknown> = {};
  if (opts.preset !== undefined) {
    if (!(opts.preset in presets))
      throw usage(`unknown preset '${opts.preset}': expected one of ${Object.keys(presets).join(', ')}`);
    if (opts.preset === 'ijepaImageNet' ? kind !== 'multiblock' : kind !== 'multiblock3d') {
      throw usage(
        `preset '${opts.preset}' is for ${opts.preset === 'ijepaImageNet' ? 'multiblock' : 'multiblock3d'} masks, not ${kind}`,
      );
    }
    base = { ...presets[opts.preset] };
  }
  const o: Record<string, unknown> = { ...base, batchSize: opts.batchSize ?? 4 };
  if (opts.inputSize !== undefined) o[kind === 'multiblock' ? 'inputSize' : 'cropSize'] = opts.inputSize;
  if (opts.patchSize !== undefined) o.patchSize = opts.patchSize;
  if (opts.numFrames !== undefined || opts.tubeletSize !== undefined) {
    if (kind === 'multiblock')
      throw usage('--num-frames and --tubelet-size are for video masks (multiblock3d, randomTube)');
    if (opts.numFrames !== undefined) o.numFrames = opts.numFrames;
    if (opts.tubeletSize !== undefined) o.tubeletSize = opts.tubeletSize;
  }
  if (opts.seed !== undefined) {
    if (kind === 'randomTube')
      throw usage('--seed is the block-size step counter of multiblock and multiblock3d; randomTube has none');
    o.seed = opts.seed;
  }
  if (opts.positionSeed !== undefined) o.positionSeed = opts.positionSeed;
  Object.assign(o, opts.options ?? {});

  const sampler =
    kind === 'multiblock' ? L.masks.multiblock : kind === 'multiblock3d' ? L.masks.multiblock3d : L.masks.randomTube;
  // Option errors (TypeError, JEPA_INVALID_ARGUMENT) are the user's: report them as usage errors.
  let m;
  try {
    m = sampler(o as never);
  } catch (e) {
    if (e instanceof TypeError) throw usage(e.message);
    throw e;
  }
  const summary = {
    kind,
    options: o,
    grid: m.grid,
    context: m.context.map((t) => t.shape),
    targets: m.targets.map((t) => t.shape),
    sizes: m.sizes,
    ...(m.seed === null ? {} : { seed: typeof m.seed === 'bigint' ? m.seed.toString() : m.seed }),
    ...(opts.png ? { png: opts.png } : {}),
  };
  if (opts.png) {
    try {
      L.masks.render(m, {
        path: opts.png,
        ...(opts.samples ? { samples: opts.samples } : {}),
        ...(opts.cellSize ? { cellSize: opts.cellSize } : {}),
      });
    } catch (e) {
      if (e instanceof TypeError) throw usage(e.message);
      throw e;
    }
  }
  if (opts.json) {
    io.out(JSON.stringify(summary, null, 2) + '\n');
  } else {
    const g = m.grid;
    io.out(
      `${kind} masks, batch ${o.batchSize}, grid ${g.duration > 1 ? `${g.duration} x ` : ''}${g.height} x ${g.width} patches\n`,
    );
    io.out(`  context: ${m.context.map((t) => shapeText(t.shape)).join(', ')}\n`);
    io.out(`  targets: ${m.targets.map((t) => shapeText(t.shape)).join(', ')}\n`);
    if (opts.png) io.out(`  wrote ${opts.png}\n`);
  }
  for (const t of [...m.context, ...m.targets]) t.dispose();
  return summary;
}
