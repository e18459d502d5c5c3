/**
 * Collation: turning the samples of a batch into one batch value, as PyTorch's `default_collate`
 * does (tensors stacked along a new first dimension, numbers into a tensor, strings into a list,
 * objects and arrays field by field), plus padding or cropping of a variable-length dimension.
 * @module
 */
import { ErrorCode, invalidArgument, JepaError } from '../core/errors';
import { native } from '../core/binding';
import { nativeOf, tensor, Tensor, wrap } from '../tensor/tensor';
import { isPlainObject, show } from '../core/validate';

/**
 * How samples whose tensors differ in length along one dimension (the frames T of seed 003's
 * `[T, N, C]` features) are brought to one length before stacking.
 */
export interface VariableLength {
  /**
   * `'pad'`: zeros appended up to the batch's longest (or to `length`, longer ones cut);
   * `'crop'`: every one cut to the batch's shortest (or to `length`; a shorter one is an error).
   * Cut sequences keep their first steps.
   */
  mode: 'pad' | 'crop';
  /** The dimension of the sample tensor that varies. Default 0. */
  dim?: number;
  /** A fixed length instead of the batch's longest / shortest. */
  length?: number;
  /**
   * The field of an object sample that varies. Default: the sample's only tensor field (the
   * batch then gets `lengths`, an int64 [B] tensor of each sample's valid length).
   */
  key?: string;
}

/** The batch type that the default collation makes of samples of type `T`. */
export type Collated<T> = T extends Tensor
  ? Tensor
  : T extends number | boolean | bigint
    ? Tensor
    : T extends string
      ? string[]
      : T extends readonly unknown[]
        ? { [K in keyof T]: Collated<T[K]> }
        : T extends object
          ? { [K in keyof T]: Collated<T[K]> } & { lengths?: Tensor }
          : T[];

/** {@link VariableLength} with its defaults filled in. */
interface Resolved {
  mode: 'pad' | 'crop';
  dim: number;
  length?: number;
  key?: string;
}

/** Checks {@link VariableLength} options. @internal */
export function checkVariableLength(value: unknown, name: string): Resolved {
  if (typeof value === 'string') value = { mode: value };
  if (!isPlainObject(value))
    throw invalidArgument(`expected \`${name}\` to be 'pad', 'crop' or {mode, dim, length, key}, got ${show(value)}`);
  for (const k of Object.keys(value)) {
    if (!['mode', 'dim', 'length', 'key'].includes(k))
      throw invalidArgument(`unknown option \`${name}.${k}\` (expected mode, dim, length, key)`);
  }
  const { mode, dim = 0, length, key } = value as Record<string, unknown>;
  if (mode !== 'pad' && mode !== 'crop')
    throw invalidArgument(`expected \`${name}.mode\` to be 'pad' or 'crop', got ${show(mode)}`);
  if (!Number.isSafeInteger(dim) || (dim as number) < 0)
    throw invalidArgument(`expected \`${name}.dim\` to be a non-negative integer, got ${show(dim)}`);
  if (length !== undefined && (!Number.isSafeInteger(length) || (length as number) < 1)) {
    throw invalidArgument(`expected \`${name}.length\` to be a positive integer, got ${show(length)}`);
  }
  if (key !== undefined && typeof key !== 'string')
    throw invalidArgument(`expected \`${name}.key\` to be a string, got ${show(key)}`);
  return { mode, dim: dim as number, length: length as number | undefined, key: key as string | undefined };
}

function dataInvalid(message: string): JepaError {
  return new JepaError(ErrorCode.DATA_INVALID, message);
}

/** What a stacking needs: the tensors' handles, and the dimension and length to pad or crop to. */
interface StackPlan {
  handles: ReturnType<typeof nativeOf>[];
  dim: number;
  target: number;
}

/**
 * Checks that tensors can be stacked (one dtype; equal shapes, but for `vl.dim` when given) and
 * plans the stack; `lengths` receives each sample's valid length. (The copy itself is native,
 * into recently freed memory of the same size: a fresh 1.4 MB batch costs 1.2 ms of page faults
 * on the development VM.)
 */
