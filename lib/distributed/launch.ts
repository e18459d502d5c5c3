/**
 * Starts the processes of a data-parallel job on this machine the way `torchrun` does: N copies
 * of a Node script, each with MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK,
 * LOCAL_WORLD_SIZE, GROUP_RANK and NODE_RANK set, which `jepa.distributed.init()` reads. When one
 * process fails, the others are stopped (SIGTERM, then SIGKILL after a grace period) and the
 * failure's exit code is returned. This file loads no native code (`jepa-native launch` uses it).
 *
 * ```js
 * const r = await jepa.distributed.launch({ nproc: 2, script: 'train.js', args: ['--epochs', '10'] });
 * process.exitCode = r.exitCode;
 * ```
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { ErrorCode, invalidArgument, JepaError } from '../core/errors';
import os from 'node:os';

/** Options of {@link launch}. */
export interface LaunchOptions {
  /** Processes to start on this machine. */
  nproc: number;
  /** The Node script each process runs. */
  script: string;
  /** Arguments after the script. */
  args?: string[];
  /** Arguments for Node before the script (`--expose-gc`, ...). */
  nodeArgs?: string[];
  /** Address of the machine that runs global rank 0. Default `'127.0.0.1'`. */
  masterAddr?: string;
  /** Its port; default a free port on one machine, 29500 with `nnodes > 1` (every machine must agree). */
  masterPort?: number;
  /** Machines in the job (each runs `launch` with its own `nodeRank`). Default 1. */
  nnodes?: number;
  /** This machine's index in [0, nnodes). Default 0. */
  nodeRank?: number;
  /** More environment variables for the processes. */
  env?: Record<string, string>;
  /** `'inherit'` (default): the processes write to this one's stdout/stderr; `'pipe'`: collected into the result. */
  stdio?: 'inherit' | 'pipe';
  /** Milliseconds between SIGTERM and SIGKILL when stopping the others after a failure. Default 5000. */
  graceMs?: number;
  /** Stops every process (SIGTERM, then SIGKILL) when aborted. */
  signal?: AbortSignal;
}

/** How one process ended. */
export interface RankExit {
  rank: number;
  localRank: number;
  /** Exit code, or null when ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** With `stdio: 'pipe'`. */
  stdout?: string;
  stderr?: string;
}

/** What {@link launch} resolves with. */
export interface LaunchResult {
  /** 0 when every process exited with 0; else the first failure's code (128 + signal number for a signal). */
  exitCode: number;
  /** Global rank of the first process that failed, or null. */
  failedRank: number | null;
  /** One entry per local process, by local rank. */
  ranks: RankExit[];
  masterAddr: string;
  masterPort: number;
}

function int(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidArgument(`expected \`${name}\` to be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A TCP port that is free on `host` right now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function signalCode(signal: NodeJS.Signals): number {
  return 128 + (os.constants.signals[signal] ?? 0);
}

/**
 * Runs `nproc` copies of `script` with torchrun's environment and resolves when all have ended.
 * Never rejects for a failing child (see {@link LaunchResult.exitCode}); rejects only for bad
 * options or when a process cannot be started.
 */
/** The options checked, with their defaults (a free port for a one-machine job). */
async function resolveOptions(options: LaunchOptions) {
  if (options === null || typeof options !== 'object')
    throw invalidArgument(`expected \`options\` to be an object, got ${String(options)}`);
  const nproc = int(options.nproc, 'options.nproc', 1, 1024);
  const nnodes = int(options.nnodes ?? 1, 'options.nnodes', 1, 1 << 16);
  const nodeRank = int(options.nodeRank ?? 0, 'options.nodeRank', 0, nnodes - 1);
  if (typeof options.script !== 'string' || options.script === '') {
    throw invalidArgument(
      `expected \`options.script\` to be the path of a script, got ${JSON.stringify(options.script)}`,
    );
  }
  const args = options.args ?? [];
  const nodeArgs = options.nodeArgs ?? [];
  for (const [name, list] of [
    ['options.args', args],
    ['options.nodeArgs', nodeArgs],
  ] as const) {
    if (!Array.isArray(list) || !list.every((a) => typeof a === 'string')) {
      throw invalidArgument(`expected \`${name}\` to be an Array of strings, got ${JSON.stringify(list)}`);
    }
  }
  const masterAddr = options.masterAddr ?? '127.0.0.1';
  if (typeof masterAddr !== 'string' || masterAddr === '')
    throw invalidArgument(`expected \`options.masterAddr\` to be a host, got ${JSON.stringify(masterAddr)}`);
  const masterPort =
    options.masterPort !== undefined
      ? int(options.masterPort, 'options.masterPort', 1, 65535)
      : nnodes > 1
        ? 29500
        : await freePort(masterAddr === 'localhost' ? '127.0.0.1' : masterAddr);
  const graceMs = int(options.graceMs ?? 5000, 'options.graceMs', 0, 3_600_000);
  const stdio = options.stdio ?? 'inherit';
  if (stdio !== 'inherit' && stdio !== 'pipe')
    throw invalidArgument(`expected \`options.stdio\` to be 'inherit' or 'pipe', got ${JSON.stringify(stdio)}`);
  const worldSize = nnodes * nproc;
  return {
    nproc,
    nnodes,
    nodeRank,
    script: options.script,
    args,
    nodeArgs,
    env: options.env,
    masterAddr,
    masterPort,
    graceMs,
    stdio,
    worldSize,
  };
}

