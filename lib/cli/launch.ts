/**
 * `jepa-native launch --nproc N SCRIPT [ARGS...]`: starts N processes of a Node script with
 * torchrun's environment (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK, ...), which
 * `jepa.distributed.init()` reads; when one fails the others are stopped and its exit code is
 * returned. SCRIPT may also be a command of this CLI (`extract`, ...): then each process runs
 * `jepa-native SCRIPT ARGS...`, so that `launch --nproc 2 extract model.pt in/ out/` shards a
 * folder across 2 processes. See lib/distributed/launch.ts and docs/distributed.md.
 * (Internal to the package.)
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { launch } from '../distributed/launch';
import { usage } from './common';

export interface LaunchCliOptions {
  nproc: number;
  masterAddr?: string;
  masterPort?: number;
  nnodes?: number;
  nodeRank?: number;
  graceMs?: number;
}

/** Runs the launch; returns the exit code of the job (0 when every process exited with 0). */
export async function launchCommand(
  script: string,
  args: string[],
  opts: LaunchCliOptions,
  commands: string[],
): Promise<number> {
  let file = script;
  let scriptArgs = args;
  if (commands.includes(script) && !fs.existsSync(script)) {
    file = path.resolve(__dirname, '..', '..', 'bin', 'jepa-native.js');
    scriptArgs = [script, ...args];
  } else if (!fs.existsSync(script)) {
    throw usage(`${script}: no such script (and not a command of jepa-native: ${commands.join(', ')})`);
  }
  const result = await launch({
    nproc: opts.nproc,
    script: file,
    args: scriptArgs,
    masterAddr: opts.masterAddr,
    masterPort: opts.masterPort,
    nnodes: opts.nnodes,
    nodeRank: opts.nodeRank,
    graceMs: opts.graceMs,
  });
  return result.exitCode;
}
