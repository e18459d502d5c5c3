'use strict';
// `npm run prebuild`: makes the prebuilt binary that `npm pack` ships, from the cmake-js build.
//
// It writes what `prebuildify --napi --tag-libc --strip` would (prebuilds/<platform>-<arch>/
// node.napi.glibc.node, which node-gyp-build finds; Node-API, so one binary serves every Node
// version with Node-API 8), but from build/Release/jepa_native.node: prebuildify itself runs
// `node-gyp rebuild`, which would wipe build/ and compile everything a second time.
//
// On top of prebuildify it:
//   - removes the RUNPATH (it names the build machine's libtorch folder; see elf-runpath.js);
//   - writes libtorch.json: the libtorch version, C++ ABI and CPU/CUDA the binary was built
//     against, and the libraries it links, which lib/core/binding.ts checks and preloads at load time.
//
//   node scripts/dev/prebuild.js      (compiles first, incrementally, when build/Release has no addon)
//   node scripts/dev/prebuild.js --from build/cuda --to DIR
//                                     a prebuild of another build folder (scripts/install/build.js
//                                     --out), written into DIR/prebuilds/ (npm run test:cuda-build)

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { cxx11Abi, ROOT } = require('../install/find-libtorch');
const { readNeeded, readRunpath, removeRunpath } = require('./elf-runpath');
const { prebuildDir, INFO_FILE, PREBUILD_FILE } = require('../install/prebuilt');

function log(line) {
  console.error(`[jepa-native] ${line}`);
}

/** The value after `--name`, or null when the option is absent. */
function option(args, name) {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return null;
  if (!args[i + 1] || args[i + 1].startsWith('--')) throw new Error(`--${name} needs a folder`);
  return path.resolve(args[i + 1]);
}

function main() {
  if (os.platform() !== 'linux') throw new Error(`prebuilds are made on Linux only (this is ${os.platform()})`);
  const args = process.argv.slice(2);
  const from = option(args, 'from');
  const to = option(args, 'to') ?? ROOT;
  const buildDir = from ?? path.join(ROOT, 'build', 'Release');
  const built = path.join(buildDir, 'jepa_native.node');
  const infoPath = path.join(buildDir, 'build-info.json');
  if (from && (!fs.existsSync(built) || !fs.existsSync(infoPath))) {
    throw new Error(`${from} holds no build (jepa_native.node and build-info.json): build it with scripts/install/build.js --out`);
  }
  if (!fs.existsSync(built) || !fs.existsSync(infoPath)) {
    log('no build in build/Release: building first');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'install', 'build.js')], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('the native build failed');
  }
  const build = JSON.parse(fs.readFileSync(infoPath, 'utf8'));

  const dir = prebuildDir(to);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, PREBUILD_FILE);
  fs.copyFileSync(built, out);

  // --strip, as prebuildify does it: the symbol table and debug sections go, the dynamic symbols stay.
  const strip = spawnSync('strip', ['--strip-all', out], { stdio: 'inherit' });
  if (strip.error || strip.status !== 0) log('`strip` is not available or failed: the prebuild keeps its symbol table');

  const buf = fs.readFileSync(out);
  const was = removeRunpath(buf);
  fs.writeFileSync(out, buf);
  if (readRunpath(fs.readFileSync(out))) throw new Error(`${out} still has a RUNPATH`);

  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const info = {
    package: `${pkg.name}@${pkg.version}`,
    platform: os.platform(),
    arch: os.arch(),
    libc: 'glibc',
    glibc: process.report.getReport().header.glibcVersionRuntime || null,
    napiVersion: Math.max(...(pkg.binary?.napi_versions || [8])),
    torchVersion: build.torchVersion,
    cxx11Abi: cxx11Abi(build.libtorchLibDir),
    cuda: Boolean(build.cuda),
    needed: readNeeded(buf),
    builtAt: new Date().toISOString(),
  };
  fs.writeFileSync(path.join(dir, INFO_FILE), JSON.stringify(info, null, 2) + '\n');
  const size = (fs.statSync(out).size / 1e6).toFixed(2);
  log(`wrote ${path.relative(process.cwd(), out)} (${size} MB, libtorch ${info.torchVersion}, ${info.cuda ? 'CUDA' : 'CPU'}; RUNPATH ${was ? 'removed' : 'none'})`);
}

try {
  main();
} catch (e) {
  console.error(`[jepa-native] prebuild failed: ${e.message}`);
  process.exit(1);
}
