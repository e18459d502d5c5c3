// npm run bench:gpu [-- --only vitg,ema,train,load --iters N --json FILE --device cuda --small]
//
// The GPU benchmarks of issue 20, each Node (jepa-native) against Python (torch) on the same GPU,
// the same data and the same TorchScript files, in one run:
//   vitg   V-JEPA 2 ViT-g/16 384 (vitg-fpc64-384 config, random weights; transformers' VJEPA2Model
//          traced on the GPU in float16 and in bfloat16) on 16-frame 384 px clips -> [1, 4608, 1408]:
//          clips/s, Node loadModule + forward against Python torch.jit.load + forward under no_grad.
//          Goal: Node >= 0.97x Python.
//   ema    an EMA update of about 1 B float32 parameters (ViT-g's shapes): GB/s moved (read the
//          target and the online parameters, write the target: 12 bytes a parameter) against the
//          copy bandwidth measured in the same process (read 4, write 4 bytes an element). Goal:
//          >= 80 % of the copy bandwidth.
//   train  one I-JEPA ViT-B/16 training step at 224 px with bf16 autocast (jepa.Trainer against
//          scripts/reference/train_reference.py's Reference with the modules on the GPU). Goal:
//          Node overhead <= 5 %.
//   load   a 12.9 MB V-JEPA 2 feature file ([4608, 1408] float16) loaded onto the GPU:
//          jepa.load(file, {device: 'cuda'}) against torch.load(file, map_location='cuda').
// GPU work is queued: every timing ends with a synchronize (jepa.cuda.synchronize(),
// torch.cuda.synchronize()). Medians over --iters runs after warm-up.
//
// --small and --device cpu run the same code on tiny sizes (a check of the script where there is
// no GPU; its figures mean nothing). The Python is the test Python (JEPA_PYTHON or
// build/config.json): on the GPU machine, a CUDA torch with transformers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jepa from 'jepa-native';
import { machine, python } from './common.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[i + 1] : dflt;
};
const SMALL = argv.includes('--small');
const DEVICE = opt('device', 'cuda');
const ITERS = Number(opt('iters', SMALL ? 3 : 10));
const ONLY = opt('only', 'vitg,ema,train,load').split(',');
const JSON_OUT = opt('json', null);
const WARMUP = 2;

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sync = () => {
  if (DEVICE !== 'cpu') jepa.cuda.synchronize(DEVICE);
};

if (DEVICE !== 'cpu' && !jepa.cuda.isAvailable()) {
  console.error(
    `bench:gpu: no CUDA device (cuda.isBuilt() ${jepa.cuda.isBuilt()}): run it on a GPU machine, or with --device cpu --small to check the script`,
  );
  process.exit(2);
}

const PY_PRELUDE = `
import json, os, sys, time, torch
DEVICE = torch.device(${JSON.stringify(DEVICE)})
def sync():
    if DEVICE.type == 'cuda':
        torch.cuda.synchronize(DEVICE)
def med(xs): return sorted(xs)[len(xs) // 2]
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'scripts', 'models'))})
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'scripts', 'reference'))})
`;

const results = { machine: machine(), device: DEVICE, small: SMALL, iters: ITERS, rows: [] };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jepa-bench-gpu-'));

function row(name, node, pythonValue, unit, higherIsBetter, extra = {}) {
  const ratio = higherIsBetter ? node / pythonValue : pythonValue / node;
  results.rows.push({ name, node, python: pythonValue, unit, ratio, ...extra });
  console.log(`| ${name} | ${node.toFixed(2)} | ${pythonValue.toFixed(2)} | ${unit} | ${ratio.toFixed(3)} |`);
}

