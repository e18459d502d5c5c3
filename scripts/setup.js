'use strict';
// `npm install` runs this. It does the whole set-up:
//   1. in a development checkout (npm install run in this folder): makes sure a Python with
//      torch and numpy exists for the cross-language tests (python3's own, or a project-local
//      .venv with torch==2.13.0+cpu and numpy installed by the machine's pip);
//   2. finds libtorch (scripts/find-libtorch.js); when none is found, installs the CPU wheel
//      into the project-local .venv (way (c));
//   3. builds the addon with cmake-js (scripts/build.js) and, in a checkout, the TypeScript.
// Set JEPA_SKIP_PYTHON=1 to skip step 1.

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { findLibtorch, localPython, LOCAL_VENV, PINNED_TORCH, ROOT } = require('./find-libtorch');

function log(line) {
  console.error(`[jepa-native] ${line}`);
}

function run(cmd, args, opts = {}) {
  log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: ROOT, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed with exit code ${r.status}`);
}

// The tests need torch, numpy, safetensors and scikit-learn (its digits data set, for
// `npm run train:digits` and its test): the model fixtures are committed. Regenerating them
// (scripts/models/export.py) also needs timm and transformers==5.18.*: see docs/models.md.

/** Whether `python` can find the modules of these pip requirements ('transformers==5.18.*' -> transformers). */
function pythonHas(python, requirements) {
  const IMPORT_NAMES = { 'scikit-learn': 'sklearn' };
  const modules = requirements.map((r) => {
    const name = r.split(/[=<>!~ ]/)[0];
    return IMPORT_NAMES[name] ?? name.replace(/-/g, '_');
  });
  // find_spec rather than import: timm's import can fail on a torchvision built for another torch,
  // which scripts/models/export.py works around; the package is there all the same.
  const code = `import importlib.util, sys; sys.exit(0 if all(importlib.util.find_spec(m) for m in ${JSON.stringify(modules)}) else 1)`;
  const r = spawnSync(python, ['-c', code], { stdio: 'ignore', timeout: 120000 });
  return r.status === 0;
}

/** Creates (or completes) the project-local .venv with the pinned CPU torch and the given extras. */
function installLocal(extras) {
  if (!fs.existsSync(localPython())) run(process.env.PYTHON || 'python3', ['-m', 'venv', LOCAL_VENV]);
  const wanted = ['torch', ...extras];
  if (pythonHas(localPython(), wanted)) return;
  run(localPython(), ['-m', 'pip', 'install', '--progress-bar', 'off', `torch==${PINNED_TORCH}`, ...extras]);
}

function isDevCheckout() {
  if (process.env.JEPA_DEV === '1') return true;
  const initCwd = process.env.INIT_CWD ? path.resolve(process.env.INIT_CWD) : process.cwd();
  return initCwd === ROOT && fs.existsSync(path.join(ROOT, 'tsconfig.json'));
}

/** What the tests need beside torch (pip names). */
const TEST_EXTRAS = ['numpy', 'safetensors', 'scikit-learn'];

function testPython() {
  if (process.env.JEPA_PYTHON) return process.env.JEPA_PYTHON;
  const python = process.env.PYTHON || 'python3';
  if (pythonHas(python, ['torch', ...TEST_EXTRAS])) {
    log(`tests will use ${python} (it has torch, ${TEST_EXTRAS.join(', ')})`);
    return python;
  }
  log(`${python} lacks torch or one of ${TEST_EXTRAS.join(', ')}: installing torch==${PINNED_TORCH} and them into ${LOCAL_VENV}`);
  installLocal(TEST_EXTRAS);
  return localPython();
}

function main() {
  const dev = isDevCheckout();
  let python = null;
  if (dev && process.env.JEPA_SKIP_PYTHON !== '1') python = testPython();

  let libtorch;
  try {
    libtorch = findLibtorch({ log });
  } catch (e) {
    if (process.env.LIBTORCH) throw e;
    log(`no libtorch found: installing torch==${PINNED_TORCH} into ${LOCAL_VENV} (way (c))`);
    installLocal([]);
    libtorch = findLibtorch({ log });
  }

  run(process.execPath, [path.join(__dirname, 'build.js')]);
  if (dev) run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json']);
  if (dev) run(process.execPath, [path.join(__dirname, 'write-esm.js')]);

  const config = { python, libtorch: libtorch.dir, torchVersion: libtorch.version };
  fs.mkdirSync(path.join(ROOT, 'build'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'build', 'config.json'), JSON.stringify(config, null, 2) + '\n');
  log('set-up complete');
}

try {
  main();
} catch (e) {
  console.error(`[jepa-native] set-up failed: ${e.message}`);
  process.exit(1);
}
