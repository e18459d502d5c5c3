'use strict';
// `npm run prebuild`: the prebuilt binary that `npm pack` ships. prebuildify makes it
// (`--napi --strip --tag-libc`: prebuilds/<platform>-<arch>/node.napi.glibc.node, which
// node-gyp-build finds; Node-API, so one binary serves every Node version with Node-API 8), with
// cmake-js as its build backend (scripts/dev/prebuildify-cmake.js, in place of node-gyp). Then
// this script:
//   - removes the RUNPATH (it names the build machine's libtorch folder; see elf-runpath.js);
//   - writes libtorch.json: the libtorch version, C++ ABI and CPU/CUDA the binary was built
//     against, and the libraries it links, which lib/core/binding.ts checks and preloads at load time.
//
//   node scripts/dev/prebuild.js
//   node scripts/dev/prebuild.js --from build/cuda --to DIR
//                     a prebuild of another build folder (scripts/install/build.js --out), written
//                     into DIR/prebuilds/ (npm run test:cuda-build); the backend then only copies it

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const prebuildify = require('prebuildify');
const { core, ROOT } = require('../install/compiled');
const { cxx11Abi } = core('libtorch');
const { readNeeded, readRunpath, removeRunpath } = require('./elf-runpath');
const { prebuildDir, INFO_FILE, PREBUILD_FILE } = core('prebuilt');

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

/**
 * Runs prebuildify; its working folder is a staging folder, so that it moves the copy made there
 * into `to`/prebuilds/, never the build's own jepa_native.node. `from`: a build folder to take
 * as it is (the backend copies it instead of building).
 */
function runPrebuildify(from, to) {
  const stage = path.join(ROOT, 'build', 'prebuildify');
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  fs.rmSync(prebuildDir(to), { recursive: true, force: true });
  if (from) process.env.JEPA_PREBUILD_FROM = from;
  return new Promise((resolve, reject) => {
    prebuildify(
      {
        cwd: stage,
        out: to,
        // <name>.<tags>.node: prebuildify 6 leaves the `napi` tag out of a Node-API build's
        // name; with it, node-gyp-build knows the binary serves every Node version.
        name: 'node.napi',
        napi: true,
        strip: true,
        tagLibc: true,
        nodeGyp: path.join(ROOT, 'scripts', 'dev', 'prebuildify-cmake.js'),
      },
      (err) => (err ? reject(err) : resolve()),
    );
  });
}

async function main() {
  if (os.platform() !== 'linux') throw new Error(`prebuilds are made on Linux only (this is ${os.platform()})`);
  const args = process.argv.slice(2);
  const from = option(args, 'from');
  const to = option(args, 'to') ?? ROOT;
  if (
    from &&
    (!fs.existsSync(path.join(from, 'jepa_native.node')) || !fs.existsSync(path.join(from, 'build-info.json')))
  ) {
    throw new Error(
      `${from} holds no build (jepa_native.node and build-info.json): build it with scripts/install/build.js --out`,
    );
  }
  await runPrebuildify(from, to);
  const dir = prebuildDir(to);
  const out = path.join(dir, PREBUILD_FILE);
  if (!fs.existsSync(out)) throw new Error(`prebuildify did not write ${out}`);
  const build = JSON.parse(
    fs.readFileSync(path.join(from ?? path.join(ROOT, 'build', 'Release'), 'build-info.json'), 'utf8'),
  );

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
  log(
    `wrote ${path.relative(process.cwd(), out)} (${size} MB, libtorch ${info.torchVersion}, ${info.cuda ? 'CUDA' : 'CPU'}; RUNPATH ${was ? 'removed' : 'none'})`,
  );
}

main().catch((e) => {
  console.error(`[jepa-native] prebuild failed: ${e.message}`);
  process.exit(1);
});
