'use strict';
// Builds the addon with cmake-js; CMakeLists.txt (find_package(Torch)) is the one source of
// compile and link flags. Writes build/Release/jepa_native.node and, next to it,
// build-info.json recording the libtorch it was built against (checked at load time).
// --sanitize builds the AddressSanitizer + UBSan variant in its own folders instead
// (build/asan/cmake, build/asan/jepa_native.node), which `npm run test:asan` loads.
// --out DIR builds into DIR/cmake and DIR/jepa_native.node (`npm run test:cuda-build` builds
// against a CUDA libtorch, named by LIBTORCH, into build/cuda); JEPA_ADDON=DIR/jepa_native.node
// loads such a build.
//
//   node scripts/install/build.js [--clean] [--debug] [--sanitize] [--out DIR]

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { core, ROOT } = require('./compiled');

function log(line) {
  console.error(`[jepa-native] ${line}`);
}

function main() {
  const args = process.argv.slice(2);
  const libtorch = core('libtorch').findLibtorch({ log });
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const jobs = String(Math.max(1, os.cpus().length));
  const sanitize = args.includes('--sanitize');
  const outArg = args.indexOf('--out');
  if (outArg >= 0 && !args[outArg + 1]) {
    console.error('[jepa-native] --out needs a folder');
    process.exit(2);
  }
  const variantDir =
    outArg >= 0 ? path.resolve(ROOT, args[outArg + 1]) : sanitize ? path.join(ROOT, 'build', 'asan') : null;
  const outDir = variantDir ?? path.join(ROOT, 'build', 'Release');
  const cmd = [
    cmakeJs,
    // 'build', not 'compile': cmake-js's compile answers a failed build with a full rebuild.
    args.includes('--clean') ? 'rebuild' : 'build',
    '--out',
    variantDir ? path.join(variantDir, 'cmake') : path.join('build', 'cmake'),
    '--parallel',
    jobs,
    `--CDCMAKE_PREFIX_PATH=${libtorch.cmakePrefix}`,
    `--CDJEPA_LIBTORCH_DIR=${libtorch.dir}`,
  ];
  if (args.includes('--debug')) cmd.push('--debug');
  if (sanitize) cmd.push('--CDJEPA_SANITIZE=ON');
  if (variantDir) cmd.push(`--CDJEPA_OUTPUT_DIR=${outDir}`);
  log(`building against libtorch ${libtorch.version} at ${libtorch.dir}`);
  const r = spawnSync(process.execPath, cmd, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('[jepa-native] the native build failed (see the cmake output above)');
    process.exit(r.status || 1);
  }
  const addon = path.join(outDir, 'jepa_native.node');
  if (!fs.existsSync(addon)) {
    console.error(`[jepa-native] the build finished but ${addon} is missing`);
    process.exit(1);
  }
  const info = {
    libtorchDir: libtorch.dir,
    libtorchLibDir: libtorch.libDir,
    torchVersion: libtorch.version,
    cuda: libtorch.cuda,
    source: libtorch.source,
    builtAt: new Date().toISOString(),
  };
  fs.writeFileSync(path.join(outDir, 'build-info.json'), JSON.stringify(info, null, 2) + '\n');
  log(`built ${path.relative(ROOT, addon)}`);
}

main();
