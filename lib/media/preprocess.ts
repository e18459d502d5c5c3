/**
 * Preprocessing presets and options: how decoded pixels become the float32 tensor a model takes,
 * following the Python pipeline each preset names (docs/media.md says which code and how it was
 * checked). The resize, crop and normalisation run in C++ on libtorch's own interpolation kernels
 * (native/media/preprocess.cc); this module validates options and computes, per image, the sizes
 * and the crop window with the Python code's integer rules, and the normalisation table with its
 * float32 operations.
 * (Internal to the package; the types are public through `jepa.image`.)
 * @module
 */
import { invalidArgument } from '../core/errors';
import { checkOptions, show } from '../core/validate';

/** ImageNet channel means (torchvision's and the JEPA pipelines' default). */
export const IMAGENET_MEAN: readonly [number, number, number] = Object.freeze([0.485, 0.456, 0.406]) as readonly [
  number,
  number,
  number,
];
/** ImageNet channel standard deviations. */
export const IMAGENET_STD: readonly [number, number, number] = Object.freeze([0.229, 0.224, 0.225]) as readonly [
  number,
  number,
  number,
];
/** OpenAI CLIP's channel means (transformers' `OPENAI_CLIP_MEAN`). */
export const CLIP_MEAN: readonly [number, number, number] = Object.freeze([
  0.48145466, 0.4578275, 0.40821073,
]) as readonly [number, number, number];
/** OpenAI CLIP's channel standard deviations (transformers' `OPENAI_CLIP_STD`). */
export const CLIP_STD: readonly [number, number, number] = Object.freeze([
  0.26862954, 0.26130258, 0.27577711,
]) as readonly [number, number, number];

/** The Python pipelines a preset reproduces (docs/media.md). */
export type PresetName = 'vjepa2' | 'ijepa' | 'imagenet-eval' | 'clip';
export const PRESETS: readonly PresetName[] = Object.freeze(['vjepa2', 'ijepa', 'imagenet-eval', 'clip']);

/** Resampling kernels (torchvision's `InterpolationMode` of the same name). */
export type Interpolation = 'nearest' | 'nearest-exact' | 'bilinear' | 'bicubic';
const INTERPOLATIONS: readonly Interpolation[] = ['nearest', 'nearest-exact', 'bilinear', 'bicubic'];

/**
 * Whose dtype, integer and float32 rules the resize, crop and normalisation follow:
 * - `'torchvision'`: the v1 transforms on a uint8 tensor: `Resize` through float32 (rounded back
 *   to uint8), `CenterCrop` (anchor `round((H - h) / 2)`), `ToTensor()`'s `x / 255`, `Normalize`;
 * - `'torchvision-v2'`: `transforms.v2`: `Resize` in uint8 where the CPU has the kernel, the same
 *   crop, `ToDtype(torch.float32, scale=True)` (`x * (1 / 255)`), `Normalize`;
 * - `'transformers'`: the fast image and video processors: the v2 resize, crop anchor
 *   `int((H - h) / 2)`, rescale fused into normalisation, `(x - 255 * mean) / (255 * std)`.
 */
export type Convention = 'torchvision' | 'torchvision-v2' | 'transformers';
const CONVENTIONS: readonly Convention[] = ['torchvision', 'torchvision-v2', 'transformers'];

/** How the picture is brought to `size` when no preset, `resize` or `centerCrop` is given. */
export type ResizeFit = 'cover' | 'fill';

/** The resize step: `shortSide` (torchvision's `Resize(int)`) or a fixed `size`. */
export interface ResizeOptions {
  /** Resize so that the shorter side is this long, keeping the aspect ratio (long side truncated, as torchvision). */
  shortSide?: number;
  /** Resize to exactly this size: one number for a square, or `[height, width]`. */
  size?: number | readonly [number, number];
  /** Default `'bilinear'`. */
  interpolation?: Interpolation;
  /** Antialiasing when downscaling (bilinear and bicubic only). Default true, as torchvision's default. */
  antialias?: boolean;
}

