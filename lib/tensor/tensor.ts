/**
 * Tensor handles: JS objects that own a libtorch tensor, with zero-copy access to CPU memory.
 * @module
 */
import { inspect } from 'node:util';
import { native } from '../core/binding';
import { dtypeOfTypedArray, TYPED_ARRAY_OF, type Device, type Dtype, type TypedArrayOf } from '../core/dtype';
import { ErrorCode, invalidArgument, JepaError, withCallerStack } from '../core/errors';
import type { NativeTensor } from '../core/native-types';
import './dispose'; // defines Symbol.dispose where missing, before the classes use it
import { track } from './scope';
import {
  checkDevice,
  checkDtype,
  checkNumber,
  checkOptions,
  checkShape,
  checkViewShape,
  isDeviceString,
  isPlainObject,
  show,
} from '../core/validate';

const TOKEN = Symbol('jepa-native.Tensor');
// The native handle of a Tensor (its private field), or undefined for anything else.
let handleOf: (t: unknown) => NativeTensor | undefined;

/** Options of the tensor factories. */
export interface TensorOptions {
  /** Element type; see each factory for its default. */
  dtype?: Dtype;
  /** Device, `'cpu'` by default. */
  device?: Device;
}

/** Options of {@link randn}. */
export interface RandnOptions extends TensorOptions {
  /**
   * Seed of a fresh CPU generator: the values then equal Python's
   * `torch.randn(shape, generator=torch.Generator().manual_seed(seed))` (equivalently, right after
   * `torch.manual_seed(seed)`), drawn on the CPU and then moved to `device`. Without a seed,
   * libtorch's default generator is used.
   */
  seed?: number | bigint;
}

/** Values a tensor can be built from: a typed array (wrapped, zero-copy) or (nested) JS arrays. */
export type TensorData = ArrayBufferView | NestedArray;
/** Numbers, booleans or bigints, nested to any depth in arrays of equal lengths. */
export type NestedArray = ReadonlyArray<number | boolean | bigint | NestedArray>;

/**
 * A handle to a libtorch tensor.
 *
 * The handle owns its tensor until {@link Tensor.dispose} is called or the handle is garbage
 * collected. Operations return new handles; views (`reshape`, `view`) share memory with the
 * tensor they came from. Create tensors with {@link tensor}, {@link zeros}, {@link ones},
 * {@link empty}, {@link arange} or {@link randn}.
 */
export class Tensor {
  // A private field rather than a WeakMap: a WeakMap entry cost 0.5-1.4 µs per tensor (its
  // ephemeron work in the garbage collector), a field about 0.05.
  readonly #handle: NativeTensor;

