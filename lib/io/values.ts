/**
 * How Python values are represented in JS, shared by the `.pt` reader/writer and by TorchScript
 * module arguments and results. The mapping is chosen so that Python -> Node -> Python gives
 * back equal values of the same types. See docs/values.md.
 *
 * | Python                      | JS                                                       |
 * |-----------------------------|----------------------------------------------------------|
 * | `None`                      | `null`                                                   |
 * | `bool`                      | `boolean`                                                |
 * | `int`                       | `number` when a safe integer, else `bigint`              |
 * | `float`                     | `number` (integral floats: see {@link FLOAT_KEYS})       |
 * | `str`                       | `string`                                                 |
 * | `bytes`                     | `Buffer`                                                 |
 * | `list`                      | `Array`                                                  |
 * | `tuple`                     | {@link Tuple} (an Array subclass)                        |
 * | `torch.Size`                | {@link Size} (an Array subclass)                         |
 * | `set`                       | `Set`                                                    |
 * | `dict` with only str keys   | plain object                                             |
 * | `dict` with other keys      | `Map`                                                    |
 * | `collections.OrderedDict`   | {@link OrderedDict} (a Map subclass)                     |
 * | `torch.Tensor`/`Parameter`  | {@link Tensor}                                           |
 * | `torch.device`              | {@link TorchDevice}                                      |
 * | `torch.dtype`               | {@link TorchDtype}                                       |
 * @module
 */

/** A Python `tuple`: an Array that is written back as a tuple. */
export class Tuple<T = unknown> extends Array<T> {
  /** A tuple of the given items (`Tuple.of(1, 2)`, `Tuple.from(array)` also work). */
  static fromItems<T>(items: Iterable<T>): Tuple<T> {
    const t = new Tuple<T>();
    for (const item of items) t.push(item);
    return t;
  }
}

/** A `torch.Size`: an Array of integers that is written back as a `torch.Size`. */
export class Size extends Array<number> {
  static fromItems(items: Iterable<number>): Size {
    const s = new Size();
    for (const item of items) s.push(item);
    return s;
  }
}

/** A `collections.OrderedDict`: a Map that is written back as an OrderedDict. */
export class OrderedDict<K = unknown, V = unknown> extends Map<K, V> {}

/** A `torch.device`, e.g. `new TorchDevice('cuda', 0)`. */
export class TorchDevice {
  constructor(
    readonly type: string,
    readonly index: number | null = null,
  ) {}
  toString(): string {
    return this.index === null ? this.type : `${this.type}:${this.index}`;
  }
}

/** A `torch.dtype` held as a value (e.g. `{'dtype': torch.float16}`), by its Python name. */
export class TorchDtype {
  constructor(readonly name: string) {}
  toString(): string {
    return `torch.${this.name}`;
  }
}

/**
 * Python attributes of an {@link OrderedDict} (what `torch.nn.Module.state_dict()` keeps in
 * `_metadata`): a plain object in a non-enumerable property under this symbol, written back as
 * the OrderedDict's attributes.
 */
export const PY_ATTRS: unique symbol = Symbol.for('jepa-native.pyAttrs');

/**
 * A number that must be written as a Python `float` even when it is integral (`Float(1)` is
 * `1.0`). Values read from files are plain numbers; this box is for new values, and for an
 * integral float at the top level of a file, which has no container to record it.
 */
export class Float {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
}

/** Boxes a number as a Python float (see {@link Float}). */
export function float(value: number): Float {
  return new Float(value);
}

/**
 * Integral floats read from Python (`1.0`) are plain JS numbers; the object, array or map that
 * holds them records their keys (indices for arrays) in a non-enumerable property under this
 * symbol, so that writing the container back gives floats again for those keys as long as the
 * value is still an integral number. Non-integral numbers, NaN, infinities and -0 are always
 * written as floats; other integral numbers as ints.
 */
export const FLOAT_KEYS: unique symbol = Symbol.for('jepa-native.floatKeys');

/** Records that `key` of `container` holds a Python float. @internal */
export function markFloat(container: object, key: string | number | unknown): void {
  let keys = (container as { [FLOAT_KEYS]?: Set<unknown> })[FLOAT_KEYS];
  if (!keys) {
    keys = new Set();
    Object.defineProperty(container, FLOAT_KEYS, { value: keys, enumerable: false, writable: false });
  }
  keys.add(key);
}

/** Whether a number at `key` of `container` is to be written as a Python float. @internal */
export function isPythonFloat(value: number, container?: object, key?: unknown): boolean {
  if (!Number.isInteger(value) || Object.is(value, -0)) return true;
  const keys = container ? (container as { [FLOAT_KEYS]?: Set<unknown> })[FLOAT_KEYS] : undefined;
  return keys !== undefined && keys.has(key);
}
