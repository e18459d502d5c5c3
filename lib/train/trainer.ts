/**
 * Whole training steps in libtorch: for I-JEPA, V-JEPA, H-JEPA, the motion autoencoder of seed
 * 003 and the VL-JEPA predictor of seed 004. A step runs forward, loss, backward, AdamW and the
 * EMA of the target encoder in C++ on a worker thread; JS only hands over the batch.
 *
 * ```js
 * const trainer = new jepa.Trainer({
 *   kind: 'ijepa', context, target, predictor,                       // jepa.loadModule(...) each
 *   lr: { kind: 'warmupCosine', start: 2e-4, peak: 1e-3, end: 1e-6, warmupSteps: 400, steps: 12500 },
 *   weightDecay: { kind: 'cosineWd', start: 0.04, end: 0.4, steps: 12500 },
 *   momentum: { kind: 'linear', start: 0.996, end: 1, steps: 12500 },
 *   masks: new jepa.masks.MaskSampler('multiblock', { ...jepa.masks.presets.ijepaImageNet, inputSize: 224, patchSize: 16, batchSize: 64 }),
 * });
 * const stats = await trainer.step({ images });   // { loss, lr, weightDecay, momentum, gradNorm, ... }
 * ```
 * @module
 */
import { native } from '../core/binding';
import { applyCheckpoint, buildCheckpoint, checkSaveOptions } from './checkpoint';
import { deriveSeed, group as defaultGroup, ProcessGroup, save as distributedSave } from '../distributed/distributed';
import { schedule, toScheduleOptions, type ScheduleLike } from './ema';
import { ErrorCode, invalidArgument, JepaError, withCallerStack } from '../core/errors';
import { load as loadPt, loadSync as loadPtSync, save as savePt, saveSync as savePtSync } from '../io/pt';
import { MaskSampler, toBinary, type HJepaMasks, type Masks } from '../masks/samplers';
import { Module, nativeModuleOf } from '../models/module';
import type { NativeTrainer } from '../core/native-types';
import { nativeOf, Tensor } from '../tensor/tensor';
import { checkRecipeModules, readRecipe, type Recipe, type RecipeTrainerOptions } from './config';
import { hjepaLevelWeights } from './hjepa-recipe';
import { isThreeModuleKind, nativeKind, TRAINER_DEFAULTS, type TrainerKind } from './options';
import { checkOptions, show } from '../core/validate';

export type { TrainerKind } from './options';

