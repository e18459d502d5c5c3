/**
 * Neighbouring tensor formats that pipelines use beside `.pt`: safetensors (read with or without
 * mmap, and write) and NumPy `.npy` (read and write). Headers are parsed and checked here; the
 * tensor bytes are read and written natively (worker threads for the async forms). Writes are
 * atomic (temporary file in the same folder, flushed, renamed). See docs/pt.md.
 * @module
 */
import * as fs from 'node:fs';
import { native } from '../core/binding';
import { ELEMENT_SIZE, NPY_DTYPES, SAFETENSORS_DTYPES, type Device } from '../core/dtype';
import { ErrorCode, invalidArgument, JepaError, withCallerStack } from '../core/errors';
import { limits } from '../core/limits';
import type { TensorSlot } from '../core/native-types';
import { nativeOf, Tensor, wrap } from '../tensor/tensor';
import { checkDevice, checkOptions, checkPath, isPlainObject, show } from '../core/validate';

/** Options of the safetensors and .npy loaders. */
export interface TensorFileOptions {
  /** Map the file; tensors alias the mapping (zero-copy). Default false. */
  mmap?: boolean;
  /** Device to load the tensors to (`'cpu'` by default). */
  device?: Device;
}

const ITEMSIZE = ELEMENT_SIZE;

/** @internal */
export function corrupt(file: string, message: string): JepaError {
  return new JepaError(ErrorCode.PT_CORRUPT, `${file}: ${message}`);
}

/** @internal */
export function overLimit(file: string, message: string): JepaError {
  return new JepaError(ErrorCode.PT_LIMIT, `${file}: ${message}`);
}

/** @internal */
export function fileOptions(options: unknown): { mmap: boolean; device: string | null } {
  const o = checkOptions(options, 'options', ['mmap', 'device']);
  if (o.mmap !== undefined && typeof o.mmap !== 'boolean') {
    throw invalidArgument(`expected \`options.mmap\` to be a boolean, got ${show(o.mmap)}`);
  }
  const device = o.device === undefined ? null : checkDevice(o.device, 'options.device');
  return { mmap: o.mmap === true, device: device === 'cpu' ? null : device };
}

/** Reads `n` bytes at `pos` (fewer at the end of the file). @internal */
export function readRange(file: string, pos: number, n: number): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new JepaError(
      err.code === 'ENOENT' ? ErrorCode.FILE_NOT_FOUND : ErrorCode.IO_ERROR,
      `${file}: cannot open the file: ${err.message}`,
    );
  }
  try {
    const buf = Buffer.alloc(n);
    const got = fs.readSync(fd, buf, 0, n, pos);
    return buf.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}

/** The size of a file to read (limits.maxFileBytes checked). @internal */
export function fileSize(file: string): number {
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) throw new JepaError(ErrorCode.IO_ERROR, `${file}: is a folder, not a file`);
    if (st.size > limits.maxFileBytes) {
      throw overLimit(
        file,
        `the file has ${st.size} bytes, above the limit of ${limits.maxFileBytes} bytes (jepa.limits.maxFileBytes)`,
      );
    }
    return st.size;
  } catch (e) {
    if (e instanceof JepaError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new JepaError(
      err.code === 'ENOENT' ? ErrorCode.FILE_NOT_FOUND : ErrorCode.IO_ERROR,
      `${file}: cannot open the file: ${err.message}`,
    );
  }
}

function checkRank(file: string, what: string, rank: number): void {
  if (rank > limits.maxRank) {
    throw overLimit(file, `${what} has rank ${rank}, above the limit of ${limits.maxRank} (jepa.limits.maxRank)`);
  }
}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

// ---------------------------------------------------------------------------------------------
// safetensors

const ST_DTYPES = SAFETENSORS_DTYPES;
const ST_CODES: Record<string, string> = Object.fromEntries(Object.entries(ST_DTYPES).map(([k, v]) => [v, k]));

/** One tensor of a safetensors file, as its header describes it. */
export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte range in the data section. */
  offsets: [number, number];
}

/** What a safetensors header holds: the tensors (in file order) and the `__metadata__` strings. */
export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string> | null;
  /** Offset of the data section in the file. */
  dataStart: number;
}

