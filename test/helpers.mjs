// Shared test helpers: the Python with torch that the set-up chose, temporary folders.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The node a child process (a Python script that starts node) should run: JEPA_NODE, else this one. */
export function nodePath() {
  return process.env.JEPA_NODE || process.execPath;
}

/** The Python interpreter with torch and numpy recorded by `npm install` (build/config.json). */
export function pythonPath() {
  if (process.env.JEPA_PYTHON) return process.env.JEPA_PYTHON;
  const config = path.join(ROOT, 'build', 'config.json');
  if (fs.existsSync(config)) {
    const { python } = JSON.parse(fs.readFileSync(config, 'utf8'));
    if (python) return python;
  }
  throw new Error('no Python with torch recorded in build/config.json: run `npm install` first');
}

/**
 * Runs Python code (a string) with the test Python; `input` goes to stdin. Returns stdout.
 * Throws with stderr when Python fails.
 */
export function runPython(code, { input, args = [], env = {} } = {}) {
  const r = spawnSync(pythonPath(), ['-c', code, ...args], {
    input,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** Runs Python code and parses the JSON it prints last. */
export function pythonJson(code, opts) {
  const out = runPython(code, opts).trim().split('\n');
  return JSON.parse(out[out.length - 1]);
}

/** A fresh temporary folder under test/.tmp (removed by `cleanup`). */
export function tmpDir(prefix = 'jepa-') {
  const base = path.join(ROOT, 'test', '.tmp');
  fs.mkdirSync(base, { recursive: true });
  return fs.mkdtempSync(path.join(base, prefix));
}

export function cleanup(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Runs a Node script (a string, ESM) in a child process with --expose-gc. */
export function runNode(code, { env = {}, args = [] } = {}) {
  return spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', code, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 26,
  });
}

export const tmpRoot = os.tmpdir();

/** The exception `fn` throws (fails the test when it throws nothing). */
export function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an exception');
}

/** The rejection reason of `promise` (fails the test when it resolves). */
export async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}
