/**
 * The options of {@link Trainer}: their types, their resolution and their checks. The one home
 * of the trainer's and its schedules' defaults: the per-kind tables (`TRAINER_DEFAULTS`, from
 * each kind's official code) are in lib/train/defaults.ts, the schedules' below; native code
 * receives every value resolved. (Internal to the package, but for the exported types.)
 * @module
 */
import { ErrorCode, invalidArgument, JepaError } from '../core/errors';
import { checkOptions, show } from '../core/validate';
import { deriveSeed, group as defaultGroup, ProcessGroup } from '../distributed/distributed';
import { MaskSampler } from '../masks/samplers';
import { Module } from '../models/module';
import { isThreeModuleKind, nativeKind, TRAINER_DEFAULTS, type TrainerKind } from './defaults';
import { toScheduleOptions, type ScheduleLike, type ScheduleOptions } from './ema';
import { hjepaLevelWeights } from './hjepa-recipe';

export type { TrainerKind } from './defaults';

/** Options of {@link Trainer}. */
export interface TrainerOptions {
  /**
   * `'ijepa'` (smooth L1 on the target tokens), `'vjepa'` (mean |z - h|^p / p per mask config,
   * averaged), `'vjepa2'` (V-JEPA's step with V-JEPA 2's EMA, mask index and no clipping),
   * `'hjepa'` (jonwiggins/H-JEPA's per-level loss and step), `'motion'` (seed 003's reconstruction +
   * temporal difference + latent smoothness), `'vl'` (seed 004's 1 - cosine). Every option left
   * out takes the official code's default for the kind (`TRAINER_DEFAULTS`, lib/train/defaults.ts,
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

/**
 * The defaults of schedule options left out (`jepa.ema.schedule`): a cosine schedule ends at 1
 * (BYOL's momentum; seed 001's literal formula likewise), a warmup-cosine one warms up for 0
 * steps and ends at 0; jonwiggins/H-JEPA's lr schedulers start their warm-up at 0 and end at 0
 * (its `min_lr` default), its EMA scheduler ends at 1 (`momentum_end`); none warms up by default.
 * @internal
 */
export const SCHEDULE_DEFAULTS = Object.freeze({
  cosine: Object.freeze({ end: 1 }),
  'seed001-literal': Object.freeze({ end: 1 }),
  warmupCosine: Object.freeze({ end: 0, warmupSteps: 0 }),
  hjepaWarmupCosine: Object.freeze({ start: 0, end: 0, warmupSteps: 0 }),
  hjepaWarmupLinear: Object.freeze({ start: 0, end: 0, warmupSteps: 0 }),
  hjepaEma: Object.freeze({ end: 1, warmupSteps: 0 }),
});

/** A schedule's options with every field given. @internal */
export type ResolvedSchedule = Required<Omit<ScheduleOptions, 'value'>>;

/** What {@link resolveTrainerOptions} gives a trainer: everything checked, every default filled. @internal */
export interface ResolvedTrainerOptions {
  kind: TrainerKind;
  modules: Record<string, Module>;
  schedules: Record<'lr' | 'weightDecay' | 'momentum', ResolvedSchedule>;
  sampler: MaskSampler | undefined;
  distributed: ProcessGroup | null;
  /** The native trainer's config, but for the modules and the process group: every field given. */
  native: Record<string, unknown>;
}

const KINDS: TrainerKind[] = ['ijepa', 'vjepa', 'vjepa2', 'hjepa', 'motion', 'vl'];
/** The keys of {@link TrainerOptions}. @internal */
export const OPTION_KEYS = [
  'kind',
  'context',
  'target',
  'predictor',
  'model',
  'lr',
  'weightDecay',
  'momentum',
  'betas',
  'eps',
  'excludeBiasAndNorm',
  'clipGrad',
  'clipGradFrom',
  'emaFormula',
  'normalizeTargets',
  'lossExp',
  'regCoeff',
  'maskIndex',
  'levelWeights',
  'lossType',
  'huberDelta',
  'normalizeEmbeddings',
  'maskedLoss',
  'targetUpdate',
  'reconWeight',
  'motionWeight',
  'smoothWeight',
  'bf16',
  'masks',
  'distributed',
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
    throw invalidArgument(
      `expected \`options.${key}\` to be a ${positive ? 'positive' : 'finite'} number, got ${show(o[key])}`,
    );
  }
  return v;
}

function choice<T extends string>(o: Record<string, unknown>, key: string, allowed: readonly T[], fallback: T): T {
  const v = o[key] === undefined ? fallback : o[key];
  if (!allowed.includes(v as T)) {
    const names = allowed.map((a) => `'${a}'`);
    const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : names[0];
    throw invalidArgument(`expected \`options.${key}\` to be ${list}, got ${show(o[key])}`);
  }
  return v as T;
}

