/**
 * Reading and writing PyTorch `.pt` files (what Python's `torch.save` writes and
 * `torch.load(weights_only=True)` reads), in-process and without running any pickle.
 * Values map to JS as described in docs/values.md; see docs/pt.md for the details and limits.
 *
 * ```js
 * const feat = await jepa.load('features.pt');          // { features: Tensor, shape: Size, ... }
 * await jepa.save('copy.pt', feat);                       // Python reads it with torch.load
 * ```
 * @module
 */
import '../tensor/dispose'; // defines Symbol.dispose where missing, before the classes use it
import * as os from 'node:os';
import { native } from '../core/binding';
import type { Device } from '../core/dtype';
import { invalidArgument, withCallerStack } from '../core/errors';
import type { NativePtArchive } from '../core/native-types';
import { nativeOf, type Tensor } from '../tensor/tensor';
import { checkDevice, checkOptions, checkPath, show } from '../core/validate';

/** Options of {@link load} and {@link loadSync}. */
export interface LoadOptions {
  /**
   * Map the file into memory instead of reading it: tensors alias the mapping (zero-copy, like
   * `torch.load(f, mmap=True)`), which stays alive while any of them does. The mapping is
   * private: writing to such a tensor never changes the file. Default false.
   */
  mmap?: boolean;
  /** Device to load the tensors to (`'cpu'` by default, whatever device they were saved from). */
  device?: Device;
}

function loadOptions(options: unknown): { mmap: boolean; device: string | null } {
  const o = checkOptions(options, 'options', ['mmap', 'device']);
  if (o.mmap !== undefined && typeof o.mmap !== 'boolean') {
    throw invalidArgument(`expected \`options.mmap\` to be a boolean, got ${show(o.mmap)}`);
  }
  const device = o.device === undefined ? null : checkDevice(o.device, 'options.device');
  return { mmap: o.mmap === true, device: device === 'cpu' ? null : device };
}

function openOptions(options: unknown): { mmap: boolean } {
  const o = checkOptions(options, 'options', ['mmap']);
  if (o.mmap !== undefined && typeof o.mmap !== 'boolean') {
    throw invalidArgument(`expected \`options.mmap\` to be a boolean, got ${show(o.mmap)}`);
  }
  return { mmap: o.mmap === true };
}

// ---------------------------------------------------------------------------------------------
// load() batching. Every load() made in one turn of the event loop (before the microtasks run
// out) joins one batch, split into a few native calls that each load their files one after
// another on a threadpool thread. A threadpool round trip (queueing, waking a thread, waking the
// event loop, one completion callback) costs about as much as loading a small file, so 16 loads
// in flight cost a few round trips per batch instead of one per file. Small files are only read
// there and parsed on this thread (docs/pt.md). Each load still settles on its own (its own
// value or its own error). A lone load is a batch of one.

