// Soak test: many concurrent async operations with random sizes for a bounded time, every result
// checked, memory sampled, the event loop's lag measured. Fails (exit code 1) on a wrong result,
// a rejected call, memory that keeps growing after the warm-up, or live tensors left at the end.
//
//   node --expose-gc scripts/dev/soak.mjs [--seconds 300] [--concurrency 8] [--warmup S] [--json]
//   npm run soak              (5 minutes)
// `--inject-leak` keeps a tenth of the tensors alive on purpose, to see the memory checks fail.
//
// Operations (picked at random by each of `concurrency` loops):
//   pt          save + load (+ mmap load) of a dict of random tensors (random shapes, dtypes), bytes compared
//   shared      saves to one shared .pt file from many loops at once, loads: always one complete version
//   safetensors save + load of random tensors, bytes compared
//   npy         save + load of a random tensor, bytes compared
//   forward     a TorchScript fixture (test/fixtures/models) called with a fixture case, compared with Python's result
//   masks       an I-JEPA multi-block batch (random batch size, image size, seed) on a worker thread,
//               drawn twice at once, equal both times; indices ascending and inside the grid
//   ema         an EMA update over random tensors, compared with m * t + (1 - m) * s computed in JS
// A third of the tensors are left to the garbage collector instead of disposed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import jepa from 'jepa-native';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODELS = path.join(ROOT, 'test', 'fixtures', 'models');

function parseArgs(argv) {
  const o = { seconds: 300, concurrency: 8, warmup: null, json: false, injectLeak: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') o.json = true;
    else if (a === '--inject-leak') o.injectLeak = true;
    else if (a === '--seconds' || a === '--concurrency' || a === '--warmup') {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`expected a positive number after ${a}, got ${argv[i]}`);
      o[a.slice(2)] = v;
    } else {
      throw new Error(
        `unknown argument ${a} (expected --seconds N, --concurrency N, --warmup S, --json, --inject-leak)`,
      );
    }
  }
  if (o.warmup === null) o.warmup = Math.min(60, Math.max(3, o.seconds * 0.3));
  if (o.warmup >= o.seconds) throw new Error('--warmup must be shorter than --seconds');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc');