/** Preprocessing options of `jepa.image.load`, `jepa.video.frames` and `jepa.features.extract`. */
export interface PreprocessOptions {
  /**
   * A Python pipeline to reproduce: `'vjepa2'` (transformers' `VJEPA2VideoProcessor`),
   * `'ijepa'` and `'imagenet-eval'` (torchvision `Resize(size * 256 / 224)` + `CenterCrop(size)` +
   * `ToDtype(float32, scale=True)` + `Normalize` on the uint8 tensor, transforms.v2),
   * `'clip'` (transformers' `CLIPImageProcessor`). The other options override the preset's values.
   */
  preset?: PresetName;
  /** Output size: one number for a square, or `[height, width]`. Default 224 (256 for `'vjepa2'`, as its processor). */
  size?: number | readonly [number, number];
  /** The resize step, or false for none. */
  resize?: ResizeOptions | false;
  /** Centre crop to this size (padding with zeros where the image is smaller, as torchvision), or false for none. */
  centerCrop?: number | readonly [number, number] | false;
  /** Per-channel mean subtracted after scaling to [0, 1]. Default {@link IMAGENET_MEAN} (the preset's). */
  mean?: readonly [number, number, number];
  /** Per-channel standard deviation divided by. Default {@link IMAGENET_STD} (the preset's). */
  std?: readonly [number, number, number];
  /** Whose float32 and rounding rules the crop and normalisation follow. Default `'torchvision'` (the preset's). */
  convention?: Convention;
  /**
   * Apply the EXIF orientation (as `PIL.ImageOps.exif_transpose`, which transformers' `load_image`
   * calls). Default true; false for `'ijepa'` and `'imagenet-eval'`, whose loader
   * (torchvision's `ImageFolder`: `Image.open(f).convert('RGB')`) ignores it.
   */
  autoOrient?: boolean;
  /**
   * Without a preset, `resize` or `centerCrop`: `'cover'` (default) resizes so that the picture
   * covers `size` and crops the centre; `'fill'` stretches to `size`.
   */
  fit?: ResizeFit;
}

/** The option keys of {@link PreprocessOptions}. */
export const PREPROCESS_KEYS = [
  'preset',
  'size',
  'resize',
  'centerCrop',
  'mean',
  'std',
  'convention',
  'autoOrient',
  'fit',
] as const;

type Resize =
  | { kind: 'shortSide'; side: number }
  | { kind: 'size'; height: number; width: number }
  | { kind: 'cover'; height: number; width: number };

/** Validated options (internal to the package). */
export interface ResolvedPreprocess {
  preset: PresetName | null;
  /** Output [height, width]. */
  height: number;
  width: number;
  resize: Resize | null;
  interpolation: Interpolation;
  antialias: boolean;
  crop: [number, number] | null;
  convention: Convention;
  mean: [number, number, number];
  std: [number, number, number];
  autoOrient: boolean;
  /** 3 x 256 float32 values: the normalised value of each byte per channel. */
  lut: Float32Array;
}

/** What the native side does to one image (internal): see native/media/preprocess.h `Spec`. */
export interface Plan {
  resize: [number, number] | null;
  interpolation: Interpolation;
  antialias: boolean;
  /** The v1 transforms' resize through float32 (convention 'torchvision'), else transforms.v2's dtype rule. */
  floatResize: boolean;
  top: number;
  left: number;
  height: number;
  width: number;
}

/** The values of one preset for a given output size. */
interface PresetValues {
  size: number;
  /** Short side of the resize: `int(crop height * ratio[0] / ratio[1])`, the Python expression. */
  ratio: readonly [number, number];
  interpolation: Interpolation;
  convention: Convention;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  autoOrient: boolean;
}

