// npm run bench:vl [-- --captions N --batch B --images N --labels N --threads T --rounds R --tokenizer FILE --max-length L --omp-passive]
//
// Seed 004's (VL-JEPA) hot paths in Node against the Python code its users run, on the same data,
// the same weights and (for the models) the same intra-op thread count, in one run:
// - tokenisation: `jepa.TextTokenizer.tokenize` (tokenizers.js) against transformers'
//   `AutoTokenizer` (the Rust fast tokenizer) on the same tokenizer.json and captions, in batches,
//   with `padding=True, truncation=True, max_length=L, return_tensors='pt'` (what
//   SentenceTransformer.tokenize calls); both return int64 tensors, and the ids are compared;
// - zero-shot end to end: `jepa.VisionLanguageModel.zeroShot(images, labels)` against the Python
//   pipeline: PIL `Image.open(f).convert('RGB')`, CLIPImageProcessor,
//   CLIPVisionModelWithProjection's image_embeds divided by their L2 norm, the seed's predictor,
//   AutoTokenizer + BertModel with mean pooling and L2 normalisation for the labels, the cosine
//   scores and each image's ranking; the Python models are the transformers / PyTorch modules
//   that were exported to the Node side's folders (same weights), under `torch.no_grad()`.
// Python runs in one worker process (started once, models loaded once); the rounds alternate
// Node and Python so that a busy machine slows both alike; medians are printed with the
// Node/Python ratio, and each side's CPU time (all its threads). The fixtures (small CLIP, MiniLM
// and predictor models with random weights, exported as `jepa-native export` does, and the
// images) are made once into bench/.models/vl by scripts/models/vl_cases.py plus 640x480 JPEGs.
// The Rust tokenizer may spread a batch over the cores (rayon); tokenizers.js runs on the JS
// thread. `--tokenizer FILE` times another tokenizer.json (e.g. a real all-MiniLM-L6-v2 one; the
// fixture's vocabulary has 31 tokens, so most caption words become [UNK]). `--omp-passive` runs
// both sides with OMP_WAIT_POLICY=PASSIVE: on a busy machine OpenMP's spinning threads slow some
// of Python's model calls several times over (see bench/extract.mjs).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
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

const captionCount = arg('captions', 2000);
const batch = arg('batch', 64);
const imageCount = arg('images', 32);
const labelCount = arg('labels', 10);
const threads = arg('threads', jepa.getNumThreads());
const rounds = arg('rounds', 11);
const base = path.join(ROOT, 'bench', '.models', 'vl');
const modelDir = path.join(base, 'vl');
const imagesDir = path.join(base, `images-${imageCount}`);
const PY = pythonPath();

