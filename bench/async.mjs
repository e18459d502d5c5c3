// npm run bench:async — where the time of an `await` of a native async call goes. Each row is a
// median over rounds of many calls one after another (µs per call):
//   - the floors: a sync native call, an await of a resolved promise, a setImmediate turn;
//   - libuv's own pool (fs.access, callback form) with the event loop sleeping between calls,
//     and with it kept polling (a setImmediate chain): the difference is the cost of waking the
//     event loop's thread;
//   - the JS-thread cost of starting a jepa async call (creating the work and its promise,
//     queueing it), measured by starting many without awaiting;
//   - a jepa round trip (toAsync of a one-element tensor), and `await load` of a small .pt file
//     against loadSync, each in child processes with the spin window on (JEPA_ASYNC_SPIN_US,
//     default) and off (0); with `--addon FILE` also against another build of the addon.
// Options: --rounds N (15), --calls N (2000), --addon FILE.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const ROUNDS = Number(arg('rounds', 15));
const CALLS = Number(arg('calls', 2000));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const now = () => Number(process.hrtime.bigint()) / 1e3;

if (process.argv[2] === '--child') {
  // One configuration, in its own process (the spin window is read once per process).
  const { default: jepa } = await import('jepa-native');
  const file = process.argv[3];
  const t = jepa.zeros([1]);
  const out = { roundTrip: [], load: [], loadSync: [], start: [] };
  jepa.loadSync(file).features.dispose();
  for (let r = 0; r < ROUNDS; r++) {
    let s = now();
    for (let i = 0; i < CALLS; i++) (await t.toAsync('float64')).dispose();
    out.roundTrip.push((now() - s) / CALLS);
    s = now();
    for (let i = 0; i < CALLS / 4; i++) (await jepa.load(file)).features.dispose();
    out.load.push((now() - s) / (CALLS / 4));
    s = now();
    for (let i = 0; i < CALLS / 4; i++) jepa.loadSync(file).features.dispose();
    out.loadSync.push((now() - s) / (CALLS / 4));
    const pending = [];
    s = now();
    for (let i = 0; i < 200; i++) pending.push(t.toAsync('float64'));
    out.start.push((now() - s) / 200);
    for (const p of await Promise.all(pending)) p.dispose();
  }
  console.log(JSON.stringify(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, median(v)]))));
  process.exit(0);
}

async function floors() {
  const f = path.join(os.tmpdir(), `jepa-bench-async-${process.pid}`);
  fs.writeFileSync(f, 'x');
  const res = { sync: [], resolved: [], immediate: [], uvSleeping: [], uvPolling: [] };
  for (let r = 0; r < ROUNDS; r++) {
    let s = now();
    for (let i = 0; i < CALLS; i++) fs.accessSync(f);
    res.sync.push((now() - s) / CALLS);
    s = now();
    for (let i = 0; i < CALLS; i++) await Promise.resolve(i);
    res.resolved.push((now() - s) / CALLS);
    s = now();
    for (let i = 0; i < CALLS; i++) await new Promise((ok) => setImmediate(ok));
    res.immediate.push((now() - s) / CALLS);
    s = now();
    for (let i = 0; i < CALLS; i++) await new Promise((ok) => fs.access(f, ok));
    res.uvSleeping.push((now() - s) / CALLS);
    let polling = true;
    const poll = () => polling && setImmediate(poll);
    poll();
    s = now();
    for (let i = 0; i < CALLS; i++) await new Promise((ok) => fs.access(f, ok));
    res.uvPolling.push((now() - s) / CALLS);
    polling = false;
  }
  fs.rmSync(f, { force: true });
  return Object.fromEntries(Object.entries(res).map(([k, v]) => [k, median(v)]));
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jepa-bench-async-'));
try {
  const { default: jepa } = await import('jepa-native');
  const file = path.join(dir, 'small.pt');
  jepa.saveSync(file, { features: jepa.randn([16, 1408], { seed: 0 }).to('float16'), image_id: 'img_1' });
  const f = await floors();
  const child = (env) => {
    const r = spawnSync(
      process.execPath,
      [fileURLToPath(import.meta.url), '--child', file, '--rounds', String(ROUNDS), '--calls', String(CALLS)],
      {
        cwd: path.join(HERE, '..'),
        encoding: 'utf8',
        env: { ...process.env, ...env },
      },
    );
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  };
  const configs = [
    ['spin on (default)', {}],
    ['spin off (JEPA_ASYNC_SPIN_US=0)', { JEPA_ASYNC_SPIN_US: '0' }],
  ];
  const other = arg('addon', null);
  if (other) configs.push([`addon ${other}`, { JEPA_ADDON: path.resolve(other) }]);
  const rows = configs.map(([label, env]) => [label, child(env)]);
  const l = os.loadavg();
  const runnable = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[3];
  console.log(
    `bench:async — µs per call, medians of ${ROUNDS} rounds; ${os.cpus().length} CPUs, load average ${l.map((x) => x.toFixed(1)).join(' ')}, runnable/total ${runnable}`,
  );
  const line = (label, v) => console.log(`  ${label.padEnd(64)} ${v.toFixed(1).padStart(7)} µs`);
  line('sync native call (fs.accessSync)', f.sync);
  line('await of a resolved promise', f.resolved);
  line('await of a setImmediate turn', f.immediate);
  line("libuv's pool round trip (fs.access), event loop sleeping", f.uvSleeping);
  line("libuv's pool round trip (fs.access), event loop polling", f.uvPolling);
  for (const [label, r] of rows) {
    console.log(`  jepa-native, ${label}:`);
    line('    starting an async call (work + promise + queue), JS thread', r.start);
    line('    await t.toAsync() of a 1-element tensor (round trip)', r.roundTrip);
    line('    await load() of a small .pt file, one after another', r.load);
    line('    loadSync() of the same file', r.loadSync);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