/** The one table of presets (docs/media.md explains each line). */
const PRESET_VALUES: Readonly<Record<PresetName, PresetValues>> = Object.freeze({
  // transformers' VJEPA2VideoProcessor: shortest_edge int(crop_size * 256 / 224), bilinear,
  // antialias, centre crop, fused rescale + normalise; crop_size defaults to 256.
  vjepa2: {
    size: 256,
    ratio: [256, 224],
    interpolation: 'bilinear',
    convention: 'transformers',
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
    autoOrient: true,
  },
  // torchvision's ImageNet evaluation: Resize(256), CenterCrop(224), to float, Normalize, with
  // transforms.v2 on the uint8 tensor (whose uint8 resize is within one level of PIL's on 99.8 %
  // of values; convention 'torchvision' gives the v1 transforms' float resize instead).
  ijepa: {
    size: 224,
    ratio: [256, 224],
    interpolation: 'bilinear',
    convention: 'torchvision-v2',
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
    autoOrient: false,
  },
  'imagenet-eval': {
    size: 224,
    ratio: [256, 224],
    interpolation: 'bilinear',
    convention: 'torchvision-v2',
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
    autoOrient: false,
  },
  // transformers' CLIPImageProcessor: shortest_edge 224, bicubic, antialias, crop 224, fused.
  clip: {
    size: 224,
    ratio: [1, 1],
    interpolation: 'bicubic',
    convention: 'transformers',
    mean: CLIP_MEAN,
    std: CLIP_STD,
    autoOrient: true,
  },
});

/** The preset values (for docs and tests). */
export function presetValues(name: PresetName): Readonly<PresetValues> {
  return PRESET_VALUES[name];
}

const MAX_SIDE = 16384;

function triple(
  value: unknown,
  name: string,
  fallback: readonly number[],
  positive: boolean,
): [number, number, number] {
  if (value === undefined) return [fallback[0], fallback[1], fallback[2]];
  if (
    !Array.isArray(value) ||
    value.length !== 3 ||
    !value.every((v) => typeof v === 'number' && Number.isFinite(v) && (!positive || v > 0))
  ) {
    throw invalidArgument(
      `expected \`${name}\` to be 3 ${positive ? 'positive' : 'finite'} numbers (one per RGB channel), got ${show(value)}`,
    );
  }
  return [value[0], value[1], value[2]];
}

/** Validates a size: a positive integer or [height, width]. (Internal to the package.) */
export function checkSize(value: unknown, name: string, fallback = 224): [number, number] {
  const ok = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= MAX_SIDE;
  if (value === undefined) return [fallback, fallback];
  if (ok(value)) return [value as number, value as number];
  if (Array.isArray(value) && value.length === 2 && value.every(ok)) return [value[0], value[1]];
  throw invalidArgument(
    `expected \`${name}\` to be a positive integer up to ${MAX_SIDE} or [height, width] of such, got ${show(value)}`,
  );
}

function oneOf<T extends string>(value: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidArgument(
      `expected \`${name}\` to be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${show(value)}`,
    );
  }
  return value as T;
}

function bool(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgument(`expected \`${name}\` to be true or false, got ${show(value)}`);
  return value;
}

/**
 * The table of `normalise(x)` for x = 0..255 per channel, with the reference's float32
 * operations (`Math.fround` of one double operation on float32 operands is the correctly rounded
 * float32 result, which is what ATen's float kernels compute):
 * - torchvision: `x.float().div(255)`, then `sub(mean).div(std)`;
 * - torchvision-v2: `x.float().mul(1 / 255)` (the scalar rounded to float32), then the same;
 * - transformers: `(x - mean') / std'` with `mean' = float32(mean) * 255`, `std' = float32(std) * 255`.
 */
