/**
 * Collation: turning the samples of a batch into one batch value, as PyTorch's `default_collate`
 * does (tensors stacked along a new first dimension, numbers into a tensor, strings into a list,
 * objects and arrays field by field), plus padding or cropping of a variable-length dimension.
 * @module
 */
import { ErrorCode, invalidArgument, JepaError } from '../errors';
import { empty, tensor, Tensor } from '../tensor';
import { isPlainObject, show } from '../validate';

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

/** Checks {@link VariableLength} options. @internal */
export function checkVariableLength(value: unknown, name: string): Required<Omit<VariableLength, 'length' | 'key'>> & Pick<VariableLength, 'length' | 'key'> {
  if (typeof value === 'string') value = { mode: value };
  if (!isPlainObject(value)) throw invalidArgument(`expected \`${name}\` to be 'pad', 'crop' or {mode, dim, length, key}, got ${show(value)}`);
  for (const k of Object.keys(value)) {
    if (!['mode', 'dim', 'length', 'key'].includes(k)) throw invalidArgument(`unknown option \`${name}.${k}\` (expected mode, dim, length, key)`);
  }
  const { mode, dim = 0, length, key } = value as Record<string, unknown>;
  if (mode !== 'pad' && mode !== 'crop') throw invalidArgument(`expected \`${name}.mode\` to be 'pad' or 'crop', got ${show(mode)}`);
  if (!Number.isSafeInteger(dim) || (dim as number) < 0) throw invalidArgument(`expected \`${name}.dim\` to be a non-negative integer, got ${show(dim)}`);
  if (length !== undefined && (!Number.isSafeInteger(length) || (length as number) < 1)) {
    throw invalidArgument(`expected \`${name}.length\` to be a positive integer, got ${show(length)}`);
  }
  if (key !== undefined && typeof key !== 'string') throw invalidArgument(`expected \`${name}.key\` to be a string, got ${show(key)}`);
  return { mode, dim: dim as number, length: length as number | undefined, key: key as string | undefined };
}

type Resolved = ReturnType<typeof checkVariableLength>;

function dataInvalid(message: string): JepaError {
  return new JepaError(ErrorCode.DATA_INVALID, message);
}

/**
 * Stacks tensors of one dtype along a new first dimension into a new CPU tensor, bringing `dim`
 * to one length first when `vl` is given; `lengths` receives each sample's valid length.
 * (A private copy of typed arrays: no tensor ops are needed.)
 */
export function stackTensors(ts: Tensor[], where: string, vl?: Resolved, lengths?: number[]): Tensor {
  const first = ts[0];
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    if (t.isDisposed) throw new JepaError(ErrorCode.DISPOSED, `${where}: sample ${i}'s tensor was disposed`);
    if (t.dtype !== first.dtype) {
      throw dataInvalid(`${where}: sample ${i} has dtype ${t.dtype}, sample 0 ${first.dtype}: a batch needs one dtype`);
    }
  }
  let shape = first.shape;
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
    shape = [...first.shape];
    shape[vl.dim] = target;
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
  const per = shape.reduce((a, b) => a * b, 1);
  // Every element is written below (padding too): empty, not zeros, whose fill is a parallel
  // kernel that waits for a second core on a busy machine.
  const out = empty([ts.length, ...shape], { dtype: first.dtype });
  const dst = out.data() as unknown as {
    set(src: ArrayLike<unknown>, offset: number): void;
    fill(value: unknown, start: number, end: number): void;
  };
  const zero = first.dtype === 'int64' ? 0n : 0;
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    const c = t.device === 'cpu' && t.isContiguous ? t : t.cpu().contiguous();
    const src = c.data() as unknown as { subarray(a: number, b: number): ArrayLike<unknown>; length: number };
    if (!vl) {
      dst.set(src as ArrayLike<unknown>, i * per);
    } else {
      // Blocks of `inner` elements for each index before `dim`: copy the first min(len, target).
      const len = t.shape[vl.dim];
      const inner = t.shape.slice(vl.dim + 1).reduce((a, b) => a * b, 1);
      const outer = t.shape.slice(0, vl.dim).reduce((a, b) => a * b, 1);
      const keep = Math.min(len, target) * inner;
      for (let o = 0; o < outer; o++) {
        const at = i * per + o * target * inner;
        dst.set(src.subarray(o * len * inner, o * len * inner + keep), at);
        if (keep < target * inner) dst.fill(zero, at + keep, at + target * inner);
      }
    }
    if (c !== t) c.dispose();
  }
  return out;
}

