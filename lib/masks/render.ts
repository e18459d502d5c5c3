/**
 * `jepa.masks.render`: a PNG picture of a batch of masks, one row per sample.
 * @module
 */
import * as fs from 'node:fs';
import { PNG } from 'pngjs';
import { invalidArgument } from '../core/errors';
import type { Masks } from './samplers';
import type { Tensor } from '../tensor/tensor';
import { checkOptions, isPlainObject, show } from '../core/validate';

/** Options of {@link render}. */
export interface RenderOptions {
  /** Also write the PNG to this file. */
  path?: string;
  /** How many samples (rows) to draw, from the first. Default: the batch, at most 8. */
  samples?: number;
  /** Pixels per patch cell (the last pixel row and column of a cell are the grid line). Default 8. */
  cellSize?: number;
}

/** An RGB colour, 0-255 per channel. */
export type Rgb = readonly [number, number, number];

/**
 * The colours of {@link render}: background (between panels), grid lines, patches that are
 * neither context nor target, context patches, target patches (target block k takes
 * `targets[k % targets.length]`; 3D and random-tube targets take the first), and patches that
 * are both context and target (only where overlap is allowed).
 */
export const renderColors = Object.freeze({
  background: [255, 255, 255] as Rgb,
  grid: [40, 40, 40] as Rgb,
  neither: [90, 90, 90] as Rgb,
  context: [79, 143, 217] as Rgb,
  targets: Object.freeze([
    [242, 142, 43],
    [225, 87, 89],
    [89, 161, 79],
    [176, 122, 161],
    [237, 201, 72],
    [118, 183, 178],
    [255, 157, 167],
    [156, 117, 95],
  ] as Rgb[]),
  both: [255, 255, 255] as Rgb,
});

const PAD = 4; // around the picture, between panels and rows
const GROUP_GAP = 12; // between the panels of two 3D configs

function rows(t: Tensor): { data: BigInt64Array; batch: number; k: number; dispose: () => void } {
  const shape = t.shape;
  if (shape.length !== 2 || t.dtype !== 'int64') {
    throw invalidArgument(`expected mask tensors to be int64 of shape [B, K], got ${t.dtype} ${show(shape)}`);
  }
  const cpu = t.device === 'cpu' && t.isContiguous ? t : t.to('cpu').contiguous();
  return {
    data: cpu.data<'int64'>(),
    batch: shape[0],
    k: shape[1],
    dispose: () => {
      if (cpu !== t) cpu.dispose();
    },
  };
}

/**
 * Draws `masks` (the result of {@link multiblock}, {@link multiblock3d} or {@link randomTube})
 * as a PNG: one row per sample; for images one panel, for video one panel per time step (and one
 * group of panels per 3D config). Returns the PNG bytes and writes them to `options.path` if
 * given.
 */
export function render(masks: Masks, options?: RenderOptions): Buffer {
  const { cell, samples, batch, path, groups } = renderArgs(masks, options);
  const { duration, height, width } = masks.grid;
  const panelW = width * cell;
  const panelH = height * cell;
  const groupW = duration * panelW + (duration - 1) * PAD;
  const canvas = new Canvas(
    2 * PAD + groups.length * groupW + (groups.length - 1) * GROUP_GAP,
    2 * PAD + samples * panelH + (samples - 1) * PAD,
  );
  canvas.fill(0, 0, canvas.png.width, canvas.png.height, renderColors.background);
  groups.forEach((g, gi) => {
    const ctx = g.context.map(rows);
    const tgt = g.targets.map(rows);
    try {
      for (const r of [...ctx, ...tgt]) {
        if (r.batch !== batch)
          throw invalidArgument(`expected every mask tensor to have ${batch} rows, got ${r.batch}`);
      }
      const gx = PAD + gi * (groupW + GROUP_GAP);
      for (let b = 0; b < samples; b++) {
        const state = cellStates(ctx, tgt, b, masks.grid);
        const y0 = PAD + b * (panelH + PAD);
        for (let t = 0; t < duration; t++) drawPanel(canvas, state, t, gx + t * (panelW + PAD), y0, masks.grid, cell);
      }
    } finally {
      for (const r of [...ctx, ...tgt]) r.dispose();
    }
  });
  const buf = PNG.sync.write(canvas.png);
  if (path !== undefined) fs.writeFileSync(path, buf);
  return buf;
}