export function normalisationTable(
  mean: readonly number[],
  std: readonly number[],
  convention: Convention,
): Float32Array {
  const f = Math.fround;
  const lut = new Float32Array(768);
  const inv255 = f(1 / 255);
  for (let c = 0; c < 3; c++) {
    let m = f(mean[c]);
    let s = f(std[c]);
    if (convention === 'transformers') {
      m = f(m * 255);
      s = f(s * 255);
    }
    for (let x = 0; x < 256; x++) {
      const v = convention === 'transformers' ? x : convention === 'torchvision-v2' ? f(x * inv255) : f(x / 255);
      lut[c * 256 + x] = f(f(v - m) / s);
    }
  }
  return lut;
}

function resolveResize(
  value: unknown,
  name: string,
): { resize: Resize | null; interpolation?: Interpolation; antialias?: boolean } {
  if (value === false) return { resize: null };
  const o = checkOptions(value, name, ['shortSide', 'size', 'interpolation', 'antialias']);
  const hasShort = o.shortSide !== undefined;
  const hasSize = o.size !== undefined;
  if (hasShort === hasSize) {
    throw invalidArgument(
      `expected \`${name}\` to have exactly one of shortSide and size, got ${show(Object.keys(o))}`,
    );
  }
  let resize: Resize;
  if (hasShort) {
    const s = o.shortSide;
    if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 1 || s > MAX_SIDE) {
      throw invalidArgument(
        `expected \`${name}.shortSide\` to be a positive integer up to ${MAX_SIDE}, got ${show(s)}`,
      );
    }
    resize = { kind: 'shortSide', side: s };
  } else {
    const [height, width] = checkSize(o.size, `${name}.size`);
    resize = { kind: 'size', height, width };
  }
  return {
    resize,
    interpolation:
      o.interpolation === undefined
        ? undefined
        : oneOf(o.interpolation, `${name}.interpolation`, INTERPOLATIONS, 'bilinear'),
    antialias: o.antialias === undefined ? undefined : bool(o.antialias, `${name}.antialias`, true),
  };
}

/**
 * Validates preprocessing options. `extra` lists the other keys the caller accepts (checked there);
 * `fallbackSize` is the output size when neither `size` nor a crop says it (a model's input size).
 */
export function resolvePreprocess(
  options: unknown,
  name = 'options',
  extra: readonly string[] = [],
  fallbackSize?: [number, number],
): ResolvedPreprocess {
  const o = checkOptions(options, name, [...PREPROCESS_KEYS, ...extra]);
  const preset = o.preset === undefined ? null : oneOf(o.preset, `${name}.preset`, PRESETS, 'vjepa2');
  const p = preset ? PRESET_VALUES[preset] : null;
  const explicit = o.resize !== undefined || o.centerCrop !== undefined;
  if (o.fit !== undefined && (preset || explicit)) {
    throw invalidArgument(
      `\`${name}.fit\` applies only without preset, resize and centerCrop (they say how to resize)`,
    );
  }
  const fit = oneOf(o.fit, `${name}.fit`, ['cover', 'fill'] as const, 'cover');
  const defaultSize = fallbackSize ?? [p?.size ?? 224, p?.size ?? 224];
  const sizeGiven = o.size !== undefined;
  let [height, width] = sizeGiven ? checkSize(o.size, `${name}.size`) : defaultSize;

  // The resize and the crop: the preset's, then the explicit options over them.
  let resize: Resize | null;
  let crop: [number, number] | null;
  let interpolation: Interpolation = p?.interpolation ?? 'bilinear';
  let antialias = true;
  if (p) {
    resize = { kind: 'shortSide', side: Math.trunc((height * p.ratio[0]) / p.ratio[1]) };
    crop = [height, width];
  } else if (!explicit) {
    resize = fit === 'fill' ? { kind: 'size', height, width } : { kind: 'cover', height, width };
    crop = fit === 'fill' ? null : [height, width];
  } else {
    resize = null;
    crop = null;
  }
  if (o.resize !== undefined) {
    const r = resolveResize(o.resize, `${name}.resize`);
    resize = r.resize;
    interpolation = r.interpolation ?? interpolation;
    antialias = r.antialias ?? antialias;
  }
  if (o.centerCrop !== undefined) {
    crop = o.centerCrop === false ? null : checkSize(o.centerCrop, `${name}.centerCrop`);
  }
  // The output size: the crop's, else a fixed resize's; it may not depend on the image.
  if (crop) {
    if (sizeGiven && !p && (crop[0] !== height || crop[1] !== width)) {
      throw invalidArgument(
        `\`${name}.size\` ${show([height, width])} differs from \`${name}.centerCrop\` ${show(crop)}: give one of them`,
      );
    }
    [height, width] = crop;
  } else if (resize && resize.kind !== 'shortSide') {
    [height, width] = [resize.height, resize.width];
  } else if (explicit || !p) {
    throw invalidArgument(
      `\`${name}\` gives no fixed output size: add \`centerCrop\` or a \`resize.size\` (a short-side resize alone depends on each image)`,
    );
  }
  const convention = oneOf(o.convention, `${name}.convention`, CONVENTIONS, p?.convention ?? 'torchvision');
  const mean = triple(o.mean, `${name}.mean`, p?.mean ?? IMAGENET_MEAN, false);
  const std = triple(o.std, `${name}.std`, p?.std ?? IMAGENET_STD, true);
  const autoOrient = bool(o.autoOrient, `${name}.autoOrient`, p?.autoOrient ?? true);
  return {
    preset,
    height,
    width,
    resize,
    interpolation,
    antialias,
    crop,
    convention,
    mean,
    std,
    autoOrient,
    lut: normalisationTable(mean, std, convention),
  };
}