/**
 * Reads and checks a safetensors header (without reading tensor data): every dtype known, every
 * shape matching its byte range, the ranges covering the data section exactly without overlap,
 * as the reference implementation requires. Errors: `JEPA_PT_CORRUPT`, `JEPA_PT_UNSUPPORTED`, `JEPA_PT_LIMIT` ({@link limits}).
 */
export function readSafetensorsHeader(file: string | URL): SafetensorsHeader {
  const p = checkPath(file);
  const size = fileSize(p);
  if (size < 8) throw corrupt(p, `the file is too short to be safetensors (${size} bytes)`);
  const n = Number(readRange(p, 0, 8).readBigUInt64LE(0));
  if (n > limits.maxSafetensorsHeaderBytes) {
    throw overLimit(
      p,
      `the header declares ${n} bytes, above the limit of ${limits.maxSafetensorsHeaderBytes} bytes (jepa.limits.maxSafetensorsHeaderBytes)`,
    );
  }
  if (8 + n > size) throw corrupt(p, `the header declares ${n} bytes but the file has ${size} (truncated?)`);
  const text = readRange(p, 8, n).toString('utf8');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw corrupt(p, `the header is not JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(header)) throw corrupt(p, 'the header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = size - dataStart;
  let metadata: Record<string, string> | null = null;
  const entries: SafetensorsEntry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isPlainObject(info) || !Object.values(info).every((v) => typeof v === 'string')) {
        throw corrupt(p, '__metadata__ must map strings to strings');
      }
      metadata = info as Record<string, string>;
      continue;
    }
    if (!isPlainObject(info)) throw corrupt(p, `the entry for '${name}' is not an object`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== 'string') throw corrupt(p, `tensor '${name}' has no dtype`);
    const dt = ST_DTYPES[dtype];
    if (!dt)
      throw new JepaError(
        ErrorCode.PT_UNSUPPORTED,
        `${p}: tensor '${name}' has dtype ${dtype}, which is not supported`,
      );
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw corrupt(p, `tensor '${name}' has a bad shape ${show(shape)}`);
    }
    checkRank(p, `tensor '${name}'`, shape.length);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    ) {
      throw corrupt(p, `tensor '${name}' has bad data_offsets ${show(offsets)}`);
    }
    const want = numel(shape as number[]) * ITEMSIZE[dt];
    if (offsets[1] - offsets[0] !== want) {
      throw corrupt(
        p,
        `tensor '${name}' of shape ${show(shape)} needs ${want} bytes but its range has ${offsets[1] - offsets[0]}`,
      );
    }
    entries.push({ name, dtype: dt, shape: shape as number[], offsets: [offsets[0], offsets[1]] });
  }
  const sorted = [...entries].sort((a, b) => a.offsets[0] - b.offsets[0] || a.offsets[1] - b.offsets[1]);
  let end = 0;
  for (const e of sorted) {
    if (e.offsets[0] !== end)
      throw corrupt(p, `tensor '${e.name}' does not start where the previous one ends (overlap or gap)`);
    end = e.offsets[1];
  }
  if (end !== dataLen)
    throw corrupt(p, `the tensors cover ${end} bytes but the data section has ${dataLen} (truncated?)`);
  return { entries, metadata, dataStart };
}

function stSlots(h: SafetensorsHeader): TensorSlot[] {
  return h.entries.map((e) => ({
    dtype: e.dtype,
    shape: e.shape,
    strides: null,
    offset: h.dataStart + e.offsets[0],
    nbytes: e.offsets[1] - e.offsets[0],
  }));
}

function byName(h: SafetensorsHeader, handles: ReturnType<typeof native.readTensorsSync>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  h.entries.forEach((e, i) => {
    Object.defineProperty(out, e.name, {
      value: wrap(handles[i]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  });
  return out;
}

/**
 * Reads a safetensors file into `{name: Tensor}` (names in file order), on a worker thread. With
 * `mmap: true` the tensors alias a private mapping of the file. Python writes these with
 * `safetensors.torch.save_file`. Errors: `JEPA_FILE_NOT_FOUND`, `JEPA_PT_CORRUPT`, `JEPA_PT_UNSUPPORTED`, `JEPA_PT_LIMIT`.
 */
export async function loadSafetensors(
  file: string | URL,
  options?: TensorFileOptions,
): Promise<Record<string, Tensor>> {
  const p = checkPath(file);
  const o = fileOptions(options);
  const h = readSafetensorsHeader(p);
  return byName(h, await withCallerStack(native.readTensors(p, o.mmap, false, stSlots(h), o.device)));
}

/** {@link loadSafetensors} on the calling thread. */
export function loadSafetensorsSync(file: string | URL, options?: TensorFileOptions): Record<string, Tensor> {
  const p = checkPath(file);
  const o = fileOptions(options);
  const h = readSafetensorsHeader(p);
  return byName(h, native.readTensorsSync(p, o.mmap, false, stSlots(h), o.device));
}

function stPrepare(tensors: unknown, options: unknown): { header: Buffer; list: ReturnType<typeof nativeOf>[] } {
  const o = checkOptions(options, 'options', ['metadata']);
  let pairs: [string, unknown][];
  if (tensors instanceof Map) pairs = [...tensors.entries()];
  else if (isPlainObject(tensors)) pairs = Object.entries(tensors);
  else throw invalidArgument(`expected \`tensors\` to be an object or Map of name -> Tensor, got ${show(tensors)}`);
  const items = pairs.map(([name, t]) => {
    if (typeof name !== 'string' || name === '__metadata__')
      throw invalidArgument(`expected tensor names to be strings other than __metadata__, got ${show(name)}`);
    if (!(t instanceof Tensor)) throw invalidArgument(`expected \`tensors.${name}\` to be a Tensor, got ${show(t)}`);
    const code = ST_CODES[t.dtype];
    if (!code) throw invalidArgument(`tensor '${name}' has dtype ${t.dtype}, which safetensors cannot hold`);
    return { name, t, code, itemsize: ITEMSIZE[t.dtype] };
  });
  // Larger elements first, then by name: keeps every tensor aligned to its element size, as the
  // reference writer does.
  items.sort((a, b) => b.itemsize - a.itemsize || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (o.metadata !== undefined) {
    if (!isPlainObject(o.metadata) || !Object.values(o.metadata).every((v) => typeof v === 'string')) {
      throw invalidArgument(`expected \`options.metadata\` to be an object of strings, got ${show(o.metadata)}`);
    }
    header.__metadata__ = o.metadata;
  }
  let offset = 0;
  for (const it of items) {
    const n = it.t.numel * it.itemsize;
    header[it.name] = { dtype: it.code, shape: it.t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  const pad = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(pad);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return { header: Buffer.concat([len, Buffer.from(json, 'utf8')]), list: items.map((it) => nativeOf(it.t)) };
}

/**
 * Writes `{name: Tensor}` (an object or a Map) as a safetensors file that Python's
 * `safetensors.torch.load_file` reads, with optional `metadata` strings; atomic, on a worker
 * thread. Tensors are written in row-major order whatever their strides.
 */
export async function saveSafetensors(
  file: string | URL,
  tensors: Record<string, Tensor> | Map<string, Tensor>,
  options?: { metadata?: Record<string, string> },
): Promise<void> {
  const p = checkPath(file);
  const { header, list } = stPrepare(tensors, options);
  return withCallerStack(native.writeTensors(p, header, list));
}

/** {@link saveSafetensors} on the calling thread. */
export function saveSafetensorsSync(
  file: string | URL,
  tensors: Record<string, Tensor> | Map<string, Tensor>,
  options?: { metadata?: Record<string, string> },
): void {
  const p = checkPath(file);
  const { header, list } = stPrepare(tensors, options);
  native.writeTensorsSync(p, header, list);
}

// ---------------------------------------------------------------------------------------------
// .npy

const NPY_CODES: Record<string, string> = Object.fromEntries(Object.entries(NPY_DTYPES).map(([k, v]) => [v, k]));

/** A parsed .npy header; `dataStart` counts from the start of the .npy bytes. @internal */
export interface NpyHeader {
  dtype: string;
  shape: number[];
  fortran: boolean;
  bigEndian: boolean;
  dataStart: number;
}

/** Parses the Python-literal header dict of a .npy file (only the three keys numpy writes). */
function parseNpyDict(p: string, text: string): Record<string, unknown> {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const fail = (): never => {
    throw corrupt(p, `cannot parse the .npy header ${JSON.stringify(text.slice(0, 200))}`);
  };
  let depth = 0;
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail();
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      if (++depth > limits.maxDepth) {
        throw overLimit(p, `the .npy header nests deeper than ${limits.maxDepth} levels (jepa.limits.maxDepth)`);
      }
      i++;
      const items: unknown[] = [];
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          depth--;
          return items;
        }
        items.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) fail();
      }
    }
    const m = /^(True|False|-?\d+)/.exec(text.slice(i));
    if (!m) return fail();
    i += m[0].length;
    return m[0] === 'True' ? true : m[0] === 'False' ? false : Number(m[0]);
  };
  ws();
  if (text[i++] !== '{') fail();
  const out: Record<string, unknown> = {};
  for (;;) {
    ws();
    if (text[i] === '}') {
      i++;
      break;
    }
    const k = value();
    ws();
    if (typeof k !== 'string' || text[i++] !== ':') fail();
    out[k as string] = value();
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') fail();
  }
  ws();
  if (i !== text.length) fail();
  return out;
}