/** Options of {@link Trainer}. */
export interface TrainerOptions {
  /**
   * `'ijepa'` (smooth L1 on the target tokens), `'vjepa'` (mean |z - h|^p / p per mask config,
   * averaged), `'vjepa2'` (V-JEPA's step with V-JEPA 2's EMA, mask index and no clipping),
   * `'hjepa'` (jonwiggins/H-JEPA's per-level loss and step), `'motion'` (seed 003's reconstruction +
   * temporal difference + latent smoothness), `'vl'` (seed 004's 1 - cosine). Every option left
   * out takes the official code's default for the kind (`TRAINER_DEFAULTS`, lib/train/options.ts,
   * tabled in docs/training.md).
   */
  kind: TrainerKind;
  /** I-JEPA / V-JEPA: the context encoder (trained). */
  context?: Module;
  /** I-JEPA / V-JEPA: the target encoder (EMA of the context encoder; same parameter names). */
  target?: Module;
  /** I-JEPA / V-JEPA: the predictor (trained). */
  predictor?: Module;
  /** H-JEPA, motion, VL: the one module. */
  model?: Module;
  /**
   * Learning rate: a number, a {@link Schedule} or schedule options. Required, except for
   * `'motion'` (default 2e-4, seed 003) and `'vl'` (1e-4, seed 004).
   */
  lr?: ScheduleLike;
  /**
   * Weight decay (decoupled, AdamW): a number or a schedule. Default: I-JEPA, V-JEPA, V-JEPA 2
   * 0.04 (their configs' start; `fromConfig` builds their cosine to `final_weight_decay`),
   * H-JEPA 0.05 (jonwiggins' configs/default.yaml), motion 1e-4 (seed 003), VL 0.01 (AdamW's, seed
   * 004).
   */
  weightDecay?: ScheduleLike;
  /**
   * EMA momentum of the target encoder (I-JEPA, V-JEPA, V-JEPA 2, H-JEPA). Default the first
   * value of the official configs: 0.996 (I-JEPA, H-JEPA), 0.998 (V-JEPA), 0.99925 (V-JEPA 2).
   */
  momentum?: ScheduleLike;
  /** AdamW betas. Default [0.9, 0.999] (torch.optim.AdamW's); H-JEPA [0.9, 0.95] (configs/default.yaml). */
  betas?: [number, number];
  /** AdamW eps. Default 1e-8. */
  eps?: number;
  /**
   * Leave biases and 1-D parameters out of weight decay (the official `init_opt`'s parameter
   * groups). Default true for I-JEPA, V-JEPA and V-JEPA 2, false for H-JEPA, motion and VL (their
   * code gives AdamW all parameters in one group).
   */
  excludeBiasAndNorm?: boolean;
  /**
   * Clip each module's gradient norm to this (V-JEPA clips encoder and predictor separately;
   * H-JEPA the whole model's). Default null (no clipping; V-JEPA's configs set 10.0, which
   * `fromConfig` applies after the warm-up as V-JEPA does); H-JEPA 3.0 (configs/default.yaml).
   */
  clipGrad?: number | null;
  /**
   * The first (0-based) step at which `clipGrad` applies. Default 0. V-JEPA clips only once
   * `epoch > warmup`: from step `(floor(warmup) + 1) * stepsPerEpoch` (what `fromConfig` sets).
   */
  clipGradFrom?: number;
  /**
   * EMA formula, see {@link EmaOptions.formula}. Default the official loop's: `'loop'` for
   * I-JEPA and V-JEPA (`mul_(m).add_((1 - m) * q)`), `'foreach'` for V-JEPA 2 and the others.
   */
  emaFormula?: 'foreach' | 'loop';
  /**
   * I-JEPA, V-JEPA, V-JEPA 2: layer-normalise the target encoder's output over the feature
   * dimension (no affine), as every official loop does. Default true; false trains against the
   * raw target features (seed 002's notebook variant).
   */
  normalizeTargets?: boolean;
  /** V-JEPA, V-JEPA 2: the loss exponent p. Default 1. */
  lossExp?: number;
  /**
   * V-JEPA: weight of the predictor-variance term `mean(relu(1 - std))` (`reg_coeff`).
   * Default 0 (every official config).
   */
  regCoeff?: number;
  /**
   * V-JEPA, V-JEPA 2: the `mask_index` passed to a predictor whose forward takes one (the
   * exported V-JEPA predictors: one mask token per mask config, chosen by the index modulo
   * their number). `'config'` (V-JEPA's default): config `i` uses index `i`; a number (V-JEPA
   * 2's default 0: its loop passes the index of the clip-length group) for every config.
   */
  maskIndex?: 'config' | number;
  /**
   * H-JEPA: weight of each level's loss, one per level. Default configs/default.yaml's
   * [1, 0.5, 0.25] (halving per level for other level counts, {@link hjepaLevelWeights}).
   */
  levelWeights?: number[];
  /**
   * H-JEPA: the base loss of each level, jonwiggins' HJEPALoss `loss_type`: `'mse'` (default,
   * configs/default.yaml), `'smoothl1'` or `'huber'` (delta `huberDelta`, default 1).
   */
  lossType?: 'mse' | 'smoothl1' | 'huber';
  /** H-JEPA: Huber's delta. Default 1. */
  huberDelta?: number;
  /** H-JEPA: L2-normalise predictions and targets before the loss (eps 1e-8). Default false (configs/default.yaml). */
  normalizeEmbeddings?: boolean;
  /**
   * H-JEPA: average each level's loss over the model's `masks_valid` entries only (HJEPALoss
   * with masks: the sum over valid entries divided by their count). Default false: jonwiggins'
   * trainer passes no masks, so padding entries count in a plain mean.
   */
  maskedLoss?: boolean;
  /**
   * When the target encoder's EMA runs: `'beforeStep'` (jonwiggins/H-JEPA: from the context
   * encoder as it was before the optimizer step; the default of kind `'hjepa'`) or
   * `'afterStep'` (I-JEPA, V-JEPA: from the updated one; their default). The momentum is the
   * schedule's value at the step either way.
   */
  targetUpdate?: 'beforeStep' | 'afterStep';
  /** Motion autoencoder loss weights (seed 003's CLI defaults 1, 1, 0.05). */
  reconWeight?: number;
  motionWeight?: number;
  smoothWeight?: number;
  /**
   * Forward and loss under bfloat16 autocast on the modules' device (CPU or CUDA), as Python's
   * `torch.autocast(device, dtype=torch.bfloat16)`; backward, AdamW and the EMA stay float32.
   */
  bf16?: boolean;
  /**
   * Draws the masks of a batch that brings none: for I-JEPA a `multiblock` or `notebook2d`
   * sampler; for V-JEPA `multiblock3d`, `randomTube` or `notebook3d`; for H-JEPA `hjepa` (the
   * union of its level-0 targets, as jonwiggins' trainer) or `multiblock` (the union of the
   * target blocks, `masks.binary`).
   */
  masks?: MaskSampler;
  /**
   * Data-parallel training over a process group (`true`: the default group of
   * `jepa.distributed.init`): the first step copies rank 0's parameters and buffers (every module,
   * the target encoder too) to every rank; each step averages the gradients over the ranks before
   * clipping and AdamW, so every rank makes the same update and the same EMA. Each rank passes its
   * own part of the global batch; a sampler given as `masks` is re-seeded per rank (block
   * positions from `jepa.distributed.deriveSeed(positionSeed, rank)`, see {@link Trainer.sampler}).
   */
  distributed?: ProcessGroup | boolean;
}

