/**
 * Data-parallel work across processes and machines on PyTorch's own distributed engine (c10d,
 * inside libtorch): a TCPStore rendezvous, then ProcessGroupGloo for CPU tensors or
 * ProcessGroupNCCL for CUDA tensors (builds against a CUDA libtorch only). Started the way
 * torchrun starts Python: `npx jepa-native launch --nproc 2 train.js` (or {@link launch}) sets
 * MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE and LOCAL_RANK, and {@link init} reads them.
 *
 * ```js
 * await jepa.distributed.init({ backend: 'gloo' });       // torchrun's environment
 * const t = jepa.tensor(new Float32Array([jepa.distributed.rank + 1]));
 * await jepa.distributed.allReduce(t);                     // t = 1 + 2 + ... + worldSize
 * const trainer = new jepa.Trainer({ ..., distributed: true });   // gradients averaged each step
 * await jepa.distributed.destroy();
 * ```
 * See docs/distributed.md.
 * @module
 */
import { native } from '../core/binding';
import { ErrorCode, invalidArgument, JepaError, withCallerStack } from '../core/errors';
import { save as ioSave } from '../io/pt';
import type { NativeProcessGroup } from '../core/native-types';
import { nativeOf, Tensor, wrap } from '../tensor/tensor';
import { checkOptions, show } from '../core/validate';

export { freePort, launch, type LaunchOptions, type LaunchResult, type RankExit } from './launch';

/** The collective backends. */
export type Backend = 'gloo' | 'nccl';

/** How {@link allReduce} combines the ranks' values (`avg`: floating-point tensors only). */
export type ReduceOp = 'sum' | 'avg' | 'product' | 'min' | 'max';

/** Options of {@link init}; each defaults to torchrun's environment variable, then to a single process. */
export interface InitOptions {
  /** `'gloo'` (CPU tensors, default) or `'nccl'` (CUDA tensors; builds against a CUDA libtorch). */
  backend?: Backend;
  /** Address of rank 0, which serves the rendezvous store. Default MASTER_ADDR, else `'127.0.0.1'`. */
  masterAddr?: string;
  /** Port of the rendezvous store on rank 0. Default MASTER_PORT, else 29500. */
  masterPort?: number;
  /** This process's rank in [0, worldSize). Default RANK, else 0. */
  rank?: number;
  /** Number of processes. Default WORLD_SIZE, else 1. */
  worldSize?: number;
  /**
   * Milliseconds after which the rendezvous or a collective fails with `JEPA_DISTRIBUTED_ERROR`
   * (a peer that died, hung or never came). Default JEPA_DIST_TIMEOUT_MS, else 60000.
   */
  timeout?: number;
  /** gloo: the address other ranks reach this one at (default: 127.0.0.1 for a loopback master, else GLOO_SOCKET_IFNAME's interface or the host name). */
  hostname?: string;
}

/** Options of one collective. */
export interface CollectiveOptions {
  /** The group to use; default the one {@link init} made. */
  group?: ProcessGroup;
}

const INIT_KEYS = ['backend', 'masterAddr', 'masterPort', 'rank', 'worldSize', 'timeout', 'hostname'];
const OPS: ReduceOp[] = ['sum', 'avg', 'product', 'min', 'max'];

/**
 * One group of processes (c10d's ProcessGroup). Collectives must be called in the same order on
 * every rank; they are issued in call order (the Promise forms wait on a worker thread, the
 * `*Sync` forms on the calling thread). After a failure the group is unusable: every later call
 * throws `JEPA_DISTRIBUTED_ERROR`.
 */