function fixtures() {
  if (!fs.existsSync(path.join(modelDir, 'text', 'jepa.json'))) {
    console.error(`[bench] making the models (scripts/models/vl_cases.py) into ${base} ...`);
    fs.mkdirSync(base, { recursive: true });
    const r = spawnSync(PY, [path.join(ROOT, 'scripts', 'models', 'vl_cases.py'), base], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (r.status !== 0) throw new Error('scripts/models/vl_cases.py failed');
  }
  if (!fs.existsSync(imagesDir)) {
    console.error(`[bench] writing ${imageCount} 640x480 JPEGs into ${imagesDir} ...`);
    const code = `import os, sys
import numpy as np
from PIL import Image
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out + ".tmp", exist_ok=True)
rng = np.random.default_rng(11)
y, x = np.mgrid[0:480, 0:640]
for i in range(n):
    base = np.stack([x * 255 / 639, y * 255 / 479, (x * 3 + y * 5 + 40 * i) % 256], -1)
    px = np.clip(base + rng.normal(0, 20, (480, 640, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(px).save(os.path.join(out + ".tmp", f"{i:04d}.jpg"), quality=90)
os.rename(out + ".tmp", out)`;
    const r = spawnSync(PY, ['-c', code, imagesDir, String(imageCount)], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error('writing the benchmark images failed');
  }
}

/** Deterministic captions: the fixture vocabulary's words, other words, capitals, accents, punctuation; some longer than the maximum length. */
function captions(n) {
  const words = (
    'a dog cat bridge person hanging on the cable photo of two cats playing together sunset over ocean walking in ' +
    'park persons and Café red small bicycle street market crowded tree beside river mountain snow-covered 12 children'
  ).split(' ');
  const punct = ['', '', '', ',', '.', '!', '?'];
  let s = 0x9e3779b9;
  const next = () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
  return Array.from({ length: n }, () => {
    const len = 3 + Math.floor(next() * 26);
    const w = Array.from({ length: len }, () => {
      const word = words[Math.floor(next() * words.length)];
      return (next() < 0.1 ? word.toUpperCase() : word) + punct[Math.floor(next() * punct.length)];
    });
    return w.join(' ');
  });
}

const PYTHON_WORKER = `
import json, os, sys, time
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'scripts', 'models'))})
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'scripts', 'reference'))})
from torchvision_cpu import import_torchvision
import_torchvision()
import torch
import torch.nn.functional as F
from PIL import Image
import transformers
from vl_jepa import Predictor
spec = json.loads(sys.stdin.readline())
torch.set_num_threads(spec["threads"])
hf = spec["hf"]
tok = transformers.AutoTokenizer.from_pretrained(os.path.dirname(spec["tokenizer"]), pad_token=spec["padToken"])
text_tok = transformers.AutoTokenizer.from_pretrained(os.path.join(hf, "minilm"))
text_max = spec["textMaxLength"]
bert = transformers.BertModel.from_pretrained(os.path.join(hf, "minilm")).eval()
clip = transformers.CLIPVisionModelWithProjection.from_pretrained(os.path.join(hf, "clip")).eval()
size = clip.config.image_size
proc = transformers.CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
state = torch.load(os.path.join(hf, "predictor.pt"))
pred = Predictor(input_dim=state["net.0.weight"].shape[1], hidden_dim=state["net.0.weight"].shape[0],
                 output_dim=state["net.2.weight"].shape[0])
pred.load_state_dict(state)
pred.eval()
texts, labels, images = spec["texts"], spec["labels"], spec["images"]

def tokenize():
    out = []
    for i in range(0, len(texts), spec["batch"]):
        out.append(tok(texts[i:i + spec["batch"]], padding=True, truncation=True, max_length=spec["maxLength"],
                       return_tensors="pt"))
    return out

def zero_shot():
    with torch.no_grad():
        imgs = [Image.open(f).convert("RGB") for f in images]
        px = proc(imgs, return_tensors="pt")["pixel_values"]
        e = clip(pixel_values=px).image_embeds
        e = e / e.norm(p=2, dim=-1, keepdim=True)
        p = pred(e)
        t = text_tok(labels, padding=True, truncation=True, max_length=text_max, return_tensors="pt")
        h = bert(input_ids=t["input_ids"], attention_mask=t["attention_mask"]).last_hidden_state
        m = t["attention_mask"].unsqueeze(-1).to(h.dtype)
        le = F.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), p=2, dim=1)
        scores = torch.cosine_similarity(p.unsqueeze(1), le.unsqueeze(0), dim=-1)
        order = torch.argsort(scores, dim=1, descending=True, stable=True)
        rankings = [[(labels[j], s[j]) for j in o] for s, o in zip(scores.tolist(), order.tolist())]
    return scores, rankings

print("@@" + json.dumps({"threads": torch.get_num_threads()}), flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    t0, c0 = time.perf_counter(), time.process_time()
    if cmd["run"] == "tokenize":
        out = tokenize()
        extra = {"ids": [o["input_ids"].tolist() for o in out]} if cmd.get("check") else {}
    else:
        scores, _ = zero_shot()
        extra = {"scores": scores.tolist()} if cmd.get("check") else {}
    print("@@" + json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, **extra}), flush=True)
`;

/** The Python worker: one process, a JSON line per request, a `@@`-prefixed JSON line per reply. */
function startPython(spec) {
  const child = spawn(PY, ['-c', PYTHON_WORKER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (line) => {
    if (line.startsWith('@@')) waiting.shift()?.resolve(JSON.parse(line.slice(2)));
  });
  child.on('exit', (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`the Python worker exited (${code})`));
  });
  const reply = () => new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  const ready = reply();
  child.stdin.write(`${JSON.stringify(spec)}\n`);
  return {
    ready,
    request(cmd) {
      const r = reply();
      child.stdin.write(`${JSON.stringify(cmd)}\n`);
      return r;
    },
    close() {
      child.stdin.end();
    },
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function timed(fn) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const value = await fn();
  const c1 = process.cpuUsage(c0);
  return { seconds: (performance.now() - t0) / 1000, cpu: (c1.user + c1.system) / 1e6, value };
}

function rows(t) {
  const x = t.to('float64').contiguous().data();
  const [r, c] = t.shape;
  return Array.from({ length: r }, (_, i) => Array.from(x.subarray(i * c, (i + 1) * c)).map(Number));
}

async function main() {
  fixtures();
  jepa.setNumThreads(threads);
  const textInfo = JSON.parse(fs.readFileSync(path.join(modelDir, 'text', 'jepa.json'), 'utf8'));
  const tokenizerFile = path.resolve(arg('tokenizer', path.join(modelDir, 'text', 'tokenizer.json')));
  const maxLength = arg('max-length', textInfo.input.maxLength);
  const padToken = arg('pad-token', textInfo.input.padToken ?? '[PAD]');
  const texts = captions(captionCount);
  const words =
    'a dog;two cats playing;a bridge and cable;sunset over the ocean;persons walking in the park;a photo of a person;the ocean;a cat;persons hanging on the cable;two dogs walking together'.split(
      ';',
    );
  const labels = Array.from(
    { length: labelCount },
    (_, i) => words[i % words.length] + (i < words.length ? '' : ` ${i}`),
  );
  const images = fs
    .readdirSync(imagesDir)
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .map((f) => path.join(imagesDir, f));

  const tok = jepa.TextTokenizer.fromFile(tokenizerFile, { maxLength, padToken });
  const vl = await jepa.VisionLanguageModel.load(modelDir);
  const py = startPython({
    threads,
    hf: path.join(base, 'hf'),
    tokenizer: tokenizerFile,
    padToken,
    maxLength,
    batch,
    textMaxLength: vl.text.maxLength,
    texts,
    labels,
    images,
  });
  const info = await py.ready;

  const tokenizeNode = () => {
    const out = [];
    for (let i = 0; i < texts.length; i += batch) {
      const { inputIds, attentionMask } = tok.tokenize(texts.slice(i, i + batch));
      out.push(inputIds);
      attentionMask.dispose();
    }
    return out;
  };

  console.log(
    `bench:vl: ${captionCount} captions in batches of ${batch} (max_length ${maxLength}, ${path.relative(ROOT, tokenizerFile)}); ` +
      `zero-shot of ${images.length} 640x480 JPEGs x ${labels.length} labels; ${threads} intra-op threads (Python ${info.threads}); ` +
      `${rounds} rounds; OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY ?? '(default)'}; load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; ${machine()}`,
  );

  // Warm-up, and the check that both sides compute the same thing.
  const nodeIds = tokenizeNode();
  const pyTok = await py.request({ run: 'tokenize', check: true });
  const sameIds = JSON.stringify(nodeIds.map(rows)) === JSON.stringify(pyTok.ids);
  nodeIds.forEach((t) => t.dispose());
  const ranking = await vl.zeroShot(images, labels);
  const pyZs = await py.request({ run: 'zero-shot', check: true });
  let worst = 0;
  ranking.forEach((r, i) => r.forEach((s) => (worst = Math.max(worst, Math.abs(s.score - pyZs.scores[i][s.index])))));
  if (!sameIds) throw new Error('the token ids of Node and Python differ');

  const res = { tokNode: [], tokPy: [], zsNode: [], zsPy: [] };
  for (let r = 0; r < rounds; r++) {
    const a = await timed(tokenizeNode);
    a.value.forEach((t) => t.dispose());
    res.tokNode.push(a);
    res.tokPy.push(await py.request({ run: 'tokenize' }));
    res.zsNode.push(await timed(() => vl.zeroShot(images, labels)));
    res.zsPy.push(await py.request({ run: 'zero-shot' }));
  }
  py.close();
  vl.dispose();

  const line = (name, unit, count, node, python) => {
    const n = median(node.map((x) => x.seconds));
    const p = median(python.map((x) => x.seconds));
    const nc = median(node.map((x) => x.cpu));
    const pc = median(python.map((x) => x.cpu));
    console.log(`  ${name}`);
    console.log(
      `    Node   ${(n * 1000).toFixed(1)} ms (${(count / n).toFixed(0)} ${unit}/s; rounds: ${node.map((x) => (x.seconds * 1000).toFixed(0)).join(', ')} ms)`,
    );
    console.log(
      `    Python ${(p * 1000).toFixed(1)} ms (${(count / p).toFixed(0)} ${unit}/s; rounds: ${python.map((x) => (x.seconds * 1000).toFixed(0)).join(', ')} ms)`,
    );
    console.log(
      `    Node / Python time: ${(n / p).toFixed(2)}x   CPU seconds: Node ${nc.toFixed(3)}, Python ${pc.toFixed(3)} (Node / Python ${(nc / pc).toFixed(2)}x)`,
    );
  };
  line(`tokenisation (ids identical: ${sameIds})`, 'captions', captionCount, res.tokNode, res.tokPy);
  line(
    `zero-shot end to end (scores agree: largest difference ${worst.toExponential(1)})`,
    'images',
    images.length,
    res.zsNode,
    res.zsPy,
  );
  console.log(
    `  load average after: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

await main();
