/**
 * Python's indexing: `t.index([0, jepa.slice(1, null), null, '...', mask])` is Python's
 * `t[0, 1:, None, ..., mask]`, and `t.indexPut_(indices, value)` is `t[indices] = value`.
 * @module
 */
import { native } from '../core/binding';
import { invalidArgument } from '../core/errors';
import { Tensor, tensorHandle, wrap } from './tensor';
import { show } from '../core/validate';

/** A Python slice `start:stop:step`; null is Python's None. Make one with {@link slice}. */
export class Slice {
  constructor(
    readonly start: number | bigint | null = null,
    readonly stop: number | bigint | null = null,
    readonly step: number | bigint | null = null,
  ) {}
  /** `1:5:2`, as Python writes it. */
  toString(): string {
    const s = (v: number | bigint | null): string => (v === null ? '' : String(v));
    return `${s(this.start)}:${s(this.stop)}${this.step === null ? '' : `:${s(this.step)}`}`;
  }
}

function checkBound(v: unknown, name: string): number | bigint | null {
  if (v === undefined || v === null) return null;
  if ((typeof v === 'number' && Number.isSafeInteger(v)) || typeof v === 'bigint') return v;
  throw invalidArgument(`expected slice \`${name}\` to be an integer or null, got ${show(v)}`);
}

/**
 * A slice for {@link Tensor.index}: `jepa.slice(1, null)` is Python's `1:`, `jepa.slice(null, 3)`
 * `:3`, `jepa.slice(null, null, 2)` `::2`, `jepa.slice()` `:`. Bounds may be negative (from the
 * end) and go past the ends, as in Python; `step` must be positive.
 */
export function slice(
  start?: number | bigint | null,
  stop?: number | bigint | null,
  step?: number | bigint | null,
): Slice {
  const s = new Slice(checkBound(start, 'start'), checkBound(stop, 'stop'), checkBound(step, 'step'));
  if (s.step !== null && Number(s.step) <= 0)
    throw invalidArgument(`expected slice \`step\` to be positive, got ${s.step}`);
  return s;
}

/** One item of an index: an integer, a {@link Slice}, null (a new axis), `'...'`, a boolean, or a Tensor (int64 or bool). */
export type IndexItem = number | bigint | Slice | null | '...' | boolean | Tensor;

function encode(indices: IndexItem | IndexItem[]): unknown[] {
  const items = Array.isArray(indices) ? indices : [indices];
  return items.map((item, i) => {
    if (item === null || typeof item === 'boolean' || item === '...') return item;
    if (typeof item === 'number') {
      if (!Number.isSafeInteger(item)) throw invalidArgument(`index item ${i} is ${item}: expected an integer`);
      return item;
    }
    if (typeof item === 'bigint') return item;
    if (item instanceof Slice) return [item.start, item.stop, item.step];
    const h = tensorHandle(item);
    if (h !== undefined) return h;
    throw invalidArgument(
      `index item ${i} is ${show(item)}: expected an integer, jepa.slice(...), null, '...', a boolean or a Tensor`,
    );
  });
}

declare module './tensor' {
  interface Tensor {
    /**
     * Python's `t[indices]`. Integers select (and drop the dimension), slices keep a range, `null`
     * inserts a dimension of size 1, `'...'` stands for the dimensions not named, booleans add a
     * dimension (of size 1 or 0), and int64 or bool tensors index by position or mask
     * (advanced indexing, a copy). Without tensors the result is a view.
     *
     * ```js
     * t.index([0, jepa.slice(1, null), null])   // t[0, 1:, None]
     * t.index(['...', -1])                       // t[..., -1]
     * t.index([mask])                            // t[mask]
     * ```
     * A single item may be given without the array: `t.index(0)` is `t[0]`. (A JS array is always
     * the tuple of items: for Python's `t[[1, 2]]` pass a tensor, `t.index([jepa.tensor([1n, 2n])])`.)
     */
    index(indices: IndexItem | IndexItem[]): Tensor;
    /** Python's `t[indices] = value`, in place (see {@link Tensor.index}); `value` is broadcast. Returns this tensor. */
    indexPut_(indices: IndexItem | IndexItem[], value: Tensor | number | bigint | boolean): this;
  }
}

Object.defineProperties(Tensor.prototype, {
  index: {
    value: function index(this: Tensor, indices: IndexItem | IndexItem[]): Tensor {
      return wrap(native.tensorIndex(selfHandle(this), encode(indices)));
    },
    writable: true,
    configurable: true,
  },
  indexPut_: {
    value: function indexPut_(
      this: Tensor,
      indices: IndexItem | IndexItem[],
      value: Tensor | number | bigint | boolean,
    ): Tensor {
      const h = tensorHandle(value);
      if (h === undefined && typeof value !== 'number' && typeof value !== 'bigint' && typeof value !== 'boolean') {
        throw invalidArgument(`expected \`value\` to be a Tensor, a number, a bigint or a boolean, got ${show(value)}`);
      }
      native.tensorIndexPut(selfHandle(this), encode(indices), h ?? value);
      return this;
    },
    writable: true,
    configurable: true,
  },
});

function selfHandle(t: unknown) {
  const h = tensorHandle(t);
  if (h === undefined) throw invalidArgument(`expected a Tensor, got ${show(t)}`);
  return h;
}
