#!/usr/bin/env node
'use strict';
// Starts N processes of a data-parallel job on this machine with torchrun's environment
// (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK, ...). See docs/distributed.md.
//
//   node scripts/launch.js --nproc 2 [--master-addr A] [--master-port P]
//                          [--nnodes M --node-rank R] [--grace-ms MS] script.js [script args...]
//
// Exits with 0 when every process did; otherwise with the first failure's code, after stopping
// the others. SIGINT / SIGTERM stop every process.

const path = require('node:path');

const USAGE =
  'usage: node scripts/launch.js --nproc N [--master-addr ADDR] [--master-port PORT] ' +
  '[--nnodes M --node-rank R] [--grace-ms MS] script.js [args...]';

function parse(argv) {
  const opts = { args: [] };
  const numeric = { '--nproc': 'nproc', '--nproc-per-node': 'nproc', '--nproc_per_node': 'nproc', '--master-port': 'masterPort',
    '--master_port': 'masterPort', '--nnodes': 'nnodes', '--node-rank': 'nodeRank', '--node_rank': 'nodeRank', '--grace-ms': 'graceMs' };
  let i = 0;
  for (; i < argv.length; i++) {
    let a = argv[i];
    let value;
    if (a.startsWith('--') && a.includes('=')) [a, value] = [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)];
    const take = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value\n${USAGE}`);
      return argv[++i];
    };
    if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else if (numeric[a]) {
      const raw = take();
      const n = Number(raw);
      if (!Number.isInteger(n)) throw new Error(`${a} expects an integer, got ${JSON.stringify(raw)}\n${USAGE}`);
      opts[numeric[a]] = n;
    } else if (a === '--master-addr' || a === '--master_addr') {
      opts.masterAddr = take();
    } else if (a.startsWith('-')) {
      throw new Error(`unknown option ${a}\n${USAGE}`);
    } else {
      break;
    }
  }
  if (i >= argv.length) throw new Error(`no script given\n${USAGE}`);
  if (opts.nproc === undefined) throw new Error(`--nproc is required\n${USAGE}`);
  opts.script = argv[i];
  opts.args = argv.slice(i + 1);
  return opts;
}

async function main() {
  let opts;
  try {
    opts = parse(process.argv.slice(2));
  } catch (e) {
    console.error(`[jepa-native launch] ${e.message}`);
    process.exit(2);
  }
  const { launch } = require(path.join(__dirname, '..', 'dist', 'distributed', 'launch.js'));
  const controller = new globalThis.AbortController();
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => controller.abort());
  try {
    const r = await launch({ ...opts, signal: controller.signal });
    if (r.exitCode !== 0) {
      const failed = r.ranks.find((x) => x.rank === r.failedRank);
      const how = failed && failed.signal ? `signal ${failed.signal}` : `exit code ${failed ? failed.code : r.exitCode}`;
      console.error(`[jepa-native launch] rank ${r.failedRank} failed (${how}); the other processes were stopped`);
    }
    process.exit(r.exitCode);
  } catch (e) {
    console.error(`[jepa-native launch] ${e.message}`);
    process.exit(1);
  }
}

main();
