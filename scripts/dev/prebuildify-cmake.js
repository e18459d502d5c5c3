#!/usr/bin/env node
'use strict';
// prebuildify's build backend for this package (`npm run prebuild`, scripts/dev/prebuild.js):
// prebuildify runs it where it would run node-gyp (`rebuild --target=<node> --release ...`, in
// its working folder) and takes the .node it finds in that folder's build/Release. The addon is
// built with cmake-js from CMakeLists.txt, the one build (binding.gyp only hands off to it):
// scripts/install/build.js, incrementally in build/cmake, then the result is copied where
// prebuildify looks. A from-scratch `rebuild` would compile every file again for the same binary
// (CONTRIBUTING.md has the measured cost), so prebuildify's `rebuild` is answered with an
// incremental build. Node-API: one binary serves every Node version, whatever --target says.

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
if (args[0] !== 'rebuild') {
  console.error(`prebuildify-cmake: only \`rebuild\` is supported (got ${args.join(' ')})`);
  process.exit(2);
}
if (args.includes('--debug')) {
  console.error('prebuildify-cmake: prebuilds are release builds (no --debug)');
  process.exit(2);
}
// JEPA_PREBUILD_FROM (scripts/dev/prebuild.js --from): a finished build folder, taken as it is.
const from = process.env.JEPA_PREBUILD_FROM || path.join(ROOT, 'build', 'Release');
if (!process.env.JEPA_PREBUILD_FROM) {
  // The libtorch of the existing build (build-info.json), unless LIBTORCH says otherwise: the
  // prebuild must not silently switch to another libtorch that discovery happens to find first.
  const env = { ...process.env };
  const info = path.join(from, 'build-info.json');
  if (!env.LIBTORCH && fs.existsSync(info)) env.LIBTORCH = JSON.parse(fs.readFileSync(info, 'utf8')).libtorchDir;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'install', 'build.js')], {
    cwd: ROOT,
    stdio: 'inherit',
    env,
  });
  if (r.status !== 0) process.exit(r.status || 1);
}
const out = path.resolve('build', 'Release');
fs.mkdirSync(out, { recursive: true });
fs.copyFileSync(path.join(from, 'jepa_native.node'), path.join(out, 'jepa_native.node'));
