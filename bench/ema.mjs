// npm run bench:ema — the target-encoder EMA over a ViT-B/16 parameter set (86 M float32
// parameters, I-JEPA's encoder at 224 px): jepa.ema.update (Node) against Python's
// torch._foreach_mul_ + torch._foreach_add_(alpha=1-m) (V-JEPA 2) and I-JEPA's / V-JEPA's per-tensor loop,
// on the same thread count, with the machine's memory bandwidth (memcpy) as the physical limit.
//
// An EMA reads the target and the source and writes the target: 12 bytes per parameter. A
// memcpy reads and writes: 8 bytes per float. "Bytes moved / time" for both gives GB/s; the
// fraction is EMA GB/s over memcpy GB/s (1.0 = as fast as the memory allows).
// Options: --reps N (default 15), --threads N (default: libtorch's).
import jepa from 'jepa-native';
import { machine, python, vitBShapes } from './common.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const REPS = arg('reps', 15);
if (process.argv.includes('--threads')) jepa.setNumThreads(arg('threads', 2));
const THREADS = jepa.getNumThreads();
const M = 0.9961234567;

const shapes = vitBShapes();
const N = shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const now = () => Number(process.hrtime.bigint()) / 1e6;

// The machine may be shared: both the median and the minimum (the least disturbed run) are kept.
function timeMs(fn, reps = REPS, warmup = 3) {
  for (let i = 0; i < warmup; i++) fn();
  const ts = [];
  for (let i = 0; i < reps; i++) {
    const t0 = now();
    fn();
    ts.push(now() - t0);
  }
  return { median: median(ts), min: Math.min(...ts) };
}
async function timeMsAsync(fn, reps = REPS, warmup = 3) {
  for (let i = 0; i < warmup; i++) await fn();
  const ts = [];
  for (let i = 0; i < reps; i++) {
    const t0 = now();
    await fn();
    ts.push(now() - t0);
  }
  return { median: median(ts), min: Math.min(...ts) };
}

// ---- Node ----
const target = shapes.map((s, i) => jepa.randn(s, { seed: i }));
const source = shapes.map((s, i) => jepa.randn(s, { seed: 1000 + i }));
const node = {
  sync: timeMs(() => jepa.ema.updateSync(target, source, M)),
  async: await timeMsAsync(() => jepa.ema.update(target, source, M)),
  loop: timeMs(() => jepa.ema.updateSync(target, source, M, { formula: 'loop' })),
  loopFused: jepa.ema.updateSync(target, source, M, { formula: 'loop' }).fused,
  fused: jepa.ema.fusedAvailable(),
};
target.forEach((t) => t.dispose());
source.forEach((t) => t.dispose());

// memcpy: libtorch's copy_ of one N-float buffer (parallel, as the EMA), and Node's Buffer.copy
// (libc memcpy, one thread); the faster is the limit.
const a = jepa.randn([N], { seed: 1 });
const b = jepa.empty([N]);
const copyMs = timeMs(() => b.copy_(a));
const ba = Buffer.from(a.data().buffer, a.data().byteOffset, a.nbytes);
const bb = Buffer.from(b.data().buffer, b.data().byteOffset, b.nbytes);
const bufMs = timeMs(() => ba.copy(bb));
a.dispose();
b.dispose();

// ---- Python ----
const py = python(
  `
import json, sys, time, torch
shapes, m, reps, threads = json.loads(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
gen = lambda seed, s: torch.randn(s, generator=torch.Generator().manual_seed(seed))
k = [gen(i, s) for i, s in enumerate(shapes)]
q = [gen(1000 + i, s) for i, s in enumerate(shapes)]
def med(f, reps=reps, warm=3):
    for _ in range(warm): f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); f(); ts.append((time.perf_counter() - t) * 1e3)
    return {"median": sorted(ts)[len(ts) // 2], "min": min(ts)}
@torch.no_grad()
def foreach():
    torch._foreach_mul_(k, m)
    torch._foreach_add_(k, q, alpha=1 - m)
@torch.no_grad()
def loop():
    for pk, pq in zip(k, q):
        pk.mul_(m).add_((1. - m) * pq.detach())
@torch.no_grad()
def lerp():
    torch._foreach_lerp_(k, q, 1 - m)
n = sum(t.numel() for t in k)
x, y = torch.randn(n), torch.empty(n)
print(json.dumps({"foreach": med(foreach), "loop": med(loop), "lerp": med(lerp), "copy": med(lambda: y.copy_(x))}))`,
  [JSON.stringify(shapes), String(M), String(REPS), String(THREADS)],
);

const emaBytes = 12 * N;
const copyBytes = 8 * N;
// The limit: the fastest memcpy seen (minimum times); GB/s and fractions below use minimum times too.
const bestCopy = Math.min(copyMs.min, bufMs.min, py.copy.min);
const limitGBs = copyBytes / bestCopy / 1e6;
const gbs = (ms) => emaBytes / ms / 1e6;
const row = (name, t) =>
  `| ${name} | ${t.median.toFixed(1)} | ${t.min.toFixed(1)} | ${gbs(t.min).toFixed(1)} | ${(gbs(t.min) / limitGBs).toFixed(2)} | ${(t.min / (emaBytes / limitGBs / 1e6)).toFixed(2)}x |`;
const gb = (t) => `${(copyBytes / t.min / 1e6).toFixed(1)} GB/s`;

console.log(`bench:ema — ${machine()}, ${THREADS} libtorch threads`);
console.log(
  `ViT-B/16 parameter set: ${shapes.length} tensors, ${(N / 1e6).toFixed(1)} M float32 parameters; momentum ${M}; median of ${REPS}`,
);
console.log(
  `memcpy (bytes read + written / fastest time): libtorch copy_ ${gb(copyMs)}, ` +
    `Node Buffer.copy ${gb(bufMs)}, Python copy_ ${gb(py.copy)} -> limit ${limitGBs.toFixed(1)} GB/s ` +
    `(an EMA at that speed: ${(emaBytes / limitGBs / 1e6).toFixed(1)} ms)`,
);
console.log('');
console.log('| EMA | median ms | min ms | GB/s (min) | fraction of memcpy | time / limit |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
console.log(row(`Node jepa.ema.updateSync (foreach formula${node.fused ? ', fused one-pass kernel' : ''})`, node.sync));
console.log(row('Node jepa.ema.update (async, worker thread)', node.async));
console.log(row('Python _foreach_mul_ + _foreach_add_(alpha=1-m)', py.foreach));
console.log(row(`Node formula 'loop' (I-JEPA, V-JEPA${node.loopFused ? ', fused one-pass kernel' : ''})`, node.loop));
console.log(row('Python I-JEPA loop mul_(m).add_((1-m)*q)', py.loop));
console.log(row('Python _foreach_lerp_ (other rounding, for reference)', py.lerp));
console.log('');
console.log(
  `Python foreach time / Node foreach time: median ${(py.foreach.median / node.sync.median).toFixed(2)}, min ${(py.foreach.min / node.sync.min).toFixed(2)}; ` +
    `loop: median ${(py.loop.median / node.loop.median).toFixed(2)}, min ${(py.loop.min / node.loop.min).toFixed(2)}`,
);