export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly backend: Backend;
  #native: NativeProcessGroup;
  #destroyed = false;

  /** @internal */
  constructor(handle: NativeProcessGroup) {
    this.#native = handle;
    this.rank = handle.rank();
    this.worldSize = handle.worldSize();
    this.backend = handle.backend() as Backend;
  }

  /** @internal */
  get native(): NativeProcessGroup {
    this.#live();
    return this.#native;
  }

  /** Whether {@link destroy} was called. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  #live(): void {
    if (this.#destroyed)
      throw new JepaError(
        ErrorCode.DISTRIBUTED_ERROR,
        'the process group was destroyed (call jepa.distributed.init() again)',
      );
  }

  #tensor(t: unknown, name = 'tensor'): unknown {
    this.#live();
    if (!(t instanceof Tensor)) throw invalidArgument(`expected \`${name}\` to be a Tensor, got ${show(t)}`);
    return nativeOf(t, name);
  }

  #op(op: unknown, t: Tensor): ReduceOp {
    const o = op === undefined ? 'sum' : op;
    if (!OPS.includes(o as ReduceOp))
      throw invalidArgument(`expected \`op\` to be one of ${OPS.map((x) => `'${x}'`).join(', ')}, got ${show(op)}`);
    if (o === 'avg' && !['float32', 'float64', 'float16', 'bfloat16'].includes(t.dtype)) {
      throw invalidArgument(`\`op: 'avg'\` needs a floating-point tensor, got ${t.dtype} (use 'sum')`);
    }
    return o as ReduceOp;
  }

  #root(root: unknown): number {
    if (typeof root !== 'number' || !Number.isInteger(root) || root < 0 || root >= this.worldSize) {
      throw invalidArgument(`expected \`root\` to be a rank in [0, ${this.worldSize}), got ${show(root)}`);
    }
    return root;
  }

  /** Combines `tensor` over the ranks, in place (every rank gets the result); resolves with `tensor`. */
  async allReduce(tensor: Tensor, op: ReduceOp = 'sum'): Promise<Tensor> {
    const h = this.#tensor(tensor);
    await withCallerStack(this.#native.allReduce(h, this.#op(op, tensor)));
    return tensor;
  }

  /** {@link allReduce} on the calling thread. */
  allReduceSync(tensor: Tensor, op: ReduceOp = 'sum'): Tensor {
    const h = this.#tensor(tensor);
    this.#native.allReduceSync(h, this.#op(op, tensor));
    return tensor;
  }

  /** Copies rank `root`'s `tensor` into every rank's `tensor` (same shape and dtype), in place. */
  async broadcast(tensor: Tensor, root = 0): Promise<Tensor> {
    const h = this.#tensor(tensor);
    await withCallerStack(this.#native.broadcast(h, this.#root(root)));
    return tensor;
  }

  /** {@link broadcast} on the calling thread. */
  broadcastSync(tensor: Tensor, root = 0): Tensor {
    const h = this.#tensor(tensor);
    this.#native.broadcastSync(h, this.#root(root));
    return tensor;
  }

  /** Every rank's `tensor` (same shape and dtype on all), in rank order: new tensors. */
  async allGather(tensor: Tensor): Promise<Tensor[]> {
    const h = this.#tensor(tensor);
    const out = await withCallerStack(this.#native.allGather(h));
    return out.map(wrap);
  }

  /** {@link allGather} on the calling thread. */
  allGatherSync(tensor: Tensor): Tensor[] {
    return this.#native.allGatherSync(this.#tensor(tensor)).map(wrap);
  }

  /** Resolves when every rank has reached its barrier. */
  async barrier(): Promise<void> {
    this.#live();
    await withCallerStack(this.#native.barrier());
  }

  /** {@link barrier} on the calling thread. */
  barrierSync(): void {
    this.#live();
    this.#native.barrierSync();
  }

  /** Leaves the group (its connections and, on rank 0, the rendezvous store close). Idempotent. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    if (defaultGroup === this) clearDefault();
    await this.#native.destroy();
  }

  /** {@link destroy} on the calling thread. */
  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    if (defaultGroup === this) clearDefault();
    this.#native.destroySync();
  }
}

// ---------------------------------------------------------------------------------------------
// The default group, as torch.distributed's

let defaultGroup: ProcessGroup | null = null;

/** This process's rank in the default group (RANK before {@link init}, else 0). Live binding. */
export let rank = 0;
/** Processes in the default group (WORLD_SIZE before {@link init}, else 1). Live binding. */
export let worldSize = 1;
/** The rank on this machine (LOCAL_RANK, else 0): which GPU to use with NCCL. */
export let localRank = 0;

function clearDefault(): void {
  defaultGroup = null;
  rank = 0;
  worldSize = 1;
}

function envInt(name: string, env: NodeJS.ProcessEnv): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0)
    throw invalidArgument(`expected the environment variable ${name} to be a non-negative integer, got ${show(raw)}`);
  return n;
}