function flag(o: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = o[key] === undefined ? fallback : o[key];
  if (typeof v !== 'boolean') throw invalidArgument(`expected \`options.${key}\` to be a boolean, got ${show(o[key])}`);
  return v;
}

/** Checks a trainer's options and fills their defaults (the kind's, lib/train/defaults.ts). @internal */
export function resolveTrainerOptions(options: TrainerOptions): ResolvedTrainerOptions {
  const o = checkOptions(options, 'options', OPTION_KEYS);
  if (!KINDS.includes(o.kind as TrainerKind)) {
    throw invalidArgument(
      `expected \`options.kind\` to be one of ${KINDS.map((k) => `'${k}'`).join(', ')}, got ${show(o.kind)}`,
    );
  }
  const kind = o.kind as TrainerKind;
  const d = TRAINER_DEFAULTS[kind];
  for (const [key, kinds] of Object.entries(KIND_ONLY)) {
    if (o[key] !== undefined && !kinds.includes(kind)) {
      throw invalidArgument(
        `option \`options.${key}\` does not apply to the ${kind} trainer (only to ${kinds.join(', ')})`,
      );
    }
  }
  const modules = modulesOf(o, kind);
  if (o.lr === undefined && d.lr === null) {
    throw invalidArgument('expected `options.lr` (a number, a Schedule or schedule options), got undefined');
  }
  const schedules = {
    lr: toScheduleOptions(o.lr ?? d.lr, 'options.lr'),
    weightDecay: toScheduleOptions(o.weightDecay ?? d.weightDecay, 'options.weightDecay'),
    // Kinds without a target encoder (momentum null) never read it.
    momentum: toScheduleOptions(o.momentum ?? d.momentum ?? 0, 'options.momentum'),
  };
  const betas = betasOf(o.betas, d.betas);
  const clipGradFrom = o.clipGradFrom ?? d.clipGradFrom;
  if (!Number.isSafeInteger(clipGradFrom) || (clipGradFrom as number) < 0) {
    throw invalidArgument(
      `expected \`options.clipGradFrom\` to be a non-negative integer (a step index), got ${show(o.clipGradFrom)}`,
    );
  }
  const maskIndex = o.maskIndex ?? d.maskIndex;
  if (maskIndex !== 'config' && !Number.isSafeInteger(maskIndex)) {
    throw invalidArgument(`expected \`options.maskIndex\` to be 'config' or an integer, got ${show(o.maskIndex)}`);
  }
  const distributed = groupOf(o.distributed);
  let sampler = samplerOf(o.masks, kind);
  // Data-parallel: each rank draws its own masks, from deriveSeed(positionSeed, rank) and then
  // the step (the generator advances one batch per step); block sizes follow the shared step
  // counter, as in the reference collators.
  if (distributed && sampler) sampler = sampler.withPositionSeed(deriveSeed(sampler.positionSeed, distributed.rank));
  const native: Record<string, unknown> = {
    kind: nativeKind(kind),
    lr: schedules.lr,
    weightDecay: schedules.weightDecay,
    momentum: schedules.momentum,
    beta1: betas[0],
    beta2: betas[1],
    eps: num(o, 'eps', d.eps, true),
    excludeBiasAndNorm: flag(o, 'excludeBiasAndNorm', d.excludeBiasAndNorm),
    clipGrad: o.clipGrad === undefined ? d.clipGrad : o.clipGrad === null ? null : num(o, 'clipGrad', 0, true),
    clipGradFrom,
    emaFormula: choice(o, 'emaFormula', ['foreach', 'loop'] as const, d.emaFormula),
    normalizeTargets: flag(o, 'normalizeTargets', d.normalizeTargets),
    lossExp: num(o, 'lossExp', d.lossExp, true),
    regCoeff: num(o, 'regCoeff', d.regCoeff),
    maskIndex,
    levelWeights: levelWeightsOf(o, kind, modules),
    lossType: choice(o, 'lossType', ['mse', 'smoothl1', 'huber'] as const, d.lossType),
    huberDelta: num(o, 'huberDelta', d.huberDelta, true),
    normalizeEmbeddings: flag(o, 'normalizeEmbeddings', d.normalizeEmbeddings),
    maskedLoss: flag(o, 'maskedLoss', d.maskedLoss),
    targetUpdate: choice(o, 'targetUpdate', ['beforeStep', 'afterStep'] as const, d.targetUpdate),
    reconWeight: num(o, 'reconWeight', d.reconWeight),
    motionWeight: num(o, 'motionWeight', d.motionWeight),
    smoothWeight: num(o, 'smoothWeight', d.smoothWeight),
    bf16: flag(o, 'bf16', false),
  };
  return { kind, modules, schedules, sampler, distributed, native };
}

