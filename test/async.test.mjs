// The async machinery (native/core/async.{h,cc}, lib/core/poll.ts): the addon's own worker pool and
// the way results come back keep the guarantees of libuv's pool: promises settle with values or
// coded errors, an environment torn down with work in flight (a terminated worker thread, a
// process.exit) neither crashes nor runs JS off its thread, and an idle addon never keeps the
// process alive.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import jepa from 'jepa-native';
import { after, before, describe, it } from 'mocha';
import { cleanup, rejection, ROOT, runNode, tmpDir } from './helpers.mjs';

let dir;
const file = (n) => path.join(dir, n);

describe('async machinery', function () {
  this.timeout(120000);

  before(function () {
    dir = tmpDir('async-');
    for (let i = 0; i < 20; i++)
      jepa.saveSync(file(`f${i}.pt`), { features: jepa.randn([16, 64], { seed: i }), id: i });
  });
  after(() => cleanup(dir));

  it('settles many concurrent calls of different kinds, each with its own value or error', async function () {
    const calls = [];
    for (let i = 0; i < 20; i++) {
      calls.push(jepa.load(file(`f${i}.pt`)).then((v) => v.id));
      calls.push(
        jepa
          .randn([8], { seed: i })
          .toAsync('float64')
          .then((t) => t.dtype),
      );
      calls.push(rejection(jepa.load(file(`missing${i}.pt`))).then((e) => e.code));
    }
    const out = await Promise.all(calls);
    for (let i = 0; i < 20; i++)
      expect(out.slice(3 * i, 3 * i + 3)).to.deep.equal([i, 'float64', 'JEPA_FILE_NOT_FOUND']);
  });

  it('runs a job on a pool thread, not on the JS thread (the event loop turns while it runs)', async function () {
    const big = jepa.randn([2048, 2048], { seed: 1 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const before = ticks;
    for (let i = 0; i < 3; i++) (await big.toAsync('float64')).dispose();
    clearInterval(timer);
    expect(ticks).to.be.above(before);
  });

  it('a worker thread terminated with work in flight, and one exiting normally, leave the process sound', async function () {
    const { Worker } = await import('node:worker_threads');
    for (const terminate of [true, false]) {
      const w = new Worker(
        `
const { parentPort, workerData } = require('node:worker_threads');
const jepa = require(workerData.lib);
const big = jepa.randn([512, 512], { seed: 2 });
for (let i = 0; i < 50; i++) { jepa.load(workerData.file).catch(() => {}); big.toAsync('float64').catch(() => {}); }
parentPort.postMessage('started');`,
        { eval: true, workerData: { lib: path.join(ROOT, 'dist', 'index.js'), file: file('f0.pt') } },
      );
      const exited = new Promise((r) => w.on('exit', r));
      await new Promise((resolve, reject) => {
        w.on('message', resolve);
        w.on('error', reject);
      });
      if (terminate) await w.terminate();
      await exited;
    }
    // The main thread's async calls still work.
    expect((await jepa.load(file('f1.pt'))).id).to.equal(1);
  });

  it('workers terminated while their calls throw, one after another, never abort the process (scripts/dev/terminate-stress.mjs)', function () {
    // Before the fix (CMakeLists.txt, NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS) this aborted at the
    // first or second worker: "terminate called after throwing an instance of 'Napi::Error'".
    this.timeout(120000);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'dev', 'terminate-stress.mjs'), '20'], {
      encoding: 'utf8',
    });
    expect([r.status, r.signal], r.stderr).to.deep.equal([0, null]);
    expect(r.stdout).to.contain('terminated 20 workers in their calls; the process is sound');
  });

  it('never keeps an idle process alive, and process.exit with work in flight is clean', function () {
    const lib = path.join(ROOT, 'dist', 'index.mjs');
    const idle = runNode(
      `import jepa from ${JSON.stringify(lib)}; const v = await jepa.load(${JSON.stringify(file('f2.pt'))}); console.log(v.id);`,
    );
    expect([idle.status, idle.stdout.trim()], idle.stderr).to.deep.equal([0, '2']);
    const exiting = runNode(`
import jepa from ${JSON.stringify(lib)};
const big = jepa.randn([512, 512], { seed: 3 });
for (let i = 0; i < 20; i++) { big.toAsync('float64'); jepa.load(${JSON.stringify(file('f3.pt'))}); }
setImmediate(() => process.exit(7));`);
    expect(exiting.status, exiting.stderr).to.equal(7);
    expect(exiting.stderr).to.equal('');
  });

  it('a lone load of a cached small file (read on the JS thread) equals loadSync; others take the worker path', async function () {
    const inline = await jepa.load(file('f5.pt'));
    const sync = jepa.loadSync(file('f5.pt'));
    expect(inline.id).to.equal(5);
    expect(Array.from(inline.features.data())).to.deep.equal(Array.from(sync.features.data()));
    // A large file (above 1 MiB), a folder and a missing file: the worker path and its errors.
    jepa.saveSync(file('large.pt'), { features: jepa.randn([600, 600], { seed: 1 }) });
    expect((await jepa.load(file('large.pt'))).features.shape).to.deep.equal([600, 600]);
    expect((await rejection(jepa.load(dir))).code).to.equal('JEPA_IO_ERROR');
    expect((await rejection(jepa.load(file('none.pt')))).code).to.equal('JEPA_FILE_NOT_FOUND');
    // Two loads of one turn (a batch of two) are served inline too, each with its own value.
    const [a, b] = await Promise.all([jepa.load(file('f6.pt')), jepa.load(file('f7.pt'))]);
    expect([a.id, b.id]).to.deep.equal([6, 7]);
  });

  it('JEPA_ASYNC_SPIN_US=0 turns the short wait off (results still arrive)', function () {
    const lib = path.join(ROOT, 'dist', 'index.mjs');
    const r = runNode(
      `import jepa from ${JSON.stringify(lib)}; const v = await jepa.load(${JSON.stringify(file('f4.pt'))}); console.log(v.id);`,
      { env: { JEPA_ASYNC_SPIN_US: '0' } },
    );
    expect([r.status, r.stdout.trim()], r.stderr).to.deep.equal([0, '4']);
  });
});
