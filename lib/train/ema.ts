/**
 * The exponential moving average (EMA) that makes a JEPA target encoder, and the schedules of
 * its momentum (and of the learning rate and weight decay).
 *
 * ```js
 * const momentum = jepa.ema.schedule({ kind: 'linear', start: 0.996, end: 1.0, steps: ipe * epochs * 1.25 });
 * await jepa.ema.update(targetEncoder, contextEncoder, momentum.at(step));
 * ```
 *
 * `update` computes `target = m * target + (1 - m) * source` in place, in C++, over the
 * parameters matched by name, without autograd, with the result of V-JEPA 2's
 * `torch._foreach_mul_(params_k, m); torch._foreach_add_(params_k, params_q, alpha=1 - m)`
 * bit for bit (or, with `formula: 'loop'`, I-JEPA's `p.mul_(m).add_((1 - m) * q)`).
 * @module
 */
import { native } from '../core/binding';
import { invalidArgument, withCallerStack } from '../core/errors';
import { Module, nativeModuleOf } from '../models/module';
import { nativeOf, Tensor } from '../tensor/tensor';
import { checkOptions, isPlainObject, show } from '../core/validate';
import { SCHEDULE_DEFAULTS } from './options';

/**
 * What an EMA update reads or writes: a {@link Module} (its `namedParameters()`, plus its
 * buffers with `buffers: true`), the part of a module under a name prefix (`{ module, prefix }`:
 * H-JEPA keeps both encoders in one module, as `target_encoder.*` and `context_encoder.*`), a
 * `Map` or plain object of named tensors, or an Array of tensors (matched by position).
 */
export type ParameterSet =
  Module | { module: Module; prefix: string } | Map<string, Tensor> | Record<string, Tensor> | readonly Tensor[];

/** Options of {@link update}. */
export interface EmaOptions {
  /** Also average the floating-point buffers (integer buffers are copied). Default false. */
  buffers?: boolean;
  /**
   * `'foreach'` (default): V-JEPA 2's `_foreach_mul_` + `_foreach_add_(alpha = 1 - m)`;
   * `'loop'`: I-JEPA's `p.mul_(m).add_((1 - m) * q)`, which rounds `(1 - m) * q` first and so
   * differs by at most one ulp.
   */
  formula?: 'foreach' | 'loop';
  /**
   * Allow the one-pass fused float32 kernel (default true). It gives the same bits as the two
   * ATen calls; `false` runs the two calls (for comparisons).
   */
  fused?: boolean;
}

/** What an update did. */
export interface EmaStats {
  /** Floating-point tensors averaged. */
  tensors: number;
  /** Non-floating tensors (integer buffers) copied. */
  copied: number;
  /** Elements averaged. */
  elements: number;
  /** Whether the one-pass fused kernel ran (float32 on a CPU with AVX2 + FMA). */
  fused: boolean;
}

type RawSide =
  | { kind: 'module'; module: unknown; prefix: string }
  | { kind: 'named'; entries: [string, unknown][] }
  | { kind: 'list'; tensors: unknown[] };

function rawSide(value: unknown, name: string): RawSide {
  if (value instanceof Module) return { kind: 'module', module: nativeModuleOf(value, name), prefix: '' };
  if (Array.isArray(value)) {
    return { kind: 'list', tensors: value.map((t, i) => nativeOf(t, `${name}[${i}]`)) };
  }
  if (value instanceof Map) {
    const entries: [string, unknown][] = [];
    for (const [k, t] of value) {
      if (typeof k !== 'string')
        throw invalidArgument(`expected the keys of \`${name}\` to be strings, got ${show(k)}`);
      entries.push([k, nativeOf(t, `${name}.get(${JSON.stringify(k)})`)]);
    }
    return { kind: 'named', entries };
  }
  if (isPlainObject(value)) {
    if ('module' in value && value.module instanceof Module) {
      const o = checkOptions(value, name, ['module', 'prefix']);
      if (typeof o.prefix !== 'string') {
        throw invalidArgument(`expected \`${name}.prefix\` to be a string, got ${show(o.prefix)}`);
      }
      return { kind: 'module', module: nativeModuleOf(o.module, `${name}.module`), prefix: o.prefix };
    }
    return { kind: 'named', entries: Object.keys(value).map((k) => [k, nativeOf(value[k], `${name}.${k}`)]) };
  }
  throw invalidArgument(
    `expected \`${name}\` to be a Module, {module, prefix}, a Map or object of named Tensors, or an Array of Tensors, got ${show(value)}`,
  );
}

