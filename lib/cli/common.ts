/**
 * Shared pieces of the `jepa-native` command line: exit codes, errors, output, file formats.
 * (Internal to the package.)
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from 'commander';

/** Exit codes of every command (docs/cli.md). */
export const EXIT = Object.freeze({
  /** Done. */
  OK: 0,
  /** A file could not be read or written, a model failed, ...: the message says what. */
  ERROR: 1,
  /** Bad command line: unknown command or option, missing or malformed argument. */
  USAGE: 2,
  /** `extract` finished, but some inputs were bad and were skipped (listed in failed.txt). */
  PARTIAL: 3,
});

/** An error that ends a command with a given exit code and a one-line message. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.ERROR,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A command-line mistake (exit code 2). */
export function usage(message: string): CliError {
  return new CliError(message, EXIT.USAGE);
}

/** What commands write to: stdout for results, stderr for progress, warnings and errors. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether stderr is a terminal (progress bars are drawn only there, unless asked for). */
  errIsTTY: boolean;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  errIsTTY: process.stderr.isTTY === true,
};

/** The library, loaded on first use (so that `--help` does not load libtorch). */
export function lib(): typeof import('../index') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../index') as typeof import('../index');
}

// ---------------------------------------------------------------------------------------------
// Option parsers (commander calls them; InvalidArgumentError is a usage error)

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  }
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`expected a non-negative integer, got '${value}'`);
  }
  return n;
}

export function finiteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got '${value}'`);
  return n;
}

/** `224` or `224x320` (height x width) or `224,320`. */
export function sizeArg(value: string): number | [number, number] {
  const parts = value.split(/[x,]/i);
  if (parts.length === 1) return positiveInt(parts[0]);
  if (parts.length === 2) return [positiveInt(parts[0]), positiveInt(parts[1])];
  throw new InvalidArgumentError(`expected N or HxW, got '${value}'`);
}

/** A comma-separated list of numbers: `0.485,0.456,0.406`. */
export function numberList(value: string): number[] {
  return value.split(',').map((v) => finiteNumber(v));
}

/** A comma-separated list of positive integers: `4,3,16,16`. */
export function intList(value: string): number[] {
  return value.split(',').map((v) => positiveInt(v));
}

/** A JSON object (for options passed through to the library). */
export function jsonObject(value: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch (e) {
    throw new InvalidArgumentError(`expected a JSON object, got '${value}' (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new InvalidArgumentError(`expected a JSON object, got '${value}'`);
  return v as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// File formats

/** The tensor file formats the CLI reads and writes. */
export type TensorFormat = 'pt' | 'safetensors' | 'npy';

const EXTENSIONS: Record<string, TensorFormat> = {
  '.pt': 'pt',
  '.pth': 'pt',
  '.ckpt': 'pt',
  '.safetensors': 'safetensors',
  '.npy': 'npy',
};

/** The format a file name says (by extension), or null. */
export function formatOfName(file: string): TensorFormat | null {
  return EXTENSIONS[path.extname(file).toLowerCase()] ?? null;
}

/** The format of an existing file: from its first bytes, else its extension. */
export function detectFormat(file: string): TensorFormat {
  let head: Buffer;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      head = Buffer.alloc(16);
      head = head.subarray(0, fs.readSync(fd, head, 0, 16, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CliError(
      err.code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read the file: ${err.message}`,
    );
  }
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b) return 'pt'; // zip: torch.save (or TorchScript)
  if (head.length >= 6 && head.subarray(0, 6).toString('latin1') === '\x93NUMPY') return 'npy';
  if (head.length >= 9 && head[8] === 0x7b) return 'safetensors'; // u64 header length, then '{'
  const byName = formatOfName(file);
  if (byName) return byName;
  throw new CliError(`${file}: not a .pt (torch.save), safetensors or .npy file`);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** The message of an error for the user (library errors carry their code). */
export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' && code.startsWith('JEPA_') ? `${e.message} (${code})` : e.message;
  }
  return String(e);
}
