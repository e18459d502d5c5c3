// Helpers shared by the training tests (trainer, checkpoint): batch specs both languages build,
// the Python reference of the training steps (scripts/reference/train_reference.py), parameter
// comparison.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import jepa from 'jepa-native';
import { cleanup, pythonPath, ROOT, tmpDir } from './helpers.mjs';
import { FIXTURES } from './model-fixtures.mjs';

export const fixture = (...p) => path.join(FIXTURES, ...p);
export const REFERENCE = path.join(ROOT, 'scripts', 'reference', 'train_reference.py');
export const TOL = 1e-5;

const dirs = [];
/** A temporary folder removed by {@link cleanupDirs}. */
export function scratch(prefix = 'train-') {
  const dir = tmpDir(prefix);
  dirs.push(dir);
  return dir;
}
export function cleanupDirs() {
  stopPython();
  dirs.splice(0).forEach(cleanup);
}

/** A tensor spec both sides can build: {randn: [shape, seed]} or {values, dtype, shape}. */
export const randnSpec = (shape, seed) => ({ randn: [shape, seed] });
export function valuesSpec(t) {
  const flat = Array.from(t.contiguous().data(), Number);
  const nest = (shape, off) =>
    shape.length === 1
      ? flat.slice(off, off + shape[0])
      : Array.from({ length: shape[0] }, (_, i) =>
          nest(shape.slice(1), off + i * shape.slice(1).reduce((a, b) => a * b, 1)),
        );
  return { values: nest(t.shape, 0), dtype: t.dtype, shape: t.shape };
}
export function build(spec) {
  if (Array.isArray(spec)) return spec.map(build);
  if (!spec.randn && !spec.values) return Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, build(v)]));
  if (spec.randn) return jepa.randn(spec.randn[0], { seed: spec.randn[1] });
  const flat = spec.values.flat(Infinity);
  const data = spec.dtype === 'int64' ? BigInt64Array.from(flat.map(BigInt)) : Float32Array.from(flat);
  return jepa.tensor(data, spec.shape, { dtype: spec.dtype });
}

// One Python process per test file runs every reference step (scripts/reference/train_reference.py,
// through runpy as its command line would): importing torch and building the reference once
// instead of once per case saves seconds a case. Requests go in on stdin, one JSON line each;
// the reference writes its results to files, and the worker answers with one marked line.
const WORKER = `
import json, runpy, sys, traceback
out = sys.stdout
sys.stdout = sys.stderr  # the reference's own prints must not mix with the answers
for line in sys.stdin:
    spec_path, out_dir = json.loads(line)
    try:
        sys.argv = [${JSON.stringify(REFERENCE)}, spec_path, out_dir]
        runpy.run_path(sys.argv[0], run_name='__main__')
        answer = {'ok': True}
    except BaseException:
        answer = {'ok': False, 'error': traceback.format_exc()}
    out.write('@@jepa-reference ' + json.dumps(answer) + '\\n')
    out.flush()
`;
let worker = null;

function referenceWorker() {
  if (worker) return worker;
  const proc = spawn(pythonPath(), ['-c', WORKER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = [];
  let buffered = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith('@@jepa-reference ')) waiting.shift()?.(JSON.parse(line.slice(17)));
    }
  });
  proc.on('exit', (code) => {
    for (const done of waiting.splice(0)) done({ ok: false, error: `the Python reference worker exited (${code})` });
    worker = null;
  });
  worker = { proc, waiting };
  return worker;
}

/** Ends the reference worker (an `after()` of each file that uses {@link python}). */
export function stopPython() {
  if (worker) worker.proc.stdin.end();
  worker = null;
}

/** Runs the Python reference on `spec` and returns its losses and parameters. */
export async function python(spec) {
  const dir = scratch();
  fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec));
  const w = referenceWorker();
  const answer = await new Promise((resolve) => {
    w.waiting.push(resolve);
    w.proc.stdin.write(JSON.stringify([path.join(dir, 'spec.json'), dir]) + '\n');
  });
  if (!answer.ok) throw new Error(`the Python reference failed:\n${answer.error}`);
  const result = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));
  const bin = fs.readFileSync(path.join(dir, 'params.bin'));
  const params = new Map();
  for (const [name, [offset, shape]] of Object.entries(result.tensors)) {
    const n = shape.reduce((a, b) => a * b, 1);
    params.set(name, new Float32Array(bin.buffer.slice(bin.byteOffset + offset, bin.byteOffset + offset + 4 * n)));
  }
  return { ...result, params };
}

/** Node's parameters under the same names as the reference's ("context.blocks.0...", "model...."). */
export function nodeParams(modules) {
  const out = new Map();
  for (const [key, m] of Object.entries(modules)) {
    for (const [n, t] of m.namedParameters()) out.set(`${key}.${n}`, Float32Array.from(t.contiguous().data()));
  }
  return out;
}

/** Asserts that every parameter agrees within `tol`; returns the largest difference. */
export function compare(node, py, { tol = TOL } = {}) {
  expect([...node.keys()].sort()).to.deep.equal([...py.keys()].sort());
  let worst = 0;
  for (const [name, a] of node) {
    const b = py.get(name);
    let d = 0;
    for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
    expect(d, `${name}: max |node - python|`).to.be.at.most(tol);
    worst = Math.max(worst, d);
  }
  return worst;
}

export const ijepaFiles = {
  context: fixture('ijepa/context_encoder.pt'),
  target: fixture('ijepa/target_encoder.pt'),
  predictor: fixture('ijepa/predictor.pt'),
};

/** The reference models (scripts/models/ijepa.py) of the I-JEPA fixtures, for the reference's "eager" option. */
export const ijepaEager = {
  context: ['vit', { img_size: 32, patch_size: 8, embed_dim: 32, depth: 2, num_heads: 2 }],
  target: ['vit', { img_size: 32, patch_size: 8, embed_dim: 32, depth: 2, num_heads: 2 }],
  predictor: [
    'vit_predictor',
    { img_size: 32, patch_size: 8, embed_dim: 32, predictor_embed_dim: 16, depth: 2, num_heads: 2 },
  ],
};

export function ijepaMasks(seed) {
  const m = jepa.masks.multiblock({
    inputSize: 32,
    patchSize: 8,
    batchSize: 2,
    encMaskScale: [0.85, 1],
    predMaskScale: [0.15, 0.3],
    aspectRatio: [0.75, 1.5],
    nenc: 1,
    npred: 2,
    minKeep: 0,
    seed,
    positionSeed: seed,
  });
  return { context: m.context.map(valuesSpec), targets: m.targets.map(valuesSpec) };
}

export function ijepaMaskTensors(seed = 0) {
  const m = ijepaMasks(seed);
  return { context: build(m.context), targets: build(m.targets) };
}

/** The schedules of the parity tests. */
export function testSchedules() {
  return {
    lr: jepa.ema.schedule({ kind: 'warmupCosine', start: 1e-4, peak: 1e-3, end: 1e-5, warmupSteps: 1, steps: 10 }),
    weightDecay: jepa.ema.schedule({ kind: 'cosineWd', start: 0.04, end: 0.4, steps: 10 }),
    momentum: jepa.ema.schedule({ kind: 'linear', start: 0.9, end: 1, steps: 10 }),
  };
}

/** The reference's step spec for step `i` of {@link testSchedules}. */
export function stepSpec(schedules, i, batch, extra = {}) {
  return {
    lr: schedules.lr.at(i),
    wd: schedules.weightDecay.at(i),
    momentum: schedules.momentum.at(i),
    batch,
    ...extra,
  };
}
