// npm run bench:pt — reading torch.save files: jepa-native (Node) vs Python's torch.load on the
// same files, in one run, with ratios.
//   (a) one V-JEPA 2 feature file (a [4608, 1408] float16 tensor, 12.9 MB), with and without mmap;
//   (b) 2,000 small feature files ([16, 1408] float16 each), one after another and concurrently
//       (16 at a time, and all at once with Promise.all).
// Options: --files N (default 2000), --reps N (default 30), --concurrency N (default 16),
// --rounds N (passes over the small files, default 5).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jepa from 'jepa-native';
import { python as py } from './common.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const FILES = arg('files', 2000);
const REPS = arg('reps', 30);
const CONCURRENCY = arg('concurrency', 16);
// Each pass over the small files is timed ROUNDS times (Python too), and the median is reported:
// one pass takes Node about 50 ms, short enough for one GC or scheduler hiccup to move it 10 %.
const ROUNDS = arg('rounds', 5);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const now = () => Number(process.hrtime.bigint()) / 1e6;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jepa-bench-pt-'));
try {
  const big = path.join(dir, 'gbif_1291162453_taxon_2650927_nephrolepis_exaltata_img_1_features.pt');
  const smallDir = path.join(dir, 'small');
  py(
    `
import json, os, sys, torch
torch.manual_seed(0)
big, small_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
f = torch.randn(4608, 1408).half()
torch.save({'features': f, 'shape': f.shape, 'dtype': 'float16', 'source_chunk': 'chunk_000123.pt',
            'image_id': 'gbif_1291162453_taxon_2650927_nephrolepis_exaltata_img_1'}, big)
os.makedirs(small_dir)
for i in range(n):
    s = torch.randn(16, 1408).half()
    torch.save({'features': s, 'shape': s.shape, 'dtype': 'float16', 'source_chunk': f'chunk_{i // 100:06d}.pt',
                'image_id': f'gbif_{1000000 + i}_img_1'}, os.path.join(small_dir, f'{i:05d}_features.pt'))
print(json.dumps({'ok': True}))`,
    [big, smallDir, String(FILES)],
  );
  const smalls = fs
    .readdirSync(smallDir)
    .sort()
    .map((f) => path.join(smallDir, f));

  // ---- Python ----
  const pyRes = py(
    `
import json, os, sys, time, torch
big, small_dir, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = sorted(os.path.join(small_dir, f) for f in os.listdir(small_dir))
def med(xs): return sorted(xs)[len(xs) // 2]
res = {}
for mmap in (False, True):
    # The result freed before the next load (memory reused), and kept until the next one is in.
    ts, hold = [], []
    for _ in range(reps + 3):
        t = time.perf_counter(); v = torch.load(big, mmap=mmap); ts.append((time.perf_counter() - t) * 1e3); del v
    v = None
    for _ in range(reps + 3):
        t = time.perf_counter(); v = torch.load(big, mmap=mmap); hold.append((time.perf_counter() - t) * 1e3)
    del v
    res['big_mmap' if mmap else 'big'] = med(ts[3:])
    res['big_mmap_hold' if mmap else 'big_hold'] = med(hold[3:])
for f in files[:50]: torch.load(f)
passes = []
for _ in range(int(sys.argv[4])):
    t = time.perf_counter()
    for f in files: v = torch.load(f)
    passes.append(time.perf_counter() - t)
res['small_s'] = med(passes)
print(json.dumps(res))`,
    [big, smallDir, String(REPS), String(ROUNDS)],
  );

  // ---- Node ----
  const node = {};
  for (const mmap of [false, true]) {
    const sync = [];
    const asyncT = [];
    const hold = [];
    for (let i = 0; i < REPS + 3; i++) {
      let t = now();
      const v = jepa.loadSync(big, { mmap });
      sync.push(now() - t);
      v.features.dispose();
      t = now();
      const w = await jepa.load(big, { mmap });
      asyncT.push(now() - t);
      w.features.dispose();
    }
    let prev = null;
    for (let i = 0; i < REPS + 3; i++) {
      const t = now();
      const v = await jepa.load(big, { mmap });
      hold.push(now() - t);
      if (prev) prev.features.dispose();
      prev = v;
    }
    prev.features.dispose();
    node[mmap ? 'big_mmap_sync' : 'big_sync'] = median(sync.slice(3));
    node[mmap ? 'big_mmap_async' : 'big_async'] = median(asyncT.slice(3));
    node[mmap ? 'big_mmap_hold' : 'big_hold'] = median(hold.slice(3));
  }
  for (const f of smalls.slice(0, 50)) jepa.loadSync(f).features.dispose();
  const passes = async (pass) => {
    const ts = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t = now();
      await pass();
      ts.push((now() - t) / 1e3);
    }
    return median(ts);
  };
  node.small_sync_s = await passes(async () => {
    for (const f of smalls) jepa.loadSync(f).features.dispose();
  });
  node.small_async_seq_s = await passes(async () => {
    for (const f of smalls) (await jepa.load(f)).features.dispose();
  });
  node.small_concurrent_s = await passes(async () => {
    let next = 0;
    const worker = async () => {
      while (next < smalls.length) {
        const f = smalls[next++];
        (await jepa.load(f)).features.dispose();
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  });
  node.small_all_s = await passes(async () => {
    for (const v of await Promise.all(smalls.map((f) => jepa.load(f)))) v.features.dispose();
  });

  const fps = (s) => FILES / s;
  const line = (label, nodeMs, pyMs) =>
    console.log(
      `${label.padEnd(44)} node ${nodeMs.toFixed(3).padStart(8)} ms   python ${pyMs.toFixed(3).padStart(8)} ms   ${(pyMs / nodeMs).toFixed(1)}x`,
    );
  console.log(
    `jepa-native ${jepa.torchVersion}, ${os.cpus().length} cores, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`,
  );
  console.log('(a) one [4608, 1408] float16 feature file (12.9 MB), median of', REPS);
  console.log('  each result freed before the next load (both reuse the freed memory):');
  line('    no mmap, loadSync', node.big_sync, pyRes.big);
  line('    no mmap, await load', node.big_async, pyRes.big);
  line('    mmap, loadSync', node.big_mmap_sync, pyRes.big_mmap);
  line('    mmap, await load', node.big_mmap_async, pyRes.big_mmap);
  console.log('  each result kept until the next one is loaded (v = load(...) in a loop):');
  line('    no mmap, await load', node.big_hold, pyRes.big_hold);
  line('    mmap, await load', node.big_mmap_hold, pyRes.big_mmap_hold);
  console.log(`(b) ${FILES} small feature files ([16, 1408] float16), median of ${ROUNDS} passes`);
  const row = (label, s) =>
    console.log(
      `${label.padEnd(44)} ${fps(s).toFixed(0).padStart(7)} files/s   python ${fps(pyRes.small_s).toFixed(0).padStart(6)} files/s   ${(fps(s) / fps(pyRes.small_s)).toFixed(1)}x`,
    );
  row('  loadSync, one after another', node.small_sync_s);
  row('  await load, one after another', node.small_async_seq_s);
  row(`  load, ${CONCURRENCY} at a time`, node.small_concurrent_s);
  row(`  load, all ${FILES} at once (Promise.all)`, node.small_all_s);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