/** The checked arguments of {@link render}, and the groups of (context, targets) drawn together. */
function renderArgs(masks: Masks, options?: RenderOptions) {
  if (!isPlainObject(masks) || !Array.isArray(masks.context) || !Array.isArray(masks.targets) || !masks.grid) {
    throw invalidArgument(`expected \`masks\` to be the result of a jepa.masks sampler, got ${show(masks)}`);
  }
  const o = checkOptions(options, 'options', ['path', 'samples', 'cellSize']);
  const cell = o.cellSize ?? 8;
  if (typeof cell !== 'number' || !Number.isSafeInteger(cell) || cell < 2 || cell > 64) {
    throw invalidArgument(`expected \`options.cellSize\` to be an integer from 2 to 64, got ${show(cell)}`);
  }
  if (o.path !== undefined && typeof o.path !== 'string') {
    throw invalidArgument(`expected \`options.path\` to be a string, got ${show(o.path)}`);
  }
  // Groups of (context tensors, target tensors) drawn on the same panels.
  const groups: { context: Tensor[]; targets: Tensor[] }[] =
    masks.kind === 'multiblock3d'
      ? masks.context.map((c, i) => ({ context: [c], targets: masks.targets[i] ? [masks.targets[i]] : [] }))
      : [{ context: masks.context, targets: masks.targets }];
  const first = masks.context[0] ?? masks.targets[0];
  const batch = first ? first.shape[0] : 0;
  const samples = o.samples ?? Math.min(batch, 8);
  if (typeof samples !== 'number' || !Number.isSafeInteger(samples) || samples < 1 || samples > batch) {
    throw invalidArgument(
      `expected \`options.samples\` to be an integer from 1 to the batch size ${batch}, got ${show(samples)}`,
    );
  }
  return { cell, samples, batch, path: o.path as string | undefined, groups };
}

/** An RGBA picture with a rectangle fill. */
class Canvas {
  readonly png: PNG;
  constructor(width: number, height: number) {
    this.png = new PNG({ width, height });
  }
  fill(x0: number, y0: number, w: number, h: number, c: Rgb): void {
    const px = this.png.data;
    for (let y = y0; y < y0 + h; y++) {
      let p = (y * this.png.width + x0) * 4;
      for (let x = 0; x < w; x++, p += 4) {
        px[p] = c[0];
        px[p + 1] = c[1];
        px[p + 2] = c[2];
        px[p + 3] = 255;
      }
    }
  }
}

/** Per cell of sample `b`: bit 0 context; target id + 1 in the upper bits (last target wins). */
function cellStates(
  ctx: ReturnType<typeof rows>[],
  tgt: ReturnType<typeof rows>[],
  b: number,
  grid: Masks['grid'],
): Int32Array {
  const { duration, height, width } = grid;
  const n = duration * height * width;
  const state = new Int32Array(n);
  const mark = (r: ReturnType<typeof rows>, value: (prev: number) => number): void => {
    for (let j = 0; j < r.k; j++) {
      const x = Number(r.data[b * r.k + j]);
      if (x < 0 || x >= n)
        throw invalidArgument(`mask index ${x} is out of range for a ${duration}x${height}x${width} grid`);
      state[x] = value(state[x]);
    }
  };
  for (const r of ctx) mark(r, (s) => s | 1);
  tgt.forEach((r, k) => mark(r, (s) => (s & 1) | ((k + 1) << 1)));
  return state;
}

/** The panel of time step `t`: the grid, then every cell in its colour. */
function drawPanel(
  canvas: Canvas,
  state: Int32Array,
  t: number,
  x0: number,
  y0: number,
  grid: Masks['grid'],
  cell: number,
): void {
  const { height, width } = grid;
  canvas.fill(x0, y0, width * cell, height * cell, renderColors.grid);
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      const s = state[(t * height + i) * width + j];
      const target = s >> 1;
      const c =
        target && s & 1
          ? renderColors.both
          : target
            ? renderColors.targets[(target - 1) % renderColors.targets.length]
            : s & 1
              ? renderColors.context
              : renderColors.neither;
      canvas.fill(x0 + j * cell, y0 + i * cell, cell - 1, cell - 1, c);
    }
  }
}