  static {
    handleOf = (t) => (typeof t === 'object' && t !== null && #handle in t ? t.#handle : undefined);
  }

  /** @internal */
  constructor(token: symbol, handle: NativeTensor) {
    if (token !== TOKEN) {
      throw invalidArgument('Tensor cannot be constructed directly: use jepa.tensor(), zeros(), ones(), ...');
    }
    this.#handle = handle;
    track(this);
  }

  /** Sizes of each dimension. */
  get shape(): number[] {
    return h(this).shape();
  }
  /** Strides of each dimension, in elements. */
  get strides(): number[] {
    return h(this).strides();
  }
  /** Element type. */
  get dtype(): Dtype {
    return h(this).dtype() as Dtype;
  }
  /** Device the memory is on: `'cpu'`, `'cuda:0'`, ... */
  get device(): string {
    return h(this).device();
  }
  /** Number of elements. */
  get numel(): number {
    return h(this).numel();
  }
  /** Number of dimensions. */
  get ndim(): number {
    return h(this).shape().length;
  }
  /** Bytes the elements take (numel times the element size). */
  get nbytes(): number {
    return h(this).nbytes();
  }
  /** Offset of the first element in the underlying storage, in elements. */
  get storageOffset(): number {
    return h(this).storageOffset();
  }
  /** Whether the elements lie in row-major order without gaps. */
  get isContiguous(): boolean {
    return h(this).isContiguous();
  }
  /** Whether {@link dispose} was called. */
  get isDisposed(): boolean {
    return this.#handle.isDisposed();
  }

  /**
   * The elements as a typed array that **shares memory** with the tensor (no copy): writes
   * through it are seen by the tensor and the other way round. The memory stays valid while the
   * typed array is alive, even after {@link dispose}. Needs a contiguous CPU tensor; throws
   * `JEPA_NOT_CPU` or `JEPA_NOT_CONTIGUOUS` otherwise (call `cpu()` or `contiguous()` first,
   * which copy). float16/bfloat16 come as raw bits in a `Uint16Array`, int64 as a `BigInt64Array`,
   * bool as 0/1 bytes.
   */
  data<D extends Dtype = Dtype>(): TypedArrayOf[D] {
    return h(this).data() as TypedArrayOf[D];
  }

  /** The value of a one-element tensor (a bigint for int64, a boolean for bool). */
  item(): number | bigint | boolean {
    return h(this).item();
  }

  /** A copy on another device or with another dtype (or both, with an options object). */
  to(target: Device | Dtype | { device?: Device; dtype?: Dtype }): Tensor {
    const { device, dtype } = parseTarget(target);
    return wrap(h(this).to(device, dtype));
  }

  /**
   * Like {@link to}, but the copy runs on a worker thread and the event loop stays free: use it
   * for device transfers and conversions of large tensors.
   */
  async toAsync(target: Device | Dtype | { device?: Device; dtype?: Dtype }): Promise<Tensor> {
    const { device, dtype } = parseTarget(target);
    return wrap(await withCallerStack(h(this).toAsync(device, dtype)));
  }

  /** A copy in CPU memory (the same tensor if it is already there). */
  cpu(): Tensor {
    return wrap(h(this).to('cpu', null));
  }

  /** A contiguous tensor with the same values (the same storage if already contiguous). */
  contiguous(): Tensor {
    return wrap(h(this).contiguous());
  }

  /** A copy with its own memory, keeping the memory format. */
  clone(): Tensor {
    return wrap(h(this).clone());
  }

  /** The same elements with another shape: a view when possible, else a copy. One size may be -1. */
  reshape(...shape: number[] | [number[]]): Tensor {
    return wrap(h(this).reshape(checkViewShape(flatShape(shape))));
  }

  /** A view with another shape (never copies; fails when the strides do not allow it). */
  view(...shape: number[] | [number[]]): Tensor {
    return wrap(h(this).view(checkViewShape(flatShape(shape))));
  }

  /** A view with the dimensions reordered (`permute(1, 0)` transposes a matrix); never copies. */
  permute(...dims: number[] | [number[]]): Tensor {
    const list = flatShape(dims);
    if (!Array.isArray(list) || !list.every((d) => Number.isSafeInteger(d))) {
      throw invalidArgument(`expected \`dims\` to be integers, got ${show(list)}`);
    }
    return wrap(h(this).permute(list as number[]));
  }

  /** Writes `value` into every element, in place (libtorch `fill_`). Returns this tensor. */
  fill_(value: number): this {
    h(this).fill_(checkNumber(value, 'value'));
    return this;
  }

  /**
   * Copies `src` into this tensor in place (libtorch `copy_`): `src` is broadcast to this shape
   * and converted to this dtype and device. Returns this tensor.
   */
  copy_(src: Tensor): this {
    h(this).copy_(nativeOf(src, 'src'));
    return this;
  }

  /** Whether this tensor and `other` use the same storage (memory). */
  sharesStorage(other: Tensor): boolean {
    if (!(other instanceof Tensor)) throw invalidArgument(`expected \`other\` to be a Tensor, got ${show(other)}`);
    return h(this).sharesStorage(h(other));
  }

  /**
   * Frees the tensor now rather than at garbage collection. Calling it twice is harmless. Views
   * and other tensors that share this tensor's storage keep that memory alive until they go too.
   */
  dispose(): void {
    this.#handle.dispose();
  }

  /** `using t = jepa.zeros([2, 3])` disposes `t` at the end of the block (same as {@link dispose}). */
  [Symbol.dispose](): void {
    this.#handle.dispose();
  }

  /** `Tensor(shape=[2, 3], dtype=float32, device=cpu)` followed by the values of small tensors. */
  toString(): string {
    return this.#handle.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

function parseTarget(target: unknown): { device: string | null; dtype: string | null } {
  let device: string | null = null;
  let dtype: string | null = null;
  if (typeof target === 'string') {
    if (isDeviceString(target)) device = target;
    else dtype = checkDtype(target, 'target');
  } else if (isPlainObject(target)) {
    const o = checkOptions(target, 'target', ['device', 'dtype']);
    if (o.device !== undefined) device = checkDevice(o.device, 'target.device');
    if (o.dtype !== undefined) dtype = checkDtype(o.dtype, 'target.dtype');
  } else {
    throw invalidArgument(`expected \`target\` to be a device, a dtype or {device, dtype}, got ${show(target)}`);
  }
  return { device, dtype };
}

function h(t: Tensor): NativeTensor {
  const handle = handleOf(t);
  if (!handle) throw invalidArgument(`expected a Tensor, got ${show(t)}`);
  return handle;
}

function flatShape(shape: number[] | [number[]]): unknown {
  return shape.length === 1 && Array.isArray(shape[0]) ? shape[0] : shape;
}

/** Wraps a native handle. @internal */
export function wrap(handle: NativeTensor): Tensor {
  return new Tensor(TOKEN, handle);
}

/** A Tensor argument that is not disposed; `name` names it in the messages. @internal */
export function checkTensor(value: unknown, name: string): Tensor {
  if (!(value instanceof Tensor)) throw invalidArgument(`expected \`${name}\` to be a Tensor, got ${show(value)}`);
  if (value.isDisposed) throw new JepaError(ErrorCode.DISPOSED, `\`${name}\` is a disposed Tensor`);
  return value;
}

/** The native handle of a Tensor, or undefined for anything else (the value codec's test). @internal */
export function tensorHandle(value: unknown): NativeTensor | undefined {
  return handleOf(value);
}

/** The native handle of a tensor (for other modules of the package). @internal */
export function nativeOf(t: unknown, name = 'tensor'): NativeTensor {
  const handle = t instanceof Tensor ? handleOf(t) : undefined;
  if (!handle) throw invalidArgument(`expected \`${name}\` to be a Tensor, got ${show(t)}`);
  return handle;
}

// ---------------------------------------------------------------------------------------------
// Factories

function factoryOptions(opts: unknown, name = 'options'): { dtype: Dtype; device: Device } {
  const o = checkOptions(opts, name, ['dtype', 'device']);
  return {
    dtype: o.dtype === undefined ? 'float32' : checkDtype(o.dtype, `${name}.dtype`),
    device: o.device === undefined ? 'cpu' : checkDevice(o.device, `${name}.device`),
  };
}

/** Walks nested arrays: their shape and their leaves in row-major order. */
function flatten(data: NestedArray): { values: unknown[]; shape: number[] } {
  const shape: number[] = [];
  let probe: unknown = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const values: unknown[] = [];
  const walk = (node: unknown, depth: number, where: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(node)) throw invalidArgument(`\`data\` is ragged: ${where} is an array, expected a value`);
      values.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw invalidArgument(
        `\`data\` is ragged: ${where} has ${Array.isArray(node) ? `length ${node.length}` : 'no array'}, expected length ${shape[depth]}`,
      );
    }
    for (let i = 0; i < node.length; i++) walk(node[i], depth + 1, `${where}[${i}]`);
  };
  walk(data, 0, 'data');
  return { values, shape };
}

const INT_RANGE: Partial<Record<Dtype, [number, number]>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  uint8: [0, 255],
};

