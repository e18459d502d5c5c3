'use strict';
// `npm run test:fuzz`: runs every fuzz harness for a bounded time (FUZZ_SECONDS each, default 45):
// the libFuzzer harnesses of native/fuzz/ (scripts/dev/fuzz.sh: .pt reader, tensor-file reader, mask
// samplers; clang + libFuzzer needed, else skipped, or a failure when CI=true) and the fast-check
// harnesses of test/fuzz/ (safetensors and .npy readers, mask options). Each starts from its
// corpus in test/fuzz-corpus/; `npm run fuzz:merge` adds what the native ones found there.
// Fails on the first harness that finds a crash, a sanitizer report, a wrong error or a hang.

const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const secs = Number(process.env.FUZZ_SECONDS || 45);
if (!(secs > 0)) {
  console.error(`test-fuzz: FUZZ_SECONDS must be a positive number, got ${process.env.FUZZ_SECONDS}`);
  process.exit(2);
}
const only = process.argv.slice(2);

// [name, command, args]; a harness gets secs plus a margin for its build before it counts as hung.
const HARNESSES = [
  ['pt', 'bash', ['scripts/dev/fuzz.sh', 'pt', String(secs)]],
  ['tensor_file', 'bash', ['scripts/dev/fuzz.sh', 'tensor_file', String(secs)]],
  ['masks', 'bash', ['scripts/dev/fuzz.sh', 'masks', String(secs)]],
  ['formats', process.execPath, ['test/fuzz/formats.fuzz.mjs', String(secs)]],
  ['masks-options', process.execPath, ['test/fuzz/masks-options.fuzz.mjs', String(secs)]],
];

const results = [];
for (const [name, cmd, args] of HARNESSES) {
  if (only.length > 0 && !only.includes(name)) continue;
  console.error(`\n[test:fuzz] ${name}: ${cmd === 'bash' ? args.join(' ') : `node ${args.join(' ')}`}`);
  const started = Date.now();
  // Builds of the native harnesses take minutes on a small machine: 20 minutes of margin for
  // them; a JS harness that overruns by 2 minutes is hung on one input (find it with FUZZ_TRACE).
  const limit = secs + (cmd === 'bash' ? 1200 : 120);
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', timeout: limit * 1000, killSignal: 'SIGKILL' });
  const took = ((Date.now() - started) / 1000).toFixed(0);
  if (r.error && r.error.code === 'ETIMEDOUT') {
    console.error(`[test:fuzz] ${name}: did not finish in ${limit} s (a hang? rerun with FUZZ_TRACE=FILE)`);
    process.exit(1);
  }
  if (r.status !== 0) {
    console.error(`[test:fuzz] ${name}: FAILED (exit ${r.status ?? r.signal}) after ${took} s; see above`);
    process.exit(1);
  }
  results.push(`${name} ${took} s`);
}
console.error(`[test:fuzz] all clean: ${results.join(', ')}`);