/** V-JEPA 2 ViT-g on 16-frame 384 px clips, float16 and bfloat16. */
async function vitg() {
  const frames = SMALL ? 4 : 16;
  for (const dtype of ['float16', 'bfloat16']) {
    const file = path.join(dir, `vitg_${dtype}.pt`);
    const py = python(
      `${PY_PRELUDE}
from export import import_timm
import_timm()  # a torchvision built for another torch must not stop transformers' import
from vjepa2_hf import VJEPA2Encoder, tiny_config, vitg_fpc64_384_config
small, frames, iters, file, dtype = sys.argv[1] == '1', int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], getattr(torch, sys.argv[5])
cfg = tiny_config() if small else vitg_fpc64_384_config()
torch.manual_seed(0)
with torch.device(DEVICE):
    model = VJEPA2Encoder(cfg).eval().to(dtype)
size = cfg.crop_size
clip = torch.randn(1, frames, 3, size, size, device=DEVICE, dtype=dtype)
with torch.no_grad():
    torch.jit.trace(model, clip).save(file)
del model
m = torch.jit.load(file, map_location=DEVICE)
ts = []
with torch.no_grad():
    for i in range(iters + 2):
        sync(); t = time.perf_counter(); y = m(clip); sync(); ts.append(time.perf_counter() - t)
params = sum(p.numel() for p in m.parameters())
print(json.dumps({'s': med(ts[2:]), 'shape': list(y.shape), 'params': params, 'gpu': torch.cuda.get_device_name(DEVICE) if DEVICE.type == 'cuda' else 'cpu', 'torch': torch.__version__}))`,
      [SMALL ? '1' : '0', String(frames), String(ITERS), file, dtype],
    );
    results.gpu = py.gpu;
    results.pythonTorch = py.torch;
    const m = await jepa.loadModule(file, { device: DEVICE });
    const size = SMALL ? 16 : 384;
    const clip = jepa.randn([1, frames, 3, size, size], { seed: 0 }).to({ device: DEVICE, dtype });
    const ts = [];
    let y;
    for (let i = 0; i < ITERS + WARMUP; i++) {
      sync();
      const t0 = now();
      y = await m.forward(clip);
      sync();
      ts.push((now() - t0) / 1e3);
    }
    if (JSON.stringify(y.shape) !== JSON.stringify(py.shape))
      throw new Error(`vitg: Node gave ${y.shape}, Python ${py.shape}`);
    const nodeS = median(ts.slice(WARMUP));
    row(
      `V-JEPA 2 ViT-g${SMALL ? ' (tiny config)' : ''} ${frames} frames -> [${y.shape}], ${dtype}`,
      1 / nodeS,
      1 / py.s,
      'clips/s',
      true,
      { params: py.params, goal: 0.97 },
    );
    m.dispose();
    fs.rmSync(file, { force: true });
  }
}

/** ViT-g's parameter shapes (about 1.0 B), or a small set with --small. */
function vitgShapes() {
  const d = SMALL ? 64 : 1408;
  const hidden = SMALL ? 256 : 6144;
  const depth = SMALL ? 2 : 40;
  const shapes = [[d, 3, 2, 16, 16], [d]];
  for (let i = 0; i < depth; i++)
    shapes.push([d], [d], [3 * d, d], [3 * d], [d, d], [d], [d], [d], [hidden, d], [hidden], [d, hidden], [d]);
  shapes.push([d], [d]);
  return shapes;
}

/** EMA over about 1 B parameters against the copy bandwidth. */
async function ema() {
  const shapes = vitgShapes();
  const numel = shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  const target = shapes.map((s, i) => jepa.randn(s, { seed: i }).to(DEVICE));
  const online = shapes.map((s, i) => jepa.randn(s, { seed: 1000 + i }).to(DEVICE));
  const ts = [];
  for (let i = 0; i < ITERS + WARMUP; i++) {
    sync();
    const t0 = now();
    jepa.ema.updateSync(target, online, 0.996);
    sync();
    ts.push((now() - t0) / 1e3);
  }
  const emaGBs = (12 * numel) / median(ts.slice(WARMUP)) / 1e9;
  // The copy bandwidth: one tensor of the same bytes copied into another.
  const a = jepa.empty([numel], { device: DEVICE });
  const b = jepa.empty([numel], { device: DEVICE });
  const cs = [];
  for (let i = 0; i < ITERS + WARMUP; i++) {
    sync();
    const t0 = now();
    a.copy_(b);
    sync();
    cs.push((now() - t0) / 1e3);
  }
  const copyGBs = (8 * numel) / median(cs.slice(WARMUP)) / 1e9;
  [a, b, ...target, ...online].forEach((t) => t.dispose());
  const py = python(
    `${PY_PRELUDE}
shapes, iters = json.loads(sys.argv[1]), int(sys.argv[2])
numel = sum(torch.Size(s).numel() for s in shapes)
tgt = [torch.randn(s, device=DEVICE) for s in shapes]
onl = [torch.randn(s, device=DEVICE) for s in shapes]
ts = []
with torch.no_grad():
    for i in range(iters + 2):
        sync(); t = time.perf_counter()
        torch._foreach_mul_(tgt, 0.996); torch._foreach_add_(tgt, onl, alpha=1 - 0.996)
        sync(); ts.append(time.perf_counter() - t)
del tgt, onl
a, b = torch.empty(numel, device=DEVICE), torch.empty(numel, device=DEVICE)
cs = []
for i in range(iters + 2):
    sync(); t = time.perf_counter(); a.copy_(b); sync(); cs.append(time.perf_counter() - t)
print(json.dumps({'ema': 12 * numel / med(ts[2:]) / 1e9, 'copy': 8 * numel / med(cs[2:]) / 1e9}))`,
    [JSON.stringify(shapes), String(ITERS)],
  );
  const label =
    numel >= 1e8
      ? `${(numel / 1e9).toFixed(2)} B float32 parameters`
      : `${(numel / 1e6).toFixed(2)} M float32 parameters`;
  row(`EMA update, ${label}`, emaGBs, py.ema, 'GB/s', true, {
    params: numel,
    nodeOfCopy: emaGBs / copyGBs,
    pythonOfCopy: py.ema / py.copy,
    goal: 0.8,
  });
  row(`copy bandwidth (${label})`, copyGBs, py.copy, 'GB/s', true);
  console.log(
    `|   EMA / copy bandwidth: Node ${((100 * emaGBs) / copyGBs).toFixed(1)} %, Python ${((100 * py.ema) / py.copy).toFixed(1)} % (goal >= 80 %) | | | | |`,
  );
}

