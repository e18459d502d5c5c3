/**
 * JEPA-level APIs over TorchScript modules: I-JEPA / V-JEPA ({@link JEPA}), H-JEPA
 * ({@link HJEPA}), the motion feature autoencoder ({@link MotionAutoencoder}) and the VL-JEPA
 * predictor ({@link VisionLanguagePredictor}). Each checks its inputs against what the module
 * was built for (read from its parameters) and says what it expected; the calls run on worker
 * threads. Each `load` takes a model folder written by `jepa-native export` (its jepa.json says
 * which files to load) or the files themselves (see docs/models.md).
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Dtype } from '../core/dtype';
import { ErrorCode, invalidArgument, JepaError } from '../core/errors';
import { update as emaUpdate, updateSync as emaUpdateSync } from '../train/ema';
import { expectKind, modelFolder, singleModuleFile, type ModelInfo } from './folder';
import { loadModule, loadModuleSync, Module, type LoadModuleOptions } from './module';
import { checkIndexMasks } from '../masks/samplers';
import { checkTensor, Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/memory';
import { cosine_similarity } from '../tensor/ops.generated';
import { checkOptions, show } from '../core/validate';

// ---------------------------------------------------------------------------------------------
// Checks shared by the model classes

/** `pattern` entries: a number (that size), null (any size). */
/** @internal */
export function checkShapeLike(t: Tensor, name: string, pattern: (number | null)[], what: string): void {
  const shape = t.shape;
  const ok = shape.length === pattern.length && pattern.every((p, i) => p === null || p === shape[i]);
  if (!ok) {
    const want = `[${pattern.map((p, i) => (p === null ? ('BTNHWCDLK'[i] ?? '*') : String(p))).join(', ')}]`;
    throw new JepaError(
      ErrorCode.SHAPE_MISMATCH,
      `expected \`${name}\` to have shape ${want} (${what}), got ${show(shape)}`,
    );
  }
}

/** @internal */
export function checkFloat(t: Tensor, name: string, module: Module): void {
  const want = module.dtype;
  if (want !== null && t.dtype !== want) {
    throw invalidArgument(
      `expected \`${name}\` to have dtype ${want} (the model's), got ${t.dtype}: convert it with tensor.to('${want}')`,
    );
  }
}

/** @internal */
export function checkDevice(t: Tensor, name: string, module: Module): void {
  if (t.device !== module.device) {
    throw new JepaError(
      ErrorCode.DEVICE_MISMATCH,
      `expected \`${name}\` to be on ${module.device} (the model's device), got ${t.device}: move it with tensor.to('${module.device}')`,
    );
  }
}

/** @internal */
export function param(module: Module, name: string, what: string): Tensor {
  const t = module.namedParameters().get(name);
  if (!t) {
    throw new JepaError(
      ErrorCode.INVALID_MODULE,
      `the ${what} has no parameter \`${name}\`: it is not a model exported by \`jepa-native export\``,
    );
  }
  return t;
}