/** Converts JS values into a typed array of `dtype` (float16/bfloat16 go through float32). */
function typedFromValues(values: unknown[], dtype: Dtype): ArrayBufferView {
  const n = values.length;
  const bad = (i: number, expected: string): never => {
    throw invalidArgument(`\`data\` element ${i} is ${show(values[i])}: dtype ${dtype} needs ${expected}`);
  };
  if (dtype === 'bool') {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v === 'boolean') out[i] = v ? 1 : 0;
      else if (v === 0 || v === 1) out[i] = v;
      else bad(i, 'booleans (or 0 and 1)');
    }
    return out;
  }
  if (dtype === 'int64') {
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v === 'bigint') out[i] = BigInt.asIntN(64, v) === v ? v : bad(i, 'values that fit in int64');
      else if (typeof v === 'number' && Number.isSafeInteger(v)) out[i] = BigInt(v);
      else bad(i, 'integers (numbers or bigints)');
    }
    return out;
  }
  const range = INT_RANGE[dtype];
  if (range) {
    const out = new TYPED_ARRAY_OF[dtype](n) as Int32Array;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < range[0] || v > range[1]) {
        bad(i, `integers in [${range[0]}, ${range[1]}]`);
      }
      out[i] = v as number;
    }
    return out;
  }
  const out = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v === 'number') out[i] = v;
    else if (typeof v === 'boolean') out[i] = v ? 1 : 0;
    else bad(i, 'numbers');
  }
  return out;
}