function readNpyHeader(p: string): NpyHeader {
  const size = fileSize(p);
  return parseNpyHeader(p, (pos, n) => readRange(p, pos, n), size);
}

/**
 * Parses and checks the header of .npy bytes of `size` bytes, read through `read(pos, n)` (the
 * whole file for .npy, one member for .npz); `p` names them in messages. @internal
 */
export function parseNpyHeader(p: string, read: (pos: number, n: number) => Buffer, size: number): NpyHeader {
  const head = read(0, Math.min(size, 12));
  if (head.length < 10 || head.subarray(0, 6).toString('latin1') !== '\x93NUMPY') {
    if (head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) {
      throw corrupt(p, 'not a .npy file but a zip archive: a .npz (np.savez) is read with jepa.loadNpz');
    }
    throw corrupt(p, 'not a .npy file (no \\x93NUMPY magic)');
  }
  const major = head[6];
  let len: number;
  let start: number;
  if (major === 1) {
    len = head.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (head.length < 12) throw corrupt(p, 'truncated .npy header');
    len = head.readUInt32LE(8);
    start = 12;
  } else {
    throw new JepaError(ErrorCode.PT_UNSUPPORTED, `${p}: .npy format version ${major} is not supported`);
  }
  if (len > limits.maxNpyHeaderBytes) {
    throw overLimit(
      p,
      `the .npy header declares ${len} bytes, above the limit of ${limits.maxNpyHeaderBytes} bytes (jepa.limits.maxNpyHeaderBytes)`,
    );
  }
  if (start + len > size)
    throw corrupt(p, `the .npy header declares ${len} bytes but the file has ${size} (truncated?)`);
  const text = read(start, len).toString(major === 3 ? 'utf8' : 'latin1');
  const d = parseNpyDict(p, text.trim());
  const descr = d.descr;
  if (typeof descr !== 'string') {
    throw new JepaError(ErrorCode.PT_UNSUPPORTED, `${p}: structured .npy arrays are not supported`);
  }
  const m = /^([<>|=])([a-zA-Z]\d+)$/.exec(descr);
  const dtype = m ? NPY_DTYPES[m[2]] : undefined;
  if (!m || !dtype) {
    throw new JepaError(
      ErrorCode.PT_UNSUPPORTED,
      `${p}: .npy dtype '${descr}' is not supported` +
        (descr.includes('O') ? ' (object arrays are pickles, which are never read)' : ''),
    );
  }
  const shape = d.shape;
  if (!Array.isArray(shape) || !shape.every((x) => Number.isSafeInteger(x) && x >= 0)) {
    throw corrupt(p, `bad .npy shape ${show(shape)}`);
  }
  checkRank(p, 'the array', shape.length);
  if (typeof d.fortran_order !== 'boolean') throw corrupt(p, 'the .npy header has no fortran_order');
  // Checked here, in exact terms, before the byte count goes native: a shape like
  // (2**31, 2**31, 4) has more bytes than an int64 holds.
  const nbytes = numel(shape as number[]) * ITEMSIZE[dtype];
  const avail = size - (start + len);
  if (nbytes > avail) {
    throw corrupt(
      p,
      `the .npy data (${dtype}, shape ${show(shape)}) needs ${nbytes} bytes but ${avail} follow the header: ` +
        'it lies past the end of the file (truncated?)',
    );
  }
  return { dtype, shape: shape as number[], fortran: d.fortran_order, bigEndian: m[1] === '>', dataStart: start + len };
}