function prepare(target: unknown, source: unknown, momentum: unknown, options: unknown): unknown[] {
  const o = checkOptions(options, 'options', ['buffers', 'formula', 'fused']);
  if (typeof momentum !== 'number' || !Number.isFinite(momentum)) {
    throw invalidArgument(`expected \`momentum\` to be a finite number, got ${show(momentum)}`);
  }
  if (o.buffers !== undefined && typeof o.buffers !== 'boolean') {
    throw invalidArgument(`expected \`options.buffers\` to be a boolean, got ${show(o.buffers)}`);
  }
  if (o.fused !== undefined && typeof o.fused !== 'boolean') {
    throw invalidArgument(`expected \`options.fused\` to be a boolean, got ${show(o.fused)}`);
  }
  if (o.formula !== undefined && o.formula !== 'foreach' && o.formula !== 'loop') {
    throw invalidArgument(`expected \`options.formula\` to be 'foreach' or 'loop', got ${show(o.formula)}`);
  }
  const t = rawSide(target, 'target');
  const s = rawSide(source, 'source');
  if ((t.kind === 'list') !== (s.kind === 'list')) {
    throw invalidArgument(
      'expected `target` and `source` to be both named (Modules, Maps, objects) or both Arrays of Tensors',
    );
  }
  if (o.buffers && (t.kind !== 'module' || s.kind !== 'module')) {
    throw invalidArgument('`options.buffers` needs Modules for both `target` and `source`');
  }
  return [t, s, momentum, { buffers: o.buffers === true, formula: o.formula ?? 'foreach', fused: o.fused !== false }];
}

/**
 * `target = momentum * target + (1 - momentum) * source`, in place, on a worker thread, for
 * every tensor of `target` and the tensor of the same name in `source` (no autograd; CPU or
 * CUDA). Names, shapes or dtypes that do not match reject with `JEPA_PARAMETER_MISMATCH`,
 * listing each difference; devices that differ with `JEPA_DEVICE_MISMATCH`.
 *
 * Do not run calls on the target module while its update is in flight (the update writes its
 * parameters); `train()`/`to()` on either module throw `JEPA_MODULE_BUSY` meanwhile.
 */
export async function update(
  target: ParameterSet,
  source: ParameterSet,
  momentum: number,
  options?: EmaOptions,
): Promise<EmaStats> {
  const args = prepare(target, source, momentum, options);
  return withCallerStack(native.emaUpdate(args[0], args[1], args[2] as number, args[3] as object));
}

/** Like {@link update} on the calling thread. */
export function updateSync(
  target: ParameterSet,
  source: ParameterSet,
  momentum: number,
  options?: EmaOptions,
): EmaStats {
  const args = prepare(target, source, momentum, options);
  return native.emaUpdateSync(args[0], args[1], args[2] as number, args[3] as object);
}

/** Whether the one-pass fused float32 kernel is used on this machine (else the two ATen calls run). */
export function fusedAvailable(): boolean {
  return native.emaFusedAvailable();
}

// ---------------------------------------------------------------------------------------------
// Schedules

/** The kinds of {@link schedule}. */
export type ScheduleKind =
  | 'constant'
  | 'linear'
  | 'cosine'
  | 'warmupCosine'
  | 'cosineWd'
  | 'linearDecay'
  | 'hjepaWarmupCosine'
  | 'hjepaWarmupLinear'
  | 'hjepaEma'
  | 'seed001-literal';

