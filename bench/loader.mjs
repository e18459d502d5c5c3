// npm run bench:loader — the data loader alone, batches per second: jepa.data.DataLoader over a
// FeatureDataset (Node) against torch.utils.data.DataLoader(num_workers=2) over the same 2,000
// feature files (Python: torch.load per file, the 'features' tensor, default_collate), in one
// run, shuffled with the same seed (both visit the same batches). Each epoch is timed from the
// loop's start to its last batch; medians over the epochs after a warm-up one. Python is timed
// with its default workers (started again every epoch) and with persistent_workers=True; the
// ratio is taken against the faster.
// Options: --files N (2000), --batch N (32), --epochs N (5), --prefetch N (Node, 2), --workers N (Python, 2).
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
const BATCH = arg('batch', 32);
const EPOCHS = arg('epochs', 5);
const PREFETCH = arg('prefetch', 2);
const WORKERS = arg('workers', 2);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const now = () => Number(process.hrtime.bigint()) / 1e9;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jepa-bench-loader-'));
try {
  // Seed 000's small feature files: {'features': [16, 1408] float16, 'shape', 'dtype', 'source_chunk', 'image_id'}.
  py(
    `
import os, sys, torch
torch.manual_seed(0)
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    f = torch.randn(16, 1408).half()
    torch.save({'features': f, 'shape': f.shape, 'dtype': 'float16', 'source_chunk': f'chunk_{i // 100:06d}.pt',
                'image_id': f'gbif_{1000000 + i}_img_1'}, os.path.join(d, f'{i:05d}_features.pt'))
print('{}')`,
    [dir, String(FILES)],
  );

  const pyRes = py(
    `
import json, os, sys, time, torch
from torch.utils.data import DataLoader, Dataset
d, batch, epochs, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
files = sorted(os.path.join(d, f) for f in os.listdir(d))
class Features(Dataset):
    def __len__(self): return len(files)
    def __getitem__(self, i):
        v = torch.load(files[i])
        return v['feature'] if 'feature' in v else v['features']
def med(xs): return sorted(xs)[len(xs) // 2]
res = {}
for persistent in (False, True):
    dl = DataLoader(Features(), batch_size=batch, shuffle=True, num_workers=workers, persistent_workers=persistent,
                    generator=torch.Generator().manual_seed(0))
    times, count = [], 0
    for e in range(epochs + 1):
        t = time.perf_counter(); count = 0
        for b in dl: count += 1
        times.append(time.perf_counter() - t)
    res['persistent' if persistent else 'default'] = count / med(times[1:])
    res['batches'] = count
print(json.dumps(res))`,
    [dir, String(BATCH), String(EPOCHS), String(WORKERS)],
  );

  const loader = new jepa.data.DataLoader(new jepa.data.FeatureDataset(dir), {
    batchSize: BATCH,
    shuffle: true,
    seed: 0,
    prefetch: PREFETCH,
  });
  const times = [];
  let count = 0;
  for (let e = 0; e < EPOCHS + 1; e++) {
    const t = now();
    count = 0;
    for await (const b of loader) {
      count++;
      b.feature.dispose();
    }
    times.push(now() - t);
  }
  const node = count / median(times.slice(1));
  const best = Math.max(pyRes.default, pyRes.persistent);
  const row = (label, v) => `  ${label.padEnd(58)} ${v.toFixed(1).padStart(8)} batches/s`;
  console.log(
    `bench:loader — ${FILES} feature files [16, 1408] float16, batch ${BATCH}, shuffled, ${count} batches/epoch, median of ${EPOCHS} epochs after a warm-up`,
  );
  console.log(
    `machine: ${os.cpus().length} CPUs (${os.cpus()[0].model}), load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  console.log(row(`Python DataLoader(num_workers=${WORKERS})`, pyRes.default));
  console.log(row(`Python DataLoader(num_workers=${WORKERS}, persistent_workers=True)`, pyRes.persistent));
  console.log(row(`Node jepa.data.DataLoader (prefetch ${PREFETCH})`, node));
  console.log(`  ratio Node / best Python: ${(node / best).toFixed(2)}x`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
