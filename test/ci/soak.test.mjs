// The short form of the soak test (`npm run soak` runs it for 5 minutes), run by `npm run test:ci`
// (`npm run test:long`), not by the quick loop: scripts/dev/soak.mjs in its
// own process for about 25 seconds: many concurrent async loads, saves, forwards, mask batches
// and EMA updates with random sizes, every result checked, RSS and jepa.memory() required to
// stay flat after the warm-up (with tolerances meant for a loaded 2-core machine), no tensor
// handle left at the end. The event loop's lag is reported, never asserted.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { describe, it } from 'mocha';
import { ROOT } from '../helpers.mjs';

describe('soak (short form)', function () {
  this.timeout(180000);

  it('runs concurrent mixed work for 25 s with correct results and flat memory', function () {
    const r = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        path.join(ROOT, 'scripts', 'dev', 'soak.mjs'),
        '--seconds',
        '25',
        '--warmup',
        '10',
        '--concurrency',
        '6',
        '--json',
      ],
      { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    const lines = r.stdout.trim().split('\n');
    let result;
    try {
      result = JSON.parse(lines[lines.length - 1]);
    } catch {
      throw new Error(`the soak run printed no result (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
    }
    const summary = JSON.stringify(result, null, 1);
    expect(result.errors, summary).to.deep.equal([]);
    for (const [op, n] of Object.entries(result.counts)) expect(n, `${op} operations done`).to.be.greaterThan(0);
    expect(result.liveTensors.final, 'tensor handles alive at the end').to.be.at.most(result.liveTensors.baseline);
    expect(result.problems, summary).to.deep.equal([]);
    expect(result.ok).to.equal(true);
    expect(r.status, r.stderr).to.equal(0);
    console.log(
      `      ${result.ops} ops (${result.opsPerSecond}/s), RSS ${result.rssMiB.afterWarmup} -> ${result.rssMiB.end} MiB, ` +
        `event loop lag max ${result.eventLoopLagMs.max} ms, p99 ${result.eventLoopLagMs.p99} ms`,
    );
  });
});
