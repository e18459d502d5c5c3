// `npm run train:digits` runs end to end (a few steps only: the full run is in docs/training.md):
// Python prepares scikit-learn's digits and the tiny I-JEPA, Node trains, the probes run, and the
// loss curve is a PNG.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { after, describe, it } from 'mocha';
import { PNG } from 'pngjs';
import { cleanup, ROOT, tmpDir } from './helpers.mjs';

describe('examples/train-digits.mjs (npm run train:digits)', function () {
  this.timeout(300000);
  const out = tmpDir('digits-');
  after(() => cleanup(out));

  it('trains a few steps from Node, writes the loss curve (PNG) and the probe accuracies', () => {
    const r = spawnSync(
      process.execPath,
      [path.join(ROOT, 'examples', 'train-digits.mjs'), '--steps', '3', '--out', out, '--quiet'],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).to.equal(0);
    const result = JSON.parse(fs.readFileSync(path.join(out, 'digits-result.json'), 'utf8'));
    expect(result).to.include({ images: 1797, steps: 3, batch: 32 });
    expect(result.lossFirst).to.be.greaterThan(0);
    for (const k of ['trained_target_encoder', 'random_init_encoder', 'pixels'])
      expect(result.probe[k]).to.be.within(0.1, 1);
    expect(result.probe.pixels).to.be.greaterThan(0.9); // the probe itself works on this data
    const png = PNG.sync.read(fs.readFileSync(path.join(out, 'images', 'digits-loss.png')));
    expect([png.width, png.height]).to.deep.equal([800, 450]);
  });
});
