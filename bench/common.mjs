// Shared benchmark helpers: timing, the test Python, result printing.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { pythonPath } from '../test/helpers.mjs';

/** Median and p90 (in microseconds) of `fn` over `iterations` calls after `warmup` calls. */
export function time(fn, { iterations = 1000, warmup = 100 } = {}) {
  for (let i = 0; i < warmup; i++) fn();
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    samples[i] = Number(process.hrtime.bigint() - t0) / 1e3;
  }
  samples.sort();
  return { median: samples[iterations >> 1], p90: samples[Math.floor(iterations * 0.9)] };
}

/** Runs a Python benchmark (code that prints one JSON line last) with the test Python. */
export function python(code, args = []) {
  const r = spawnSync(pythonPath(), ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`python failed:\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

export function machine() {
  return `${os.cpus().length} cores (${os.cpus()[0].model}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

export function fmt(us) {
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(2)} µs`;
}

/** The parameter shapes of a ViT-B/16 (I-JEPA's encoder at 224 px): 86 M parameters. */
export function vitBShapes() {
  const d = 768;
  const shapes = [[d, 3, 16, 16], [d], [1, 196, d]];
  for (let i = 0; i < 12; i++) {
    shapes.push([d], [d], [3 * d, d], [3 * d], [d, d], [d], [d], [d], [4 * d, d], [4 * d], [d, 4 * d], [d]);
  }
  shapes.push([d], [d]);
  return shapes;
}
