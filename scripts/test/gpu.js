'use strict';
// `npm run test:gpu`: everything that needs a GPU, on a GPU machine (../shared/GPU.md: a CUDA
// PyTorch in a Python, nvcc, no Node, no network), in one run that fits a time budget:
//
//   1. preflight: nvidia-smi sees a GPU, and the Python (JEPA_PYTHON, else PYTHON, else python3)
//      has a CUDA torch with torch.cuda.is_available(); otherwise it stops at once, saying so;
//   2. builds the addon against that Python's torch (its libtorch) into build/gpu;
//   3. the CUDA tests with JEPA_REQUIRE_CUDA=1 (a GPU test that would skip fails instead):
//      test/cuda.test.mjs (Node on cuda against Python on cuda: tensors, .pt, TorchScript forward
//      in float32/float16/bfloat16, EMA, training steps) and the test files with CUDA branches;
//   4. the GPU benchmarks (bench/gpu.mjs: V-JEPA 2 ViT-g clips/s in fp16 and bf16, EMA over 1 B
//      parameters against the copy bandwidth, an I-JEPA ViT-B bf16 training step, a 12.9 MB
//      feature file onto the GPU; each against Python);
//   5. the whole mocha suite with the CUDA tests on, in whatever time is left (cut at the budget);
//   6. a report: OUT/gpu-report.md (and .json, the logs): GPU, versions, build time, test counts and
//      failures, benchmark table against the issue's goals.
//
//   node scripts/test/gpu.js [--out DIR] [--budget SECONDS] [--suite cuda|full] [--skip-build]
//                            [--benches vitg,ema,train,load|none] [--bench-iters N]
//
// --out defaults to build/gpu-report (on the device machine: $OUT); --budget (default 540 s) is
// the wall time after which the remaining steps are cut and reported as such. Without a GPU it
// fails in the preflight, in seconds, with the reason.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const BUILD_JS = path.join(ROOT, 'scripts', 'install', 'build.js');
const BUILD = path.join(ROOT, 'build', 'gpu');
/** The test files with CUDA branches (run with JEPA_REQUIRE_CUDA=1 first, before the full suite). */
const CUDA_TESTS = [
  'test/cuda.test.mjs',
  'test/tensor.test.mjs',
  'test/errors.test.mjs',
  'test/module.test.mjs',
  'test/pt.test.mjs',
  'test/masks.test.mjs',
  'test/distributed.test.mjs',
];

const argv = process.argv.slice(2);
function opt(name, dflt) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[i + 1] : dflt;
}
const OUT = path.resolve(opt('out', process.env.OUT || path.join(ROOT, 'build', 'gpu-report')));
const BUDGET_S = Number(opt('budget', 540));
const SUITE = opt('suite', 'full');
const BENCHES = opt('benches', 'vitg,ema,train,load');
const BENCH_ITERS = opt('bench-iters', '10');
const START = Date.now();
const left = () => BUDGET_S - (Date.now() - START) / 1000;

const report = { started: new Date().toISOString(), host: os.hostname(), cpus: os.cpus().length, steps: [] };

function log(line) {
  console.error(`[test:gpu] ${line}`);
}

function step(name, fields) {
  const s = { name, ...fields };
  report.steps.push(s);
  return s;
}

function writeReport() {
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'gpu-report.json'), JSON.stringify(report, null, 2) + '\n');
  const md = [];
  md.push(`# test:gpu report (${report.started})`, '');
  if (report.gpu) md.push(`- GPU: ${report.gpu.name} (driver ${report.gpu.driver}), ${report.cpus} CPU cores`);
  if (report.python)
    md.push(
      `- Python ${report.python.python}: torch ${report.python.torch} (CUDA ${report.python.cuda}) at ${report.python.dir}`,
    );
  md.push(`- Node ${process.version}; budget ${BUDGET_S} s, used ${((Date.now() - START) / 1000).toFixed(0)} s`, '');
  for (const s of report.steps) {
    md.push(`## ${s.name}: ${s.status}${s.seconds != null ? ` (${s.seconds} s)` : ''}`);
    if (s.reason) md.push('', s.reason);
    if (s.tests) {
      md.push('', `${s.tests.passes} passing, ${s.tests.failures} failing, ${s.tests.pending} pending`);
      for (const f of s.tests.failed) md.push(`- FAIL ${f.title}: ${f.message}`);
      if (s.tests.pendingTitles.length) md.push('', `pending: ${s.tests.pendingTitles.join('; ')}`);
    }
    if (s.table) md.push('', ...s.table);
    md.push('');
  }
  fs.writeFileSync(path.join(OUT, 'gpu-report.md'), md.join('\n'));
  return md.join('\n');
}

function finish(code) {
  const text = writeReport();
  console.log(text);
  log(`report: ${path.join(OUT, 'gpu-report.md')}`);
  process.exit(code);
}

/** Runs a command with a time limit; its output goes to the console and to OUT/<logName>. */
function run(cmd, args, { env = process.env, limitS, logName }) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    timeout: Math.max(1, Math.floor(limitS)) * 1000,
    killSignal: 'SIGKILL',
  });
  const out = `${r.stdout || ''}${r.stderr || ''}`;
  if (logName) {
    fs.mkdirSync(OUT, { recursive: true });
    fs.writeFileSync(path.join(OUT, logName), out);
  }
  process.stderr.write(out.length > 20000 ? `...\n${out.slice(-20000)}` : out);
  const cut = r.error && r.error.code === 'ETIMEDOUT';
  return {
    status: r.status,
    cut,
    error: r.error,
    stdout: r.stdout || '',
    seconds: Math.round((Date.now() - t0) / 1000),
  };
}