/** torchrun's environment for the process of `localRank` on this node. */
function rankEnv(o: Awaited<ReturnType<typeof resolveOptions>>, localRank: number): NodeJS.ProcessEnv {
  const globalRank = o.nodeRank * o.nproc + localRank;
  return {
    ...process.env,
    ...o.env,
    MASTER_ADDR: o.masterAddr,
    MASTER_PORT: String(o.masterPort),
    RANK: String(globalRank),
    WORLD_SIZE: String(o.worldSize),
    LOCAL_RANK: String(localRank),
    LOCAL_WORLD_SIZE: String(o.nproc),
    GROUP_RANK: String(o.nodeRank),
    NODE_RANK: String(o.nodeRank),
    ROLE_RANK: String(globalRank),
    ROLE_WORLD_SIZE: String(o.worldSize),
  };
}

export async function launch(options: LaunchOptions): Promise<LaunchResult> {
  const o = await resolveOptions(options);
  const { nproc, graceMs, stdio, masterAddr, masterPort } = o;

  const children: ChildProcess[] = [];
  const exits: RankExit[] = [];
  let failedRank: number | null = null;
  let exitCode = 0;
  let stopping = false;
  let killTimer: NodeJS.Timeout | null = null;

  const stopAll = (): void => {
    if (stopping) return;
    stopping = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    killTimer = setTimeout(() => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, graceMs);
    killTimer.unref();
  };
  const onAbort = (): void => stopAll();
  options.signal?.addEventListener('abort', onAbort);

  const done = Array.from({ length: nproc }, (_, localRank) => {
    const globalRank = o.nodeRank * nproc + localRank;
    const child = spawn(process.execPath, [...o.nodeArgs, o.script, ...o.args], {
      env: rankEnv(o, localRank),
      stdio: stdio === 'pipe' ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    });
    children.push(child);
    const exit: RankExit = { rank: globalRank, localRank, code: null, signal: null };
    if (stdio === 'pipe') {
      exit.stdout = '';
      exit.stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (exit.stdout += d));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (exit.stderr += d));
    }
    exits[localRank] = exit;
    return new Promise<void>((resolve, reject) => {
      child.on('error', (err) => {
        stopAll();
        reject(
          new JepaError(ErrorCode.IO_ERROR, `cannot start rank ${globalRank} (${process.execPath}): ${err.message}`, {
            cause: err,
          }),
        );
      });
      child.on('close', (code, signal) => {
        exit.code = code;
        exit.signal = signal;
        if (code !== 0) {
          // The first to fail is the cause; the others were stopped because of it.
          if (failedRank === null) {
            failedRank = globalRank;
            exitCode = code ?? signalCode(signal ?? 'SIGTERM');
          }
          stopAll();
        }
        resolve();
      });
    });
  });
  try {
    await Promise.all(done);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
  }
  return { exitCode, failedRank, ranks: exits, masterAddr, masterPort };
}
