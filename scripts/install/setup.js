'use strict';
// `npm install` runs this. It does the whole set-up.
//
// Installed as a dependency (`npm install jepa-native`), with a prebuilt binary for this platform
// in prebuilds/ (the npm package ships one for linux-x64) and no --build-from-source: nothing is
// compiled. It only makes sure a libtorch of the prebuild's version can be found at load time
// (LIBTORCH, python3's torch, or else it installs the pinned CPU wheel into the package's own
// .venv: way (c)). It compiles instead when there is no prebuild for this platform, or when the
// libtorch found is another version (the user has one: build against it), or with
// `--build-from-source` (npm_config_build_from_source) or JEPA_BUILD_FROM_SOURCE=1.
//
// In a development checkout (npm install run in this folder) it always builds from source;
// compiling (here or as a dependency) goes:
//   1. in a development checkout only: makes sure a Python with
//      torch and numpy exists for the cross-language tests (python3's own, or a project-local
//      .venv with torch==2.13.0+cpu and numpy installed by the machine's pip);
//   2. finds libtorch (lib/core/libtorch.ts); when none is found, installs the CPU wheel
//      into the project-local .venv (way (c));
//   3. builds the addon with cmake-js (scripts/install/build.js); in a checkout the TypeScript was
//      compiled first (before step 1), since discovery and prebuild fitting are the loader's own.
//   4. in a development checkout, makes sure ffmpeg (video decoding, jepa.video) is there:
//      installs Debian's package with apt-get when missing and running as root, else says how;
//   5. in a development checkout, makes sure clang with libFuzzer is there for the fuzz tests
//      (apt-get install clang libclang-rt-14-dev when root, else a hint).
// Set JEPA_SKIP_PYTHON=1 to skip step 1, JEPA_SKIP_FFMPEG=1 to skip step 4,
// JEPA_SKIP_FUZZ_TOOLS=1 to skip step 5.

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { compileTypeScript, core, ROOT } = require('./compiled');

// In a checkout, the TypeScript is compiled first: discovery and prebuild fitting are the
// loader's own (dist/core/libtorch.js, dist/core/prebuilt.js).
if (isDevCheckout()) compileTypeScript();
const { findLibtorch, localPython, LOCAL_VENV, PINNED_TORCH } = core('libtorch');
const { findFittingLibtorch, howToGetLibtorch, platformMismatch, readPrebuildInfo } = core('prebuilt');

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
// `npm run train:digits` and its test), and, as the Python references that the cross-language
// tests compare with: transformers (its JEPA, CLIP and BERT classes), sentence-transformers,
// timm, torchvision (transforms), Pillow, PyAV (video frames) and PyYAML (official configs).

/** Whether `python` can find the modules of these pip requirements ('transformers==5.18.*' -> transformers). */
function pythonHas(python, requirements) {
  const IMPORT_NAMES = {
    'scikit-learn': 'sklearn',
    pyyaml: 'yaml',
    pillow: 'PIL',
    'sentence-transformers': 'sentence_transformers',
  };
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
function installLocal(extras, torchVersion = PINNED_TORCH) {
  if (!fs.existsSync(localPython())) run(process.env.PYTHON || 'python3', ['-m', 'venv', LOCAL_VENV]);
  const wanted = ['torch', ...extras];
  if (pythonHas(localPython(), wanted)) return;
  run(localPython(), ['-m', 'pip', 'install', '--progress-bar', 'off', `torch==${torchVersion}`, ...extras]);
}

function buildFromSourceAsked() {
  const flag = (v) => v !== undefined && v !== '' && v !== 'false' && v !== '0';
  return flag(process.env.npm_config_build_from_source) || flag(process.env.JEPA_BUILD_FROM_SOURCE);
}

/**
 * A consumer install with a prebuild: returns true when the prebuild will serve (nothing to
 * compile), false when the addon must be compiled here (the reason is logged).
 */
function usePrebuild() {
  const meta = readPrebuildInfo();
  if (!meta) {
    log('no prebuilt binary for this platform in the package: compiling from source');
    return false;
  }
  const platform = platformMismatch(meta);
  if (platform) {
    log(`the prebuilt binary does not fit this machine (${platform}): compiling from source`);
    return false;
  }
  let fit = findFittingLibtorch(meta);
  if (fit.libtorch) {
    log(
      `using the prebuilt binary (libtorch ${meta.torchVersion}); at load time it will use libtorch ` +
        `${fit.libtorch.version} at ${fit.libtorch.dir} (${fit.libtorch.source}); nothing to compile`,
    );
    return true;
  }
  if (fit.mismatched.length || fit.explicit) {
    log(
      `the prebuilt binary needs libtorch ${meta.torchVersion}, but: ${fit.tried.join('; ')}. ` +
        'Compiling from source against the libtorch found.',
    );
    return false;
  }
  if (process.env.JEPA_SKIP_TORCH_INSTALL === '1') {
    log(`using the prebuilt binary; no libtorch found and JEPA_SKIP_TORCH_INSTALL=1. ${howToGetLibtorch(meta)}`);
    return true;
  }
  log(
    `using the prebuilt binary; no libtorch found: installing torch==${meta.torchVersion} into ${LOCAL_VENV} (way (c))`,
  );
  try {
    installLocal([], meta.torchVersion);
  } catch (e) {
    // The binary is in place; without libtorch it cannot load yet, and loading says what it needs.
    // An install that fails here would leave nothing at all.
    log(
      `installing torch failed (${e.message}). The prebuilt binary is installed but needs libtorch ${meta.torchVersion} to load. ${howToGetLibtorch(meta)}`,
    );
    return true;
  }
  fit = findFittingLibtorch(meta);
  if (!fit.libtorch) log(`torch==${meta.torchVersion} was installed, but: ${fit.tried.join('; ')}`);
  return true;
}

function isDevCheckout() {
  if (process.env.JEPA_DEV === '1') return true;
  const initCwd = process.env.INIT_CWD ? path.resolve(process.env.INIT_CWD) : process.cwd();
  return initCwd === ROOT && fs.existsSync(path.join(ROOT, 'tsconfig.json'));
}

/** What the tests need beside torch (pip names). */
const TEST_EXTRAS = [
  'numpy',
  'safetensors',
  'scikit-learn',
  'transformers==5.18.*',
  'sentence-transformers',
  'timm',
  'torchvision==0.28.0',
  'pillow',
  'av',
  'pyyaml',
];

function testPython() {
  if (process.env.JEPA_PYTHON) return process.env.JEPA_PYTHON;
  const python = process.env.PYTHON || 'python3';
  if (pythonHas(python, ['torch', ...TEST_EXTRAS])) {
    log(`tests will use ${python} (it has torch, ${TEST_EXTRAS.join(', ')})`);
    return python;
  }
  log(
    `${python} lacks torch or one of ${TEST_EXTRAS.join(', ')}: installing torch==${PINNED_TORCH} and them into ${LOCAL_VENV}`,
  );
  installLocal(TEST_EXTRAS);
  return localPython();
}

/** Whether `cxx` compiles and links a libFuzzer target with ASan and UBSan. */
function canFuzz(cxx) {
  const r = spawnSync(cxx, ['-x', 'c++', '-fsanitize=fuzzer,address,undefined', '-o', '/dev/null', '-'], {
    input: 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }',
    stdio: ['pipe', 'ignore', 'ignore'],
    timeout: 120000,
  });
  return r.status === 0;
}

