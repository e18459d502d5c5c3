// npm run bench:tensor — data() is zero-copy: its cost does not grow with the tensor's size.
// Times, for a 1 KB and a 100 MB float32 tensor: data() on a fresh tensor (first call), data()
// again on the same tensor, tensor(typedArray) wrapping, and the same zero-copy views in Python
// (Tensor.numpy(), torch.from_numpy) on the same sizes; and a real copy (clone) for scale.
import jepa from 'jepa-native';
import { fmt, machine, python, time } from './common.mjs';

const SIZES = { '1 KB': 256, '100 MB': 25 * 2 ** 20 };

// One fresh tensor at a time, as a program would use it.
function firstCall(n, count = 40) {
  const samples = [];
  for (let i = 0; i < count; i++) {
    const t = jepa.empty([n]);
    const t0 = process.hrtime.bigint();
    t.data();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e3);
    t.dispose();
  }
  samples.sort((a, b) => a - b);
  return { median: samples[count >> 1], min: samples[0] };
}

console.log(`jepa-native bench:tensor — ${machine()}, libtorch ${jepa.torchVersion}`);
const py = python(`
import json, time, torch, numpy as np
torch.set_num_threads(1)
def med(fn, n=1000, w=100):
    for _ in range(w): fn()
    s = []
    for _ in range(n):
        t0 = time.perf_counter_ns(); fn(); s.append((time.perf_counter_ns() - t0) / 1e3)
    s.sort(); return s[n // 2]
out = {}
for name, n in ${JSON.stringify(SIZES)}.items():
    t = torch.zeros(n)
    a = np.zeros(n, dtype=np.float32)
    out[name] = {'numpy': med(lambda: t.numpy()), 'from_numpy': med(lambda: torch.from_numpy(a))}
print(json.dumps(out))`);

const rows = [];
for (const [name, n] of Object.entries(SIZES)) {
  const t = jepa.zeros([n]);
  const again = time(() => t.data());
  const arr = new Float32Array(n);
  const wrap = time(() => jepa.tensor(arr).dispose());
  const first = firstCall(n);
  const copy = time(() => t.clone().dispose(), { iterations: 20, warmup: 2 });
  rows.push({
    size: name,
    'data() first call (median / min)': `${fmt(first.median)} / ${fmt(first.min)}`,
    'data() again': fmt(again.median),
    'py .numpy()': fmt(py[name].numpy),
    'tensor(typedArray)': fmt(wrap.median),
    'py from_numpy': fmt(py[name].from_numpy),
    'clone (a copy)': fmt(copy.median),
  });
  t.dispose();
}
console.table(rows);
console.log('Medians unless noted. A first call creates the external ArrayBuffer: V8 then counts its');
console.log('bytes as external memory and may start incremental GC marking inside that call (large');
console.log('buffers); later calls reuse the ArrayBuffer while it is alive. No call copies the elements:');
console.log('compare the clone column, which does.');
