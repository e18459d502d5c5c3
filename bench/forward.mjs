// npm run bench:forward [-- --iters N --threads T --vitg --frames F --vitg-iters K --only NAME]
//
// The same TorchScript module timed from Node (jepa-native: async forward on a worker thread, and
// forwardSync) and from Python (torch.jit.load, forward under torch.no_grad(), which is what
// jepa-native does in eval mode) on the same input, with the same intra-op thread count, in one
// run. Prints medians and Node/Python ratios. The models are made by scripts/models/export.py
// --bench into bench/.models (the V-JEPA 2 ViT-g/16 384 encoder only with --vitg: 1 B random
// weights, a 4 GB file; its transformers code needs the Python that has transformers, from
// JEPA_MODELS_PYTHON or the test Python).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import jepa from 'jepa-native';
import { pythonPath } from '../test/helpers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODELS = path.join(ROOT, 'bench', '.models');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  return v === undefined || v.startsWith('--') ? true : v;
}

// glibc returns freed memory to the OS by dynamic thresholds, and a forward on a thread other
// than the main one (a libuv worker, as Node's async forward; a Python thread alike) often pays
// thousands of page faults per call for it, depending on allocation history. Both processes of
// the benchmark run with the same fixed thresholds so that the comparison measures jepa-native,
// not malloc's luck; --default-malloc keeps glibc's defaults (see docs/models.md).
const TUNABLES = 'glibc.malloc.trim_threshold=268435456:glibc.malloc.mmap_threshold=67108864';
if (
  process.argv.includes('--default-malloc') === false &&
  process.env.GLIBC_TUNABLES !== TUNABLES &&
  process.platform === 'linux'
) {
  const r = spawnSync(process.execPath, process.argv.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, GLIBC_TUNABLES: TUNABLES },
  });
  process.exit(r.status ?? 1);
}

const PY = pythonPath();
const MODELS_PY = process.env.JEPA_MODELS_PYTHON || PY;
const threads = Number(arg('threads', jepa.getNumThreads()));
const iters = Number(arg('iters', 40));
const vitg = arg('vitg', false) === true;
const frames = Number(arg('frames', 2));

