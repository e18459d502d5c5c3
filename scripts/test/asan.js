'use strict';
// `npm run test:asan`: the whole mocha suite against the AddressSanitizer + UndefinedBehavior-
// Sanitizer build of the addon (build/asan/jepa_native.node, `node scripts/install/build.js --sanitize`,
// gcc's -fsanitize=address,undefined). Node and libtorch are not instrumented, so the ASan
// runtime is preloaded (LD_PRELOAD) into node and into every process the tests start; the addon
// is chosen with JEPA_ADDON (lib/core/binding.ts). Any report fails the run (UBSan aborts: the build
// uses -fno-sanitize-recover). The options, and why each is set, are in RELIABILITY.md.
// Without a compiler that has the ASan runtime it prints "skipped" and exits 0; with CI=true it
// fails instead (on Debian, g++, which builds the addon anyway, brings libasan8).
//
//   node scripts/test/asan.js [mocha arguments, e.g. test/pt-hostile.test.mjs]

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');

function skip(why) {
  if (process.env.CI === 'true') {
    console.error(`[test:asan] ${why} (CI=true: failing)`);
    process.exit(1);
  }
  console.error(`[test:asan] skipped: ${why}`);
  process.exit(0);
}

/** The shared ASan runtime of the compiler cmake-js uses (gcc: libasan.so), or null. */
function asanRuntime() {
  const cxx = process.env.CXX || 'g++';
  const r = spawnSync(cxx, ['-print-file-name=libasan.so'], { encoding: 'utf8' });
  const file = r.status === 0 ? r.stdout.trim() : '';
  return file && path.isAbsolute(file) && fs.existsSync(file) ? fs.realpathSync(file) : null;
}

const runtime = asanRuntime();
if (!runtime) skip('no ASan runtime: install g++ with libasan (Debian: apt-get install g++, which brings libasan8)');

console.error('[test:asan] building build/asan/jepa_native.node (node scripts/install/build.js --sanitize)');
// The libtorch of the normal build (build/Release/build-info.json), unless LIBTORCH says otherwise.
const buildEnv = { ...process.env };
const info = path.join(ROOT, 'build', 'Release', 'build-info.json');
if (!buildEnv.LIBTORCH && fs.existsSync(info))
  buildEnv.LIBTORCH = JSON.parse(fs.readFileSync(info, 'utf8')).libtorchDir;
let r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'install', 'build.js'), '--sanitize'], {
  cwd: ROOT,
  stdio: 'inherit',
  env: buildEnv,
});
if (r.status !== 0) process.exit(r.status || 1);

// The test Python runs without the ASan runtime: Python and torch are not instrumented, and in a
// process whose executable does not link libstdc++ (python) the preloaded runtime cannot find the
// real __cxa_throw, so the first C++ exception torch throws and catches inside (torchvision's
// operator registrations do) fails an ASan CHECK. A wrapper keeps the preload list in
// JEPA_ASAN_PRELOAD, drops LD_PRELOAD and execs the test Python; the tests and the CLI take it
// through JEPA_PYTHON. A Python script that starts node again (examples/python_roundtrip.py) is
// given a node wrapper (JEPA_NODE) that puts the runtime back, since the addon it loads needs it.
function asanWrappers() {
  let python = process.env.JEPA_PYTHON;
  const config = path.join(ROOT, 'build', 'config.json');
  if (!python && fs.existsSync(config)) python = JSON.parse(fs.readFileSync(config, 'utf8')).python;
  const node = path.join(ROOT, 'build', 'asan', 'node');
  fs.writeFileSync(
    node,
    `#!/bin/sh\nLD_PRELOAD="\${JEPA_ASAN_PRELOAD:-$LD_PRELOAD}"\nexport LD_PRELOAD\nexec ${JSON.stringify(process.execPath)} "$@"\n`,
    { mode: 0o755 },
  );
  if (!python) return { JEPA_NODE: node };
  const wrapper = path.join(ROOT, 'build', 'asan', 'python');
  fs.writeFileSync(
    wrapper,
    `#!/bin/sh\nJEPA_ASAN_PRELOAD="$LD_PRELOAD"\nexport JEPA_ASAN_PRELOAD\nunset LD_PRELOAD\nexec ${JSON.stringify(python)} "$@"\n`,
    { mode: 0o755 },
  );
  return { JEPA_NODE: node, JEPA_PYTHON: wrapper };
}

const env = {
  ...process.env,
  ...asanWrappers(),
  JEPA_ADDON: path.join(ROOT, 'build', 'asan', 'jepa_native.node'),
  LD_PRELOAD: [runtime, process.env.LD_PRELOAD].filter(Boolean).join(':'),
  // detect_leaks=0: node and V8 keep memory until exit by design, and LeakSanitizer cannot tell
  // it from ours. allocator_may_return_null=1: the tests ask for allocations above any memory
  // and expect JEPA_OUT_OF_MEMORY, as without ASan. detect_odr_violation=0: libtorch's globals,
  // seen by an instrumented and an uninstrumented library. halt_on_error: first report ends it.
  ASAN_OPTIONS:
    process.env.ASAN_OPTIONS ||
    'detect_leaks=0:allocator_may_return_null=1:detect_odr_violation=0:halt_on_error=1:abort_on_error=0:exitcode=86',
  UBSAN_OPTIONS: process.env.UBSAN_OPTIONS || 'print_stacktrace=1:halt_on_error=1',
};
const mocha = require.resolve('mocha/bin/mocha.js');
console.error(`[test:asan] mocha with LD_PRELOAD=${runtime} JEPA_ADDON=build/asan/jepa_native.node`);
// The files named on the command line, else the whole suite (as `npm run test:mocha`).
const files = process.argv.slice(2);
// The stack: gcc's ASan gives each native frame its own redzones, so the recursive value
// converters (pt_binding.cc, pickle_writer.cc) use about 7 KB a nesting level instead of 1 and
// reach V8's default stack limit (984 KB) long before the nesting limit of 1000 they enforce.
// The main thread's stack is raised to 64 MB (ulimit -s) and V8's limit to 30 MB (RELIABILITY.md).
const stack = ['--node-option', 'stack-size=30000'];
const args = [...stack, ...(files.length > 0 ? files : ['test/*.test.mjs'])];
r = spawnSync('bash', ['-c', 'ulimit -s 65536 && exec "$@"', 'bash', process.execPath, mocha, ...args], {
  cwd: ROOT,
  stdio: 'inherit',
  env,
});
if (r.status !== 0) {
  console.error(
    `[test:asan] FAILED (exit ${r.status ?? r.signal}): a test failed or a sanitizer reported (exit 86 = ASan)`,
  );
  process.exit(r.status || 1);
}
console.error('[test:asan] the suite passed with no sanitizer report');
