// npm run bench:extract [-- --images N --batch B --threads T --rounds R --model small|tiny --concurrency C
//                          --jit-optimize --python-jit-off --omp-passive]
//
// Seed 000's whole job, images per second: decode, preprocess (the 'vjepa2' preset), the encoder,
// and one torch.save-compatible feature file per image, on the same JPEGs, the same TorchScript
// model (a small V-JEPA 2 ViT in an exported model folder) and the same intra-op thread count:
// - Node: `jepa.features.extract(modelDir, imagesDir, {output, batchSize})`, which runs two
//   batches in the model at once with half the intra-op threads each (its default on a CPU with
//   2+ threads; `--concurrency N` sets it), without TorchScript's graph optimisation (its default
//   on a CPU, bit-identical features and no slow first calls; `--jit-optimize` turns it on), and
//   decodes and writes on other threads meanwhile;
// - Python: seed 000's BatchVJEPA2Extractor loop: PIL `Image.open(f).convert('RGB')`, the image
//   repeated over T, transformers' VJEPA2VideoProcessor, `torch.jit.load`ed model under
//   `torch.no_grad()`, `features.half()` and `torch.save` of seed 000's dict per image
//   (`--python-jit-off`: under `torch.jit.optimized_execution(False)`, which Python can do too).
// Rounds alternate Node and Python so that a busy machine slows both alike; medians are printed
// with the Node/Python ratio. On a loaded machine, OpenMP's spinning threads can slow Python's
// model calls several times over (and not Node's, whose calls run on libuv worker threads):
// `--omp-passive` runs both with OMP_WAIT_POLICY=PASSIVE, which removes that effect; on an idle
// machine the two settings agree. The fixtures (model folder and images) are made once into
// bench/.models by scripts/reference/seed000_reference.py. `--model small` (default: a V-JEPA 2
// ViT 192 wide with 4 blocks on 224 px crops, 2 frames) leaves the model most of the time on a
// CPU; `--model tiny` (64 wide, 2 blocks) shows the rest of the pipeline. Each side's CPU time
// (all its threads) is printed too: on a busy machine it says more about the work done than the
// wall time does.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import jepa from 'jepa-native';
import { machine } from './common.mjs';
import { pythonPath } from '../test/helpers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

if (process.argv.includes('--omp-passive') && process.env.OMP_WAIT_POLICY !== 'PASSIVE') {
  // OpenMP reads the variable when libtorch loads: set it for this process and Python alike.
  const r = spawnSync(process.execPath, process.argv.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
  });
  process.exit(r.status ?? 1);
}

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  return typeof fallback === 'number' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}

const count = arg('images', 48);
const batch = arg('batch', 8);
const threads = arg('threads', jepa.getNumThreads());
const rounds = arg('rounds', 3);
const size = arg('model', 'small');
const concurrency = arg('concurrency', 0);
const jitOptimize = process.argv.includes('--jit-optimize');
const pythonJitOff = process.argv.includes('--python-jit-off');
if (size !== 'small' && size !== 'tiny') throw new Error(`--model must be small or tiny, got ${size}`);
const base = path.join(ROOT, 'bench', '.models', 'extract');
const modelDir = path.join(base, `model-${size}`);
const imagesDir = path.join(base, `images-${count}`);
const PY = pythonPath();