function ensureModels() {
  const want = ['vit_b16.pt', 'vl_predictor.pt'].concat(vitg ? [`vjepa2_vitg_384_f${frames}.pt`] : []);
  if (want.every((f) => fs.existsSync(path.join(MODELS, f)))) return;
  console.error(`[bench] exporting benchmark models into ${MODELS} ...`);
  const args = [path.join(ROOT, 'scripts', 'models', 'export.py'), '--bench', MODELS];
  if (vitg) args.push('--vitg', '--frames', String(frames));
  const r = spawnSync(MODELS_PY, args, { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('export failed');
}

// Each case: a model file, the input shape, extra arguments as Python source and as JS values.
function cases() {
  const list = [
    { name: 'VL-JEPA predictor 512->384, batch 1', file: 'vl_predictor.pt', shape: [1, 512], iters: iters * 50 },
    { name: 'VL-JEPA predictor 512->384, batch 256', file: 'vl_predictor.pt', shape: [256, 512], iters: iters * 10 },
    { name: 'I-JEPA ViT-B/16 224, batch 1', file: 'vit_b16.pt', shape: [1, 3, 224, 224], iters },
    {
      name: 'I-JEPA ViT-B/16 224, batch 1, keep mask of 98',
      file: 'vit_b16.pt',
      shape: [1, 3, 224, 224],
      iters,
      pyExtra: '[[torch.arange(0, 196, 2).unsqueeze(0)]]',
      jsExtra: () => [[jepa.arange(0, 196, 2).reshape(1, 98)]],
    },
  ];
  if (vitg) {
    list.push({
      name: `V-JEPA 2 ViT-g/16 384 (vitg-fpc64-384 config), ${frames} frames: ${(frames / 2) * 576} tokens`,
      file: `vjepa2_vitg_384_f${frames}.pt`,
      shape: [1, frames, 3, 384, 384],
      iters: Number(arg('vitg-iters', 2)),
      warmup: 1,
      rounds: Number(arg('vitg-iters', 2)),
    });
  }
  return list;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// A persistent Python process per case: it loads the module once, then runs a batch of timed
// iterations each time Node writes a line, so that Python and Node batches alternate and drift
// of a shared machine hits both alike.
function startPython(c) {
  const code = `
import json, sys, time, torch
torch.set_num_threads(${threads})
m = torch.jit.load(${JSON.stringify(path.join(MODELS, c.file))})
m.eval()
x = torch.randn(${JSON.stringify(c.shape)}, generator=torch.Generator().manual_seed(0))
extra = ${c.pyExtra ?? '[]'}
with torch.no_grad():
    for line in sys.stdin:
        n, warmup = map(int, line.split())
        times = []
        for i in range(warmup + n):
            t0 = time.perf_counter()
            y = m(x, *extra)
            t1 = time.perf_counter()
            if i >= warmup:
                times.append((t1 - t0) * 1000)
        print(json.dumps({"times": times, "threads": torch.get_num_threads(), "sum": float(y.double().sum())}), flush=True)
`;
  const child = spawn(PY, ['-c', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  let buffer = '';
  const waiting = [];
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      waiting.shift()(JSON.parse(line));
    }
  });
  return {
    run(n, warmup) {
      return new Promise((resolve) => {
        waiting.push(resolve);
        child.stdin.write(`${n} ${warmup}\n`);
      });
    },
    close() {
      child.stdin.end();
    },
  };
}

async function timeNode(m, x, extra, n, warmup) {
  const asyncTimes = [];
  const syncTimes = [];
  let y;
  for (let i = 0; i < warmup + n; i++) {
    const t0 = performance.now();
    y = await m.forward(x, ...extra);
    const t1 = performance.now();
    if (i >= warmup) asyncTimes.push(t1 - t0);
    else y.dispose();
  }
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const z = m.forwardSync(x, ...extra);
    const t1 = performance.now();
    syncTimes.push(t1 - t0);
    z.dispose();
  }
  const sum = y
    .to('float64')
    .contiguous()
    .data()
    .reduce((a, b) => a + b, 0);
  return { asyncTimes, syncTimes, threads: jepa.getNumThreads(), sum };
}

async function main() {
  ensureModels();
  jepa.setNumThreads(threads);
  console.log(
    `# bench:forward  ${new Date().toISOString().slice(0, 10)}  ${os.cpus().length} CPUs (${os.cpus()[0].model})`,
  );
  console.log(
    `# libtorch ${jepa.torchVersion}, intra-op threads: ${threads} in both, GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES ?? '(default)'}`,
  );
  console.log('| case | iters | Python ms (median) | Node async ms | Node sync ms | async / Python | sync / Python |');
  console.log('|---|---|---|---|---|---|---|');
  const rows = [];
  const only = arg('only', null);
  for (const c of cases().filter((x) => typeof only !== 'string' || x.name.includes(only))) {
    const rounds = c.rounds ?? 4;
    const batch = Math.max(1, Math.round(c.iters / rounds));
    const warmup = c.warmup ?? 3;
    const py = startPython(c);
    const m = await jepa.loadModule(path.join(MODELS, c.file));
    const x = jepa.randn(c.shape, { seed: 0 });
    const extra = c.jsExtra ? c.jsExtra() : [];
    const pyTimes = [];
    const na = [];
    const ns = [];
    for (let round = 0; round < rounds; round++) {
      const p = await py.run(batch, round === 0 ? warmup : 0);
      if (p.threads !== threads) throw new Error(`Python ran ${p.threads} threads, wanted ${threads}`);
      pyTimes.push(...p.times);
      const n = await timeNode(m, x, extra, batch, round === 0 ? warmup : 0);
      if (n.threads !== threads) throw new Error(`Node ran ${n.threads} threads, wanted ${threads}`);
      if (Math.abs(n.sum - p.sum) > 1e-3 * Math.max(1, Math.abs(p.sum))) {
        throw new Error(`outputs differ: Node sum ${n.sum}, Python sum ${p.sum}`);
      }
      na.push(...n.asyncTimes);
      ns.push(...n.syncTimes);
    }
    py.close();
    m.dispose();
    const row = {
      case: c.name,
      iters: pyTimes.length,
      python: median(pyTimes),
      nodeAsync: median(na),
      nodeSync: median(ns),
    };
    rows.push(row);
    const f = (v) => (v < 1 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(0));
    console.log(
      `| ${row.case} | ${row.iters} | ${f(row.python)} | ${f(row.nodeAsync)} | ${f(row.nodeSync)} | ` +
        `${(row.nodeAsync / row.python).toFixed(3)} | ${(row.nodeSync / row.python).toFixed(3)} |`,
    );
  }
  const out = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'forward.json'), JSON.stringify({ threads, rows }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
