// npm run bench:ops — per-call cost of small ops, the case where the binding's overhead decides
// (ops in loops): Node's generated ops against Python's torch on the same 4-element (and 4x4)
// tensors, one thread each. For every op: the median over rounds of the mean time of a block of
// calls (wall clock), and the same for the CPU time the process used (less disturbed by other
// processes on a busy machine). Results are left to the garbage collector, as a loop would;
// `add (then dispose)` frees each at once.
import jepa from 'jepa-native';
import { fmt, machine, python } from './common.mjs';

const BLOCK = 20000;
const ROUNDS = 15;

jepa.setNumThreads(1);
const a = jepa.ones([4]);
const b = jepa.ones([4]);
const m = jepa.ones([4, 4]);
const OPS = {
  'jepa.add(a, b)': () => jepa.add(a, b),
  'a.add(b)': () => a.add(b),
  'a.add(b) then dispose': () => a.add(b).dispose(),
  'a.add_(b) (in place)': () => a.add_(b),
  'a.mul(2)': () => a.mul(2),
  'a.sum()': () => a.sum(),
  'm.sum(1)': () => m.sum(1),
  'm.matmul(m)': () => m.matmul(m),
  'm.index([0])': () => m.index(0),
  'jepa.cat([a, b])': () => jepa.cat([a, b]),
};
const PY_OPS = {
  'jepa.add(a, b)': 'lambda: torch.add(a, b)',
  'a.add(b)': 'lambda: a.add(b)',
  'a.add(b) then dispose': 'lambda: a.add(b)',
  'a.add_(b) (in place)': 'lambda: a.add_(b)',
  'a.mul(2)': 'lambda: a.mul(2)',
  'a.sum()': 'lambda: a.sum()',
  'm.sum(1)': 'lambda: m.sum(1)',
  'm.matmul(m)': 'lambda: m.matmul(m)',
  'm.index([0])': 'lambda: m[0]',
  'jepa.cat([a, b])': 'lambda: torch.cat([a, b])',
};

function median(values) {
  const s = [...values].sort((x, y) => x - y);
  return s[s.length >> 1];
}

function measure(fn) {
  for (let i = 0; i < BLOCK; i++) fn();
  const wall = [];
  const cpu = [];
  for (let r = 0; r < ROUNDS; r++) {
    const u0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < BLOCK; i++) fn();
    wall.push(Number(process.hrtime.bigint() - t0) / 1e3 / BLOCK);
    const u = process.cpuUsage(u0);
    cpu.push((u.user + u.system) / BLOCK);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

console.log(
  `jepa-native bench:ops — ${machine()}, libtorch ${jepa.torchVersion}, ${jepa.memory().finalizers} finalizers`,
);
const py = python(`
import json, time, torch
torch.set_num_threads(1)
a = torch.ones(4); b = torch.ones(4); m = torch.ones(4, 4)
ops = {${Object.entries(PY_OPS)
  .map(([k, v]) => `${JSON.stringify(k)}: ${v}`)
  .join(', ')}}
def median(v):
    return sorted(v)[len(v) // 2]
out = {}
for name, fn in ops.items():
    for _ in range(${BLOCK}): fn()
    wall, cpu = [], []
    for _ in range(${ROUNDS}):
        c0 = time.process_time(); t0 = time.perf_counter()
        for _ in range(${BLOCK}): fn()
        wall.append((time.perf_counter() - t0) / ${BLOCK} * 1e6); cpu.append((time.process_time() - c0) / ${BLOCK} * 1e6)
    out[name] = {'wall': median(wall), 'cpu': median(cpu)}
print(json.dumps(out))`);

const rows = [];
for (const [name, fn] of Object.entries(OPS)) {
  const n = measure(fn);
  const p = py[name];
  rows.push({
    op: name,
    node: fmt(n.wall),
    python: fmt(p.wall),
    'node / python': (n.wall / p.wall).toFixed(2),
    'node CPU': fmt(n.cpu),
    'python CPU': fmt(p.cpu),
    'CPU node / python': (n.cpu / p.cpu).toFixed(2),
  });
}
console.table(rows);
console.log('node / python < 1: Node is faster per call.');