/**
 * Options of {@link schedule}. `at(step)` is the value used at the 0-based training step
 * `step`; every formula is computed in C++ with the reference's operations in its order, so
 * the values equal Python's bit for bit.
 *
 * - `constant`: `value` (or `start`) at every step.
 * - `linear` (I-JEPA's momentum generator): `start + i * (end - start) / steps` for
 *   `i = min(step, floor(steps))`; I-JEPA uses `steps = ipe * epochs * ipeScale`.
 * - `cosine` (BYOL): `end - (end - start) * (cos(pi * k / steps) + 1) / 2` for
 *   `k = min(step, steps)`, rising from `start` (e.g. 0.996) to `end` (default 1).
 * - `warmupCosine` (I-JEPA `WarmupCosineSchedule`): linear from `start` to `peak` over
 *   `warmupSteps`, then cosine from `peak` to `end` (default 0) at `steps` (the scheduler's
 *   `T_max`, `ipe * epochs * ipeScale`); step `s` is the scheduler's `(s + 1)`-th `step()`.
 * - `cosineWd` (I-JEPA `CosineWDSchedule`): cosine from `start` (`ref_wd`) to `end`
 *   (`final_wd`) over `steps`, clamped at `end`; step `s` is its `(s + 1)`-th `step()`.
 * - `linearDecay` (V-JEPA 2 `LinearDecaySchedule`, its cool-down lr): `start + k / max(1, steps) *
 *   (end - start)` with `k = s + 1` (its `(s + 1)`-th `step()`), not clamped after `steps`.
 * - `hjepaWarmupCosine` / `hjepaWarmupLinear` (jonwiggins/H-JEPA `CosineScheduler` /
 *   `LinearScheduler`, the learning rate): linear from `start` (default 0) to `peak` over
 *   `warmupSteps`, then cosine / linear to `end` at `steps`, as its trainer applies them: it sets
 *   the lr after each optimizer step, so step 0 runs at `peak` (the optimizer's initial lr) and
 *   step `s > 0` at the scheduler's value for `s - 1`. Past the warm-up it divides by
 *   `steps - warmupSteps`: where that is 0, `at()` throws, as Python raises ZeroDivisionError.
 * - `hjepaEma` (jonwiggins/H-JEPA `EMAScheduler`, the momentum): `start` until `warmupSteps`,
 *   then linear to `end` (default 1) at `steps`, then `end` (the same division as above).
 * - `'seed001-literal'`: seed 001's README formula as written,
 *   `start + (end - start) * (1 + cos(pi * k / steps)) / 2` with `k = min(step, steps)`. It runs
 *   **backwards**, from `end` (1.0) at step 0 down to `start` (0.996) at `steps`; the rising
 *   momentum seed 001 describes is `cosine` (or H-JEPA's own `hjepaEma`). Offered only for
 *   reproducing that formula.
 */
export interface ScheduleOptions {
  kind: ScheduleKind;
  value?: number;
  start?: number;
  end?: number;
  peak?: number;
  steps?: number;
  warmupSteps?: number;
}

/** A schedule: `at(step)` is the value at a 0-based step. */
export class Schedule {
  /** The normalised options (what {@link schedule} was given, with defaults filled in). */
  readonly options: Readonly<Required<Omit<ScheduleOptions, 'value'>>>;

  /** @internal */
  constructor(options: Required<Omit<ScheduleOptions, 'value'>>) {
    this.options = Object.freeze({ ...options });
    native.scheduleValues(this.options, 0, 1); // validates in C++ too
  }

  get kind(): ScheduleKind {
    return this.options.kind;
  }

  /** The value at the 0-based step `step`. */
  at(step: number): number {
    checkStep(step, 'step');
    return native.scheduleValues(this.options, step, 1)[0];
  }

  /** The values at steps `from` .. `from + count - 1`. */
  values(from: number, count: number): Float64Array {
    checkStep(from, 'from');
    checkStep(count, 'count');
    return native.scheduleValues(this.options, from, count);
  }

  toJSON(): object {
    return { ...this.options };
  }
}

function checkStep(step: unknown, name: string): void {
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) {
    throw invalidArgument(`expected \`${name}\` to be a non-negative integer, got ${show(step)}`);
  }
}

function finite(o: Record<string, unknown>, key: string, fallback?: number): number {
  const v = o[key] === undefined ? fallback : o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw invalidArgument(
      `expected \`options.${key}\` to be a finite number${o[key] === undefined ? ` (the ${o.kind} schedule needs it)` : ''}, got ${show(o[key])}`,
    );
  }
  return v;
}

function positive(o: Record<string, unknown>, key: string): number {
  const v = finite(o, key);
  if (!(v > 0)) throw invalidArgument(`expected \`options.${key}\` to be a positive number, got ${show(v)}`);
  return v;
}

function warmup(o: Record<string, unknown>, fallback: number): number {
  const warmupSteps = finite(o, 'warmupSteps', fallback);
  if (!Number.isSafeInteger(warmupSteps) || warmupSteps < 0) {
    throw invalidArgument(`expected \`options.warmupSteps\` to be a non-negative integer, got ${show(warmupSteps)}`);
  }
  return warmupSteps;
}

/**
 * A momentum, learning-rate or weight-decay schedule (see {@link ScheduleOptions} for the
 * formulas and their references).
 *
 * ```js
 * const ema = jepa.ema.schedule({ kind: 'linear', start: 0.996, end: 1, steps: ipe * epochs * 1.25 });
 * const lr = jepa.ema.schedule({ kind: 'warmupCosine', start: 2e-4, peak: 1e-3, end: 1e-6, warmupSteps: 40 * ipe, steps: 1.25 * 300 * ipe });
 * ```
 */