function planStack(ts: Tensor[], where: string, vl?: Resolved, lengths?: number[]): StackPlan {
  const first = ts[0];
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    if (t.isDisposed) throw new JepaError(ErrorCode.DISPOSED, `${where}: sample ${i}'s tensor was disposed`);
    if (t.dtype !== first.dtype) {
      throw dataInvalid(`${where}: sample ${i} has dtype ${t.dtype}, sample 0 ${first.dtype}: a batch needs one dtype`);
    }
  }
  const shape = first.shape;
  let target = -1;
  if (vl) {
    if (vl.dim >= first.ndim) {
      throw invalidArgument(`${where}: variableLength.dim is ${vl.dim} but the samples have ${first.ndim} dimensions`);
    }
    const lens = ts.map((t) => t.shape[vl.dim]);
    target = vl.length ?? (vl.mode === 'pad' ? Math.max(...lens) : Math.min(...lens));
    if (vl.mode === 'crop') {
      const short = lens.findIndex((l) => l < target);
      if (short >= 0) {
        throw new JepaError(
          ErrorCode.SHAPE_MISMATCH,
          `${where}: sample ${short} has length ${lens[short]} along dimension ${vl.dim}, shorter than the crop length ${target} (use mode 'pad')`,
        );
      }
    }
    lengths?.push(...lens.map((l) => Math.min(l, target)));
  }
  for (let i = 1; i < ts.length; i++) {
    const s = ts[i].shape;
    const same = s.length === shape.length && s.every((d, k) => d === shape[k] || (vl !== undefined && k === vl.dim));
    if (!same) {
      throw new JepaError(
        ErrorCode.SHAPE_MISMATCH,
        `${where}: sample ${i} has shape [${s.join(', ')}], sample 0 [${first.shape.join(', ')}]: stacking needs equal shapes` +
          (vl ? '' : ' (samples of different lengths need the `variableLength` option: pad or crop)'),
      );
    }
  }
  return { handles: ts.map((t) => nativeOf(t)), dim: vl ? vl.dim : -1, target };
}

/** Stacks tensors along a new first dimension into a new CPU tensor (pads or crops with `vl`). @internal */
export function stackTensors(ts: Tensor[], where: string, vl?: Resolved, lengths?: number[]): Tensor {
  const p = planStack(ts, where, vl, lengths);
  return wrap(native.dataStackSync(p.handles, p.dim, p.target));
}

/** {@link stackTensors} with the copy on a worker thread. @internal */
export async function stackTensorsAsync(
  ts: Tensor[],
  where: string,
  vl?: Resolved,
  lengths?: number[],
): Promise<Tensor> {
  const p = planStack(ts, where, vl, lengths);
  return wrap(await native.dataStack(p.handles, p.dim, p.target));
}

type Stacker = (ts: Tensor[], where: string, vl?: Resolved, lengths?: number[]) => Tensor | Promise<Tensor>;

/** The one tensor field of an object sample (for `variableLength` without `key`). */
function onlyTensorKey(sample: Record<string, unknown>, where: string): string {
  const keys = Object.keys(sample).filter((k) => sample[k] instanceof Tensor);
  if (keys.length !== 1) {
    throw invalidArgument(
      `${where}: the samples have ${keys.length} tensor fields (${keys.join(', ')}): name the varying one in variableLength.key`,
    );
  }
  return keys[0];
}

/**
 * Collates samples as PyTorch's `default_collate`: tensors are stacked (new first dimension),
 * numbers become a tensor (int64 when all are integers, else float64), booleans a bool tensor,
 * bigints int64, strings (and null) a list, arrays and plain objects field by field (every
 * sample must have the same fields). `variableLength` pads or crops one tensor field first (see
 * {@link VariableLength}). The samples are not disposed.
 */
export function collate(samples: unknown[], variableLength?: 'pad' | 'crop' | VariableLength): unknown {
  const vl = variableLength === undefined ? undefined : checkVariableLength(variableLength, 'variableLength');
  return collateWith(samples, vl, 'collate', stackTensors);
}

/**
 * {@link collate} with the copies on worker threads (what the DataLoader uses: the JS thread
 * only checks shapes). @internal
 */
export async function collateAsync(samples: unknown[], vl?: Resolved, where = 'collate'): Promise<unknown> {
  const pending: Promise<unknown>[] = [];
  const out = collateWith(samples, vl, where, (ts, w, v, lengths) => {
    const p = stackTensorsAsync(ts, w, v, lengths);
    pending.push(p);
    return p;
  });
  try {
    await Promise.all(pending);
  } catch (err) {
    for (const p of pending) p.then(disposeAll, () => undefined);
    throw err;
  }
  return settled(out);
}