// ---- 1. preflight ----
function preflight() {
  const smi = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], {
    encoding: 'utf8',
  });
  if (smi.error || smi.status !== 0 || !smi.stdout.trim()) {
    step('preflight', {
      status: 'FAILED',
      reason: `no GPU: nvidia-smi ${smi.error ? 'is not installed' : 'found no GPU'} (test:gpu runs on a GPU machine, see ../shared/GPU.md)`,
    });
    finish(2);
  }
  const [name, driver, memory] = smi.stdout
    .trim()
    .split('\n')[0]
    .split(',')
    .map((x) => x.trim());
  report.gpu = { name, driver, memory, all: smi.stdout.trim().split('\n') };
  const python = process.env.JEPA_PYTHON || process.env.PYTHON || 'python3';
  const code =
    'import json, os, sys, torch; print(json.dumps({"python": sys.executable, "torch": torch.__version__, "cuda": torch.version.cuda, ' +
    '"available": torch.cuda.is_available(), "dir": os.path.dirname(torch.__file__)}))';
  const r = spawnSync(python, ['-c', code], { encoding: 'utf8' });
  if (r.status !== 0) {
    step('preflight', {
      status: 'FAILED',
      reason: `${python} cannot import torch: ${(r.stderr || String(r.error)).trim().split('\n').pop()} (set JEPA_PYTHON to the Python with the CUDA torch)`,
    });
    finish(2);
  }
  const info = JSON.parse(r.stdout.trim().split('\n').pop());
  report.python = info;
  if (!info.cuda || !info.available) {
    step('preflight', {
      status: 'FAILED',
      reason: `${info.python} has torch ${info.torch}, ${info.cuda ? 'a CUDA build, but torch.cuda.is_available() is False' : 'a CPU build'}: test:gpu needs a CUDA torch and a visible GPU`,
    });
    finish(2);
  }
  step('preflight', { status: 'ok', reason: `${name}; ${info.python}: torch ${info.torch} (CUDA ${info.cuda})` });
  return info;
}

function mochaResult(file) {
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8'));
    return {
      passes: j.stats.passes,
      failures: j.stats.failures,
      pending: j.stats.pending,
      failed: j.failures.map((f) => ({ title: f.fullTitle, message: String(f.err && f.err.message).split('\n')[0] })),
      pendingTitles: j.pending.map((p) => p.fullTitle),
    };
  } catch {
    return null;
  }
}

function mocha(name, files, env, logName) {
  const json = path.join(OUT, `${logName}.json`);
  const args = [require.resolve('mocha/bin/mocha.js'), '--reporter', 'json', '--reporter-option', `output=${json}`];
  if (files) args.push('--no-config', '--node-option', 'expose-gc', '--timeout', '600000', ...files);
  else args.push('test/*.test.mjs'); // the file list of `npm run test:mocha` (.mocharc.json holds none)
  fs.rmSync(json, { force: true });
  const r = run(process.execPath, args, { env, limitS: left(), logName: `${logName}.log` });
  const tests = mochaResult(json);
  const status = r.cut ? 'CUT at the budget' : tests && tests.failures === 0 && r.status === 0 ? 'ok' : 'FAILED';
  return step(name, {
    status,
    seconds: r.seconds,
    tests: tests || undefined,
    reason: tests ? undefined : `mocha wrote no results (exit ${r.status})`,
  });
}

function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const py = preflight();

  // ---- 2. build ----
  if (!argv.includes('--skip-build')) {
    log(`building build/gpu against ${py.dir} (torch ${py.torch})`);
    const r = run(process.execPath, [BUILD_JS, '--out', BUILD], {
      env: { ...process.env, LIBTORCH: py.dir },
      limitS: left(),
      logName: 'build.log',
    });
    if (r.status !== 0) {
      step('build', { status: r.cut ? 'CUT at the budget' : 'FAILED', seconds: r.seconds, reason: 'see build.log' });
      finish(1);
    }
    step('build', { status: 'ok', seconds: r.seconds, reason: `build/gpu against ${py.dir}` });
  }
  const env = {
    ...process.env,
    JEPA_ADDON: path.join(BUILD, 'jepa_native.node'),
    JEPA_PYTHON: py.python,
    JEPA_REQUIRE_CUDA: '1',
  };

  // ---- 3. CUDA tests ----
  const cuda = mocha('CUDA tests (JEPA_REQUIRE_CUDA=1)', CUDA_TESTS, env, 'cuda-tests');

  // ---- 4. benchmarks ----
  if (BENCHES !== 'none' && left() > 30) {
    const json = path.join(OUT, 'bench-gpu.json');
    const r = run(
      process.execPath,
      [path.join(ROOT, 'bench', 'gpu.mjs'), '--only', BENCHES, '--iters', BENCH_ITERS, '--json', json],
      {
        env,
        limitS: left(),
        logName: 'bench-gpu.log',
      },
    );
    const table = r.stdout.split('\n').filter((l) => l.startsWith('|') || l.startsWith('GPU:'));
    step('GPU benchmarks (bench/gpu.mjs)', {
      status: r.cut ? 'CUT at the budget' : r.status === 0 ? 'ok' : 'FAILED',
      seconds: r.seconds,
      table,
    });
  } else {
    step('GPU benchmarks (bench/gpu.mjs)', {
      status: 'not run',
      reason: BENCHES === 'none' ? '--benches none' : 'no time left in the budget',
    });
  }

  // ---- 5. the whole suite ----
  if (SUITE === 'full' && left() > 30) {
    mocha('the whole mocha suite (JEPA_REQUIRE_CUDA=1)', null, env, 'suite');
  } else {
    step('the whole mocha suite', {
      status: 'not run',
      reason: SUITE !== 'full' ? `--suite ${SUITE}` : 'no time left in the budget',
    });
  }
  finish(cuda.status === 'ok' ? 0 : 1);
}

main();