// A small seeded generator (mulberry32), so that a failing run can be described by its seed.
const SEED = Number(process.env.SOAK_SEED ?? Date.now() % 2 ** 31);
let rngState = SEED >>> 0;
function rand() {
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const randInt = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

function fail(message) {
  throw new Error(message);
}

/** The bytes of a CPU tensor (contiguous copy if needed). */
function bytesOf(t) {
  const c = t.isContiguous ? t : t.contiguous();
  const d = c.data();
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

const leaked = [];
/** Disposes `t`, or (a third of the time) leaves it to the garbage collector. */
function drop(t) {
  if (opts.injectLeak && rand() < 0.1) leaked.push(t);
  else if (rand() < 2 / 3) t.dispose();
}

function randomShape(maxNumel) {
  const rank = randInt(0, 4);
  const shape = [];
  let n = 1;
  for (let i = 0; i < rank; i++) {
    const d = randInt(0, Math.max(1, Math.floor((maxNumel / n) ** (1 / (rank - i)))));
    shape.push(d);
    n *= Math.max(d, 1);
  }
  return shape;
}

function randomTensor(maxNumel, dtypes = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'uint8']) {
  const t = jepa.randn(randomShape(maxNumel), { seed: randInt(0, 2 ** 31) });
  const dtype = pick(dtypes);
  if (dtype === 'float32') return t;
  const u = dtype === 'uint8' ? t.to('int32').to('uint8') : t.to(dtype);
  t.dispose();
  return u;
}

let fileCounter = 0;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jepa-soak-'));
const fresh = (ext) => path.join(dir, `f${fileCounter++}.${ext}`);

// ---------------------------------------------------------------------------------------------
// Operations

async function opPt() {
  const n = randInt(1, 5);
  const value = {};
  for (let i = 0; i < n; i++) value[`t${i}`] = randomTensor(pick([16, 1024, 65536, 1 << 19]));
  value.step = randInt(0, 1e9);
  const p = fresh('pt');
  await jepa.save(p, value);
  for (const mmap of [false, true]) {
    const back = await jepa.load(p, { mmap });
    if (back.step !== value.step) fail(`pt: step ${back.step} != ${value.step}`);
    for (let i = 0; i < n; i++) {
      const a = value[`t${i}`];
      const b = back[`t${i}`];
      if (b.dtype !== a.dtype || b.shape.join() !== a.shape.join())
        fail(`pt: t${i} ${b.dtype}${b.shape} != ${a.dtype}${a.shape}`);
      if (!bytesOf(a).equals(bytesOf(b))) fail(`pt: t${i} bytes differ`);
      drop(b);
    }
  }
  for (let i = 0; i < n; i++) drop(value[`t${i}`]);
  fs.unlinkSync(p);
}

const SHARED = path.join(dir, 'shared.pt');
async function opShared() {
  const gen = randInt(1, 1e6);
  const t = jepa.zeros([randInt(1, 1 << 18)]).fill_(gen);
  await jepa.save(SHARED, { gen, t });
  drop(t);
  // Another loop may have replaced it since: whatever is there must be one complete version.
  const back = await jepa.load(SHARED);
  const x = back.t.data();
  for (let i = 0; i < x.length; i += 997)
    if (x[i] !== back.gen) fail(`shared: element ${i} is ${x[i]}, not ${back.gen}`);
  if (x[x.length - 1] !== back.gen) fail('shared: last element differs');
  drop(back.t);
}

async function opSafetensors() {
  const n = randInt(1, 4);
  const value = {};
  for (let i = 0; i < n; i++) value[`w${i}`] = randomTensor(pick([16, 4096, 1 << 18]));
  const p = fresh('safetensors');
  await jepa.saveSafetensors(p, value, { metadata: { n: String(n) } });
  const back = await jepa.loadSafetensors(p, { mmap: rand() < 0.5 });
  for (const [k, a] of Object.entries(value)) {
    const b = back[k];
    if (!b || b.shape.join() !== a.shape.join() || !bytesOf(a).equals(bytesOf(b))) fail(`safetensors: ${k} differs`);
    drop(a);
    drop(b);
  }
  fs.unlinkSync(p);
}

async function opNpy() {
  const a = randomTensor(pick([16, 4096, 1 << 18]), ['float32', 'float64', 'float16', 'int64', 'int32', 'uint8']);
  const p = fresh('npy');
  await jepa.saveNpy(p, a);
  const b = await jepa.loadNpy(p);
  if (b.dtype !== a.dtype || b.shape.join() !== a.shape.join() || !bytesOf(a).equals(bytesOf(b))) fail('npy: differs');
  drop(a);
  drop(b);
  fs.unlinkSync(p);
}

let forwardCases = [];
async function setupForward() {
  const { loadCases, expectMatches } = await import(path.join(ROOT, 'test', 'model-fixtures.mjs'));
  for (const rel of ['ijepa/context_encoder.pt', 'ijepa/predictor.pt', 'vjepa/context_encoder.pt', 'motion_ae.pt']) {
    const file = path.join(MODELS, rel);
    if (!fs.existsSync(file)) continue;
    const module = await jepa.loadModule(file);
    module.eval();
    const cases = loadCases(file);
    for (const c of cases.cases) forwardCases.push({ rel, module, cases, c, expectMatches });
  }
  if (forwardCases.length === 0) throw new Error(`no TorchScript fixtures under ${MODELS}`);
}

async function opForward() {
  const { rel, module, cases, c, expectMatches } = pick(forwardCases);
  const out = await module.run(c.method, ...c.args);
  expectMatches(out, c.expected, cases, `${rel} ${c.method}`);
}

async function opMasks() {
  const patch = pick([14, 16]);
  const side = patch * randInt(8, 16);
  const o = {
    batchSize: randInt(1, 16),
    inputSize: [side, patch * randInt(8, 16)],
    patchSize: patch,
    seed: randInt(0, 1e6),
  };
  const [a, b] = await Promise.all([jepa.masks.multiblockAsync(o), jepa.masks.multiblockAsync(o)]);
  const cells = a.grid.height * a.grid.width;
  const lists = [...a.context, ...a.targets];
  const other = [...b.context, ...b.targets];
  lists.forEach((t, i) => {
    if (t.shape[0] !== o.batchSize) fail(`masks: batch ${t.shape[0]} != ${o.batchSize}`);
    const x = t.data();
    if (!bytesOf(t).equals(bytesOf(other[i]))) fail('masks: two draws of the same batch differ');
    const k = t.shape[1];
    for (let r = 0; r < o.batchSize; r++) {
      for (let j = 0; j < k; j++) {
        const v = x[r * k + j];
        if (v < 0n || v >= BigInt(cells) || (j > 0 && v <= x[r * k + j - 1]))
          fail(`masks: bad index ${v} at [${r}, ${j}]`);
      }
    }
  });
  for (const t of [...lists, ...other]) drop(t);
}

async function opEma() {
  const n = randInt(1, 6);
  const target = {};
  const source = {};
  const before = {};
  for (let i = 0; i < n; i++) {
    const shape = randomShape(pick([64, 4096, 1 << 17]));
    target[`p${i}`] = jepa.randn(shape, { seed: randInt(0, 2 ** 31) });
    source[`p${i}`] = jepa.randn(shape, { seed: randInt(0, 2 ** 31) });
    before[`p${i}`] = Float32Array.from(target[`p${i}`].data());
  }
  const m = 0.99 + rand() * 0.01;
  await jepa.ema.update(target, source, m);
  for (let i = 0; i < n; i++) {
    const t = target[`p${i}`].data();
    const s = source[`p${i}`].data();
    const b = before[`p${i}`];
    for (let j = 0; j < t.length; j += 7) {
      const want = Math.fround(Math.fround(b[j] * m) + Math.fround(s[j] * (1 - m)));
      if (Math.abs(t[j] - want) > 1e-6 * (1 + Math.abs(want))) fail(`ema: p${i}[${j}] = ${t[j]}, expected ${want}`);
    }
    drop(target[`p${i}`]);
    drop(source[`p${i}`]);
  }
}

const OPS = {
  pt: opPt,
  shared: opShared,
  safetensors: opSafetensors,
  npy: opNpy,
  forward: opForward,
  masks: opMasks,
  ema: opEma,
};

// ---------------------------------------------------------------------------------------------
// The run

const counts = Object.fromEntries(Object.keys(OPS).map((k) => [k, 0]));
const errors = [];
const samples = []; // { t, rss, heap, tensors, bytes }
// The histogram records the time between timer ticks that should be LAG_RESOLUTION_MS apart:
// the lag is that minus the resolution.
const LAG_RESOLUTION_MS = 10;
const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
const lagMs = (ns) => Math.max(0, Math.round((ns / 1e6 - LAG_RESOLUTION_MS) * 100) / 100);

function sample(t0) {
  global.gc();
  const mu = process.memoryUsage();
  const jm = jepa.memory();
  samples.push({
    t: (performance.now() - t0) / 1000,
    rss: mu.rss,
    heap: mu.heapUsed,
    external: mu.external,
    tensors: jm.tensors,
    bytes: jm.bytes,
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const MiB = (b) => Math.round((b / 2 ** 20) * 10) / 10;

async function main() {
  global.gc();
  const baseline = jepa.memory();
  await setupForward();
  const t0 = performance.now();
  const end = t0 + opts.seconds * 1000;
  let warmOps = 0;
  let warmedAt = null;
  lag.enable();
  const timer = setInterval(() => {
    sample(t0);
    if (warmedAt === null && performance.now() - t0 >= opts.warmup * 1000) {
      warmedAt = performance.now();
      warmOps = Object.values(counts).reduce((a, b) => a + b, 0);
      lag.reset(); // the lag after the warm-up (loading modules, first calls)
    }
  }, 1000);
  const names = Object.keys(OPS);
  const loop = async () => {
    while (performance.now() < end && errors.length === 0) {
      const name = pick(names);
      try {
        await OPS[name]();
        counts[name]++;
      } catch (e) {
        errors.push(`${name}: ${e && e.stack ? e.stack : e}`);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, loop));
  clearInterval(timer);
  lag.disable();
  const elapsed = (performance.now() - t0) / 1000;
  sample(t0);

  // Release everything: the modules, then whatever the GC still holds.
  forwardCases = [];
  fs.rmSync(dir, { recursive: true, force: true });
  for (let i = 0; i < 5; i++) {
    global.gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  const finalMemory = jepa.memory();

  // Flatness after the warm-up: the median of the first third of the samples taken after it
  // against the median of the last third.
  const warm = samples.filter((s) => s.t >= opts.warmup);
  const third = Math.max(1, Math.floor(warm.length / 3));
  const early = warm.slice(0, third);
  const late = warm.slice(-third);
  const rssEarly = median(early.map((s) => s.rss));
  const rssLate = median(late.map((s) => s.rss));
  const bytesEarly = median(early.map((s) => s.bytes));
  const bytesLate = median(late.map((s) => s.bytes));
  // Least-squares slope of RSS after the warm-up, in MiB per minute (reported, not asserted).
  const mt = warm.reduce((a, s) => a + s.t, 0) / warm.length;
  const mr = warm.reduce((a, s) => a + s.rss, 0) / warm.length;
  const sxy = warm.reduce((a, s) => a + (s.t - mt) * (s.rss - mr), 0);
  const sxx = warm.reduce((a, s) => a + (s.t - mt) ** 2, 0);
  const rssSlope = sxx > 0 ? (sxy / sxx) * 60 : 0;
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const measured = warmedAt === null ? elapsed : (performance.now() - warmedAt) / 1000;
  const result = {
    seed: SEED,
    seconds: Math.round(elapsed * 10) / 10,
    concurrency: opts.concurrency,
    warmupSeconds: opts.warmup,
    ops: total,
    opsPerSecond: Math.round(total / elapsed),
    opsPerSecondAfterWarmup: warmedAt === null ? null : Math.round((total - warmOps) / measured),
    counts,
    errors,
    rssMiB: {
      start: MiB(samples[0]?.rss ?? 0),
      afterWarmup: MiB(rssEarly),
      end: MiB(rssLate),
      max: MiB(Math.max(...samples.map((s) => s.rss))),
      slopePerMinute: MiB(rssSlope),
    },
    liveTensorBytesMiB: {
      afterWarmup: MiB(bytesEarly),
      end: MiB(bytesLate),
      max: MiB(Math.max(...samples.map((s) => s.bytes))),
    },
    liveTensors: {
      baseline: baseline.tensors,
      max: Math.max(...samples.map((s) => s.tensors)),
      final: finalMemory.tensors,
    },
    eventLoopLagMs: { max: lagMs(lag.max), p99: lagMs(lag.percentile(99)), mean: lagMs(lag.mean) },
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      node: process.version,
      torch: jepa.torchVersion,
      load: os.loadavg().map((x) => Math.round(x * 10) / 10),
    },
  };
  // Checks: results, memory after the warm-up, nothing left alive.
  const problems = [...errors.map((e) => `error: ${e.split('\n')[0]}`)];
  const rssGrowth = rssLate - rssEarly;
  const rssAllowed = Math.max(96 * 2 ** 20, 0.25 * rssEarly);
  if (warm.length >= 3 && rssGrowth > rssAllowed) {
    problems.push(`RSS grew by ${MiB(rssGrowth)} MiB after the warm-up (allowed ${MiB(rssAllowed)} MiB)`);
  }
  if (warm.length >= 3 && bytesLate - bytesEarly > 64 * 2 ** 20) {
    problems.push(`live tensor bytes grew by ${MiB(bytesLate - bytesEarly)} MiB after the warm-up`);
  }
  if (finalMemory.tensors > baseline.tensors) {
    problems.push(
      `${finalMemory.tensors - baseline.tensors} tensor handles still alive at the end (${finalMemory.bytes} bytes)`,
    );
  }
  result.problems = problems;
  result.ok = problems.length === 0;
  if (opts.json) {
    console.log(JSON.stringify(result));
  } else {
    console.log(`soak: ${result.seconds} s, ${opts.concurrency} loops, seed ${SEED}`);
    console.log(
      `  ops: ${total} (${result.opsPerSecond}/s; after warm-up ${result.opsPerSecondAfterWarmup}/s) ${JSON.stringify(counts)}`,
    );
    console.log(
      `  RSS MiB: start ${result.rssMiB.start}, after warm-up ${result.rssMiB.afterWarmup}, end ${result.rssMiB.end}, ` +
        `max ${result.rssMiB.max}; slope after warm-up ${result.rssMiB.slopePerMinute} MiB/min`,
    );
    console.log(
      `  live tensor MiB: after warm-up ${result.liveTensorBytesMiB.afterWarmup}, end ${result.liveTensorBytesMiB.end}; handles at the end ${finalMemory.tensors} (baseline ${baseline.tensors})`,
    );
    console.log(
      `  event loop lag ms (beyond the ${LAG_RESOLUTION_MS} ms timer, after warm-up): max ${result.eventLoopLagMs.max}, p99 ${result.eventLoopLagMs.p99}, mean ${result.eventLoopLagMs.mean}`,
    );
    console.log(
      `  machine: ${result.machine.cpus} x ${result.machine.model}, node ${process.version}, libtorch ${jepa.torchVersion}, load ${result.machine.load.join(' ')}`,
    );
    console.log(result.ok ? '  OK' : `  FAILED:\n    ${problems.join('\n    ')}`);
  }
  process.exitCode = result.ok ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