/** The value with each Promise (of a stacked tensor) replaced by its value; they have all settled. */
async function settled(value: unknown): Promise<unknown> {
  if (value instanceof Promise) return value;
  if (Array.isArray(value)) return Promise.all(value.map(settled));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await settled(v);
    return out;
  }
  return value;
}

function collateWith(samples: unknown[], vl: Resolved | undefined, where: string, stack: Stacker): unknown {
  if (samples.length === 0) throw invalidArgument(`${where}: no samples`);
  const first = samples[0];
  if (first instanceof Tensor) {
    if (!samples.every((s) => s instanceof Tensor))
      throw dataInvalid(`${where}: some samples are tensors and some are not`);
    return stack(samples as Tensor[], where, vl && vl.key === undefined ? vl : undefined);
  }
  if (typeof first === 'number') {
    if (!samples.every((s) => typeof s === 'number'))
      throw dataInvalid(`${where}: some samples are numbers and some are not`);
    const nums = samples as number[];
    return nums.every((x) => Number.isSafeInteger(x))
      ? tensor(BigInt64Array.from(nums, (x) => BigInt(x)))
      : tensor(Float64Array.from(nums));
  }
  if (typeof first === 'bigint') {
    if (!samples.every((s) => typeof s === 'bigint'))
      throw dataInvalid(`${where}: some samples are bigints and some are not`);
    return tensor(BigInt64Array.from(samples as bigint[]));
  }
  if (typeof first === 'boolean') {
    if (!samples.every((s) => typeof s === 'boolean'))
      throw dataInvalid(`${where}: some samples are booleans and some are not`);
    return tensor(
      Uint8Array.from(samples as boolean[], (b) => (b ? 1 : 0)),
      { dtype: 'bool' },
    );
  }
  if (typeof first === 'string' || first === null || first === undefined) return [...samples];
  if (Array.isArray(first)) {
    const n = first.length;
    if (!samples.every((s) => Array.isArray(s) && s.length === n))
      throw dataInvalid(`${where}: the samples are arrays of different lengths`);
    return first.map((_, k) =>
      collateWith(
        samples.map((s) => (s as unknown[])[k]),
        undefined,
        `${where}[${k}]`,
        stack,
      ),
    );
  }
  if (isPlainObject(first)) {
    const keys = Object.keys(first);
    for (let i = 1; i < samples.length; i++) {
      const s = samples[i];
      if (!isPlainObject(s) || Object.keys(s).length !== keys.length || !keys.every((k) => k in s)) {
        throw dataInvalid(
          `${where}: sample ${i} has fields ${isPlainObject(s) ? Object.keys(s).join(', ') : show(s)}, sample 0 ${keys.join(', ')}`,
        );
      }
    }
    const varying = vl ? (vl.key ?? onlyTensorKey(first, where)) : undefined;
    if (varying !== undefined && !(varying in first))
      throw invalidArgument(`${where}: variableLength.key '${varying}' is not a field of the samples`);
    const out: Record<string, unknown> = {};
    let lengths: number[] | undefined;
    for (const k of keys) {
      const column = samples.map((s) => (s as Record<string, unknown>)[k]);
      if (k === varying) {
        if (!column.every((c) => c instanceof Tensor))
          throw dataInvalid(`${where}.${k}: variableLength needs a tensor field`);
        lengths = [];
        out[k] = stack(column as Tensor[], `${where}.${k}`, vl, lengths);
      } else {
        out[k] = collateWith(column, undefined, `${where}.${k}`, stack);
      }
    }
    if (lengths) {
      if ('lengths' in out)
        throw invalidArgument(`${where}: the samples already have a 'lengths' field, where the valid lengths would go`);
      out.lengths = tensor(BigInt64Array.from(lengths, (l) => BigInt(l)));
    }
    return out;
  }
  throw dataInvalid(
    `${where}: cannot collate ${show(first)} (tensors, numbers, booleans, strings, arrays and plain objects can be; pass a collate function)`,
  );
}

/** Disposes every tensor in a collated batch or a sample (nested arrays and objects). @internal */
export function disposeAll(value: unknown, depth = 0): void {
  if (depth > 32) return;
  if (value instanceof Tensor) value.dispose();
  else if (Array.isArray(value)) for (const v of value) disposeAll(v, depth + 1);
  else if (isPlainObject(value)) for (const v of Object.values(value)) disposeAll(v, depth + 1);
}
