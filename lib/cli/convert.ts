/**
 * `jepa-native convert IN OUT`: between .pt (torch.save), safetensors and .npy, chosen by the
 * extensions (or `--from` / `--to`).
 *
 * - .pt → safetensors: every tensor under its dotted key path (`model.layer1.weight`); string
 *   leaves go to the safetensors `__metadata__`; other values (numbers, sizes, ...) cannot be
 *   stored there and are listed on stderr as skipped.
 * - safetensors → .pt: a dict `{name: tensor}` (what `safetensors.torch.load_file` returns);
 *   `--keep-metadata` adds the metadata strings under the key `__metadata__`.
 * - to .npy: one tensor: the file's only tensor, or the one `--key` names.
 * - from .npy: the tensor itself (.pt) or `{KEY: tensor}` (safetensors, key `--key`, default 'tensor').
 * (Internal to the package.)
 * @module
 */
import * as fs from 'node:fs';
import type { Dtype } from '../core/dtype';
import type { Tensor } from '../tensor/tensor';
import { CliError, detectFormat, errorText, formatOfName, lib, usage, type Io, type TensorFormat } from './common';

export interface ConvertOptions {
  from?: TensorFormat;
  to?: TensorFormat;
  key?: string;
  dtype?: string;
  keepMetadata?: boolean;
}

/** Every tensor of a loaded value with its dotted key path; string leaves; skipped leaves. */
function flatten(value: unknown): { tensors: Map<string, Tensor>; strings: Record<string, string>; skipped: string[] } {
  const L = lib();
  const tensors = new Map<string, Tensor>();
  const strings: Record<string, string> = {};
  const skipped: string[] = [];
  const visit = (v: unknown, key: string) => {
    if (v instanceof L.Tensor) {
      tensors.set(key === '' ? 'tensor' : key, v);
    } else if (v instanceof L.Size || v instanceof L.TorchDevice || v instanceof L.TorchDtype || v instanceof L.Float) {
      skipped.push(key);
    } else if (v instanceof Map) {
      for (const [k, x] of v) visit(x, key === '' ? String(k) : `${key}.${String(k)}`);
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => visit(x, key === '' ? String(i) : `${key}.${i}`));
    } else if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array)) {
      for (const [k, x] of Object.entries(v)) visit(x, key === '' ? k : `${key}.${k}`);
    } else if (typeof v === 'string') {
      strings[key] = v;
    } else {
      skipped.push(key);
    }
  };
  visit(value, '');
  return { tensors, strings, skipped };
}

function castAll(value: unknown, dtype: Dtype | undefined): unknown {
  if (!dtype) return value;
  const L = lib();
  const cast = (v: unknown): unknown => {
    if (v instanceof L.Tensor) return v.dtype.startsWith('float') || v.dtype === 'bfloat16' ? v.to(dtype) : v;
    if (v instanceof L.Size || v instanceof L.Tuple) return v;
    if (v instanceof Map) {
      for (const [k, x] of v) v.set(k, cast(x));
      return v;
    }
    if (Array.isArray(v)) {
      v.forEach((x, i) => (v[i] = cast(x)));
      return v;
    }
    if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) o[k] = cast(o[k]);
      return o;
    }
    return v;
  };
  return cast(value);
}

function pick(tensors: Map<string, Tensor>, key: string | undefined, file: string): Tensor {
  if (key !== undefined) {
    const t = tensors.get(key);
    if (!t)
      throw new CliError(`${file} has no tensor '${key}' (it has: ${[...tensors.keys()].slice(0, 20).join(', ')})`);
    return t;
  }
  if (tensors.size !== 1) {
    throw usage(
      `${file} holds ${tensors.size} tensors and .npy holds one: choose it with --key (one of: ${[...tensors.keys()].slice(0, 20).join(', ')})`,
    );
  }
  return [...tensors.values()][0];
}

/** Converts; returns what was written. */
export async function convert(
  input: string,
  output: string,
  opts: ConvertOptions,
  io: Io,
): Promise<{ tensors: number; skipped: string[] }> {
  const L = lib();
  if (!fs.existsSync(input)) throw new CliError(`${input}: no such file`);
  const from = opts.from ?? detectFormat(input);
  const to = opts.to ?? formatOfName(output);
  if (!to)
    throw usage(`cannot tell the output format from '${output}': use a .pt, .pth, .safetensors or .npy name, or --to`);
  const dtype = opts.dtype === undefined ? undefined : (opts.dtype as Dtype);
  if (dtype !== undefined && !(L.DTYPES as readonly string[]).includes(dtype)) {
    throw usage(`--dtype must be one of ${L.DTYPES.join(', ')}, got '${opts.dtype}'`);
  }

  let value: unknown;
  try {
    if (from === 'pt') value = await L.load(input, { mmap: true });
    else if (from === 'safetensors') {
      value = await L.loadSafetensors(input, { mmap: true });
      const meta = L.readSafetensorsHeader(input).metadata;
      if (opts.keepMetadata && meta) (value as Record<string, unknown>).__metadata__ = { ...meta };
    } else value = await L.loadNpy(input, { mmap: true });
  } catch (e) {
    throw new CliError(`cannot read ${input}: ${errorText(e)}`);
  }
  value = castAll(value, dtype);

  let count = 0;
  let skipped: string[] = [];
  try {
    if (to === 'pt') {
      if (from === 'npy' && opts.key !== undefined) value = { [opts.key]: value };
      await L.save(output, value);
      count = flatten(value).tensors.size;
    } else if (to === 'safetensors') {
      const flat = flatten(value);
      let tensors = flat.tensors;
      if (from === 'npy' && opts.key !== undefined) tensors = new Map([[opts.key, [...tensors.values()][0]]]);
      if (tensors.size === 0) throw new CliError(`${input} holds no tensors to write as safetensors`);
      const metadata = Object.keys(flat.strings).length > 0 ? flat.strings : undefined;
      await L.saveSafetensors(output, tensors, metadata ? { metadata } : undefined);
      count = tensors.size;
      skipped = flat.skipped;
    } else {
      const t = pick(flatten(value).tensors, opts.key, input);
      await L.saveNpy(output, t);
      count = 1;
    }
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot write ${output}: ${errorText(e)}`);
  }
  if (skipped.length > 0) {
    io.err(`jepa-native: warning: safetensors holds only tensors and strings; skipped: ${skipped.join(', ')}\n`);
  }
  io.err(`wrote ${output} (${to}, ${count} ${count === 1 ? 'tensor' : 'tensors'})\n`);
  return { tensors: count, skipped };
}