/** The one tensor field of an object sample (for `variableLength` without `key`). */
function onlyTensorKey(sample: Record<string, unknown>, where: string): string {
  const keys = Object.keys(sample).filter((k) => sample[k] instanceof Tensor);
  if (keys.length !== 1) {
    throw invalidArgument(`${where}: the samples have ${keys.length} tensor fields (${keys.join(', ')}): name the varying one in variableLength.key`);
  }
  return keys[0];
}

/**
 * Collates samples as PyTorch's `default_collate`: tensors are stacked (new first dimension),
 * numbers become a tensor (int64 when all are integers, else float64), booleans a bool tensor,
 * bigints int64, strings (and null) a list, arrays and plain objects field by field (every
 * sample must have the same fields). `vl` pads or crops one tensor field first.
 */
export function collate(samples: unknown[], vl?: Resolved, where = 'collate'): unknown {
  if (samples.length === 0) throw invalidArgument(`${where}: no samples`);
  const first = samples[0];
  if (first instanceof Tensor) {
    if (!samples.every((s) => s instanceof Tensor)) throw dataInvalid(`${where}: some samples are tensors and some are not`);
    return stackTensors(samples as Tensor[], where, vl && vl.key === undefined ? vl : undefined);
  }
  if (typeof first === 'number') {
    if (!samples.every((s) => typeof s === 'number')) throw dataInvalid(`${where}: some samples are numbers and some are not`);
    const nums = samples as number[];
    return nums.every((x) => Number.isSafeInteger(x))
      ? tensor(BigInt64Array.from(nums, (x) => BigInt(x)))
      : tensor(Float64Array.from(nums));
  }
  if (typeof first === 'bigint') {
    if (!samples.every((s) => typeof s === 'bigint')) throw dataInvalid(`${where}: some samples are bigints and some are not`);
    return tensor(BigInt64Array.from(samples as bigint[]));
  }
  if (typeof first === 'boolean') {
    if (!samples.every((s) => typeof s === 'boolean')) throw dataInvalid(`${where}: some samples are booleans and some are not`);
    return tensor(Uint8Array.from(samples as boolean[], (b) => (b ? 1 : 0)), { dtype: 'bool' });
  }
  if (typeof first === 'string' || first === null || first === undefined) return [...samples];
  if (Array.isArray(first)) {
    const n = first.length;
    if (!samples.every((s) => Array.isArray(s) && s.length === n)) throw dataInvalid(`${where}: the samples are arrays of different lengths`);
    return first.map((_, k) => collate(samples.map((s) => (s as unknown[])[k]), undefined, `${where}[${k}]`));
  }
  if (isPlainObject(first)) {
    const keys = Object.keys(first);
    for (let i = 1; i < samples.length; i++) {
      const s = samples[i];
      if (!isPlainObject(s) || Object.keys(s).length !== keys.length || !keys.every((k) => k in s)) {
        throw dataInvalid(`${where}: sample ${i} has fields ${isPlainObject(s) ? Object.keys(s).join(', ') : show(s)}, sample 0 ${keys.join(', ')}`);
      }
    }
    const varying = vl ? (vl.key ?? onlyTensorKey(first, where)) : undefined;
    if (varying !== undefined && !(varying in first)) throw invalidArgument(`${where}: variableLength.key '${varying}' is not a field of the samples`);
    const out: Record<string, unknown> = {};
    let lengths: number[] | undefined;
    for (const k of keys) {
      const column = samples.map((s) => (s as Record<string, unknown>)[k]);
      if (k === varying) {
        if (!column.every((c) => c instanceof Tensor)) throw dataInvalid(`${where}.${k}: variableLength needs a tensor field`);
        lengths = [];
        out[k] = stackTensors(column as Tensor[], `${where}.${k}`, vl, lengths);
      } else {
        out[k] = collate(column, undefined, `${where}.${k}`);
      }
    }
    if (lengths) {
      if ('lengths' in out) throw invalidArgument(`${where}: the samples already have a 'lengths' field, where the valid lengths would go`);
      out.lengths = tensor(BigInt64Array.from(lengths, (l) => BigInt(l)));
    }
    return out;
  }
  throw dataInvalid(`${where}: cannot collate ${show(first)} (tensors, numbers, booleans, strings, arrays and plain objects can be; pass a collate function)`);
}

/** Disposes every tensor in a collated batch or a sample (nested arrays and objects). @internal */
export function disposeAll(value: unknown, depth = 0): void {
  if (depth > 32) return;
  if (value instanceof Tensor) value.dispose();
  else if (Array.isArray(value)) for (const v of value) disposeAll(v, depth + 1);
  else if (isPlainObject(value)) for (const v of Object.values(value)) disposeAll(v, depth + 1);
}
