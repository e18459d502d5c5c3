/**
 * Training checkpoints in I-JEPA's layout (facebookresearch/ijepa src/train.py
 * `save_checkpoint`), written and read through the project's own `.pt` writer and reader:
 *
 * ```python
 * {'encoder': OrderedDict, 'predictor': OrderedDict, 'target_encoder': OrderedDict,   # I-JEPA / V-JEPA
 *  'model': OrderedDict,                                                              # H-JEPA, motion, VL
 *  'opt': torch.optim.AdamW.state_dict(), 'scaler': None, 'epoch': int, 'loss': float,
 *  'batch_size': int, 'world_size': int, 'lr': float, 'step': int}
 * ```
 *
 * Python reads such a file with `torch.load(f)` (weights_only=True); the reference models take
 * the state dicts with `load_state_dict` and `torch.optim.AdamW` (with I-JEPA's parameter
 * groups) takes `'opt'`. Used by {@link Trainer.save} and {@link Trainer.load}.
 * @module
 */
import { ErrorCode, invalidArgument, JepaError } from '../core/errors';
import type { Module } from '../models/module';
import type { NativeTensor, NativeTrainer } from '../core/native-types';
import { nativeOf, Tensor, wrap } from '../tensor/tensor';
import { isPlainObject, show } from '../core/validate';
import { float, Tuple } from '../io/values';

/** The checkpoint key of each trainer module (I-JEPA's names). */
export const CHECKPOINT_KEYS: Readonly<Record<string, string>> = {
  context: 'encoder',
  predictor: 'predictor',
  target: 'target_encoder',
  model: 'model',
};

const MODULE_NAMES: Readonly<Record<string, string>> = {
  context: 'the context encoder',
  predictor: 'the predictor',
  target: 'the target encoder',
  model: 'the model',
};

/** Facts the checkpoint records beside the weights. */
export interface CheckpointInfo {
  epoch: number;
  loss: number;
  batchSize: number;
  worldSize: number;
  lr: number;
  step: number;
}

/** The parameter-name prefix of each trainer module in the optimizer's groups. */
function prefixOf(key: string, three: boolean): string {
  return three ? `${key}.` : '';
}

/** The checkpoint value of a trainer (tensors share memory with the modules; optimizer state is copied). */
export function buildCheckpoint(
  modules: Readonly<Record<string, Module>>,
  trainer: NativeTrainer,
  info: CheckpointInfo,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['context', 'predictor', 'target', 'model']) {
    const m = modules[key];
    if (m) out[CHECKPOINT_KEYS[key]] = m.stateDict();
  }
  const { groups, beta1, beta2, eps } = trainer.paramGroups();
  const states = trainer.optimizerState();
  const state = new Map<number, Record<string, Tensor>>();
  states.forEach((s, i) => {
    if (s) state.set(i, { step: wrap(s.step), exp_avg: wrap(s.expAvg), exp_avg_sq: wrap(s.expAvgSq) });
  });
  let index = 0;
  const paramGroups = groups.map((g) => {
    const params = g.names.map(() => index++);
    // torch.optim.AdamW's group keys, in its order; I-JEPA's excluded groups start with WD_exclude.
    const group: Record<string, unknown> = g.wdExclude ? { WD_exclude: true, weight_decay: 0 } : {};
    Object.assign(group, {
      lr: float(g.lr),
      betas: Tuple.fromItems([float(beta1), float(beta2)]),
      eps: float(eps),
    });
    if (!g.wdExclude) group.weight_decay = float(g.weightDecay);
    Object.assign(group, {
      amsgrad: false,
      maximize: false,
      foreach: null,
      capturable: false,
      differentiable: false,
      fused: null,
      decoupled_weight_decay: true,
      params,
    });
    return group;
  });
  out.opt = { state, param_groups: paramGroups };
  out.scaler = null;
  out.epoch = info.epoch;
  out.loss = float(info.loss);
  out.batch_size = info.batchSize;
  out.world_size = info.worldSize;
  out.lr = float(info.lr);
  out.step = info.step;
  return out;
}

function invalid(message: string): JepaError {
  return new JepaError(ErrorCode.CHECKPOINT_INVALID, message);
}

function mismatch(message: string): JepaError {
  return new JepaError(ErrorCode.PARAMETER_MISMATCH, message);
}

const quote = (keys: string[]): string => keys.map((k) => `'${k}'`).join(', ');