/** The tensor slot of a parsed .npy header, `base` bytes into the file. @internal */
export function npySlot(h: NpyHeader, base = 0): TensorSlot {
  const nbytes = numel(h.shape) * ITEMSIZE[h.dtype];
  let strides: number[] | null = null;
  if (h.fortran) {
    strides = [];
    let s = 1;
    for (const d of h.shape) {
      strides.push(s);
      s *= Math.max(d, 1);
    }
  }
  return { dtype: h.dtype, shape: h.shape, strides, offset: base + h.dataStart, nbytes };
}

/**
 * Reads a NumPy `.npy` file (what `numpy.save` writes) as a tensor, on a worker thread; a
 * Fortran-ordered array becomes a column-major view, a big-endian one is byte-swapped. Object
 * arrays (pickles) and structured dtypes are refused.
 */
export async function loadNpy(file: string | URL, options?: TensorFileOptions): Promise<Tensor> {
  const p = checkPath(file);
  const o = fileOptions(options);
  const h = readNpyHeader(p);
  const [t] = await withCallerStack(native.readTensors(p, o.mmap, h.bigEndian, [npySlot(h)], o.device));
  return wrap(t);
}

/** {@link loadNpy} on the calling thread. */
export function loadNpySync(file: string | URL, options?: TensorFileOptions): Tensor {
  const p = checkPath(file);
  const o = fileOptions(options);
  const h = readNpyHeader(p);
  return wrap(native.readTensorsSync(p, o.mmap, h.bigEndian, [npySlot(h)], o.device)[0]);
}