/** The options {@link init} would use: explicit ones, then torchrun's environment, then defaults. @internal */
export function resolveInitOptions(
  options: InitOptions | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Required<Omit<InitOptions, 'hostname'>> & { hostname?: string } {
  const o = checkOptions(options, 'options', INIT_KEYS);
  const backend = o.backend ?? 'gloo';
  if (backend !== 'gloo' && backend !== 'nccl')
    throw invalidArgument(`expected \`options.backend\` to be 'gloo' or 'nccl', got ${show(backend)}`);
  const int = (key: string, envName: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const v = o[key] ?? envInt(envName, env) ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw invalidArgument(
        `expected \`options.${key}\` (or ${envName}) to be an integer in [${min}, ${max}], got ${show(v)}`,
      );
    }
    return v;
  };
  const ws = int('worldSize', 'WORLD_SIZE', 1, 1, 1 << 20);
  const r = int('rank', 'RANK', 0, 0, ws - 1);
  const port = int('masterPort', 'MASTER_PORT', 29500, 1, 65535);
  const timeout = int('timeout', 'JEPA_DIST_TIMEOUT_MS', 60000, 1, 2 ** 31 - 1);
  const addr = o.masterAddr ?? env.MASTER_ADDR ?? '127.0.0.1';
  if (typeof addr !== 'string' || addr === '')
    throw invalidArgument(
      `expected \`options.masterAddr\` (or MASTER_ADDR) to be a host name or address, got ${show(addr)}`,
    );
  if (o.hostname !== undefined && (typeof o.hostname !== 'string' || o.hostname === '')) {
    throw invalidArgument(`expected \`options.hostname\` to be a host name or address, got ${show(o.hostname)}`);
  }
  return {
    backend,
    masterAddr: addr,
    masterPort: port,
    rank: r,
    worldSize: ws,
    timeout,
    hostname: o.hostname as string | undefined,
  };
}

function prepareInit(options: InitOptions | undefined): object {
  if (defaultGroup)
    throw new JepaError(
      ErrorCode.DISTRIBUTED_ERROR,
      'jepa.distributed.init() was already called: destroy() the group first',
    );
  const o = resolveInitOptions(options);
  const why = native.distBackendAvailable(o.backend);
  if (why !== null)
    throw new JepaError(ErrorCode.DISTRIBUTED_UNAVAILABLE, `the ${o.backend} backend is unavailable: ${why}`);
  localRank = envInt('LOCAL_RANK', process.env) ?? 0;
  return { ...o, timeoutMs: o.timeout };
}

function setDefault(group: ProcessGroup): ProcessGroup {
  defaultGroup = group;
  rank = group.rank;
  worldSize = group.worldSize;
  return group;
}

/**
 * Joins the default process group: rank 0 serves a TCPStore at masterAddr:masterPort, every
 * rank connects, then the backend connects every pair. Resolves when all `worldSize` ranks have
 * joined; rejects with `JEPA_DISTRIBUTED_ERROR` after `timeout` ms otherwise, and with
 * `JEPA_DISTRIBUTED_UNAVAILABLE` for a backend this build lacks.
 */
export async function init(options?: InitOptions): Promise<ProcessGroup> {
  const raw = prepareInit(options);
  const handle = await withCallerStack(native.distInit(raw));
  if (defaultGroup) {
    handle.destroySync();
    throw new JepaError(ErrorCode.DISTRIBUTED_ERROR, 'jepa.distributed.init() was called twice concurrently');
  }
  return setDefault(new ProcessGroup(handle));
}

/** {@link init} on the calling thread (blocks until every rank has joined). */
export function initSync(options?: InitOptions): ProcessGroup {
  return setDefault(new ProcessGroup(native.distInitSync(prepareInit(options))));
}

/** Whether {@link init} made a default group that is not destroyed. */
export function isInitialized(): boolean {
  return defaultGroup !== null;
}

/** Whether `backend` is in this build (`null`) or why not (a message). */
export function backendUnavailable(backend: Backend): string | null {
  if (backend !== 'gloo' && backend !== 'nccl')
    throw invalidArgument(`expected \`backend\` to be 'gloo' or 'nccl', got ${show(backend)}`);
  return native.distBackendAvailable(backend);
}

/** The default group; throws `JEPA_DISTRIBUTED_UNAVAILABLE` before {@link init}. */
export function group(): ProcessGroup {
  if (!defaultGroup)
    throw new JepaError(ErrorCode.DISTRIBUTED_UNAVAILABLE, 'no process group: call jepa.distributed.init() first');
  return defaultGroup;
}

function pick(options: CollectiveOptions | undefined): ProcessGroup {
  const o = checkOptions(options, 'options', ['group']);
  if (o.group === undefined) return group();
  if (!(o.group instanceof ProcessGroup))
    throw invalidArgument(`expected \`options.group\` to be a ProcessGroup, got ${show(o.group)}`);
  return o.group;
}