/** One I-JEPA ViT-B/16 training step at 224 px with bf16 autocast. */
async function train() {
  const size = SMALL ? 32 : 224;
  const patch = SMALL ? 8 : 16;
  const width = SMALL ? 32 : 768;
  const depth = SMALL ? 2 : 12;
  const heads = SMALL ? 2 : 12;
  const batch = SMALL ? 2 : 32;
  const steps = ITERS + WARMUP;
  python(
    `${PY_PRELUDE}
from ijepa import vit, vit_predictor
import copy
out, size, patch, width, depth, heads = sys.argv[1], *map(int, sys.argv[2:7])
torch.manual_seed(0)
enc = vit(img_size=size, patch_size=patch, embed_dim=width, depth=depth, num_heads=heads)
pred = vit_predictor(img_size=size, patch_size=patch, embed_dim=width, predictor_embed_dim=width // 2, depth=max(1, depth // 2), num_heads=heads)
for name, m in (('context', enc), ('target', copy.deepcopy(enc)), ('predictor', pred)):
    torch.jit.script(m).save(os.path.join(out, name + '.pt'))
print(json.dumps({}))`,
    [dir, String(size), String(patch), String(width), String(depth), String(heads)],
  );
  const files = Object.fromEntries(['context', 'target', 'predictor'].map((k) => [k, path.join(dir, `${k}.pt`)]));
  const sampler = new jepa.masks.MaskSampler('multiblock', {
    inputSize: size,
    patchSize: patch,
    batchSize: batch,
    encMaskScale: [0.85, 1],
    predMaskScale: [0.15, 0.2],
    aspectRatio: [0.75, 1.5],
    nenc: 1,
    npred: 4,
    minKeep: SMALL ? 0 : 4,
    seed: 0,
  });
  const masks = Array.from({ length: steps }, () => sampler.next());
  const schedules = {
    lr: jepa.ema.schedule({ kind: 'warmupCosine', start: 1e-4, peak: 1e-3, end: 1e-5, warmupSteps: 5, steps: 100 }),
    weightDecay: jepa.ema.schedule({ kind: 'cosineWd', start: 0.04, end: 0.4, steps: 100 }),
    momentum: jepa.ema.schedule({ kind: 'linear', start: 0.996, end: 1, steps: 100 }),
  };
  const modules = {};
  for (const [k, f] of Object.entries(files)) modules[k] = await jepa.loadModule(f, { device: DEVICE });
  const trainer = new jepa.Trainer({ kind: 'ijepa', ...modules, ...schedules, bf16: true });
  const ts = [];
  const losses = [];
  for (let i = 0; i < steps; i++) {
    const images = jepa.randn([batch, 3, size, size], { seed: i }).to(DEVICE);
    const on = (t) => t.to(DEVICE);
    const m = masks[i];
    sync();
    const t0 = now();
    const s = await trainer.step({ images, masks: { context: m.context.map(on), targets: m.targets.map(on) } });
    sync();
    ts.push(now() - t0);
    losses.push(s.loss);
  }
  const spec = {
    kind: 'ijepa',
    files,
    bf16: true,
    threads: jepa.getNumThreads(),
    steps: masks.map((m, i) => ({
      lr: schedules.lr.at(i),
      wd: schedules.weightDecay.at(i),
      momentum: schedules.momentum.at(i),
      batch: {
        images: { randn: [[batch, 3, size, size], i] },
        context: m.context.map((t) => ({ values: nest(t), dtype: t.dtype })),
        targets: m.targets.map((t) => ({ values: nest(t), dtype: t.dtype })),
      },
    })),
  };
  fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec));
  const py = python(
    `${PY_PRELUDE}
import train_reference as R
spec = json.load(open(sys.argv[1]))
torch.set_num_threads(spec['threads'])
_load = torch.jit.load
torch.jit.load = lambda f, *a, **k: _load(f, map_location=DEVICE)
ref = R.Reference(spec)
ts, losses = [], []
for i, s in enumerate(spec['steps']):
    b = R.make_batch(s['batch'])
    b = {k: [x.to(DEVICE) for x in v] if isinstance(v, list) else v.to(DEVICE) for k, v in b.items()}
    sync(); t = time.perf_counter()
    loss, _, _ = ref.run(s['lr'], s['wd'], s['momentum'], b)
    sync(); ts.append((time.perf_counter() - t) * 1e3); losses.append(loss)
print(json.dumps({'ms': med(ts[2:]), 'losses': losses}))`,
    [path.join(dir, 'spec.json')],
  );
  const nodeMs = median(ts.slice(WARMUP));
  const lossDiff = Math.max(...losses.map((l, i) => Math.abs(l - py.losses[i])));
  row(
    `I-JEPA ${SMALL ? 'tiny' : 'ViT-B/16 224 px'} training step, batch ${batch}, bf16 autocast`,
    nodeMs,
    py.ms,
    'ms',
    false,
    {
      overhead: nodeMs / py.ms - 1,
      goal: 'overhead <= 5 %',
      largestLossDifference: lossDiff,
    },
  );
  trainer.dispose?.();
}