/**
 * Creates a tensor.
 *
 * - From a **typed array**, the tensor **wraps the JS memory without copying**: writes through
 *   the array are seen by the tensor and the other way round, and the array's buffer is kept
 *   alive as long as any tensor uses it. The dtype defaults to the array's (Float32Array is
 *   float32, BigInt64Array int64, ...); a Uint16Array needs `dtype: 'float16'` or `'bfloat16'`;
 *   a Uint8Array with `dtype: 'bool'` must hold only 0 and 1. Do not transfer or detach a
 *   wrapped buffer while tensors use it.
 * - From **JS arrays** (nested to any depth), the values are copied. The dtype defaults to
 *   float32 for numbers, int64 for bigints and bool for booleans.
 *
 * `shape` defaults to the typed array's length or the nesting of the arrays; its element count
 * must equal the data's. With `device` other than `'cpu'` the data is copied to that device.
 */
export function tensor(data: TensorData, shape?: number[] | TensorOptions, options?: TensorOptions): Tensor {
  if (shape !== undefined && !Array.isArray(shape)) {
    if (options !== undefined) throw invalidArgument(`expected \`shape\` to be an array, got ${show(shape)}`);
    options = shape;
    shape = undefined;
  }
  const o = checkOptions(options, 'options', ['dtype', 'device']);
  const device = o.device === undefined ? 'cpu' : checkDevice(o.device, 'options.device');
  let dtype = o.dtype === undefined ? undefined : checkDtype(o.dtype, 'options.dtype');
  if (data instanceof Tensor) throw invalidArgument('`data` is already a Tensor: use clone() or to() to copy it');

  if (ArrayBuffer.isView(data)) {
    const natural = dtypeOfTypedArray(data);
    if (natural === undefined) {
      throw invalidArgument(
        `expected \`data\` to be a Float32Array, Float64Array, Uint16Array (float16/bfloat16), Int8Array, ` +
          `Int16Array, Int32Array, BigInt64Array, Uint8Array or an array, got ${show(data)}`,
      );
    }
    if (dtype === undefined) {
      if (natural === null) {
        throw invalidArgument("a Uint16Array holds float16 or bfloat16 bits: pass `dtype: 'float16'` or `'bfloat16'`");
      }
      dtype = natural;
    } else {
      const want = TYPED_ARRAY_OF[dtype];
      const fits = data instanceof want || (dtype === 'uint8' && data instanceof Uint8ClampedArray);
      if (!fits) {
        throw invalidArgument(
          `dtype ${dtype} needs a ${want.name}, got a ${data.constructor.name}: pass a ${want.name}, ` +
            `or create the tensor from this array and convert it with .to('${dtype}') (a copy)`,
        );
      }
    }
    const length = (data as unknown as ArrayLike<unknown>).length;
    const dims = shape === undefined ? [length] : checkShape(shape);
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== length) {
      throw new JepaError(
        ErrorCode.SHAPE_MISMATCH,
        `data has ${length} elements but shape ${show(dims)} needs ${count}`,
      );
    }
    return wrap(native.tensorFromTypedArray(data, dims, dtype, device));
  }

  if (!Array.isArray(data)) {
    throw invalidArgument(`expected \`data\` to be a typed array or an array of numbers, got ${show(data)}`);
  }
  const { values, shape: natural } = flatten(data);
  const dims = shape === undefined ? natural : checkShape(shape);
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== values.length) {
    throw new JepaError(
      ErrorCode.SHAPE_MISMATCH,
      `data has ${values.length} elements but shape ${show(dims)} needs ${count}`,
    );
  }
  if (dtype === undefined) {
    if (values.length > 0 && values.every((v) => typeof v === 'boolean')) dtype = 'bool';
    else if (values.some((v) => typeof v === 'bigint')) dtype = 'int64';
    else dtype = 'float32';
  }
  const viaFloat = dtype === 'float16' || dtype === 'bfloat16';
  const typed = typedFromValues(values, viaFloat ? 'float32' : dtype);
  const handle = native.tensorFromTypedArray(typed, dims, viaFloat ? 'float32' : dtype, 'cpu');
  if (!viaFloat && device === 'cpu') return wrap(handle);
  try {
    return wrap(handle.to(device === 'cpu' ? null : device, viaFloat ? dtype : null));
  } finally {
    handle.dispose();
  }
}