function fixtures() {
  if (fs.existsSync(path.join(modelDir, 'jepa.json')) && fs.existsSync(imagesDir)) return;
  console.error(`[bench] writing the model folder and ${count} images into ${base} ...`);
  const code = `import sys; sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'scripts', 'reference'))})
import json, seed000_reference
seed000_reference.bench_fixtures(json.loads(sys.stdin.read()))`;
  const r = spawnSync(PY, ['-c', code], {
    input: JSON.stringify({ model: modelDir, images: imagesDir, count, size }),
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new Error('making the benchmark fixtures failed');
}

const PYTHON_RUN = `
import json, os, sys, time
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'scripts', 'reference'))})
from torchvision_cpu import import_torchvision
import_torchvision()
import numpy as np, torch
from PIL import Image
from transformers import VJEPA2VideoProcessor
torch.set_num_threads(${threads})
spec = json.loads(sys.argv[1])
folder = json.load(open(os.path.join(spec["model"], "jepa.json")))
frames, crop = folder["input"]["frames"], folder["input"]["size"][0]
files = sorted(f for f in os.listdir(spec["images"]) if f.endswith(".jpg"))
t0, c0 = time.perf_counter(), time.process_time()
model = torch.jit.load(os.path.join(spec["model"], folder["files"]["targetEncoder"])).eval()
processor = VJEPA2VideoProcessor(crop_size=crop)
for i in range(0, len(files), spec["batch"]):
    names = files[i:i + spec["batch"]]
    videos = [np.stack([np.asarray(Image.open(os.path.join(spec["images"], n)).convert("RGB"))] * frames) for n in names]
    x = processor(videos, return_tensors="pt")["pixel_values_videos"]
    with torch.no_grad(), torch.jit.optimized_execution(${pythonJitOff ? 'False' : 'True'}):
        y = model(x.permute(0, 2, 1, 3, 4))
    for n, features in zip(names, y):
        stem = n[:-4]
        taxon = stem.split("_taxon_")[1].split("_")[0]
        out = os.path.join(spec["output"], f"taxon_{taxon}", f"{stem}_features.pt")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        features = features.half().clone()
        torch.save({"features": features, "shape": features.shape, "dtype": "float16", "source_chunk": n, "image_id": stem}, out)
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "threads": torch.get_num_threads(), "images": len(files)}))
`;

function runPython(output) {
  fs.rmSync(output, { recursive: true, force: true });
  const r = spawnSync(PY, ['-c', PYTHON_RUN, JSON.stringify({ model: modelDir, images: imagesDir, output, batch })], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`python failed:\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

async function runNode(output) {
  fs.rmSync(output, { recursive: true, force: true });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const summary = await jepa.features.extract(modelDir, imagesDir, {
    output,
    batchSize: batch,
    ...(concurrency > 0 ? { concurrency } : {}),
    ...(jitOptimize ? { jitOptimize } : {}),
  });
  const seconds = (performance.now() - t0) / 1000;
  const c1 = process.cpuUsage(c0);
  if (summary.written !== count)
    throw new Error(`Node wrote ${summary.written} of ${count} files: ${JSON.stringify(summary.failed.slice(0, 3))}`);
  return { seconds, cpu: (c1.user + c1.system) / 1e6 };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  fixtures();
  jepa.setNumThreads(threads);
  const outNode = path.join(base, 'out-node');
  const outPython = path.join(base, 'out-python');
  console.log(
    `bench:extract: ${size} model, ${count} images (640x480 JPEG), batch ${batch}, ${threads} intra-op threads, Node concurrency ${concurrency || 'default'}${jitOptimize ? ' with --jit-optimize' : ''}, Python JIT optimisation ${pythonJitOff ? 'off' : 'on (its default)'}, ${rounds} rounds, OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY ?? '(default)'}; ${machine()}`,
  );
  const node = [];
  const python = [];
  const nodeCpu = [];
  const pythonCpu = [];
  await runNode(outNode); // warm-up (sharp, libtorch, the page cache)
  for (let r = 0; r < rounds; r++) {
    const p = runPython(outPython);
    python.push(p.seconds);
    pythonCpu.push(p.cpu);
    const n = await runNode(outNode);
    node.push(n.seconds);
    nodeCpu.push(n.cpu);
  }
  // The same features on both sides (float16, within rounding).
  const rel = fs.readdirSync(outNode, { recursive: true }).find((f) => String(f).endsWith('_features.pt'));
  const a = (await jepa.load(path.join(outNode, rel))).features.to('float32').data();
  const b = (await jepa.load(path.join(outPython, rel))).features.to('float32').data();
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-3));
  const ips = (s) => count / s;
  console.log(
    `  Node   ${ips(median(node)).toFixed(1)} images/s (median of ${rounds}: ${node.map((s) => s.toFixed(2)).join(', ')} s)`,
  );
  console.log(
    `  Python ${ips(median(python)).toFixed(1)} images/s (median of ${rounds}: ${python.map((s) => s.toFixed(2)).join(', ')} s)`,
  );
  console.log(
    `  Node / Python: ${(median(python) / median(node)).toFixed(2)}x  (features agree: largest relative difference ${worst.toExponential(1)})`,
  );
  // CPU time (every thread of the process, user + system) depends far less on other load than
  // wall time does: the work each side does for the same files.
  console.log(
    `  CPU seconds: Node ${median(nodeCpu).toFixed(2)}, Python ${median(pythonCpu).toFixed(2)} (medians; Python / Node ${(median(pythonCpu) / median(nodeCpu)).toFixed(2)}x)`,
  );
}

await main();
