'use strict';
// `npm run test:cuda-build`: jepa-native built and loaded against a CUDA libtorch, on a machine
// with no GPU and no CUDA toolkit.
//
//   1. installs torch 2.14.1 (a CUDA 13 build) and the nvidia-* pip packages it needs into a cache
//      folder, once: pip, `--no-deps` (torch's own requirements name packages that no pip index
//      here has, cuda-bindings and triton, and many that a C++ program does not need);
//   2. builds the addon against it into build/cuda (scripts/install/build.js --out build/cuda): no nvcc,
//      no toolkit (CMakeLists.txt, cmake/cuda-runtime.cmake);
//   3. runs a part of the suite with that addon (JEPA_ADDON): test/cuda-build.test.mjs (libtorch_cuda
//      loaded, no GPU, the build used only the cache's CUDA files, prebuilds against this libtorch)
//      and the tensor, error, .pt and CUDA test files.
//
// The cache: $JEPA_CUDA_TORCH_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/jepa-native/torch-2.14.1-cu130
// (outside the checkout, so that it survives `git clean` and serves every checkout; about 4.3 GB).
// It is complete when its .complete file lists exactly the packages below; otherwise it is
// installed again from scratch.
//
//   node scripts/test/cuda-build.js [--install-only] [--build-only] [mocha arguments]

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const BUILD_JS = path.join(ROOT, 'scripts', 'install', 'build.js');
const BUILD = path.join(ROOT, 'build', 'cuda');
const TORCH_VERSION = '2.14.1';

/**
 * The pip packages, pinned (torch 2.14.1's own pins; nvjitlink, which it leaves open, at the
 * version the mirror has). Each is either loaded with libtorch_cuda (its DT_NEEDED libraries and
 * theirs, resolved through libtorch's RUNPATH into site-packages/nvidia/) or has headers that the
 * NCCL backend's compile needs (ProcessGroupNCCL.hpp).
 */
const PACKAGES = [
  `torch==${TORCH_VERSION}`,
  'nvidia-cuda-runtime==13.0.96', // libcudart (every CUDA library), cuda_runtime_api.h
  'nvidia-cuda-crt==13.0.88', // crt/host_defines.h, which cuda_runtime_api.h includes (headers only)
  'nvidia-cuda-cccl==13.0.85', // nv/target, which cuda_fp16.h includes (headers only)
  'nvidia-cublas==13.1.1.3', // libcublas, libcublasLt; cublas_v2.h
  'nvidia-cusparse==12.6.3.3', // libcusparse; cusparse.h
  'nvidia-cusolver==12.0.4.66', // cusolverDn.h (libtorch_cuda_linalg, loaded lazily, links it too)
  'nvidia-cufft==12.0.0.61',
  'nvidia-cufile==1.15.1.6',
  'nvidia-curand==10.4.0.35',
  'nvidia-cuda-nvrtc==13.0.88',
  'nvidia-cuda-cupti==13.0.85', // libtorch_cpu itself links libcupti
  'nvidia-nvjitlink==13.4.92', // libcusparse links it
  'nvidia-cudnn-cu13==9.24.0.43',
  'nvidia-cusparselt-cu13==0.8.1',
  'nvidia-nccl-cu13==2.30.7', // libnccl; nccl.h
  'nvidia-nvshmem-cu13==3.4.5', // libtorch_nvshmem links libnvshmem_host
];

/** The test files run with the CUDA build. */
const TESTS = [
  'test/cuda-build.test.mjs',
  'test/cuda.test.mjs',
  'test/tensor.test.mjs',
  'test/errors.test.mjs',
  'test/pt.test.mjs',
];

function log(line) {
  console.error(`[test:cuda-build] ${line}`);
}

function fail(line) {
  log(`FAILED: ${line}`);
  process.exit(1);
}

function cacheDir() {
  if (process.env.JEPA_CUDA_TORCH_CACHE) return path.resolve(process.env.JEPA_CUDA_TORCH_CACHE);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'jepa-native', `torch-${TORCH_VERSION}-cu130`);
}

/** Bytes under a folder (du -sb), or null when du is missing. */
function diskBytes(dir) {
  const r = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.split(/\s/)[0]) : null;
}

const gb = (bytes) => (bytes == null ? '?' : `${(bytes / 1e9).toFixed(2)} GB`);
const seconds = (t0) => `${((Date.now() - t0) / 1000).toFixed(0)} s`;

/**
 * Installs PACKAGES into CACHE/site-packages unless CACHE/.complete lists exactly them. pip
 * --target merges nothing into a folder that exists (it skips `nvidia/` when a later call brings
 * more of it), so everything goes in one call, into a fresh folder that is renamed when done.
 */