/**
 * The test suite's fuzzers (`npm run test:fuzz`) need clang with libFuzzer and the sanitizer
 * runtimes; the sanitizer run (`npm run test:asan`) needs gcc's libasan, which comes with g++.
 * In a development checkout, as root with apt-get (CI), installs what is missing; otherwise logs
 * how to get it (those steps then print "skipped"). Set JEPA_SKIP_FUZZ_TOOLS=1 to skip.
 */
function fuzzTools() {
  if (process.env.JEPA_SKIP_FUZZ_TOOLS === '1') return;
  const clang = ['clang++', 'clang++-14'].find((c) => hasCommand(c, '--version'));
  if (clang && canFuzz(clang)) return;
  const packages = ['clang', 'libclang-rt-14-dev'];
  if (!aptInstall(packages, 'clang and libFuzzer for the fuzz tests')) {
    log(
      `clang with libFuzzer not found: the fuzz tests will be skipped (and fail under CI=true). Install it with: apt-get install ${packages.join(' ')}`,
    );
  }
}

/** Whether `cmd flag` runs and exits 0 (ffmpeg takes -version, apt-get and clang --version). */
function hasCommand(cmd, flag = '-version') {
  const r = spawnSync(cmd, [flag], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

/**
 * Installs Debian packages with apt-get (updating the package lists if the first try fails) when
 * running as root with apt; false when it could not (not root, no apt, or apt-get failed).
 */
function aptInstall(packages, why) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !hasCommand('apt-get', '--version')) return false;
  log(`installing ${why} (apt-get install ${packages.join(' ')})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { stdio: 'inherit', env })
      .status === 0;
  if (install()) return true;
  spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
  return install();
}

/** ffmpeg for jepa.video and its tests: apt-get when root, otherwise a hint (not fatal). */
function ensureFfmpeg() {
  const ffmpeg = process.env.FFMPEG_PATH || 'ffmpeg';
  const ffprobe = process.env.FFPROBE_PATH || 'ffprobe';
  if (hasCommand(ffmpeg) && hasCommand(ffprobe)) return;
  if (aptInstall(['ffmpeg'], "Debian's ffmpeg (jepa.video needs it)") && hasCommand(ffmpeg) && hasCommand(ffprobe))
    return;
  log(
    'ffmpeg / ffprobe not found: jepa.video and the video tests need them. Install ffmpeg ' +
      '(Debian/Ubuntu: `sudo apt-get install ffmpeg`; macOS: `brew install ffmpeg`) or set FFMPEG_PATH and FFPROBE_PATH.',
  );
}

function main() {
  const dev = isDevCheckout();
  if (!dev && !buildFromSourceAsked() && usePrebuild()) {
    log('set-up complete');
    return;
  }
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

  if (dev && process.env.JEPA_SKIP_FFMPEG !== '1') ensureFfmpeg();
  if (dev) fuzzTools();

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
