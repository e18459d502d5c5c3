/**
 * Reading the values of a parsed training config, with messages that name the key
 * (`config.optimization.lr`) and, for a key the official code reads without a default, the
 * source that requires it. Shared by the recipe readers in this folder.
 * @module
 */
import { invalidArgument } from '../../core/errors';
import { isPlainObject, show } from '../../core/validate';

/** A parsed config mapping. */
export type ConfigObject = Record<string, unknown>;

/** Marks a key that the official code reads without a default. */
export const REQUIRED = Symbol('required');

/** One mapping of a config, with its dotted path for messages. */
export class Fields {
  /**
   * @param obj the mapping
   * @param path its dotted path from the root (`config.optimization`)
   * @param source the official code that reads it, for "required" messages
   */
  constructor(
    readonly obj: ConfigObject,
    readonly path: string,
    readonly source: string,
  ) {}

  /** The root of a config (a mapping), read by `source`. */
  static root(config: unknown, source: string): Fields {
    if (!isPlainObject(config)) {
      throw invalidArgument(`expected the config to be a mapping (a parsed YAML file), got ${show(config)}`);
    }
    return new Fields(config, 'config', source);
  }

  #key(key: string): string {
    return `\`${this.path}.${key}\``;
  }

  /** Whether the key is present and not null. */
  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  /** The raw value (undefined when absent). */
  raw(key: string): unknown {
    return this.obj[key];
  }

  #missing(key: string): never {
    throw invalidArgument(`${this.#key(key)} is required: ${this.source} reads it without a default`);
  }

  /** A nested mapping (an empty one when absent or null, unless required). */
  section(key: string, required = false): Fields {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (required) this.#missing(key);
      return new Fields({}, `${this.path}.${key}`, this.source);
    }
    if (!isPlainObject(v)) throw invalidArgument(`expected ${this.#key(key)} to be a mapping, got ${show(v)}`);
    return new Fields(v, `${this.path}.${key}`, this.source);
  }

  /** A list of mappings (V-JEPA's `mask`). */
  sections(key: string): Fields[] {
    const v = this.obj[key];
    if (!Array.isArray(v) || v.length === 0 || !v.every(isPlainObject)) {
      if (v === undefined || v === null) this.#missing(key);
      throw invalidArgument(`expected ${this.#key(key)} to be a non-empty list of mappings, got ${show(v)}`);
    }
    return v.map((x, i) => new Fields(x as ConfigObject, `${this.path}.${key}[${i}]`, this.source));
  }

  /**
   * A finite number. `fallback` is used when the key is absent or null (`REQUIRED`: an error).
   * `float: true` also takes a numeric string, as Python's `float(...)` does (PyYAML reads `1e-6`
   * without a dot as a string; the official code converts some keys with `float()`).
   */
  number(
    key: string,
    fallback: number | typeof REQUIRED,
    o: { float?: boolean; positive?: boolean; integer?: boolean; min?: number } = {},
  ): number {
    let v = this.obj[key];
    if (v === undefined || v === null) {
      if (fallback === REQUIRED) this.#missing(key);
      v = fallback;
    }
    if (o.float && typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) v = Number(v);
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      const hint =
        typeof v === 'string'
          ? ' (YAML 1.1, as PyYAML reads it, takes `1e-6` without a dot as a string: write `1.0e-6`)'
          : '';
      throw invalidArgument(`expected ${this.#key(key)} to be a number, got ${show(this.obj[key])}${hint}`);
    }
    if (o.integer && !Number.isSafeInteger(v))
      throw invalidArgument(`expected ${this.#key(key)} to be an integer, got ${show(v)}`);
    if (o.positive && !(v > 0)) throw invalidArgument(`expected ${this.#key(key)} to be positive, got ${show(v)}`);
    if (o.min !== undefined && v < o.min)
      throw invalidArgument(`expected ${this.#key(key)} to be at least ${o.min}, got ${show(v)}`);
    return v;
  }

  /** A number or null (null when absent, unless `fallback` is given). */
  optionalNumber(key: string, fallback: number | null = null, o: { positive?: boolean } = {}): number | null {
    if (!this.has(key)) return fallback;
    return this.number(key, REQUIRED, o);
  }

  /** A pair of finite numbers. */
  pair(key: string, fallback: readonly [number, number] | typeof REQUIRED): [number, number] {
    let v = this.obj[key];
    if (v === undefined || v === null) {
      if (fallback === REQUIRED) this.#missing(key);
      v = fallback;
    }
    if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw invalidArgument(`expected ${this.#key(key)} to be a pair of numbers, got ${show(this.obj[key])}`);
    }
    return [v[0] as number, v[1] as number];
  }

  /** A list of finite numbers. */
  numbers(key: string, fallback: readonly number[] | typeof REQUIRED): number[] {
    let v = this.obj[key];
    if (v === undefined || v === null) {
      if (fallback === REQUIRED) this.#missing(key);
      v = fallback;
    }
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw invalidArgument(`expected ${this.#key(key)} to be a non-empty list of numbers, got ${show(this.obj[key])}`);
    }
    return [...(v as number[])];
  }

  /** A boolean. */
  boolean(key: string, fallback: boolean | typeof REQUIRED): boolean {
    let v = this.obj[key];
    if (v === undefined || v === null) {
      if (fallback === REQUIRED) this.#missing(key);
      v = fallback;
    }
    if (typeof v !== 'boolean') throw invalidArgument(`expected ${this.#key(key)} to be true or false, got ${show(v)}`);
    return v;
  }

  /** A string (or null when absent and `fallback` is null). */
  string(key: string, fallback: string | typeof REQUIRED): string;
  string(key: string, fallback: null): string | null;
  string(key: string, fallback: string | null | typeof REQUIRED): string | null {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (fallback === REQUIRED) this.#missing(key);
      return fallback;
    }
    if (typeof v !== 'string') throw invalidArgument(`expected ${this.#key(key)} to be a string, got ${show(v)}`);
    return v;
  }
}

/** Throws: `what` is in the config but jepa-native does not reproduce it. */
export function unsupported(what: string, why: string): never {
  throw invalidArgument(`${what} is not supported: ${why}`);
}