/** A state dict's entries with a DistributedDataParallel `module.` prefix removed (I-JEPA saves wrapped models). */
function stateDictOf(value: unknown, where: string): Map<string, Tensor> {
  let entries: [unknown, unknown][];
  if (value instanceof Map) entries = [...value.entries()];
  else if (isPlainObject(value)) entries = Object.entries(value);
  else throw invalid(`expected ${where} to be a state dict (a dict of tensors), got ${show(value)}`);
  const out = new Map<string, Tensor>();
  const strip = entries.length > 0 && entries.every(([k]) => typeof k === 'string' && k.startsWith('module.'));
  for (const [k, t] of entries) {
    if (typeof k !== 'string' || !(t instanceof Tensor)) {
      throw invalid(`expected ${where} to map names to tensors, got ${show(k)}: ${show(t)}`);
    }
    out.set(strip ? k.slice(7) : k, t);
  }
  return out;
}

/** Lists every missing, unexpected and differently shaped name; throws JEPA_PARAMETER_MISMATCH if any. */
function checkAgainst(module: Module, sd: Map<string, Tensor>, where: string, what: string): void {
  const own = module.stateDict();
  const missing = [...own.keys()].filter((k) => !sd.has(k));
  const unexpected = [...sd.keys()].filter((k) => !own.has(k));
  const shapes: string[] = [];
  for (const [k, t] of own) {
    const s = sd.get(k);
    if (s && s.shape.join(',') !== t.shape.join(','))
      shapes.push(`${k}: checkpoint [${s.shape.join(', ')}], module [${t.shape.join(', ')}]`);
  }
  const problems: string[] = [];
  if (missing.length) problems.push(`missing keys: ${missing.join(', ')}`);
  if (unexpected.length) problems.push(`unexpected keys: ${unexpected.join(', ')}`);
  if (shapes.length) problems.push(`shape mismatch: ${shapes.join(', ')}`);
  if (problems.length) throw mismatch(`${where} does not match ${what} (${problems.join('; ')})`);
}

type RawState = { step: NativeTensor; expAvg: NativeTensor; expAvgSq: NativeTensor } | null;

/** What {@link applyCheckpoint} needs to restore, checked before anything is changed. */
interface Parsed {
  stateDicts: [Module, Map<string, Tensor>][];
  states: RawState[];
  groups: { lr: number; weightDecay: number }[];
  step: number;
  epoch: number;
}

function integer(value: unknown, where: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw invalid(`expected ${where} to be a non-negative integer, got ${show(value)}`);
  }
  return n;
}