function install(cache) {
  const site = path.join(cache, 'site-packages');
  const marker = path.join(cache, '.complete');
  const want = JSON.stringify({ packages: PACKAGES }, null, 2) + '\n';
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === want && fs.existsSync(path.join(site, 'torch'))) {
    log(`CUDA torch ${TORCH_VERSION} already in ${cache}`);
    return { site, installed: false };
  }
  const python = process.env.PYTHON || 'python3';
  const partial = path.join(cache, 'site-packages.partial');
  fs.rmSync(marker, { force: true });
  fs.rmSync(partial, { recursive: true, force: true });
  fs.rmSync(site, { recursive: true, force: true });
  fs.mkdirSync(cache, { recursive: true });
  log(
    `installing torch ${TORCH_VERSION} (CUDA 13) and ${PACKAGES.length - 1} nvidia packages into ${cache} (${python} -m pip)`,
  );
  const args = [
    '-m',
    'pip',
    'install',
    '--no-deps',
    '--no-compile',
    '--only-binary=:all:',
    '--progress-bar',
    'off',
    '--disable-pip-version-check',
    '--target',
    partial,
    ...PACKAGES,
  ];
  const r = spawnSync(python, args, { stdio: 'inherit', env: { PIP_RETRIES: '0', ...process.env } });
  if (r.error) fail(`could not run ${python} -m pip: ${r.error.message} (set PYTHON to a Python with pip)`);
  if (r.status !== 0) fail(`pip could not install ${PACKAGES.join(' ')} (exit code ${r.status}; see above)`);
  fs.renameSync(partial, site);
  fs.writeFileSync(marker, want);
  return { site, installed: true };
}

/** The environment of the build: no CUDA toolkit named, LIBTORCH at the cache's torch. */
function buildEnv(torch) {
  const env = { ...process.env, LIBTORCH: torch };
  for (const v of ['CUDA_HOME', 'CUDA_PATH', 'CUDAToolkit_ROOT', 'CUDACXX', 'NCCL_INCLUDE_DIR']) delete env[v];
  return env;
}

function main() {
  const args = process.argv.slice(2);
  const installOnly = args.includes('--install-only');
  const buildOnly = args.includes('--build-only');
  const mochaArgs = args.filter((a) => a !== '--install-only' && a !== '--build-only');
  const start = Date.now();
  const figures = [];

  const cache = cacheDir();
  let t0 = Date.now();
  const { site, installed } = install(cache);
  figures.push(`${installed ? 'install' : 'cache check'} ${seconds(t0)}`);
  const torch = path.join(site, 'torch');
  if (installOnly) {
    log(`done: ${figures.join(', ')}; cache ${gb(diskBytes(cache))}`);
    return;
  }

  t0 = Date.now();
  log(`building build/cuda against ${torch} (node ${path.relative(ROOT, BUILD_JS)} --out build/cuda)`);
  const b = spawnSync(process.execPath, [BUILD_JS, '--out', BUILD], {
    cwd: ROOT,
    stdio: 'inherit',
    env: buildEnv(torch),
  });
  if (b.status !== 0) fail('the build against the CUDA libtorch failed (see above)');
  figures.push(`build ${seconds(t0)}`);

  if (!buildOnly) {
    t0 = Date.now();
    const mocha = require.resolve('mocha/bin/mocha.js');
    const files = mochaArgs.some((a) => a.endsWith('.mjs')) ? mochaArgs : [...TESTS, ...mochaArgs];
    log(`mocha ${files.join(' ')} with JEPA_ADDON=build/cuda/jepa_native.node`);
    const env = {
      ...process.env,
      JEPA_ADDON: path.join(BUILD, 'jepa_native.node'),
      JEPA_CUDA_BUILD_DIR: BUILD,
      JEPA_CUDA_TORCH: torch,
    };
    delete env.LIBTORCH;
    const m = spawnSync(
      process.execPath,
      [mocha, '--no-config', '--node-option', 'expose-gc', '--timeout', '600000', ...files],
      {
        cwd: ROOT,
        stdio: 'inherit',
        env,
      },
    );
    if (m.status !== 0) fail('tests against the CUDA build failed (see above)');
    figures.push(`tests ${seconds(t0)}`);
  }
  log(
    `passed in ${seconds(start)} (${figures.join(', ')}); disk: cache ${gb(diskBytes(cache))}, build/cuda ${gb(diskBytes(BUILD))}`,
  );
}

main();
