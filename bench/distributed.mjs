// npm run bench:dist: data-parallel scaling on this machine and c10d all-reduce from Node vs
// Python, in one run.
//   1. I-JEPA training steps (the tiny test fixtures, 32 px, patch 8) on a global batch of 2B:
//      1 process x batch 2B (all cores) against 2 processes x batch B (gloo; one thread each, as
//      torchrun sets OMP_NUM_THREADS=1). Reports global samples/s and the speed-up.
//   2. allReduce (sum) of a 4 MB float32 tensor over 2 processes: jepa.distributed against
//      torch.distributed (gloo) started by torchrun (python -m torch.distributed.run).
//
//   node bench/distributed.mjs [--quick] [--json out.json]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jepa from 'jepa-native';
import { pythonPath } from '../test/helpers.mjs';

const HERE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(HERE), '..');
const FIX = path.join(ROOT, 'test', 'fixtures', 'models', 'ijepa');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : null;
const B = 8;
const STEPS = quick ? 6 : 20;
const WARMUP = 2;
const REDUCE_N = 1 << 20; // 4 MB of float32
const REDUCE_ITERS = quick ? 20 : 100;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// ---------------------------------------------------------------------------------------------
// Worker side (started by jepa.distributed.launch, or alone for the 1-process run)

async function worker(mode, out) {
  const dist = process.env.WORLD_SIZE && Number(process.env.WORLD_SIZE) > 1;
  if (dist) jepa.setNumThreads(1);
  const group = dist ? await jepa.distributed.init({ backend: 'gloo' }) : null;
  const rank = group ? group.rank : 0;
  if (mode === 'reduce') {
    const t = jepa.ones([REDUCE_N]);
    const times = [];
    for (let i = 0; i < REDUCE_ITERS + 5; i++) {
      await group.barrier();
      const t0 = process.hrtime.bigint();
      group.allReduceSync(t);
      if (i >= 5) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    if (rank === 0) fs.writeFileSync(out, JSON.stringify({ ms: median(times) }));
    await group.destroy();
    return;
  }
  const n = group ? B : 2 * B;
  const context = await jepa.loadModule(path.join(FIX, 'context_encoder.pt'));
  const target = await jepa.loadModule(path.join(FIX, 'target_encoder.pt'));
  const predictor = await jepa.loadModule(path.join(FIX, 'predictor.pt'));
  const trainer = new jepa.Trainer({
    kind: 'ijepa',
    context,
    target,
    predictor,
    lr: 1e-4,
    distributed: group !== null,
  });
  const sampler = new jepa.masks.MaskSampler('multiblock', {
    inputSize: 32,
    patchSize: 8,
    batchSize: n,
    encMaskScale: [0.85, 1],
    predMaskScale: [0.15, 0.3],
    aspectRatio: [0.75, 1.5],
    nenc: 1,
    npred: 2,
    minKeep: 0,
    positionSeed: jepa.distributed.deriveSeed(0, rank),
  });
  const images = jepa.randn([n, 3, 32, 32], { seed: rank });
  let t0 = 0;
  for (let s = 0; s < WARMUP + STEPS; s++) {
    if (s === WARMUP) {
      if (group) await group.barrier();
      t0 = performance.now();
    }
    await trainer.step({ images, masks: sampler.next() });
  }
  const secs = (performance.now() - t0) / 1000;
  if (group) await group.barrier();
  if (rank === 0)
    fs.writeFileSync(out, JSON.stringify({ stepsPerSec: STEPS / secs, samplesPerSec: (STEPS * 2 * B) / secs }));
  if (group) await group.destroy();
}

// ---------------------------------------------------------------------------------------------
// Driver

const PY_REDUCE = `
import os, time, statistics, json, sys, torch, torch.distributed as dist
dist.init_process_group('gloo')
t = torch.ones(${REDUCE_N})
times = []
for i in range(${REDUCE_ITERS} + 5):
    dist.barrier()
    t0 = time.perf_counter()
    dist.all_reduce(t)
    if i >= 5: times.append((time.perf_counter() - t0) * 1e3)
if dist.get_rank() == 0:
    open(sys.argv[1], 'w').write(json.dumps({'ms': statistics.median(times)}))
dist.destroy_process_group()
`;

async function driver() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jepa-bench-dist-'));
  const run = async (nproc, mode) => {
    const out = path.join(tmp, `${mode}-${nproc}.json`);
    const r = await jepa.distributed.launch({ nproc, script: HERE, args: ['--worker', mode, out], stdio: 'pipe' });
    if (r.exitCode !== 0)
      throw new Error(`the ${nproc}-process ${mode} run failed:\n${r.ranks.map((x) => x.stderr).join('\n')}`);
    return JSON.parse(fs.readFileSync(out, 'utf8'));
  };
  const one = await run(1, 'train');
  const two = await run(2, 'train');
  const nodeReduce = await run(2, 'reduce');
  const pyOut = path.join(tmp, 'py-reduce.json');
  const script = path.join(tmp, 'reduce.py');
  fs.writeFileSync(script, PY_REDUCE);
  const port = await jepa.distributed.freePort();
  const py = spawnSync(
    pythonPath(),
    [
      '-m',
      'torch.distributed.run',
      '--nproc-per-node',
      '2',
      '--master-addr',
      '127.0.0.1',
      '--master-port',
      String(port),
      script,
      pyOut,
    ],
    { encoding: 'utf8' },
  );
  if (py.status !== 0) throw new Error(`torchrun failed:\n${py.stderr}`);
  const pyReduce = JSON.parse(fs.readFileSync(pyOut, 'utf8'));
  fs.rmSync(tmp, { recursive: true, force: true });
  const result = {
    machine: `${os.cpus().length} cores (${os.cpus()[0].model}), Node ${process.version}, libtorch ${jepa.torchVersion}`,
    train: {
      globalBatch: 2 * B,
      steps: STEPS,
      oneProcess: one,
      twoProcesses: two,
      speedup: two.samplesPerSec / one.samplesPerSec,
    },
    allReduce4MB: { nodeMs: nodeReduce.ms, pythonMs: pyReduce.ms, ratio: nodeReduce.ms / pyReduce.ms },
  };
  console.log(`machine: ${result.machine}`);
  console.log(`I-JEPA fixture steps, global batch ${2 * B}, ${STEPS} timed steps:`);
  console.log(
    `  1 process  x batch ${2 * B}: ${one.samplesPerSec.toFixed(1)} samples/s (${one.stepsPerSec.toFixed(2)} steps/s)`,
  );
  console.log(
    `  2 processes x batch ${B}: ${two.samplesPerSec.toFixed(1)} samples/s (${two.stepsPerSec.toFixed(2)} steps/s)`,
  );
  console.log(`  speed-up: ${result.train.speedup.toFixed(2)}x`);
  console.log(`allReduce of 4 MB float32 over 2 processes (gloo, median of ${REDUCE_ITERS}):`);
  console.log(
    `  jepa.distributed ${nodeReduce.ms.toFixed(3)} ms, torch.distributed ${pyReduce.ms.toFixed(3)} ms, ratio ${result.allReduce4MB.ratio.toFixed(2)}`,
  );
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(result, null, 2));
}

if (args[0] === '--worker') await worker(args[1], args[2]);
else await driver();