/** Options of {@link Trainer.fromConfig}. */
export interface FromConfigOptions {
  /** I-JEPA, V-JEPA, V-JEPA 2: the context encoder, target encoder and predictor. */
  context?: Module;
  target?: Module;
  predictor?: Module;
  /** H-JEPA, motion, VL: the one module. */
  model?: Module;
  /** The recipe family, see {@link ReadRecipeOptions.family}. Default: the config's `recipe:` key or its shape. */
  family?: string;
  /** Batches per epoch (the official `ipe`), where the config does not give it. */
  stepsPerEpoch?: number;
  /**
   * The mask sampler: default the recipe's (the official collator, on the modules' device);
   * `false`: none (every batch brings its masks); or a sampler of your own.
   */
  masks?: MaskSampler | false;
  /** See {@link TrainerOptions.distributed}. */
  distributed?: ProcessGroup | boolean;
  /** Trainer options that replace the recipe's (`{ bf16: false }`, another `clipGrad`, ...). */
  overrides?: Partial<Omit<RecipeTrainerOptions, 'kind'>>;
}

/** A batch for {@link Trainer.step}; which fields a kind needs is in each field's note. */
export interface TrainingBatch {
  /** I-JEPA, V-JEPA, H-JEPA: images [B, C, H, W] or clips [B, C, T, H, W]. */
  images?: Tensor;
  /**
   * I-JEPA, V-JEPA: keep-index masks (a {@link Masks} from `jepa.masks`, or `{context, targets}`);
   * V-JEPA: one context and one target tensor per mask config. Drawn from `options.masks` when absent.
   */
  masks?: Pick<Masks, 'context' | 'targets'>;
  /** H-JEPA: the [B, N] 0/1 mask, 1 = masked. Drawn from `options.masks` when absent. */
  mask?: Tensor;
  /** Motion: features [B, T, N, C] or [B, T, H, W, C]. */
  features?: Tensor;
  /** VL: image embeddings [B, 512]. */
  imageEmbeddings?: Tensor;
  /** VL: target text embeddings [B, 384]. */
  textEmbeddings?: Tensor;
}

/** Options of {@link Trainer.save} and {@link Trainer.stateDict}: values recorded in the checkpoint. */
export interface SaveOptions {
  /** Default: {@link Trainer.epoch}. */
  epoch?: number;
  /** Default: the loss of the last step (NaN before the first). */
  loss?: number;
  /** Default: the batch size of the last step. */
  batchSize?: number;
  /** Default 1. */
  worldSize?: number;
}

/** What one step did. */
export interface StepStats {
  /** The loss of the step (before the update), on this rank's batch. */
  loss: number;
  /** The loss averaged over the ranks of a data-parallel trainer (= `loss` without one). */
  lossMean: number;
  /** V-JEPA: loss per mask config; H-JEPA: per level (unweighted); motion: [reconstruction, temporal, smoothness]. */
  parts: number[];
  /** Learning rate and weight decay used. */
  lr: number;
  weightDecay: number;
  /** EMA momentum used (null for kinds without a target encoder). */
  momentum: number | null;
  /** Gradient norm of the context encoder (or the model) before clipping. */
  gradNorm: number;
  /** Gradient norm of the predictor before clipping (I-JEPA, V-JEPA). */
  gradNormPredictor: number;
  /** Whether `clipGrad` was applied at this step (see {@link TrainerOptions.clipGradFrom}). */
  clipped: boolean;
  /** The 0-based index of this step. */
  step: number;
  /** Wall time of the step in C++, milliseconds. */
  ms: number;
}

/** The optimizer's parameter groups (I-JEPA's layout), for inspection and checkpoints. */
export interface ParamGroup {
  lr: number;
  weightDecay: number;
  /** Weight decay left at 0 by the schedule (I-JEPA's `WD_exclude`). */
  wdExclude: boolean;
  /** Parameter names, prefixed `context.` / `predictor.` for I-JEPA and V-JEPA. */
  names: string[];
}

const KINDS: TrainerKind[] = ['ijepa', 'vjepa', 'vjepa2', 'hjepa', 'motion', 'vl'];
const OPTION_KEYS = [
  'kind', 'context', 'target', 'predictor', 'model', 'lr', 'weightDecay', 'momentum', 'betas', 'eps',
  'excludeBiasAndNorm', 'clipGrad', 'clipGradFrom', 'emaFormula', 'normalizeTargets', 'lossExp', 'regCoeff',
  'maskIndex', 'levelWeights', 'lossType', 'huberDelta', 'normalizeEmbeddings', 'maskedLoss', 'targetUpdate',
  'reconWeight', 'motionWeight', 'smoothWeight', 'bf16', 'masks', 'distributed',
];
/** Options that only some kinds take. */
const KIND_ONLY: Record<string, TrainerKind[]> = {
  normalizeTargets: ['ijepa', 'vjepa', 'vjepa2'],
  lossExp: ['vjepa', 'vjepa2'],
  regCoeff: ['vjepa', 'vjepa2'],
  maskIndex: ['vjepa', 'vjepa2'],
  levelWeights: ['hjepa'],
  lossType: ['hjepa'],
  huberDelta: ['hjepa'],
  normalizeEmbeddings: ['hjepa'],
  maskedLoss: ['hjepa'],
  targetUpdate: ['ijepa', 'vjepa', 'vjepa2', 'hjepa'],
  reconWeight: ['motion'],
  motionWeight: ['motion'],
  smoothWeight: ['motion'],
};

function num(o: Record<string, unknown>, key: string, fallback: number, positive = false): number {
  const v = o[key] === undefined ? fallback : o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || (positive && !(v > 0))) {
    throw invalidArgument(`expected \`options.${key}\` to be a ${positive ? 'positive' : 'finite'} number, got ${show(o[key])}`);
  }
  return v;
}