/** A tensor of zeros (float32 on the CPU by default). */
export function zeros(shape: number[], options?: TensorOptions): Tensor {
  const o = factoryOptions(options);
  return wrap(native.zeros(checkShape(shape), o.dtype, o.device));
}

/** A tensor of ones (float32 on the CPU by default). */
export function ones(shape: number[], options?: TensorOptions): Tensor {
  const o = factoryOptions(options);
  return wrap(native.ones(checkShape(shape), o.dtype, o.device));
}

/** A tensor whose elements are not initialised (float32 on the CPU by default). */
export function empty(shape: number[], options?: TensorOptions): Tensor {
  const o = factoryOptions(options);
  return wrap(native.empty(checkShape(shape), o.dtype, o.device));
}

/**
 * Values from `start` (inclusive) to `end` (exclusive) by `step`, as `torch.arange`:
 * `arange(end)`, `arange(start, end)` or `arange(start, end, step)`, each with optional options.
 * The dtype defaults to int64 when start, end and step are all integers, else float32.
 */
export function arange(end: number, options?: TensorOptions): Tensor;
export function arange(start: number, end: number, options?: TensorOptions): Tensor;
export function arange(start: number, end: number, step: number, options?: TensorOptions): Tensor;
export function arange(...args: unknown[]): Tensor {
  let options: unknown;
  if (args.length > 0 && typeof args[args.length - 1] === 'object') options = args.pop();
  if (args.length < 1 || args.length > 3) {
    throw invalidArgument(
      `expected arange(end), arange(start, end) or arange(start, end, step), got ${args.length} numbers`,
    );
  }
  const nums = args.map((a, i) => checkNumber(a, ['start', 'end', 'step'][args.length === 1 ? 1 : i]));
  const [start, end, step] = nums.length === 1 ? [0, nums[0], 1] : [nums[0], nums[1], nums[2] ?? 1];
  if (step === 0) throw invalidArgument('expected `step` to be non-zero');
  const o = checkOptions(options, 'options', ['dtype', 'device']);
  const dtype =
    o.dtype !== undefined
      ? checkDtype(o.dtype, 'options.dtype')
      : [start, end, step].every(Number.isInteger)
        ? 'int64'
        : 'float32';
  const device = o.device === undefined ? 'cpu' : checkDevice(o.device, 'options.device');
  return wrap(native.arange(start, end, step, dtype, device));
}

/** Samples from the standard normal distribution (float32 on the CPU by default). */
export function randn(shape: number[], options?: RandnOptions): Tensor {
  const o = checkOptions(options, 'options', ['dtype', 'device', 'seed']);
  const { dtype, device } = factoryOptions({ dtype: o.dtype, device: o.device });
  const seed = o.seed;
  if (
    seed !== undefined &&
    !(typeof seed === 'number' && Number.isSafeInteger(seed) && seed >= 0) &&
    !(typeof seed === 'bigint' && seed >= 0n && seed < 2n ** 64n)
  ) {
    throw invalidArgument(
      `expected \`options.seed\` to be a non-negative integer (number or bigint), got ${show(seed)}`,
    );
  }
  return wrap(native.randn(checkShape(shape), dtype, device, seed as number | bigint | undefined));
}