function nest(t) {
  const flat = Array.from(t.data(), Number);
  const go = (shape, off) =>
    shape.length === 1
      ? flat.slice(off, off + shape[0])
      : Array.from({ length: shape[0] }, (_, i) =>
          go(shape.slice(1), off + i * shape.slice(1).reduce((a, b) => a * b, 1)),
        );
  return go(t.shape, 0);
}

/** A 12.9 MB feature file onto the GPU. */
async function load() {
  const file = path.join(dir, 'features.pt');
  const py = python(
    `${PY_PRELUDE}
file, iters = sys.argv[1], int(sys.argv[2])
torch.manual_seed(0)
f = torch.randn(4608, 1408).half()
torch.save({'features': f, 'shape': f.shape, 'dtype': 'float16', 'image_id': 'img_1'}, file)
ts = []
for i in range(iters + 3):
    sync(); t = time.perf_counter(); v = torch.load(file, map_location=DEVICE); sync(); ts.append((time.perf_counter() - t) * 1e3)
    del v
print(json.dumps({'ms': med(ts[3:]), 'device': str(torch.load(file, map_location=DEVICE)['features'].device)}))`,
    [file, String(ITERS)],
  );
  const ts = [];
  let v;
  for (let i = 0; i < ITERS + 3; i++) {
    sync();
    const t0 = now();
    v = await jepa.load(file, { device: DEVICE });
    sync();
    ts.push(now() - t0);
    v.features.dispose();
  }
  row(`12.9 MB feature file [4608, 1408] float16 onto ${py.device}`, median(ts.slice(3)), py.ms, 'ms', false);
}

const BENCHES = { vitg, ema, train, load };
try {
  console.log(
    `bench:gpu — ${machine()}; device ${DEVICE}${SMALL ? ' (--small: a check of the script, not figures)' : ''}; median of ${ITERS} after warm-up`,
  );
  console.log('');
  console.log('| benchmark | Node | Python | unit | Node vs Python (>1: Node better) |');
  console.log('| --- | ---: | ---: | --- | ---: |');
  for (const name of ONLY) {
    if (!BENCHES[name]) throw new Error(`unknown benchmark ${name} (expected ${Object.keys(BENCHES).join(', ')})`);
    await BENCHES[name]();
  }
  if (results.gpu)
    console.log(
      `\nGPU: ${results.gpu}; Python torch ${results.pythonTorch}; jepa-native on libtorch ${jepa.addonInfo().libtorch.version}`,
    );
  if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify(results, null, 2) + '\n');
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