function tensorArg(value: unknown, name: string): Tensor {
  if (!(value instanceof Tensor)) throw invalidArgument(`expected \`${name}\` to be a Tensor, got ${show(value)}`);
  if (value.isDisposed) throw new JepaError(ErrorCode.DISPOSED, `\`${name}\` is a disposed Tensor`);
  return value;
}

function maskList(value: unknown, name: string): Tensor[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalidArgument(`expected \`${name}\` to be a non-empty Array of int64 Tensors, got ${show(value)}`);
  }
  return value.map((t, i) => {
    const x = tensorArg(t, `${name}[${i}]`);
    if (x.dtype !== 'int64') throw invalidArgument(`expected \`${name}[${i}]\` to have dtype int64, got ${x.dtype}`);
    return x;
  });
}

/**
 * Trains JEPA models with whole steps in libtorch (see the module docs). Creating a trainer puts
 * the trained modules in train mode (and the target encoder too, as Python's deep copy is: run
 * it under `no_grad` in the step, call `.eval()` on it for inference).
 *
 * Steps run one at a time: `step()` calls queue up and resolve in order. While a step is in
 * flight, `train()`/`eval()`/`to()` on its modules throw `JEPA_MODULE_BUSY`.
 */
export class Trainer {
  readonly kind: TrainerKind;
  /** The process group of a data-parallel trainer, else null. */
  readonly distributed: ProcessGroup | null;
  /** @internal */
  readonly modules: Readonly<Record<string, Module>>;
  #native: NativeTrainer;
  #sampler: MaskSampler | undefined;

  /**
   * The sampler that draws the masks of batches that bring none (`options.masks`; on a
   * data-parallel trainer, a copy whose block positions are seeded for this rank).
   */
  get sampler(): MaskSampler | undefined {
    return this.#sampler;
  }
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #recipe: Recipe | null = null;

  /**
   * A trainer that trains as the official code of a config's family does: `config` is a
   * training config in its official YAML shape (text or parsed; see `jepa.readRecipe` and
   * docs/training.md for the families and how each key is read), `options` the modules, the
   * steps per epoch where the config does not give them, and overrides. Every setting and default
   * of the official loop applies (schedules with the official arithmetic, parameter groups,
   * betas, eps, clipping and when it starts, EMA formula, loss), and the recipe's mask sampler
   * draws the masks of batches that bring none. The modules are checked against the model the
   * config describes (patches, V-JEPA mask tokens). `meta.use_bfloat16` / `meta.dtype:
   * bfloat16` autocast on CUDA only, as the official loops' `torch.cuda.amp.autocast` (on the
   * CPU they train in float32; a note in {@link recipe} says so).
   *
   * ```js
   * const trainer = jepa.Trainer.fromConfig(fs.readFileSync('vitl16.yaml', 'utf8'), { context, target, predictor });
   * ```
   */
  static fromConfig(config: string | object, options: FromConfigOptions): Trainer {
    const o = checkOptions(options, 'options', [
      'context', 'target', 'predictor', 'model', 'family', 'stepsPerEpoch', 'masks', 'distributed', 'overrides',
    ]);
    const recipe = readRecipe(config, { family: o.family as string | undefined, stepsPerEpoch: o.stepsPerEpoch as number | undefined });
    const overrides = o.overrides === undefined ? {} : checkOptions(o.overrides, 'options.overrides', OPTION_KEYS);
    for (const key of ['kind', 'context', 'target', 'predictor', 'model', 'masks', 'distributed']) {
      if (key in overrides) throw invalidArgument(`option \`options.overrides.${key}\` cannot be overridden: give it as \`options.${key}\``);
    }
    const modules: Record<string, Module> = {};
    for (const key of isThreeModuleKind(recipe.family) ? ['context', 'target', 'predictor'] : ['model']) {
      if (!(o[key] instanceof Module)) {
        throw invalidArgument(`expected \`options.${key}\` to be a Module (the ${recipe.family} recipe trains ${isThreeModuleKind(recipe.family) ? 'context, target, predictor' : 'model'}), got ${show(o[key])}`);
      }
      modules[key] = o[key] as Module;
    }
    checkRecipeModules(recipe, modules);
    const device = Object.values(modules)[0].device;
    const trainerOptions: Record<string, unknown> = { ...recipe.trainer };
    if (trainerOptions.bf16 === true && !device.startsWith('cuda') && overrides.bf16 === undefined) {
      trainerOptions.bf16 = false;
      recipe.notes.push(
        'mixed precision (bfloat16) is requested, but the official loop autocasts with torch.cuda.amp.autocast, which does nothing off CUDA: on this device it trains in float32, as the official loop would',
      );
    }
    let masks: MaskSampler | undefined;
    if (o.masks instanceof MaskSampler) masks = o.masks;
    else if (o.masks !== undefined && o.masks !== false) {
      throw invalidArgument(`expected \`options.masks\` to be a MaskSampler or false, got ${show(o.masks)}`);
    } else if (o.masks === undefined && recipe.masks) {
      masks = new MaskSampler(recipe.masks.kind, { ...recipe.masks.options, device } as never);
    }
    const trainer = new Trainer({
      ...trainerOptions,
      ...overrides,
      ...modules,
      ...(masks ? { masks } : {}),
      ...(o.distributed === undefined ? {} : { distributed: o.distributed }),
    } as TrainerOptions);
    trainer.#recipe = recipe;
    return trainer;
  }