/** The modules a kind trains (context, target, predictor, or model), on one device. */
function modulesOf(o: Record<string, unknown>, kind: TrainerKind): Record<string, Module> {
  const three = isThreeModuleKind(kind);
  const needed = three ? ['context', 'target', 'predictor'] : ['model'];
  const other = three ? ['model'] : ['context', 'target', 'predictor'];
  const modules: Record<string, Module> = {};
  for (const key of needed) {
    if (!(o[key] instanceof Module)) {
      throw invalidArgument(
        `expected \`options.${key}\` to be a Module (the ${kind} trainer needs ${needed.join(', ')}), got ${show(o[key])}`,
      );
    }
    modules[key] = o[key] as Module;
  }
  for (const key of other) {
    if (o[key] !== undefined)
      throw invalidArgument(
        `option \`options.${key}\` does not apply to the ${kind} trainer (it takes ${needed.join(', ')})`,
      );
  }
  const devices = new Set(Object.values(modules).map((m) => m.device));
  if (devices.size > 1) {
    throw new JepaError(
      ErrorCode.DEVICE_MISMATCH,
      `expected the modules to be on one device, got ${[...devices].join(', ')}`,
    );
  }
  return modules;
}

function betasOf(b: unknown, fallback: readonly [number, number]): [number, number] {
  if (b === undefined) return [fallback[0], fallback[1]];
  if (!Array.isArray(b) || b.length !== 2 || !b.every((x) => typeof x === 'number' && x >= 0 && x < 1)) {
    throw invalidArgument(`expected \`options.betas\` to be two numbers in [0, 1), got ${show(b)}`);
  }
  return [b[0], b[1]];
}

/**
 * H-JEPA's level weights: as given (one per level of a model that reports `num_levels`), else
 * {@link hjepaLevelWeights} for the model's levels; undefined (1 per level) for a model that
 * does not report its levels and for the other kinds.
 */
function levelWeightsOf(
  o: Record<string, unknown>,
  kind: TrainerKind,
  modules: Record<string, Module>,
): number[] | undefined {
  let levels: number | undefined;
  if (kind === 'hjepa' && modules.model.methods().includes('num_levels'))
    levels = modules.model.runSync('num_levels') as number;
  const w = o.levelWeights;
  if (w === undefined) return levels === undefined ? undefined : hjepaLevelWeights(levels);
  if (!Array.isArray(w) || !w.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw invalidArgument(`expected \`options.levelWeights\` to be an Array of numbers, got ${show(w)}`);
  }
  if (levels !== undefined && w.length !== levels) {
    throw invalidArgument(
      `expected \`options.levelWeights\` to hold one weight per level (the model has ${levels}), got ${w.length}: ${show(w)}`,
    );
  }
  return [...w];
}

/** The samplers each kind can draw the masks of a batch from. */
const SAMPLERS: Record<TrainerKind, string[]> = {
  ijepa: ['multiblock', 'notebook2d'],
  vjepa: ['multiblock3d', 'randomTube', 'notebook3d'],
  vjepa2: ['multiblock3d', 'randomTube', 'notebook3d'],
  hjepa: ['hjepa', 'multiblock'],
  motion: [],
  vl: [],
};

/** The sampler of batches that bring no masks: its kind must suit the trainer's. */
function samplerOf(masks: unknown, kind: TrainerKind): MaskSampler | undefined {
  if (masks === undefined) return undefined;
  if (!(masks instanceof MaskSampler))
    throw invalidArgument(`expected \`options.masks\` to be a MaskSampler, got ${show(masks)}`);
  const want = SAMPLERS[kind];
  if (!want.includes(masks.kind)) {
    throw invalidArgument(
      want.length === 0
        ? `option \`options.masks\` does not apply to the ${kind} trainer`
        : `expected \`options.masks\` to be a ${want.join(' or ')} MaskSampler for the ${kind} trainer, got a ${masks.kind} sampler`,
    );
  }
  return masks;
}

/** The process group of a data-parallel trainer (`true`: the default group), else null. */
function groupOf(value: unknown): ProcessGroup | null {
  if (value === true) return defaultGroup();
  if (value instanceof ProcessGroup) return value;
  if (value !== undefined && value !== false) {
    throw invalidArgument(`expected \`options.distributed\` to be a boolean or a ProcessGroup, got ${show(value)}`);
  }
  return null;
}
