'use strict';
// Formatting: prettier (.prettierrc.json) for the JS/TS sources and clang-format (.clang-format,
// the `clang-format` npm package's binary, so every machine formats alike) for native/.
//
//   node scripts/dev/format.js          rewrite the files (npm run format)
//   node scripts/dev/format.js --check  list the files that are not formatted, exit 1 if any
//                                       (npm run lint)

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const check = process.argv.includes('--check');

/** Tracked and untracked-but-not-ignored files under `dirs` (git's view, as a checkout has it). */
function files(dirs, re) {
  const r = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', ...dirs], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`git ls-files failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((f) => f && re.test(f) && fs.existsSync(path.join(ROOT, f)));
}

let failed = false;

const JS_DIRS = ['lib', 'test', 'scripts', 'bench', 'bin', 'examples'];
const jsFiles = files(JS_DIRS, /\.(ts|mts|cts|js|mjs|cjs)$/).filter((f) => !f.startsWith('test/fuzz-corpus/'));
const prettier = require.resolve('prettier/bin/prettier.cjs');
let r = spawnSync(
  process.execPath,
  [prettier, check ? '--list-different' : '--write', '--log-level', 'warn', ...jsFiles],
  {
    cwd: ROOT,
    encoding: 'utf8',
  },
);
if (check && r.stdout.trim()) {
  console.error(
    `[format] not formatted by prettier (npm run format fixes them):\n  ${r.stdout.trim().split('\n').join('\n  ')}`,
  );
  failed = true;
}
if (r.status !== 0 && !(check && r.status === 1)) {
  console.error(r.stderr);
  process.exit(2);
}

const clangFormat = path.join(
  path.dirname(require.resolve('clang-format/package.json')),
  'bin',
  `${process.platform}_x64`,
  'clang-format',
);
const cppFiles = files(['native'], /\.(cc|h)$/).filter((f) => !f.includes('/gloo_decl/'));
if (!fs.existsSync(clangFormat)) {
  console.error(
    `[format] no clang-format binary for ${process.platform}-${process.arch} in the clang-format package: C++ left unchecked`,
  );
} else {
  const args = check ? ['--dry-run', '--Werror', '--style=file'] : ['-i', '--style=file'];
  r = spawnSync(clangFormat, [...args, ...cppFiles], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) {
    if (!check) {
      console.error(r.stderr);
      process.exit(2);
    }
    const bad = [...new Set([...r.stderr.matchAll(/^([^:\n]+\.(?:cc|h)):\d+:\d+: error/gm)].map((m) => m[1]))];
    console.error(`[format] not formatted by clang-format (npm run format fixes them):\n  ${bad.join('\n  ')}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