/** {@link ProcessGroup.allReduce} on the default group (or `options.group`). */
export function allReduce(tensor: Tensor, op: ReduceOp = 'sum', options?: CollectiveOptions): Promise<Tensor> {
  return pick(options).allReduce(tensor, op);
}
/** {@link ProcessGroup.allReduceSync} on the default group. */
export function allReduceSync(tensor: Tensor, op: ReduceOp = 'sum', options?: CollectiveOptions): Tensor {
  return pick(options).allReduceSync(tensor, op);
}
/** {@link ProcessGroup.broadcast} on the default group. */
export function broadcast(tensor: Tensor, root = 0, options?: CollectiveOptions): Promise<Tensor> {
  return pick(options).broadcast(tensor, root);
}
/** {@link ProcessGroup.broadcastSync} on the default group. */
export function broadcastSync(tensor: Tensor, root = 0, options?: CollectiveOptions): Tensor {
  return pick(options).broadcastSync(tensor, root);
}
/** {@link ProcessGroup.allGather} on the default group. */
export function allGather(tensor: Tensor, options?: CollectiveOptions): Promise<Tensor[]> {
  return pick(options).allGather(tensor);
}
/** {@link ProcessGroup.allGatherSync} on the default group. */
export function allGatherSync(tensor: Tensor, options?: CollectiveOptions): Tensor[] {
  return pick(options).allGatherSync(tensor);
}
/** {@link ProcessGroup.barrier} on the default group. */
export function barrier(options?: CollectiveOptions): Promise<void> {
  return pick(options).barrier();
}
/** {@link ProcessGroup.barrierSync} on the default group. */
export function barrierSync(options?: CollectiveOptions): void {
  pick(options).barrierSync();
}
/** Destroys the default group (nothing to do without one). */
export async function destroy(): Promise<void> {
  if (defaultGroup) await defaultGroup.destroy();
}
/** {@link destroy} on the calling thread. */
export function destroySync(): void {
  if (defaultGroup) defaultGroup.destroySync();
}

/**
 * `jepa.save(file, value)` on rank 0 only, then a barrier, so that no rank goes on before the
 * file is complete. Resolves `true` on the rank that wrote. Use it for checkpoints in
 * data-parallel training (every rank holds the same parameters).
 */
export async function save(file: string | URL, value: unknown, options?: CollectiveOptions): Promise<boolean> {
  const g = pick(options);
  let failure: unknown = null;
  if (g.rank === 0) {
    try {
      await ioSave(file, value);
    } catch (err) {
      failure = err;
    }
  }
  await g.barrier();
  if (failure) throw failure;
  return g.rank === 0;
}

// ---------------------------------------------------------------------------------------------
// Helpers for data-parallel work

/**
 * This rank's share of `files`: sorted (by code unit, so the same on every machine), then every
 * `worldSize`-th file starting at `rank` (round-robin). The shares are disjoint, cover all files
 * and differ in size by at most one. Defaults: the default group's (or the environment's) rank
 * and world size.
 */
export function shardFiles(files: readonly string[], shardRank?: number, shardWorldSize?: number): string[] {
  if (!Array.isArray(files) || !files.every((f) => typeof f === 'string')) {
    throw invalidArgument(`expected \`files\` to be an Array of strings, got ${show(files)}`);
  }
  const ws = shardWorldSize ?? (defaultGroup ? worldSize : (envInt('WORLD_SIZE', process.env) ?? 1));
  if (!Number.isInteger(ws) || ws < 1)
    throw invalidArgument(`expected \`worldSize\` to be a positive integer, got ${show(ws)}`);
  const r = shardRank ?? (defaultGroup ? rank : (envInt('RANK', process.env) ?? 0));
  if (!Number.isInteger(r) || r < 0 || r >= ws)
    throw invalidArgument(`expected \`rank\` to be an integer in [0, ${ws}), got ${show(r)}`);
  const sorted = [...files].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted.filter((_, i) => i % ws === r);
}

const MASK64 = (1n << 64n) - 1n;
function splitmix64(x: bigint): bigint {
  let z = (x + 0x9e3779b97f4a7c15n) & MASK64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/**
 * A seed for (seed, rank, step), the same on every machine and different for each rank and step
 * (SplitMix64 of the three; a number below 2^53). Give it to a mask sampler's `positionSeed`
 * (with `step` 0 for a sampler that keeps its own stream), or to `jepa.manualSeed` per step.
 */
export function deriveSeed(seed: number | bigint, seedRank: number, step = 0): number {
  for (const [name, v] of [
    ['seed', seed],
    ['rank', seedRank],
    ['step', step],
  ] as const) {
    const ok = typeof v === 'bigint' ? v >= 0n && v <= MASK64 : Number.isSafeInteger(v) && v >= 0;
    if (!ok) throw invalidArgument(`expected \`${name}\` to be a non-negative integer, got ${show(v)}`);
  }
  let h = splitmix64(BigInt(seed));
  h = splitmix64(h ^ BigInt(seedRank));
  h = splitmix64(h ^ BigInt(step));
  return Number(h & ((1n << 53n) - 1n));
}
