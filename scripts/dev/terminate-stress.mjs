// node scripts/dev/terminate-stress.mjs [WORKERS]
//
// Terminates WORKERS worker threads (default 100), each at a random moment while it calls the
// addon in a tight loop whose calls throw (a JS error made by the addon on every call). Node-API
// refuses to throw while a worker is torn down; before the fix in CMakeLists.txt
// (NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS with NAPI_VERSION=10) node-addon-api then threw a C++
// exception out of its callback and the whole process aborted ("terminate called after throwing
// an instance of 'Napi::Error'") within the first 100 workers on every run. Prints how many
// workers were terminated; test/async.test.mjs runs it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const lib = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'index.js');
const count = Number(process.argv[2] ?? 100);
const code = `
const jepa = require(${JSON.stringify(lib)});
const { parentPort } = require('node:worker_threads');
const t = jepa.zeros([2, 2]);
parentPort.postMessage('ready');
for (;;) {
  try { t.reshape([3]); } catch {}
  try { jepa.setNumThreads(0); } catch {}
}`;
for (let i = 0; i < count; i++) {
  const w = new Worker(code, { eval: true });
  await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
  await w.terminate();
  if (process.env.VERBOSE) console.error(`terminated ${i + 1}`);
}
console.log(`terminated ${count} workers in their calls; the process is sound`);
