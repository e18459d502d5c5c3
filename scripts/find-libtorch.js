'use strict';
// Finds the libtorch that jepa-native builds against and loads at run time.
//
// Order (the first that works wins; the chain is logged):
//   (a) LIBTORCH: a libtorch folder (an unzipped libtorch distribution or a `torch` package folder)
//   (b) the `torch` package of `python3` (or of $PYTHON)
//   (c) the project-local install made by the set-up: `.venv/` with torch==2.13.0+cpu
//
// Used by scripts/setup.js, scripts/build.js and, at load time, by lib/binding.ts (through the
// build-info.json that the build writes next to the addon).

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const LOCAL_VENV = process.env.JEPA_VENV ? path.resolve(process.env.JEPA_VENV) : path.join(ROOT, '.venv');
const PINNED_TORCH = '2.13.0+cpu';

/** Version of a libtorch folder: torch/version.py of a torch package, build-version of a distribution. */
function libtorchVersion(dir) {
  const versionPy = path.join(dir, 'version.py');
  if (fs.existsSync(versionPy)) {
    const m = /__version__\s*=\s*['"]([^'"]+)['"]/.exec(fs.readFileSync(versionPy, 'utf8'));
    if (m) return m[1];
  }
  const buildVersion = path.join(dir, 'build-version');
  if (fs.existsSync(buildVersion)) return fs.readFileSync(buildVersion, 'utf8').trim();
  return null;
}

/** Describes a libtorch folder, or returns a reason why it is not one. */
function inspectLibtorch(dir) {
  const abs = path.resolve(dir);
  const config = path.join(abs, 'share', 'cmake', 'Torch', 'TorchConfig.cmake');
  if (!fs.existsSync(config)) {
    return { ok: false, reason: `${abs} has no share/cmake/Torch/TorchConfig.cmake` };
  }
  const libDir = path.join(abs, 'lib');
  const hasLib = ['libtorch_cpu.so', 'libtorch_cpu.dylib', 'torch_cpu.dll'].some((f) =>
    fs.existsSync(path.join(libDir, f)),
  );
  if (!hasLib) return { ok: false, reason: `${abs}/lib has no libtorch_cpu library` };
  const cuda = ['libtorch_cuda.so', 'torch_cuda.dll'].some((f) => fs.existsSync(path.join(libDir, f)));
  return {
    ok: true,
    dir: fs.realpathSync(abs),
    libDir: fs.realpathSync(libDir),
    cmakePrefix: path.join(fs.realpathSync(abs), 'share', 'cmake'),
    version: libtorchVersion(abs),
    cuda,
  };
}

/** Asks a Python interpreter where its torch package is; null when it has none. */
function torchOfPython(python) {
  const r = spawnSync(python, ['-c', 'import os, torch; print(os.path.dirname(torch.__file__))'], {
    encoding: 'utf8',
    timeout: 120000,
  });
  if (r.status !== 0 || !r.stdout) return null;
  return r.stdout.trim().split('\n').pop();
}

function localPython() {
  return path.join(LOCAL_VENV, 'bin', 'python');
}

/**
 * Finds libtorch. Returns {dir, libDir, cmakePrefix, version, cuda, source} or throws an Error
 * listing every way that was tried. `log` receives one line per step.
 */
function findLibtorch({ log = () => {} } = {}) {
  const tried = [];
  const env = process.env.LIBTORCH;
  if (env) {
    const info = inspectLibtorch(env);
    if (!info.ok) {
      // An explicit choice that is wrong must not silently fall through to another libtorch.
      throw new Error(
        `LIBTORCH=${env} is not a usable libtorch folder: ${info.reason}.\n` +
          'Point LIBTORCH at an unzipped libtorch distribution or at a torch package folder ' +
          '(the folder of `python3 -c "import torch; print(torch.__file__)"`).',
      );
    }
    log(`libtorch: using LIBTORCH=${info.dir} (${info.version || 'unknown version'})`);
    return { ...info, source: 'LIBTORCH' };
  }
  tried.push('(a) LIBTORCH is not set');

  const python = process.env.PYTHON || 'python3';
  const pyTorch = torchOfPython(python);
  if (pyTorch) {
    const info = inspectLibtorch(pyTorch);
    if (info.ok) {
      log(`libtorch: using the torch package of ${python}: ${info.dir} (${info.version})`);
      return { ...info, source: python };
    }
    tried.push(`(b) ${python} has torch at ${pyTorch}, but ${info.reason}`);
  } else {
    tried.push(`(b) ${python} has no torch package`);
  }

  if (fs.existsSync(localPython())) {
    const localTorch = torchOfPython(localPython());
    if (localTorch) {
      const info = inspectLibtorch(localTorch);
      if (info.ok) {
        log(`libtorch: using the project-local install ${info.dir} (${info.version})`);
        return { ...info, source: 'project-local' };
      }
      tried.push(`(c) the project-local install at ${localTorch} is incomplete: ${info.reason}`);
    } else {
      tried.push(`(c) ${LOCAL_VENV} exists but has no torch package`);
    }
  } else {
    tried.push(`(c) there is no project-local install at ${LOCAL_VENV}`);
  }

  throw new Error(
    'jepa-native could not find libtorch. Tried:\n  ' +
      tried.join('\n  ') +
      '\nAny one of these works:\n' +
      '  (a) set LIBTORCH to a libtorch folder (an unzipped libtorch distribution, or a torch\n' +
      '      package folder; for CUDA, a CUDA build of libtorch);\n' +
      '  (b) install torch for python3: `python3 -m pip install torch`;\n' +
      `  (c) run \`npm install\` in the jepa-native folder, which installs torch==${PINNED_TORCH}\n` +
      `      with pip into ${LOCAL_VENV}.`,
  );
}

module.exports = { findLibtorch, inspectLibtorch, libtorchVersion, torchOfPython, localPython, LOCAL_VENV, PINNED_TORCH, ROOT };

if (require.main === module) {
  try {
    const info = findLibtorch({ log: (l) => console.error(l) });
    console.log(JSON.stringify(info, null, 2));
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