interface PendingLoad {
  path: string;
  mmap: boolean;
  device: string | null;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

let pendingLoads: PendingLoad[] = [];
const LOAD_BATCH_MIN = 8; // files in one native call, unless fewer are waiting
const LOAD_BATCH_MAX = 64;
const LOAD_PARALLELISM = Math.max(1, os.availableParallelism());
const INLINE_MAX = 2; // batches up to this size may be served from the page cache on this thread
let batchesOut = 0; // native load calls not settled yet

function flushLoads(): void {
  const batch: PendingLoad[] = [];
  for (const j of pendingLoads) {
    // mmap and device loads do their work on the worker: each gets a call of its own, so that
    // none waits behind another (as before batching).
    if (j.mmap || j.device !== null) loadBatch([j], false);
    else batch.push(j);
  }
  pendingLoads = [];
  // As many native calls as there are cores (so that they run in parallel), each at least
  // LOAD_BATCH_MIN files (splitting further would fragment the batches of a steady stream of
  // loads back into single files) and at most LOAD_BATCH_MAX (so that results come back early).
  const size = Math.min(LOAD_BATCH_MAX, Math.max(LOAD_BATCH_MIN, Math.ceil(batch.length / LOAD_PARALLELISM)));
  for (let i = 0; i < batch.length; i += size) loadBatch(batch.slice(i, i + size), true);
}

// One native call. With smallOnly, files above 1 MiB come back unread and are loaded in calls
// of their own, so that small files never wait behind a large one.
function loadBatch(jobs: PendingLoad[], smallOnly: boolean): void {
  let result: Promise<[unknown[], (Error | undefined)[], number[]]>;
  try {
    result = native.ptLoadMany(
      jobs.map((j) => j.path),
      jobs.map((j) => j.mmap),
      jobs.map((j) => j.device),
      smallOnly,
      // A lone load (or two) while no other batch is out: small files in the page cache are read
      // and parsed at once on this thread, without waiting for any disk and without a round trip
      // to a worker (docs/pt.md). With batches out, the workers read while this thread parses.
      jobs.length <= INLINE_MAX && batchesOut === 0,
    );
  } catch (err) {
    for (const j of jobs) j.reject(err);
    return;
  }
  batchesOut++;
  result.finally(() => batchesOut--).catch(() => undefined);
  result.then(
    ([values, errors, large]) => {
      for (const i of large) loadBatch([jobs[i]], false);
      for (let i = 0; i < jobs.length; i++) {
        if (large.length > 0 && large.includes(i)) continue;
        const err = errors[i];
        if (err !== undefined) jobs[i].reject(err);
        else jobs[i].resolve(values[i]);
      }
    },
    (err: unknown) => {
      for (const j of jobs) j.reject(err);
    },
  );
}

/**
 * Reads a `.pt` file written by Python's `torch.save` (any archive folder name, zip64 too), on
 * a worker thread. Only what `torch.load(weights_only=True)` allows is read: any other global
 * fails with `JEPA_PT_UNSAFE_GLOBAL` and nothing is ever run. Tensors that shared a storage in
 * Python share it here ({@link Tensor.sharesStorage}). Errors: `JEPA_FILE_NOT_FOUND`,
 * `JEPA_PT_CORRUPT`, `JEPA_PT_UNSAFE_GLOBAL`, `JEPA_PT_UNSUPPORTED`, `JEPA_PT_LIMIT`,
 * `JEPA_PT_TORCHSCRIPT` (use `loadModule`), `JEPA_PT_LEGACY_FORMAT`, `JEPA_CUDA_UNAVAILABLE`.
 * Many loads in flight at once are batched: see "Loading many files" in docs/pt.md.
 */
export async function load(file: string | URL, options?: LoadOptions): Promise<unknown> {
  const p = checkPath(file);
  const o = loadOptions(options);
  return withCallerStack(
    new Promise<unknown>((resolve, reject) => {
      if (pendingLoads.length === 0) queueMicrotask(flushLoads);
      pendingLoads.push({ path: p, mmap: o.mmap, device: o.device, resolve, reject });
    }),
  );
}

/** {@link load} on the calling thread (for scripts). */
export function loadSync(file: string | URL, options?: LoadOptions): unknown {
  const p = checkPath(file);
  const o = loadOptions(options);
  return native.ptLoadSync(p, o.mmap, o.device);
}

/**
 * Writes `value` as Python's `torch.save` does (the same records and 64-byte alignment), on a
 * worker thread; Python reads the file with plain `torch.load(f)` and with `mmap=True`. A
 * storage shared by several tensors is written once. The write is atomic: the data goes to a
 * temporary file in the same folder, is flushed to disk, then renamed over `file`, so a crash or
 * a full disk never leaves a half-written file there (a killed writer's temporary file is
 * removed by a later save in the folder: RELIABILITY.md). The value is converted before this
 * returns (later changes to containers do not affect the file; tensor data is read during the
 * write).
 */
export async function save(file: string | URL, value: unknown): Promise<void> {
  const p = checkPath(file);
  return withCallerStack(native.ptSave(p, value));
}

/** {@link save} on the calling thread (for scripts). */
export function saveSync(file: string | URL, value: unknown): void {
  const p = checkPath(file);
  native.ptSaveSync(p, value);
}

/** Marks a tensor to be written as a `torch.nn.Parameter` (tensors read from Parameters are). */
export function parameter(t: Tensor, requiresGrad = true): Tensor {
  nativeOf(t, 't').setParameter(true, requiresGrad === true);
  return t;
}

/** Whether a tensor was read from (or marked as) a `torch.nn.Parameter`. */
export function isParameter(t: Tensor): boolean {
  return nativeOf(t, 't').isParameter();
}

/** One tensor of a file opened with {@link open}. */
export interface PtEntry {
  /** The key path joined with dots: `'model.layer1.weight'`, `'state.0.exp_avg'`. */
  key: string;
  /** The keys and indices from the top value down to the tensor. */
  path: unknown[];
  dtype: string;
  shape: number[];
  /** Bytes of the tensor's elements (numel times element size). */
  nbytes: number;
  /** Whether it is a `torch.nn.Parameter`. */
  parameter: boolean;
}

/**
 * A `.pt` file opened lazily: its structure is known, its tensor data is read only for the
 * entries asked for. Close it with {@link PtArchive.close} (or let it be garbage collected).
 */
export class PtArchive {
  readonly #handle: NativePtArchive;
  #entries: PtEntry[] | undefined;