/** Python's `round(x)` for x = n / 2 (halves to even). */
function roundHalfEven(twice: number): number {
  const q = Math.floor(twice / 2);
  if (twice % 2 === 0) return q;
  return q % 2 === 0 ? q : q + 1;
}

/**
 * The output size of a resize of an `h` x `w` image: torchvision's
 * `_compute_resized_output_size` (and transformers' `get_resize_output_image_size`, the same
 * rule): short side `s`, long side `int(s * long / short)`.
 */
export function resizedSize(h: number, w: number, resize: Resize): [number, number] {
  switch (resize.kind) {
    case 'size':
      return [resize.height, resize.width];
    case 'shortSide': {
      const s = resize.side;
      if (w <= h) return [Math.trunc((s * h) / w), s];
      return [s, Math.trunc((s * w) / h)];
    }
    case 'cover': {
      // Ours (no Python counterpart): the smallest scale at which the image covers the size.
      const scale = Math.max(resize.height / h, resize.width / w);
      return [Math.max(resize.height, Math.round(h * scale)), Math.max(resize.width, Math.round(w * scale))];
    }
  }
}

/** The per-image plan: the resize size and the crop window, with the convention's integer rules. */
export function planFor(h: number, w: number, r: ResolvedPreprocess): Plan {
  let [rh, rw] = r.resize ? resizedSize(h, w, r.resize) : [h, w];
  const resize: [number, number] | null = r.resize && (rh !== h || rw !== w) ? [rh, rw] : null;
  if (!resize) [rh, rw] = [h, w];
  const how = {
    resize,
    interpolation: r.interpolation,
    antialias: r.antialias,
    floatResize: r.convention === 'torchvision',
  };
  if (!r.crop) return { ...how, top: 0, left: 0, height: rh, width: rw };
  const [ch, cw] = r.crop;
  // Where the crop is larger, both libraries pad by floor(diff / 2) before and the rest after,
  // then the anchor in the padded image is 0.
  const anchor = (size: number, crop: number): number => {
    if (crop > size) return -Math.floor((crop - size) / 2);
    return r.convention === 'transformers' ? Math.floor((size - crop) / 2) : roundHalfEven(size - crop);
  };
  return { ...how, top: anchor(rh, ch), left: anchor(rw, cw), height: ch, width: cw };
}
