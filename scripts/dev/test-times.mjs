// The wall time of each mocha test file, one file per mocha process (so a file's before() hooks
// and its Python references count), slowest first. For keeping `npm test` inside its budget
// (CONTRIBUTING.md, "Tests and their time"); run it on an idle machine.
//
//   node scripts/dev/test-times.mjs [--json FILE] [test/x.test.mjs ...]

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const mocha = createRequire(import.meta.url).resolve('mocha/bin/mocha.js');
const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonFile = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : null;
const files =
  args.length > 0
    ? args
    : fs
        .readdirSync(path.join(ROOT, 'test'))
        .filter((f) => f.endsWith('.test.mjs'))
        .map((f) => `test/${f}`);

const results = [];
for (const file of files) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [mocha, '--reporter', 'dot', file], { cwd: ROOT, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  results.push({ file, seconds: Math.round(seconds * 10) / 10, ok: r.status === 0 });
  console.error(`${seconds.toFixed(1).padStart(7)} s  ${r.status === 0 ? 'ok    ' : 'FAILED'}  ${file}`);
}
results.sort((a, b) => b.seconds - a.seconds);
const total = results.reduce((n, r) => n + r.seconds, 0);
console.log(
  results.map((r) => `${r.seconds.toFixed(1).padStart(7)} s  ${r.file}${r.ok ? '' : '  (FAILED)'}`).join('\n'),
);
console.log(`${total.toFixed(1).padStart(7)} s  in all (${(total / 60).toFixed(1)} min)`);
if (jsonFile) fs.writeFileSync(jsonFile, JSON.stringify({ total, results }, null, 2) + '\n');
if (results.some((r) => !r.ok)) process.exitCode = 1;