/** Checks a checkpoint (as `jepa.load` returns it) against the trainer; throws before changing anything. */
function parse(
  value: unknown,
  modules: Readonly<Record<string, Module>>,
  trainer: NativeTrainer,
  kind: string,
): Parsed {
  const three = 'context' in modules;
  const moduleKeys = Object.keys(CHECKPOINT_KEYS).filter((k) => k in modules);
  const required = [...moduleKeys.map((k) => CHECKPOINT_KEYS[k]), 'opt'];
  const layout = `${three ? 'an I-JEPA / V-JEPA' : `a ${kind}`} checkpoint holds ${quote(required)}, 'epoch', 'step'`;
  if (!isPlainObject(value))
    throw invalid(`expected the checkpoint to be a dict with string keys (${layout}), got ${show(value)}`);
  const missing = required.filter((k) => !(k in value));
  if (missing.length) {
    throw invalid(
      `the checkpoint has no ${quote(missing)} (${layout}); its keys are ${quote(Object.keys(value)) || '(none)'}`,
    );
  }
  const stateDicts: [Module, Map<string, Tensor>][] = [];
  for (const key of moduleKeys) {
    const ck = CHECKPOINT_KEYS[key];
    const sd = stateDictOf(value[ck], `checkpoint['${ck}']`);
    checkAgainst(modules[key], sd, `checkpoint['${ck}']`, MODULE_NAMES[key]);
    stateDicts.push([modules[key], sd]);
  }

  // The optimizer: torch.optim.AdamW.state_dict() with the trainer's groups.
  const opt = value.opt;
  if (
    !isPlainObject(opt) ||
    !Array.isArray(opt.param_groups) ||
    !(opt.state instanceof Map || isPlainObject(opt.state))
  ) {
    throw invalid(`expected checkpoint['opt'] to be an optimizer state_dict ({state, param_groups}), got ${show(opt)}`);
  }
  const { groups } = trainer.paramGroups();
  const theirs = opt.param_groups as unknown[];
  const counts = theirs.map((g) => (isPlainObject(g) && Array.isArray(g.params) ? g.params.length : NaN));
  if (theirs.length !== groups.length || counts.some((c, i) => c !== groups[i].names.length)) {
    throw mismatch(
      `checkpoint['opt'] has ${theirs.length} parameter groups of [${counts.join(', ')}] parameters, ` +
        `the trainer's optimizer ${groups.length} of [${groups.map((g) => g.names.length).join(', ')}]`,
    );
  }
  const names = groups.flatMap((g) => g.names);
  const params = new Map<string, Tensor>();
  for (const key of moduleKeys) {
    for (const [n, t] of modules[key].namedParameters()) params.set(prefixOf(key, three) + n, t);
  }
  // Python numbers the parameters 0.. over the groups in order; a group's 'params' lists its indices.
  const order = theirs.flatMap((g) =>
    (g as { params: unknown[] }).params.map((i) => (typeof i === 'bigint' ? Number(i) : i)),
  );
  const stateMap =
    opt.state instanceof Map ? opt.state : new Map(Object.entries(opt.state).map(([k, v]) => [Number(k), v]));
  const states: RawState[] = names.map((name, i) => {
    const s = stateMap.get(order[i]);
    if (s === undefined) return null;
    const where = `checkpoint['opt']['state'][${String(order[i])}] (${name})`;
    if (
      !isPlainObject(s) ||
      !(s.step instanceof Tensor) ||
      !(s.exp_avg instanceof Tensor) ||
      !(s.exp_avg_sq instanceof Tensor)
    ) {
      throw invalid(`expected ${where} to hold tensors 'step', 'exp_avg', 'exp_avg_sq', got ${show(s)}`);
    }
    const p = params.get(name);
    const shape = p ? p.shape.join(', ') : '';
    for (const [k, t] of [
      ['exp_avg', s.exp_avg],
      ['exp_avg_sq', s.exp_avg_sq],
    ] as [string, Tensor][]) {
      if (p && t.shape.join(', ') !== shape)
        throw mismatch(`${where}['${k}'] has shape [${t.shape.join(', ')}], the parameter [${shape}]`);
    }
    if (s.step.numel !== 1)
      throw invalid(`expected ${where}['step'] to be a scalar, got shape [${s.step.shape.join(', ')}]`);
    return { step: nativeOf(s.step), expAvg: nativeOf(s.exp_avg), expAvgSq: nativeOf(s.exp_avg_sq) };
  });
  const groupValues = theirs.map((g, i) => {
    const r = g as Record<string, unknown>;
    return {
      lr: typeof r.lr === 'number' ? r.lr : groups[i].lr,
      weightDecay: typeof r.weight_decay === 'number' ? r.weight_decay : groups[i].weightDecay,
    };
  });
  // The next step: 'step' when saved, else the optimizer's step count (Python's state[p]['step']).
  let fallback = 0;
  for (const s of states) if (s) fallback = Math.max(fallback, Math.round(wrap(s.step).to('float64').item() as number));
  return {
    stateDicts,
    states,
    groups: groupValues,
    step: integer(value.step, "checkpoint['step']", fallback),
    epoch: integer(value.epoch, "checkpoint['epoch']", 0),
  };
}

/** Restores a checkpoint into the trainer's modules and optimizer; nothing changes when it does not fit. */
export function applyCheckpoint(
  value: unknown,
  modules: Readonly<Record<string, Module>>,
  trainer: NativeTrainer,
  kind: string,
): { step: number; epoch: number } {
  const p = parse(value, modules, trainer, kind);
  for (const [m, sd] of p.stateDicts) m.loadStateDict(sd);
  trainer.setOptimizerState(p.states, p.groups);
  trainer.setStep(p.step);
  trainer.setEpoch(p.epoch);
  return { step: p.step, epoch: p.epoch };
}

/** Checks {@link Trainer.save} options. */
export function checkSaveOptions(
  options: unknown,
): Partial<Pick<CheckpointInfo, 'epoch' | 'loss' | 'batchSize' | 'worldSize'>> {
  if (options === undefined) return {};
  if (!isPlainObject(options)) throw invalidArgument(`expected \`options\` to be an object, got ${show(options)}`);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(options)) {
    if (!['epoch', 'loss', 'batchSize', 'worldSize'].includes(k)) {
      throw invalidArgument(`unknown option \`options.${k}\` (expected epoch, loss, batchSize, worldSize)`);
    }
    if (v === undefined) continue;
    const ok =
      k === 'loss'
        ? typeof v === 'number' && Number.isFinite(v)
        : Number.isSafeInteger(v) && (v as number) >= (k === 'worldSize' ? 1 : 0);
    if (!ok) {
      throw invalidArgument(
        `expected \`options.${k}\` to be ${k === 'loss' ? 'a finite number' : k === 'worldSize' ? 'a positive integer' : 'a non-negative integer'}, got ${show(v)}`,
      );
    }
    out[k] = v as number;
  }
  return out;
}