/** @internal */
export function checkMethods(module: Module, methods: string[], what: string): void {
  for (const m of methods) {
    if (!module.hasMethod(m)) {
      throw new JepaError(
        ErrorCode.INVALID_MODULE,
        `the ${what} has no method \`${m}\` (its methods: ${module.methods().join(', ')}): it is not a model exported by \`jepa-native export\``,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// I-JEPA / V-JEPA

/** What an encoder takes: image [B, C, H, W] or video [B, C, T, H, W], and its token count. */
export interface EncoderSpec {
  video: boolean;
  channels: number;
  patch: number;
  tubelet: number;
  numPatches: number;
  embedDim: number;
  /** Sizes the input must have after the batch dimension (the square grid of the position embedding). */
  input: number[];
}

function encoderSpec(module: Module, what: string): EncoderSpec {
  checkMethods(module, ['forward', 'input_shape'], what);
  const w = param(module, 'patch_embed.proj.weight', what);
  const input = module.runSync('input_shape') as number[];
  const video = w.ndim === 5;
  const patch = w.shape[w.ndim - 1];
  const tubelet = video ? w.shape[2] : 1;
  // Tokens of the input the encoder takes (RoPE encoders have no position table to count).
  const [h, wd] = input.slice(-2);
  const frames = video ? input[input.length - 3] : 1;
  return {
    video,
    channels: w.shape[1],
    patch,
    tubelet,
    numPatches: Math.floor(frames / tubelet) * Math.floor(h / patch) * Math.floor(wd / patch),
    embedDim: w.shape[0],
    input,
  };
}

function describeInput(spec: EncoderSpec): string {
  return spec.video
    ? `a video batch [B, ${spec.input.join(', ')}]: ${spec.numPatches} tubelets of ${spec.tubelet}x${spec.patch}x${spec.patch}`
    : `an image batch [B, ${spec.input.join(', ')}]: ${spec.numPatches} patches of ${spec.patch}x${spec.patch}`;
}

/** File names of a JEPA folder. */
export const JEPA_FILES = {
  contextEncoder: 'context_encoder.pt',
  targetEncoder: 'target_encoder.pt',
  predictor: 'predictor.pt',
} as const;

/** The TorchScript files of a {@link JEPA}. */
export interface JEPAPaths {
  contextEncoder: string;
  targetEncoder: string;
  /** Absent for models exported without one (Hugging Face's IJepaModel holds the encoder alone). */
  predictor?: string;
}

function jepaPaths(source: unknown): JEPAPaths & { info: ModelInfo | null } {
  const info = modelFolder(source);
  if (info) {
    const dir = source as string;
    expectKind(dir, info, ['jepa'], 'jepa.JEPA.load');
    const f = info.files;
    return {
      contextEncoder: path.join(dir, f.contextEncoder),
      targetEncoder: path.join(dir, f.targetEncoder),
      predictor: f.predictor === undefined ? undefined : path.join(dir, f.predictor),
      info,
    };
  }
  if (typeof source === 'string') {
    if (!fs.existsSync(source)) {
      throw new JepaError(
        ErrorCode.FILE_NOT_FOUND,
        `no such folder: ${source} (expected a folder with ${Object.values(JEPA_FILES).join(', ')})`,
      );
    }
    if (!fs.statSync(source).isDirectory()) {
      throw invalidArgument(
        `expected \`source\` to be a folder holding ${Object.values(JEPA_FILES).join(', ')} or {contextEncoder, targetEncoder, predictor}, got the file ${source}`,
      );
    }
    const paths = {
      contextEncoder: path.join(source, JEPA_FILES.contextEncoder),
      targetEncoder: path.join(source, JEPA_FILES.targetEncoder),
      predictor: path.join(source, JEPA_FILES.predictor),
    };
    for (const p of Object.values(paths)) {
      if (!fs.existsSync(p)) {
        throw new JepaError(
          ErrorCode.FILE_NOT_FOUND,
          `no such file: ${p} (a JEPA folder holds jepa.json, written by \`jepa-native export\`, or ${Object.values(JEPA_FILES).join(', ')})`,
        );
      }
    }
    return { ...paths, info: null };
  }
  if (typeof source === 'object' && source !== null && !Array.isArray(source)) {
    const o = source as Record<string, unknown>;
    for (const k of ['contextEncoder', 'targetEncoder', 'predictor']) {
      if (typeof o[k] !== 'string' && !(k === 'predictor' && o[k] === undefined)) {
        throw invalidArgument(`expected \`source.${k}\` to be a file path, got ${show(o[k])}`);
      }
    }
    return {
      contextEncoder: o.contextEncoder as string,
      targetEncoder: o.targetEncoder as string,
      predictor: o.predictor as string | undefined,
      info: null,
    };
  }
  throw invalidArgument(
    `expected \`source\` to be a folder or {contextEncoder, targetEncoder, predictor}, got ${show(source)}`,
  );
}

/** Options of {@link JEPA.encode}. */
export interface EncodeOptions {
  /** Keep-index masks ([B, K] int64 or [K] shared by the batch); all tokens without. */
  masks?: Tensor | Tensor[];
  /** Which encoder: `'target'` (default: the EMA encoder, the one for downstream features) or `'context'`. */
  encoder?: 'context' | 'target';
}

/** Options of {@link JEPA.predict}. */
export interface PredictOptions {
  /**
   * V-JEPA / V-JEPA 2 predictors: which mask token predicts (`mask_index`, taken modulo the number
   * of tokens; V-JEPA trains token `i` on mask config `i`). Default: the predictor's own (1).
   */
  maskIndex?: number;
}

/**
 * An I-JEPA (images) or V-JEPA (videos) model: context encoder, target encoder and predictor,
 * each a TorchScript module with the signatures of facebookresearch/ijepa:
 * `encoder.forward(x, masks=None)` and `predictor.forward(x, masks_x, masks)`.
 */
export class JEPA {
  /** Which input the encoders take, read from their patch embedding. */
  readonly spec: Readonly<EncoderSpec>;

  readonly #predictor: Module | null;
  /** The folder's jepa.json (source, architecture, input, preprocessing, ...); null when loaded from files. */
  readonly info: ModelInfo | null;

  private constructor(
    readonly contextEncoder: Module,
    readonly targetEncoder: Module,
    predictor: Module | null,
    info: ModelInfo | null,
  ) {
    this.spec = encoderSpec(contextEncoder, 'context encoder');
    encoderSpec(targetEncoder, 'target encoder');
    if (predictor) param(predictor, 'predictor_embed.weight', 'predictor');
    this.#predictor = predictor;
    this.info = info;
  }

  /** The predictor; `JEPA_INVALID_MODULE` for a model exported without one (see {@link hasPredictor}). */
  get predictor(): Module {
    if (!this.#predictor) {
      throw new JepaError(
        ErrorCode.INVALID_MODULE,
        `this model has no predictor${this.info ? ` (exported from ${this.info.source}, which holds the encoder alone)` : ''}: it encodes, but cannot predict`,
      );
    }
    return this.#predictor;
  }

  /** Whether the model has a predictor. */
  get hasPredictor(): boolean {
    return this.#predictor !== null;
  }

  /**
   * Loads a model folder written by `jepa-native export` (its jepa.json names the files), a folder
   * holding context_encoder.pt, target_encoder.pt and predictor.pt, or the files' paths. Files
   * named twice (one encoder serving as both) are loaded once.
   */
  static async load(source: string | JEPAPaths, options?: LoadModuleOptions): Promise<JEPA> {
    const p = jepaPaths(source);
    const files = [...new Set([p.contextEncoder, p.targetEncoder, ...(p.predictor ? [p.predictor] : [])])];
    const loaded = new Map(files.map((f, i) => [f, i]));
    const modules = await Promise.all(files.map((f) => loadModule(f, options)));
    const get = (f: string) => modules[loaded.get(f)!];
    return new JEPA(get(p.contextEncoder), get(p.targetEncoder), p.predictor ? get(p.predictor) : null, p.info);
  }

  /** Like {@link load} on the calling thread. */
  static loadSync(source: string | JEPAPaths, options?: LoadModuleOptions): JEPA {
    const p = jepaPaths(source);
    const cache = new Map<string, Module>();
    const get = (f: string) => {
      if (!cache.has(f)) cache.set(f, loadModuleSync(f, options));
      return cache.get(f)!;
    };
    return new JEPA(get(p.contextEncoder), get(p.targetEncoder), p.predictor ? get(p.predictor) : null, p.info);
  }

  /** Number of patch tokens per input (H/p * W/p, times T/t for video). */
  get numPatches(): number {
    return this.spec.numPatches;
  }

  #checkImages(images: unknown, module: Module): Tensor {
    const t = checkTensor(images, 'images');
    checkShapeLike(t, 'images', [null, ...this.spec.input], describeInput(this.spec));
    checkFloat(t, 'images', module);
    checkDevice(t, 'images', module);
    return t;
  }

  /**
   * Encodes images (videos): [B, N, D] tokens, or with masks [len(masks) * B, K, D] (the kept
   * tokens, masks concatenated along the batch as in the official code).
   */
  async encode(images: Tensor, options: EncodeOptions = {}): Promise<Tensor> {
    const module = options.encoder === 'context' ? this.contextEncoder : this.targetEncoder;
    if (options.encoder !== undefined && options.encoder !== 'context' && options.encoder !== 'target') {
      throw invalidArgument(`expected \`options.encoder\` to be 'context' or 'target', got ${show(options.encoder)}`);
    }
    const x = this.#checkImages(images, module);
    if (options.masks === undefined) return (await module.forward(x)) as Tensor;
    const masks = checkIndexMasks(options.masks, 'options.masks', {
      batch: x.shape[0],
      numPatches: this.numPatches,
      device: module.device,
    });
    return (await module.forward(x, masks)) as Tensor;
  }

  /**
   * Predicts the target tokens from the context encoder's output: `context` is
   * [len(contextMasks) * B, K, D]; returns [len(targetMasks) * len(contextMasks) * B, Kt, D].
   * `options.maskIndex` goes to a V-JEPA / V-JEPA 2 predictor, whose forward takes a trailing
   * `mask_index` (one mask token per mask config, token `maskIndex % numMaskTokens`; without it the
   * predictor's own default, 1, as in the official code). I-JEPA predictors have one mask token and
   * no index: giving one is an error.
   */
  async predict(
    context: Tensor,
    contextMasks: Tensor | Tensor[],
    targetMasks: Tensor | Tensor[],
    options: PredictOptions = {},
  ): Promise<Tensor> {
    if (!this.hasPredictor) void this.predictor; // throws: a model without one
    const o = checkOptions(options, 'options', ['maskIndex']);
    if (o.maskIndex !== undefined) {
      if (!Number.isSafeInteger(o.maskIndex)) {
        throw invalidArgument(`expected \`options.maskIndex\` to be an integer, got ${show(o.maskIndex)}`);
      }
      const args = this.predictor.arguments('forward');
      if (args.length < 4 || args[3].name !== 'mask_index') {
        throw invalidArgument(
          "`options.maskIndex` needs a predictor whose forward takes `mask_index` (V-JEPA's, one mask token per mask config); this one takes " +
            `(${args.map((a) => a.name).join(', ')})`,
        );
      }
    }
    const c = checkTensor(context, 'context');
    const ctxMasks = checkIndexMasks(contextMasks, 'contextMasks');
    if (c.ndim !== 3 || c.shape[2] !== this.spec.embedDim || c.shape[0] % ctxMasks.length !== 0) {
      throw new JepaError(
        ErrorCode.SHAPE_MISMATCH,
        `expected \`context\` to have shape [len(contextMasks) * B, K, ${this.spec.embedDim}] (the context encoder's output), got ${show(c.shape)}`,
      );
    }
    const batch = c.shape[0] / ctxMasks.length;
    checkIndexMasks(ctxMasks, 'contextMasks', { batch, numPatches: this.numPatches, device: this.predictor.device });
    const keep = ctxMasks[0].shape[ctxMasks[0].ndim - 1];
    if (keep !== c.shape[1]) {
      throw new JepaError(
        ErrorCode.SHAPE_MISMATCH,
        `\`context\` has ${c.shape[1]} tokens per sample but \`contextMasks\` keep ${keep}`,
      );
    }
    const tgt = checkIndexMasks(targetMasks, 'targetMasks', {
      batch,
      numPatches: this.numPatches,
      device: this.predictor.device,
    });
    checkFloat(c, 'context', this.predictor);
    checkDevice(c, 'context', this.predictor);
    if (o.maskIndex !== undefined) return (await this.predictor.forward(c, ctxMasks, tgt, o.maskIndex)) as Tensor;
    return (await this.predictor.forward(c, ctxMasks, tgt)) as Tensor;
  }

  /** Releases the modules. */
  dispose(): void {
    this.contextEncoder.dispose();
    this.targetEncoder.dispose();
    this.#predictor?.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// H-JEPA

/** What {@link HJEPA.forward} returns: one entry per hierarchy level (the module's dict). */
export interface HJEPAOutput {
  /**
   * Projected predictions per level. 1-D pooling (the default): `[B, K_l, D]` over the masked
   * tokens of each sample (K_0 = the most masked patches of a sample, shorter samples padded
   * with patch 0), K_l = floor(K_0 / 2^l). 2-D pooling: `[B, cells_l, D]` over the grid.
   */
  predictions: Tensor[];
  /** Projected targets (target encoder on the full image), the same shapes. */
  targets: Tensor[];
  /** bool `[B, K_l]`: which entries hold real masked tokens (not padding, not an empty cell). */
  masks_valid: Tensor[];
}

/**
 * An H-JEPA model (seed 001, as jonwiggins/H-JEPA builds it; scripts/models/hjepa.py): a timm ViT
 * context encoder that zeroes masked patches, an EMA target encoder, a predictor over the
 * context tokens and one mask token per masked patch, and 2-4 levels that project and pool the
 * masked-token sequence (1-D, the default) or the patch grid (2-D).
 */
export class HJEPA {
  readonly numLevels: number;
  readonly numPatches: number;
  readonly gridSize: number;
  readonly imageSize: number;
  readonly channels: number;
  readonly embedDim: number;
  /** `'1d'`: levels pool the token sequence (jonwiggins/H-JEPA); `'2d'`: 2^l x 2^l grid cells. */
  readonly pooling: '1d' | '2d';

  private constructor(readonly module: Module) {
    checkMethods(module, ['forward', 'extract_features', 'num_levels', 'pooling', 'momentum_at'], 'H-JEPA module');
    this.numLevels = module.runSync('num_levels') as number;
    this.pooling = module.runSync('pooling') as '1d' | '2d';
    const w = param(module, 'context_encoder.vit.patch_embed.proj.weight', 'H-JEPA module');
    const pos = param(module, 'context_encoder.vit.pos_embed', 'H-JEPA module');
    this.numPatches = pos.shape[1] - 1;
    this.gridSize = Math.round(Math.sqrt(this.numPatches));
    this.imageSize = this.gridSize * w.shape[3];
    this.channels = w.shape[1];
    this.embedDim = w.shape[0];
  }

  /** Loads a TorchScript file, or a model folder written by `jepa-native export hjepa`. */
  static async load(source: string, options?: LoadModuleOptions): Promise<HJEPA> {
    return new HJEPA(await loadModule(singleModuleFile(source, 'hjepa', 'jepa.HJEPA.load').file, options));
  }

  static loadSync(source: string, options?: LoadModuleOptions): HJEPA {
    return new HJEPA(loadModuleSync(singleModuleFile(source, 'hjepa', 'jepa.HJEPA.load').file, options));
  }

  #checkImages(images: unknown): Tensor {
    const t = checkTensor(images, 'images');
    const s = this.imageSize;
    checkShapeLike(t, 'images', [null, this.channels, s, s], `an image batch [B, ${this.channels}, ${s}, ${s}]`);
    checkFloat(t, 'images', this.module);
    checkDevice(t, 'images', this.module);
    return t;
  }

  /**
   * Tokens of {@link extractFeatures} at `level`: floor(N / 2^level) with 1-D pooling,
   * ceil(g / 2^level)^2 with 2-D pooling.
   */
  cellsAt(level: number): number {
    if (this.pooling === '2d') return Math.ceil(this.gridSize / 2 ** level) ** 2;
    return Math.floor(this.numPatches / 2 ** level);
  }

  /** The training forward: per-level predictions and targets for a [B, N] mask (1 / true = masked). */
  async forward(images: Tensor, mask: Tensor): Promise<HJEPAOutput> {
    const x = this.#checkImages(images);
    const m = checkTensor(mask, 'mask');
    checkShapeLike(m, 'mask', [x.shape[0], this.numPatches], `one 0/1 entry per patch, 1 = masked`);
    checkDevice(m, 'mask', this.module);
    return (await this.module.forward(x, m)) as HJEPAOutput;
  }

  /**
   * Features at one hierarchy level: the level's projection of the patch tokens, pooled
   * ({@link cellsAt} tokens). `encoder` picks the target (EMA, default) or the context encoder.
   */
  async extractFeatures(images: Tensor, level = 0, options: { encoder?: 'context' | 'target' } = {}): Promise<Tensor> {
    const x = this.#checkImages(images);
    if (!Number.isInteger(level) || level < 0 || level >= this.numLevels) {
      throw invalidArgument(
        `expected \`level\` to be an integer in [0, ${this.numLevels - 1}] (this model has ${this.numLevels} levels), got ${show(level)}`,
      );
    }
    const encoder = options.encoder ?? 'target';
    if (encoder !== 'context' && encoder !== 'target') {
      throw invalidArgument(`expected \`options.encoder\` to be 'context' or 'target', got ${show(encoder)}`);
    }
    return (await this.module.run('extract_features', x, level, encoder === 'target')) as Tensor;
  }

  /**
   * The momentum jonwiggins/H-JEPA's `update_target_encoder(step)` uses: linear from the model's
   * `ema.momentum` to `ema.momentum_end` over its warm-up steps (stored in the module at export).
   */
  momentumAt(step: number): number {
    if (!Number.isSafeInteger(step) || step < 0)
      throw invalidArgument(`expected \`step\` to be a non-negative integer, got ${show(step)}`);
    // A Python float: an integral one (1.0 at the end of the schedule) comes back as a jepa.Float.
    return Number(this.module.runSync('momentum_at', step));
  }

  /**
   * `model.update_target_encoder(step)` of jonwiggins/H-JEPA: the EMA
   * `target = target * m + context * (1 - m)` of `target_encoder.*` from `context_encoder.*` with
   * `m = momentumAt(step)`, in C++ (bit for bit its `mul_(m).add_(context, alpha=1 - m)`).
   * Resolves to the momentum used. (A `jepa.Trainer` of kind `'hjepa'` runs its own EMA, with the
   * trainer's momentum schedule, as HJEPATrainer does.)
   */
  async updateTargetEncoder(step: number): Promise<number> {
    const m = this.momentumAt(step);
    await emaUpdate(
      { module: this.module, prefix: 'target_encoder.' },
      { module: this.module, prefix: 'context_encoder.' },
      m,
    );
    return m;
  }

  /** {@link updateTargetEncoder} on the calling thread. */
  updateTargetEncoderSync(step: number): number {
    const m = this.momentumAt(step);
    emaUpdateSync(
      { module: this.module, prefix: 'target_encoder.' },
      { module: this.module, prefix: 'context_encoder.' },
      m,
    );
    return m;
  }

  dispose(): void {
    this.module.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Motion feature autoencoder

/** What {@link MotionAutoencoder.encode} returns. */
export interface MotionEncoding {
  /** [B, T, N, L] (or [B, T, H, W, L] for grid input). */
  latent: Tensor;
  /** [B, L]. */
  motionEmbedding: Tensor;
  /** C / L: how many times smaller the latent is than the features. */
  compressionRatio: number;
}

/**
 * The motion feature autoencoder of seed 003 (scripts/models/motion_ae.py): VFM features
 * [B, T, N, C] or [B, T, H, W, C] -> latent [.., L] and a motion embedding [B, L].
 */
export class MotionAutoencoder {
  readonly inputDim: number;
  readonly latentDim: number;
  readonly maxFrames: number;

  private constructor(readonly module: Module) {
    checkMethods(module, ['forward', 'encode', 'decode'], 'motion autoencoder');
    this.inputDim = param(module, 'decoder.out_proj.weight', 'motion autoencoder').shape[0];
    this.latentDim = param(module, 'encoder.out_proj.weight', 'motion autoencoder').shape[0];
    this.maxFrames = param(module, 'encoder.time_embed', 'motion autoencoder').shape[1];
  }

  /** Loads a TorchScript file, or a model folder (`jepa-native export module --kind motion-autoencoder`). */
  static async load(source: string, options?: LoadModuleOptions): Promise<MotionAutoencoder> {
    const { file } = singleModuleFile(source, 'motion-autoencoder', 'jepa.MotionAutoencoder.load');
    return new MotionAutoencoder(await loadModule(file, options));
  }

  static loadSync(source: string, options?: LoadModuleOptions): MotionAutoencoder {
    const { file } = singleModuleFile(source, 'motion-autoencoder', 'jepa.MotionAutoencoder.load');
    return new MotionAutoencoder(loadModuleSync(file, options));
  }

  #check(x: unknown, name: string, width: number, widthName: string): Tensor {
    const t = checkTensor(x, name);
    const s = t.shape;
    if ((s.length !== 4 && s.length !== 5) || s[s.length - 1] !== width) {
      throw new JepaError(
        ErrorCode.SHAPE_MISMATCH,
        `expected \`${name}\` to have shape [B, T, N, ${width}] or [B, T, H, W, ${width}] (${widthName} ${width}), got ${show(s)}`,
      );
    }
    if (s[1] < 1 || s[1] > this.maxFrames) {
      throw new JepaError(
        ErrorCode.SHAPE_MISMATCH,
        `expected \`${name}\` to have 1 to ${this.maxFrames} frames (dimension 1), got ${s[1]}`,
      );
    }
    checkFloat(t, name, this.module);
    checkDevice(t, name, this.module);
    return t;
  }

  /** Latent, motion embedding and compression ratio of VFM features. */
  async encode(features: Tensor): Promise<MotionEncoding> {
    const x = this.#check(features, 'features', this.inputDim, 'the feature width C is');
    const [latent, motionEmbedding, compressionRatio] = (await this.module.run('encode', x)) as [
      Tensor,
      Tensor,
      number,
    ];
    return { latent, motionEmbedding, compressionRatio };
  }

  /** Features reconstructed from a latent ([B, T, N, L] or [B, T, H, W, L]). */
  async decode(latent: Tensor): Promise<Tensor> {
    const z = this.#check(latent, 'latent', this.latentDim, 'the latent width L is');
    return (await this.module.run('decode', z)) as Tensor;
  }

  /** The autoencoder's forward: reconstruction (shaped like the input), latent, motion embedding. */
  async forward(features: Tensor): Promise<{ reconstruction: Tensor; latent: Tensor; motionEmbedding: Tensor }> {
    const x = this.#check(features, 'features', this.inputDim, 'the feature width C is');
    const [reconstruction, latent, motionEmbedding] = (await this.module.forward(x)) as [Tensor, Tensor, Tensor];
    return { reconstruction, latent, motionEmbedding };
  }

  dispose(): void {
    this.module.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// VL-JEPA predictor

/** One label of a zero-shot ranking. */
export interface LabelScore {
  label: string;
  /** Cosine similarity of the predicted text embedding and the label's embedding. */
  score: number;
  /** Index of the label in the `labels` given. */
  index: number;
}

/**
 * The VL-JEPA predictor of seed 004 (scripts/models/vl_jepa.py): a visual embedding (512) ->
 * Linear -> GELU -> Linear -> L2 norm -> a predicted text embedding (384).
 */
export class VisionLanguagePredictor {
  readonly inputDim: number;
  readonly outputDim: number;

  private constructor(readonly module: Module) {
    this.inputDim = param(module, 'net.0.weight', 'VL-JEPA predictor').shape[1];
    this.outputDim = param(module, 'net.2.weight', 'VL-JEPA predictor').shape[0];
  }

  /** Loads a TorchScript file, or a model folder (`jepa-native export module --kind vl-predictor`). */
  static async load(source: string, options?: LoadModuleOptions): Promise<VisionLanguagePredictor> {
    const { file } = singleModuleFile(source, 'vl-predictor', 'jepa.VisionLanguagePredictor.load');
    return new VisionLanguagePredictor(await loadModule(file, options));
  }

  static loadSync(source: string, options?: LoadModuleOptions): VisionLanguagePredictor {
    const { file } = singleModuleFile(source, 'vl-predictor', 'jepa.VisionLanguagePredictor.load');
    return new VisionLanguagePredictor(loadModuleSync(file, options));
  }

  /** Predicted (L2-normalised) text embeddings: [B, 384] for [B, 512] (or [384] for [512]). */
  async predict(imageEmbeddings: Tensor): Promise<Tensor> {
    const x = checkTensor(imageEmbeddings, 'imageEmbeddings');
    const s = x.shape;
    if ((s.length !== 1 && s.length !== 2) || s[s.length - 1] !== this.inputDim) {
      throw new JepaError(
        ErrorCode.SHAPE_MISMATCH,
        `expected \`imageEmbeddings\` to have shape [B, ${this.inputDim}] or [${this.inputDim}], got ${show(s)}`,
      );
    }
    checkFloat(x, 'imageEmbeddings', this.module);
    checkDevice(x, 'imageEmbeddings', this.module);
    return (await this.module.forward(x)) as Tensor;
  }

  /**
   * Zero-shot classification: predicts the text embedding of each image and ranks `labels` by
   * the cosine similarity of their embeddings (`labelEmbeddings`, [L, 384], one row per label,
   * e.g. from all-MiniLM-L6-v2) with it, best first. One ranking per image for [B, 512]; a
   * single ranking for [512].
   */
  async zeroShot(
    imageEmbeddings: Tensor,
    labelEmbeddings: Tensor,
    labels: string[],
  ): Promise<LabelScore[][] | LabelScore[]> {
    const e = checkTensor(labelEmbeddings, 'labelEmbeddings');
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) {
      throw invalidArgument(`expected \`labels\` to be an array of strings, got ${show(labels)}`);
    }
    if (e.ndim !== 2 || e.shape[1] !== this.outputDim || e.shape[0] !== labels.length) {
      throw new JepaError(
        ErrorCode.SHAPE_MISMATCH,
        `expected \`labelEmbeddings\` to have shape [${labels.length}, ${this.outputDim}] (one row per label), got ${show(e.shape)}`,
      );
    }
    const single = imageEmbeddings instanceof Tensor && imageEmbeddings.ndim === 1;
    const pred = await this.predict(imageEmbeddings);
    const scores = cosineScores(pred.ndim === 1 ? pred.reshape(1, -1) : pred, e);
    const rankings = scores.map((row) =>
      row
        .map((score, index) => ({ label: labels[index], score, index }))
        .sort((a, b) => b.score - a.score || a.index - b.index),
    );
    return single ? rankings[0] : rankings;
  }

  dispose(): void {
    this.module.dispose();
  }
}

/**
 * Cosine similarities of each row of `a` [B, D] with each row of `b` [L, D], as numbers [B][L]:
 * `torch.cosine_similarity` of `a.unsqueeze(1)` and `b.unsqueeze(0)` along the last dimension,
 * computed by that op.
 */
export function cosineScores(a: Tensor, b: Tensor): number[][] {
  return tidy(() => {
    const scores = cosine_similarity(a.unsqueeze(1), b.unsqueeze(0), -1).to({
      device: 'cpu',
      dtype: 'float64' as Dtype,
    });
    const flat = scores.contiguous().data<'float64'>();
    const [rows, cols] = scores.shape;
    return Array.from({ length: rows }, (_, i) => Array.from(flat.subarray(i * cols, (i + 1) * cols)));
  });
}
