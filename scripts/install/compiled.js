'use strict';
// The install scripts use the loader's own libtorch discovery and prebuild fitting
// (lib/core/libtorch.ts, lib/core/prebuilt.ts), compiled into dist/, so that installing and
// loading decide alike. The package ships dist/; a checkout that has not compiled the TypeScript
// yet compiles it here first.

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');

/** Compiles lib/ into dist/ (tsc, then the ES-module entry). */
function compileTypeScript() {
  for (const args of [
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'],
    [path.join(ROOT, 'scripts', 'dev', 'write-esm.js')],
  ]) {
    console.error(`[jepa-native] $ node ${path.relative(ROOT, args[0])} ${args.slice(1).join(' ')}`);
    const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`compiling the TypeScript failed (exit code ${r.status})`);
  }
}

/** dist/core/<name>.js, compiled first when it is missing. */
function core(name) {
  const file = path.join(ROOT, 'dist', 'core', `${name}.js`);
  if (!fs.existsSync(file)) compileTypeScript();
  return require(file);
}

module.exports = { compileTypeScript, core, ROOT };
