/**
 * The options of {@link Trainer}: their types, their defaults (the one home of the trainer's
 * and its schedules' defaults; native code receives every value resolved) and their checks.
 * (Internal to the package, but for the exported types.)
 * @module
 */
import { ErrorCode, invalidArgument, JepaError } from '../core/errors';
import { checkOptions, show } from '../core/validate';
import { deriveSeed, group as defaultGroup, ProcessGroup } from '../distributed/distributed';
import { MaskSampler } from '../masks/samplers';
import { Module } from '../models/module';
import { toScheduleOptions, type ScheduleLike, type ScheduleOptions } from './ema';

/** The kinds of training step. */
export type TrainerKind = 'ijepa' | 'vjepa' | 'hjepa' | 'motion' | 'vl';

/** Options of {@link Trainer}. */
export interface TrainerOptions {
  /**
   * `'ijepa'` (smooth L1 on the target tokens), `'vjepa'` (mean |z - h|^p / p per mask config,
   * averaged), `'hjepa'` (per-level loss of seed 001's model), `'motion'` (seed 003's
   * reconstruction + temporal difference + latent smoothness), `'vl'` (seed 004's 1 - cosine).
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
  /** Learning rate: a number, a {@link Schedule} or schedule options. */
  lr: ScheduleLike;
  /** Weight decay (decoupled, AdamW). Default 0.01 (torch.optim.AdamW's). */
  weightDecay?: ScheduleLike;
  /** EMA momentum of the target encoder (I-JEPA, V-JEPA, H-JEPA). Default 0.996. */
  momentum?: ScheduleLike;
  /** AdamW betas. Default [0.9, 0.999]. */
  betas?: [number, number];
  /** AdamW eps. Default 1e-8. */
  eps?: number;
  /**
   * Leave biases and 1-D parameters out of weight decay (I-JEPA's parameter groups). Default
   * true for the JEPA kinds, false for motion and VL (their seeds give AdamW all parameters).
   */
  excludeBiasAndNorm?: boolean;
  /** Clip each module's gradient norm to this (V-JEPA clips encoder and predictor separately). */
  clipGrad?: number | null;
  /** EMA formula, see {@link EmaOptions.formula}. Default `'foreach'` (V-JEPA 2). */
  emaFormula?: 'foreach' | 'loop';
  /** V-JEPA: the loss exponent p. Default 1. */
  lossExp?: number;
  /** H-JEPA: weight of each level's loss. Default 1 for every level. */
  levelWeights?: number[];
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
   * Draws the masks of a batch that brings none: a `multiblock` sampler for I-JEPA and H-JEPA
   * (H-JEPA takes the union of its target blocks, `masks.binary`), `multiblock3d` or
   * `randomTube` for V-JEPA.
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
 * The defaults of the trainer's options, as torch.optim.AdamW and the reference code have them
 * (see each option's note in {@link TrainerOptions}). `excludeBiasAndNorm` depends on the kind.
 * @internal
 */
export const TRAINER_DEFAULTS = Object.freeze({
  weightDecay: 0.01,
  momentum: 0.996,
  betas: Object.freeze([0.9, 0.999]) as readonly [number, number],
  eps: 1e-8,
  clipGrad: null,
  emaFormula: 'foreach' as 'foreach' | 'loop',
  lossExp: 1,
  reconWeight: 1,
  motionWeight: 1,
  smoothWeight: 0.05,
  bf16: false,
  excludeBiasAndNorm: (kind: TrainerKind): boolean => kind !== 'motion' && kind !== 'vl',
});

/**
 * The defaults of schedule options left out (`jepa.ema.schedule`): a cosine schedule ends at 1
 * (BYOL's momentum), a warmup-cosine one warms up for 0 steps and ends at 0.
 * @internal
 */
export const SCHEDULE_DEFAULTS = Object.freeze({
  cosine: Object.freeze({ end: 1 }),
  warmupCosine: Object.freeze({ end: 0, warmupSteps: 0 }),
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
  /** The native trainer's config, but for the modules and the process group. */
  native: Record<string, unknown>;
}

const KINDS: TrainerKind[] = ['ijepa', 'vjepa', 'hjepa', 'motion', 'vl'];
const OPTION_KEYS = [
  'kind', 'context', 'target', 'predictor', 'model', 'lr', 'weightDecay', 'momentum', 'betas', 'eps',
  'excludeBiasAndNorm', 'clipGrad', 'emaFormula', 'lossExp', 'levelWeights', 'reconWeight', 'motionWeight',
  'smoothWeight', 'bf16', 'masks', 'distributed',
];

function num(o: Record<string, unknown>, key: string, fallback: number, positive = false): number {
  const v = o[key] === undefined ? fallback : o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || (positive && !(v > 0))) {
    throw invalidArgument(`expected \`options.${key}\` to be a ${positive ? 'positive' : 'finite'} number, got ${show(o[key])}`);
  }
  return v;
}

/** Checks a trainer's options and fills their defaults. @internal */
export function resolveTrainerOptions(options: TrainerOptions): ResolvedTrainerOptions {
  const o = checkOptions(options, 'options', OPTION_KEYS);
  if (!KINDS.includes(o.kind as TrainerKind)) {
    throw invalidArgument(`expected \`options.kind\` to be one of ${KINDS.map((k) => `'${k}'`).join(', ')}, got ${show(o.kind)}`);
  }
  const kind = o.kind as TrainerKind;
  const modules = modulesOf(o, kind);
  if (o.lr === undefined) throw invalidArgument('expected `options.lr` (a number, a Schedule or schedule options), got undefined');
  const D = TRAINER_DEFAULTS;
  const schedules = {
    lr: toScheduleOptions(o.lr, 'options.lr'),
    weightDecay: toScheduleOptions(o.weightDecay ?? D.weightDecay, 'options.weightDecay'),
    momentum: toScheduleOptions(o.momentum ?? D.momentum, 'options.momentum'),
  };
  const betas = betasOf(o.betas);
  checkFlags(o);
  const distributed = groupOf(o.distributed);
  let sampler = samplerOf(o.masks, kind);
  // Data-parallel: each rank draws its own masks, from deriveSeed(positionSeed, rank) and then
  // the step (the generator advances one batch per step); block sizes follow the shared step
  // counter, as in the reference collators.
  if (distributed && sampler) sampler = sampler.withPositionSeed(deriveSeed(sampler.positionSeed, distributed.rank));
  const native: Record<string, unknown> = {
    kind,
    lr: schedules.lr,
    weightDecay: schedules.weightDecay,
    momentum: schedules.momentum,
    beta1: betas[0],
    beta2: betas[1],
    eps: num(o, 'eps', D.eps, true),
    excludeBiasAndNorm: o.excludeBiasAndNorm ?? D.excludeBiasAndNorm(kind),
    clipGrad: o.clipGrad === undefined || o.clipGrad === null ? D.clipGrad : num(o, 'clipGrad', 0, true),
    emaFormula: o.emaFormula ?? D.emaFormula,
    lossExp: num(o, 'lossExp', D.lossExp, true),
    levelWeights: o.levelWeights,
    reconWeight: num(o, 'reconWeight', D.reconWeight),
    motionWeight: num(o, 'motionWeight', D.motionWeight),
    smoothWeight: num(o, 'smoothWeight', D.smoothWeight),
    bf16: o.bf16 ?? D.bf16,
  };
  return { kind, modules, schedules, sampler, distributed, native };
}

/** The modules a kind trains (context, target, predictor, or model), on one device. */
function modulesOf(o: Record<string, unknown>, kind: TrainerKind): Record<string, Module> {
  const three = kind === 'ijepa' || kind === 'vjepa';
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
  return modules;
}

function betasOf(b: unknown): [number, number] {
  if (b === undefined) return [TRAINER_DEFAULTS.betas[0], TRAINER_DEFAULTS.betas[1]];
  if (!Array.isArray(b) || b.length !== 2 || !b.every((x) => typeof x === 'number' && x >= 0 && x < 1)) {
    throw invalidArgument(`expected \`options.betas\` to be two numbers in [0, 1), got ${show(b)}`);
  }
  return [b[0], b[1]];
}

/** The options that are checked but passed on as given: booleans, the EMA formula, level weights. */
function checkFlags(o: Record<string, unknown>): void {
  for (const key of ['excludeBiasAndNorm', 'bf16']) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') {
      throw invalidArgument(`expected \`options.${key}\` to be a boolean, got ${show(o[key])}`);
    }
  }
  if (o.emaFormula !== undefined && o.emaFormula !== 'foreach' && o.emaFormula !== 'loop') {
    throw invalidArgument(`expected \`options.emaFormula\` to be 'foreach' or 'loop', got ${show(o.emaFormula)}`);
  }
  const w = o.levelWeights;
  if (w !== undefined && (!Array.isArray(w) || !w.every((x) => typeof x === 'number' && Number.isFinite(x)))) {
    throw invalidArgument(`expected \`options.levelWeights\` to be an Array of numbers, got ${show(w)}`);
  }
}

/** The sampler of batches that bring no masks: its kind must suit the trainer's. */
function samplerOf(masks: unknown, kind: TrainerKind): MaskSampler | undefined {
  if (masks === undefined) return undefined;
  if (!(masks instanceof MaskSampler)) throw invalidArgument(`expected \`options.masks\` to be a MaskSampler, got ${show(masks)}`);
  const want = kind === 'vjepa' ? ['multiblock3d', 'randomTube'] : kind === 'motion' || kind === 'vl' ? [] : ['multiblock'];
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