export function schedule(options: ScheduleOptions): Schedule {
  const keys = ['kind', 'value', 'start', 'end', 'peak', 'steps', 'warmupSteps'];
  const o = checkOptions(options, 'options', keys);
  const kinds: ScheduleKind[] = [
    'constant',
    'linear',
    'cosine',
    'warmupCosine',
    'cosineWd',
    'linearDecay',
    'hjepaWarmupCosine',
    'hjepaWarmupLinear',
    'hjepaEma',
    'seed001-literal',
  ];
  if (!kinds.includes(o.kind as ScheduleKind)) {
    throw invalidArgument(
      `expected \`options.kind\` to be one of ${kinds.map((k) => `'${k}'`).join(', ')}, got ${show(o.kind)}`,
    );
  }
  const kind = o.kind as ScheduleKind;
  const allowed: Record<ScheduleKind, string[]> = {
    constant: ['value', 'start'],
    linear: ['start', 'end', 'steps'],
    cosine: ['start', 'end', 'steps'],
    warmupCosine: ['start', 'peak', 'end', 'steps', 'warmupSteps'],
    cosineWd: ['start', 'end', 'steps'],
    linearDecay: ['start', 'end', 'steps'],
    hjepaWarmupCosine: ['start', 'peak', 'end', 'steps', 'warmupSteps'],
    hjepaWarmupLinear: ['start', 'peak', 'end', 'steps', 'warmupSteps'],
    hjepaEma: ['start', 'end', 'steps', 'warmupSteps'],
    'seed001-literal': ['start', 'end', 'steps'],
  };
  for (const k of Object.keys(o)) {
    if (k !== 'kind' && !allowed[kind].includes(k)) {
      throw invalidArgument(
        `option \`options.${k}\` does not apply to a ${kind} schedule (it takes ${allowed[kind].join(', ')})`,
      );
    }
  }
  let out: Required<Omit<ScheduleOptions, 'value'>>;
  switch (kind) {
    case 'constant': {
      const v = finite(o, o.value !== undefined ? 'value' : 'start');
      out = { kind, start: v, end: v, peak: v, steps: 1, warmupSteps: 0 };
      break;
    }
    case 'linear':
    case 'cosineWd':
    case 'linearDecay': {
      const start = finite(o, 'start');
      out = { kind, start, end: finite(o, 'end'), peak: start, steps: positive(o, 'steps'), warmupSteps: 0 };
      break;
    }
    case 'cosine':
    case 'seed001-literal': {
      const start = finite(o, 'start');
      out = {
        kind,
        start,
        end: finite(o, 'end', SCHEDULE_DEFAULTS[kind].end),
        peak: start,
        steps: positive(o, 'steps'),
        warmupSteps: 0,
      };
      break;
    }
    case 'hjepaWarmupCosine':
    case 'hjepaWarmupLinear':
    case 'hjepaEma': {
      const d = SCHEDULE_DEFAULTS[kind];
      const warmupSteps = warmup(o, d.warmupSteps);
      const steps = positive(o, 'steps');
      const ema = kind === 'hjepaEma';
      const start = finite(o, 'start', 'start' in d ? d.start : undefined);
      const peak = ema ? start : finite(o, 'peak');
      out = { kind, start, peak, end: finite(o, 'end', d.end), steps, warmupSteps };
      break;
    }
    case 'warmupCosine': {
      const warmupSteps = warmup(o, SCHEDULE_DEFAULTS.warmupCosine.warmupSteps);
      out = {
        kind,
        start: finite(o, 'start'),
        peak: finite(o, 'peak'),
        end: finite(o, 'end', SCHEDULE_DEFAULTS.warmupCosine.end),
        steps: positive(o, 'steps'),
        warmupSteps,
      };
      break;
    }
  }
  return new Schedule(out);
}

/** A number (constant) or a {@link Schedule}: what trainers take for momentum, lr, weight decay. */
export type ScheduleLike = number | Schedule | ScheduleOptions;

/** @internal Normalises a number / Schedule / options into schedule options. */
export function toScheduleOptions(value: unknown, name: string): Required<Omit<ScheduleOptions, 'value'>> {
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw invalidArgument(`expected \`${name}\` to be a finite number, got ${show(value)}`);
    return { kind: 'constant', start: value, end: value, peak: value, steps: 1, warmupSteps: 0 };
  }
  if (value instanceof Schedule) return { ...value.options };
  if (isPlainObject(value)) {
    try {
      return { ...schedule(value as unknown as ScheduleOptions).options };
    } catch (err) {
      if (err instanceof TypeError) err.message = err.message.replace(/`options\./g, `\`${name}.`);
      throw err;
    }
  }
  throw invalidArgument(`expected \`${name}\` to be a number, a Schedule or schedule options, got ${show(value)}`);
}