  /** The recipe of a trainer made by {@link fromConfig} (null otherwise). */
  get recipe(): Recipe | null {
    return this.#recipe;
  }
  #schedules: Record<'lr' | 'weightDecay' | 'momentum', ReturnType<typeof toScheduleOptions>>;
  #last = { loss: Number.NaN, lr: Number.NaN, batchSize: 0 };

  constructor(options: TrainerOptions) {
    const o = checkOptions(options, 'options', OPTION_KEYS);
    if (!KINDS.includes(o.kind as TrainerKind)) {
      throw invalidArgument(`expected \`options.kind\` to be one of ${KINDS.map((k) => `'${k}'`).join(', ')}, got ${show(o.kind)}`);
    }
    const kind = o.kind as TrainerKind;
    this.kind = kind;
    const d = TRAINER_DEFAULTS[kind];
    for (const [key, kinds] of Object.entries(KIND_ONLY)) {
      if (o[key] !== undefined && !kinds.includes(kind)) {
        throw invalidArgument(`option \`options.${key}\` does not apply to the ${kind} trainer (only to ${kinds.join(', ')})`);
      }
    }
    const three = isThreeModuleKind(kind);
    const needed = three ? ['context', 'target', 'predictor'] : ['model'];
    const other = three ? ['model'] : ['context', 'target', 'predictor'];
    const modules: Record<string, Module> = {};
    for (const key of needed) {
      if (!(o[key] instanceof Module)) {
        throw invalidArgument(`expected \`options.${key}\` to be a Module (the ${kind} trainer needs ${needed.join(', ')}), got ${show(o[key])}`);
      }
      modules[key] = o[key] as Module;
    }
    for (const key of other) {
      if (o[key] !== undefined) throw invalidArgument(`option \`options.${key}\` does not apply to the ${kind} trainer (it takes ${needed.join(', ')})`);
    }
    const devices = new Set(Object.values(modules).map((m) => m.device));
    if (devices.size > 1) {
      throw new JepaError(ErrorCode.DEVICE_MISMATCH, `expected the modules to be on one device, got ${[...devices].join(', ')}`);
    }
    if (o.lr === undefined && d.lr === null) {
      throw invalidArgument('expected `options.lr` (a number, a Schedule or schedule options), got undefined');
    }
    this.#schedules = {
      lr: toScheduleOptions(o.lr ?? d.lr, 'options.lr'),
      weightDecay: toScheduleOptions(o.weightDecay ?? d.weightDecay, 'options.weightDecay'),
      momentum: toScheduleOptions(o.momentum ?? d.momentum ?? 0, 'options.momentum'),
    };
    let betas: [number, number] = [d.betas[0], d.betas[1]];
    if (o.betas !== undefined) {
      const b = o.betas;
      if (!Array.isArray(b) || b.length !== 2 || !b.every((x) => typeof x === 'number' && x >= 0 && x < 1)) {
        throw invalidArgument(`expected \`options.betas\` to be two numbers in [0, 1), got ${show(b)}`);
      }
      betas = [b[0], b[1]];
    }
    const eps = num(o, 'eps', d.eps, true);
    if (o.clipGrad !== undefined && o.clipGrad !== null) num(o, 'clipGrad', 0, true);
    const clipGradFrom = o.clipGradFrom ?? d.clipGradFrom;
    if (!Number.isSafeInteger(clipGradFrom) || (clipGradFrom as number) < 0) {
      throw invalidArgument(`expected \`options.clipGradFrom\` to be a non-negative integer (a step index), got ${show(o.clipGradFrom)}`);
    }
    const maskIndex = o.maskIndex ?? d.maskIndex;
    if (maskIndex !== 'config' && !Number.isSafeInteger(maskIndex)) {
      throw invalidArgument(`expected \`options.maskIndex\` to be 'config' or an integer, got ${show(o.maskIndex)}`);
    }
    for (const key of ['excludeBiasAndNorm', 'bf16', 'normalizeTargets']) {
      if (o[key] !== undefined && typeof o[key] !== 'boolean') {
        throw invalidArgument(`expected \`options.${key}\` to be a boolean, got ${show(o[key])}`);
      }
    }
    if (o.emaFormula !== undefined && o.emaFormula !== 'foreach' && o.emaFormula !== 'loop') {
      throw invalidArgument(`expected \`options.emaFormula\` to be 'foreach' or 'loop', got ${show(o.emaFormula)}`);
    }
    let levelWeights: number[] | undefined;
    let levels: number | undefined;
    if (kind === 'hjepa' && o.model instanceof Module && o.model.methods().includes('num_levels')) {
      levels = o.model.runSync('num_levels') as number;
    }
    if (o.levelWeights !== undefined) {
      const w = o.levelWeights;
      if (!Array.isArray(w) || !w.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        throw invalidArgument(`expected \`options.levelWeights\` to be an Array of numbers, got ${show(w)}`);
      }
      if (levels !== undefined && w.length !== levels) {
        throw invalidArgument(`expected \`options.levelWeights\` to hold one weight per level (the model has ${levels}), got ${w.length}: ${show(w)}`);
      }
      levelWeights = [...w];
    } else if (levels !== undefined) {
      levelWeights = hjepaLevelWeights(levels);
    }
    if (o.lossType !== undefined && !['mse', 'smoothl1', 'huber'].includes(o.lossType as string)) {
      throw invalidArgument(`expected \`options.lossType\` to be 'mse', 'smoothl1' or 'huber', got ${show(o.lossType)}`);
    }
    for (const key of ['normalizeEmbeddings', 'maskedLoss']) {
      if (o[key] !== undefined && typeof o[key] !== 'boolean') {
        throw invalidArgument(`expected \`options.${key}\` to be a boolean, got ${show(o[key])}`);
      }
    }
    if (o.targetUpdate !== undefined && o.targetUpdate !== 'beforeStep' && o.targetUpdate !== 'afterStep') {
      throw invalidArgument(`expected \`options.targetUpdate\` to be 'beforeStep' or 'afterStep', got ${show(o.targetUpdate)}`);
    }
    if (o.masks !== undefined) {
      if (!(o.masks instanceof MaskSampler)) throw invalidArgument(`expected \`options.masks\` to be a MaskSampler, got ${show(o.masks)}`);
      const want: Record<TrainerKind, string[]> = {
        ijepa: ['multiblock', 'notebook2d'],
        vjepa: ['multiblock3d', 'randomTube', 'notebook3d'],
        vjepa2: ['multiblock3d', 'randomTube', 'notebook3d'],
        hjepa: ['hjepa', 'multiblock'],
        motion: [],
        vl: [],
      };
      const allowed = want[kind];
      if (!allowed.includes(o.masks.kind)) {
        throw invalidArgument(
          allowed.length === 0
            ? `option \`options.masks\` does not apply to the ${kind} trainer`
            : `expected \`options.masks\` to be a ${allowed.join(' or ')} MaskSampler for the ${kind} trainer, got a ${o.masks.kind} sampler`,
        );
      }
      this.#sampler = o.masks;
    }
    let dist: ProcessGroup | undefined;
    if (o.distributed === true) dist = defaultGroup();
    else if (o.distributed instanceof ProcessGroup) dist = o.distributed;
    else if (o.distributed !== undefined && o.distributed !== false) {
      throw invalidArgument(`expected \`options.distributed\` to be a boolean or a ProcessGroup, got ${show(o.distributed)}`);
    }
    this.distributed = dist ?? null;
    // Data-parallel: each rank draws its own masks, from deriveSeed(positionSeed, rank) and then
    // the step (the generator advances one batch per step); block sizes follow the shared step
    // counter, as in the reference collators.
    if (dist && this.#sampler) {
      this.#sampler = this.#sampler.withPositionSeed(deriveSeed(this.#sampler.positionSeed, dist.rank));
    }
    this.modules = Object.freeze(modules);
    const raw: Record<string, unknown> = {
      kind: nativeKind(kind),
      lr: this.#schedules.lr,
      weightDecay: this.#schedules.weightDecay,
      momentum: this.#schedules.momentum,
      beta1: betas[0],
      beta2: betas[1],
      eps,
      excludeBiasAndNorm: o.excludeBiasAndNorm ?? d.excludeBiasAndNorm,
      clipGrad: o.clipGrad === undefined ? d.clipGrad : o.clipGrad,
      clipGradFrom,
      emaFormula: o.emaFormula ?? d.emaFormula,
      normalizeTargets: o.normalizeTargets ?? d.normalizeTargets,
      lossExp: num(o, 'lossExp', d.lossExp, true),
      regCoeff: num(o, 'regCoeff', d.regCoeff),
      maskIndex: maskIndex === 'config' ? undefined : maskIndex,
      levelWeights,
      lossType: o.lossType ?? d.lossType,
      huberDelta: num(o, 'huberDelta', d.huberDelta, true),
      normalizeEmbeddings: o.normalizeEmbeddings ?? d.normalizeEmbeddings,
      maskedLoss: o.maskedLoss ?? d.maskedLoss,
      targetUpdate: o.targetUpdate ?? d.targetUpdate,
      reconWeight: num(o, 'reconWeight', d.reconWeight),
      motionWeight: num(o, 'motionWeight', d.motionWeight),
      smoothWeight: num(o, 'smoothWeight', d.smoothWeight),
      bf16: o.bf16 === true,
      dist: dist?.native,
    };
    for (const [key, m] of Object.entries(modules)) raw[key] = nativeModuleOf(m, `options.${key}`);
    this.#native = native.createTrainer(raw);
  }

  /** The 0-based index of the next step (schedules are read at it). Settable to resume. */
  get stepCount(): number {
    return this.#native.getStep();
  }
  set stepCount(step: number) {
    if (!Number.isSafeInteger(step) || step < 0) throw invalidArgument(`expected \`stepCount\` to be a non-negative integer, got ${show(step)}`);
    this.#native.setStep(step);
  }

  /** An epoch counter kept for checkpoints (the trainer does not change it). */
  get epoch(): number {
    return this.#native.getEpoch();
  }
  set epoch(epoch: number) {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw invalidArgument(`expected \`epoch\` to be a non-negative integer, got ${show(epoch)}`);
    this.#native.setEpoch(epoch);
  }

  /** The schedules in use (normalised options). */
  get schedules(): Readonly<Record<'lr' | 'weightDecay' | 'momentum', object>> {
    return this.#schedules;
  }

  /** The optimizer's parameter groups, in order (names, lr, weight decay). */
  paramGroups(): ParamGroup[] {
    return this.#native.paramGroups().groups;
  }

  /** @internal */
  get native(): NativeTrainer {
    return this.#native;
  }

  /** One training step on a worker thread; calls queue up and resolve in order. */
  step(batch: TrainingBatch): Promise<StepStats> {
    let now: boolean;
    try {
      now = !(this.#sampler && this.#needsMasks(batch));
    } catch (err) {
      return withCallerStack(Promise.reject(err));
    }
    return this.#enqueue(
      now ? () => this.#native.step(this.#prepareSync(batch)) : async () => this.#native.step(await this.#prepare(batch)),
      now,
    ).then((s) => this.#record(s));
  }

  /** One training step on the calling thread (blocks the event loop: for scripts). */
  stepSync(batch: TrainingBatch): StepStats {
    this.#checkIdle('stepSync');
    const raw = this.#prepareSync(batch);
    return this.#record(this.#native.stepSync(raw));
  }

  /**
   * The whole training state as a checkpoint value in I-JEPA's layout (see docs/training.md):
   * `encoder`, `predictor`, `target_encoder` (or `model`), `opt` (torch.optim.AdamW's
   * state_dict), `scaler` (null), `epoch`, `loss`, `batch_size`, `world_size`, `lr`, `step`.
   * Model tensors share the modules' memory; optimizer state is copied. `loss`, `lr` and
   * `batch_size` default to those of the last step.
   */
  stateDict(options?: SaveOptions): Record<string, unknown> {
    const o = checkSaveOptions(options);
    return buildCheckpoint(this.modules, this.#native, {
      epoch: o.epoch ?? this.epoch,
      loss: o.loss ?? this.#last.loss,
      batchSize: o.batchSize ?? this.#last.batchSize,
      worldSize: o.worldSize ?? 1,
      lr: Number.isNaN(this.#last.lr) ? schedule(this.#schedules.lr).at(this.stepCount) : this.#last.lr,
      step: this.stepCount,
    });
  }

  /**
   * Restores a checkpoint value (from {@link stateDict}, or `jepa.load` of a file Python's
   * I-JEPA / V-JEPA training wrote): the modules' weights, AdamW's state, the step and the
   * epoch. Everything is checked first; a checkpoint that does not fit changes nothing and
   * throws `JEPA_CHECKPOINT_INVALID` (a missing key, a value of the wrong kind) or
   * `JEPA_PARAMETER_MISMATCH` (names, shapes, parameter groups), listing every difference.
   * A DistributedDataParallel `module.` prefix is removed. AdamW's betas and eps stay the
   * trainer's; lr and weight decay come from the schedules at the restored step.
   */
  loadStateDict(checkpoint: unknown): { step: number; epoch: number } {
    this.#checkIdle('loadStateDict');
    return applyCheckpoint(checkpoint, this.modules, this.#native, this.kind);
  }

  /**
   * Writes {@link stateDict} to a `.pt` file (atomically, on a worker thread) after the steps
   * queued before it; Python reads it with `torch.load(path)` (weights_only=True). A
   * data-parallel trainer writes on rank 0 only (`world_size` recorded) and every rank waits
   * until the file is complete.
   */
  save(path: string | URL, options?: SaveOptions): Promise<void> {
    try {
      checkSaveOptions(options);
    } catch (err) {
      return withCallerStack(Promise.reject(err));
    }
    const dist = this.distributed;
    if (dist) {
      // Data-parallel: every rank holds the same state; rank 0 writes, the others wait (barrier).
      const value = () => this.stateDict({ worldSize: dist.worldSize, ...options });
      return this.#enqueue(async () => {
        await distributedSave(path, dist.rank === 0 ? value() : null, { group: dist });
      }, false);
    }
    return this.#enqueue(() => savePt(path, this.stateDict(options)), false);
  }

  /** {@link save} on the calling thread (data-parallel: rank 0 writes, then a barrier). */
  saveSync(path: string | URL, options?: SaveOptions): void {
    this.#checkIdle('saveSync');
    const dist = this.distributed;
    if (dist) {
      if (dist.rank === 0) savePtSync(path, this.stateDict({ worldSize: dist.worldSize, ...options }));
      dist.barrierSync();
      return;
    }
    savePtSync(path, this.stateDict(options));
  }

  /** Reads a checkpoint file and restores it ({@link loadStateDict}) after the steps queued before it. */
  load(path: string | URL): Promise<{ step: number; epoch: number }> {
    return this.#enqueue(async () => applyCheckpoint(await loadPt(path), this.modules, this.#native, this.kind), false);
  }

  /** {@link load} on the calling thread. */
  loadSync(path: string | URL): { step: number; epoch: number } {
    this.#checkIdle('loadSync');
    return applyCheckpoint(loadPtSync(path), this.modules, this.#native, this.kind);
  }

  #checkIdle(what: string): void {
    if (this.#pending > 0) {
      throw new JepaError(ErrorCode.MODULE_BUSY, `Trainer.${what}() called while step()/save()/load() calls are pending: await them first`);
    }
  }

  #record(s: StepStats): StepStats {
    this.#last.loss = s.loss;
    this.#last.lr = s.lr;
    return s;
  }

  /**
   * Runs `run` after every call queued before it. With `now` and nothing queued it starts at
   * once, so that the modules are reserved from this call on.
   */
  #enqueue<T>(run: () => Promise<T>, now: boolean): Promise<T> {
    let p: Promise<T>;
    if (this.#pending === 0 && now) {
      try {
        p = run();
      } catch (err) {
        p = Promise.reject(err);
      }
    } else {
      p = this.#tail.then(run, run);
    }
    this.#pending++;
    const done = p.finally(() => {
      this.#pending--;
    });
    this.#tail = done.catch(() => undefined);
    return withCallerStack(done);
  }

  async #prepare(batch: unknown): Promise<object> {
    const needsMasks = this.#needsMasks(batch);
    if (needsMasks && this.#sampler) {
      const m = await this.#sampler.nextAsync();
      return this.#raw(batch, m);
    }
    return this.#prepareSync(batch);
  }

  #prepareSync(batch: unknown): object {
    const needsMasks = this.#needsMasks(batch);
    return this.#raw(batch, needsMasks && this.#sampler ? this.#sampler.next() : undefined);
  }

  #needsMasks(batch: unknown): boolean {
    const keys = {
      ijepa: ['images', 'masks'],
      vjepa: ['images', 'masks'],
      vjepa2: ['images', 'masks'],
      hjepa: ['images', 'mask'],
      motion: ['features'],
      vl: ['imageEmbeddings', 'textEmbeddings'],
    }[this.kind];
    const b = checkOptions(batch, 'batch', keys);
    return isThreeModuleKind(this.kind) ? b.masks === undefined : this.kind === 'hjepa' && b.mask === undefined;
  }

  #raw(batch: unknown, drawn: Masks | HJepaMasks | undefined): object {
    const b = batch as Record<string, unknown>;
    const first = b.images ?? b.features ?? b.imageEmbeddings;
    if (first instanceof Tensor && !first.isDisposed && first.ndim > 0) this.#last.batchSize = first.shape[0];
    const device = Object.values(this.modules)[0].device;
    const check = (t: Tensor, name: string): unknown => {
      if (t.device !== device) {
        throw new JepaError(ErrorCode.DEVICE_MISMATCH, `expected \`${name}\` to be on ${device} (the modules' device), got a tensor on ${t.device}`);
      }
      return nativeOf(t, name);
    };
    switch (this.kind) {
      case 'ijepa':
      case 'vjepa':
      case 'vjepa2': {
        const images = tensorArg(b.images, 'batch.images');
        const m = (b.masks ?? drawn) as Record<string, unknown> | undefined;  // a sampler of this kind draws Masks
        if (m === undefined) throw invalidArgument('expected `batch.masks` ({context, targets}) or a `masks` sampler in the trainer options');
        const context = maskList(m.context, 'batch.masks.context');
        const targets = maskList(m.targets, 'batch.masks.targets');
        if (this.kind !== 'ijepa' && context.length !== targets.length) {
          throw invalidArgument(`expected one context and one target mask per config, got ${context.length} context and ${targets.length} target masks`);
        }
        return {
          images: check(images, 'batch.images'),
          contextMasks: context.map((t, i) => check(t, `batch.masks.context[${i}]`)),
          targetMasks: targets.map((t, i) => check(t, `batch.masks.targets[${i}]`)),
        };
      }
      case 'hjepa': {
        const images = tensorArg(b.images, 'batch.images');
        let mask = b.mask as Tensor | undefined;
        if (mask === undefined) {
          if (!drawn) throw invalidArgument('expected `batch.mask` ([B, N], 1 = masked) or a `masks` sampler in the trainer options');
          // H-JEPA's generator: the union of the level-0 targets; I-JEPA's: of its target blocks.
          mask = drawn.kind === 'hjepa' ? drawn.mask : toBinary(drawn.targets, drawn.grid, { dtype: 'float32' });
        }
        return { images: check(images, 'batch.images'), mask: check(tensorArg(mask, 'batch.mask'), 'batch.mask') };
      }
      case 'motion':
        return { features: check(tensorArg(b.features, 'batch.features'), 'batch.features') };
      case 'vl':
        return {
          inputs: check(tensorArg(b.imageEmbeddings, 'batch.imageEmbeddings'), 'batch.imageEmbeddings'),
          targets: check(tensorArg(b.textEmbeddings, 'batch.textEmbeddings'), 'batch.textEmbeddings'),
        };
    }
  }
}

/**
 * Seeds libtorch's default generators (CPU and CUDA), as Python's `torch.manual_seed`: dropout
 * and drop-path in a training step draw from them.
 */
export function manualSeed(seed: number | bigint): void {
  if (!(typeof seed === 'number' && Number.isSafeInteger(seed) && seed >= 0) && !(typeof seed === 'bigint' && seed >= 0n && seed < 2n ** 64n)) {
    throw invalidArgument(`expected \`seed\` to be a non-negative integer, got ${show(seed)}`);
  }
  native.manualSeed(seed);
}
