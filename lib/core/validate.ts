/**
 * Argument checks with exact messages. Each throws a `TypeError` with
 * `code: 'JEPA_INVALID_ARGUMENT'` (or `JEPA_UNKNOWN_DTYPE`) that names the argument, what was
 * expected and what was given.
 * (Internal to the package.)
 * @module
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DTYPES, type Device, type Dtype } from './dtype';
import { ErrorCode, invalidArgument, JepaTypeError } from './errors';

/** A short rendering of a value for error messages. */
export function show(value: unknown, depth = 0): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}...` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) {
    if (depth >= 4) return '[...]'; // hostile input may nest arrays a million deep
    const items = value.slice(0, 8).map((v) => show(v, depth + 1));
    return `[${items.join(', ')}${value.length > 8 ? ', ...' : ''}]`;
  }
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<unknown>).length})`;
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  if (typeof value === 'function') return 'a function';
  return String(value);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function checkShape(value: unknown, name = 'shape'): number[] {
  if (!Array.isArray(value) || !value.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw invalidArgument(`expected \`${name}\` to be an array of non-negative integers, got ${show(value)}`);
  }
  return value as number[];
}

/** A shape that may hold one -1 (inferred size), for reshape and view. */
export function checkViewShape(value: unknown, name = 'shape'): number[] {
  const ok =
    Array.isArray(value) &&
    value.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= -1) &&
    value.filter((d) => d === -1).length <= 1;
  if (!ok) {
    throw invalidArgument(
      `expected \`${name}\` to be an array of non-negative integers with at most one -1, got ${show(value)}`,
    );
  }
  return value as number[];
}

export function checkDtype(value: unknown, name = 'dtype'): Dtype {
  if (typeof value !== 'string' || !(DTYPES as readonly string[]).includes(value)) {
    throw new JepaTypeError(
      ErrorCode.UNKNOWN_DTYPE,
      `expected \`${name}\` to be one of ${DTYPES.join(', ')}, got ${show(value)}`,
    );
  }
  return value as Dtype;
}

const DEVICE_RE = /^(cpu|cuda(:\d{1,4})?)$/;

export function isDeviceString(value: unknown): value is Device {
  return typeof value === 'string' && DEVICE_RE.test(value);
}

export function checkDevice(value: unknown, name = 'device'): Device {
  if (!isDeviceString(value)) {
    throw invalidArgument(`expected \`${name}\` to be 'cpu', 'cuda' or 'cuda:N', got ${show(value)}`);
  }
  return value;
}

export function checkNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalidArgument(`expected \`${name}\` to be a finite number, got ${show(value)}`);
  }
  return value;
}

export function checkPositiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw invalidArgument(`expected \`${name}\` to be a positive integer, got ${show(value)}`);
  }
  return value;
}

export function checkOptions(value: unknown, name: string, keys: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) {
    throw invalidArgument(`expected \`${name}\` to be an object, got ${show(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw invalidArgument(`unknown option \`${name}.${key}\`: expected one of ${keys.join(', ')}`);
    }
  }
  return value;
}

/**
 * A file path argument: a non-empty string without NUL characters, or a `file:` URL; returned
 * absolute (resolved against the working directory).
 */
export function checkPath(value: unknown, name = 'path'): string {
  if (value instanceof URL) {
    if (value.protocol !== 'file:') throw invalidArgument(`expected \`${name}\` to be a file: URL, got ${value.href}`);
    return fileURLToPath(value);
  }
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidArgument(
      `expected \`${name}\` to be a file path (a non-empty string) or a file: URL, got ${show(value)}`,
    );
  }
  if (value.includes('\0')) throw invalidArgument(`expected \`${name}\` to be a file path without NUL characters`);
  return path.resolve(value);
}