/** The .npy header of a tensor and its native handle, for the writers. @internal */
export function npyPrepare(t: unknown): { header: Buffer; list: ReturnType<typeof nativeOf>[] } {
  if (!(t instanceof Tensor)) throw invalidArgument(`expected \`tensor\` to be a Tensor, got ${show(t)}`);
  const code = NPY_CODES[t.dtype];
  if (!code) {
    throw invalidArgument(
      `a ${t.dtype} tensor cannot be saved as .npy (numpy has no ${t.dtype}): convert it first, e.g. with .to('float32')`,
    );
  }
  const shape = t.shape;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const order = code === 'b1' || code === 'i1' || code === 'u1' ? '|' : '<';
  let dict = `{'descr': '${order}${code}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // numpy pads the header with spaces and a newline so that the data starts on 64 bytes.
  const total = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const len = Buffer.byteLength(dict, 'latin1');
  if (len > 65535) throw invalidArgument(`the tensor has too many dimensions for a .npy header`);
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(len, 8);
  return { header: Buffer.concat([pre, Buffer.from(dict, 'latin1')]), list: [nativeOf(t)] };
}

/** Writes a tensor as a `.npy` file (format 1.0, C order) that `numpy.load` reads; atomic. */
export async function saveNpy(file: string | URL, tensor: Tensor): Promise<void> {
  const p = checkPath(file);
  const { header, list } = npyPrepare(tensor);
  return withCallerStack(native.writeTensors(p, header, list));
}

/** {@link saveNpy} on the calling thread. */
export function saveNpySync(file: string | URL, tensor: Tensor): void {
  const p = checkPath(file);
  const { header, list } = npyPrepare(tensor);
  native.writeTensorsSync(p, header, list);
}