  /** @internal */
  constructor(handle: NativePtArchive) {
    this.#handle = handle;
  }

  /** Every tensor of the file with its key path, dtype, shape and size, without reading data. */
  entries(): PtEntry[] {
    this.#entries ??= this.#handle.entries() as PtEntry[];
    return this.#entries.map((e) => ({ ...e, path: [...e.path], shape: [...e.shape] }));
  }

  /**
   * Reads the value at `key` (a dotted key from {@link entries}, or a key path array): a tensor,
   * or a whole container with its tensors. `get([])` reads everything.
   */
  async get(key: string | unknown[], options?: { device?: Device }): Promise<unknown> {
    const { path: keys, device } = this.#args(key, options);
    return withCallerStack(this.#handle.getAsync(keys, device));
  }

  /** {@link get} on the calling thread. */
  getSync(key: string | unknown[], options?: { device?: Device }): unknown {
    const { path: keys, device } = this.#args(key, options);
    return this.#handle.get(keys, device);
  }

  /** Releases the file. Tensors already read stay valid. */
  close(): void {
    this.#entries = undefined;
    this.#handle.close();
  }

  /** `using archive = jepa.openSync(path)` closes the archive at the end of the block (same as {@link close}). */
  [Symbol.dispose](): void {
    this.close();
  }

  #args(key: unknown, options: unknown): { path: unknown[]; device: string | null } {
    const o = checkOptions(options, 'options', ['device']);
    const device = o.device === undefined ? null : checkDevice(o.device, 'options.device');
    if (Array.isArray(key)) return { path: key, device };
    if (typeof key !== 'string') {
      throw invalidArgument(`expected \`key\` to be a dotted key string or a key path array, got ${show(key)}`);
    }
    this.#entries ??= this.#handle.entries() as PtEntry[];
    const entry = this.#entries.find((e) => e.key === key);
    if (entry) return { path: entry.path, device };
    return { path: key === '' ? [] : key.split('.'), device };
  }
}

/** Opens a `.pt` file lazily on a worker thread: reads its structure, not its tensor data. */
export async function open(file: string | URL, options?: { mmap?: boolean }): Promise<PtArchive> {
  const p = checkPath(file);
  const o = openOptions(options);
  return new PtArchive(await withCallerStack(native.ptOpen(p, o.mmap)));
}

/** {@link open} on the calling thread. */
export function openSync(file: string | URL, options?: { mmap?: boolean }): PtArchive {
  const p = checkPath(file);
  const o = openOptions(options);
  return new PtArchive(native.ptOpenSync(p, o.mmap));
}
