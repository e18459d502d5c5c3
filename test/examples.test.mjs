// Runs the scripts of examples/ as a user would: the feature service on an ephemeral port with
// real requests (a batch of concurrent ones, a bad image), the training script for a few steps
// (its checkpoint read by Python), and the Python round trip (Python -> Node -> Python).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { expect } from 'chai';
import { after, before, describe, it } from 'mocha';
import sharp from 'sharp';
import jepa from 'jepa-native';
import { cleanup, nodePath, pythonJson, pythonPath, ROOT, tmpDir } from './helpers.mjs';

const EXAMPLES = path.join(ROOT, 'examples');

function post(port, pathname, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathname, method: 'POST' }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('examples/', function () {
  this.timeout(300000);
  let dir;
  before(() => (dir = tmpDir('examples-')));
  after(() => cleanup(dir));

  it('feature-service.mjs answers /embed with the pooled encoder features (batched), and 400 for a bad image', async () => {
    const child = spawn(
      process.execPath,
      [path.join(EXAMPLES, 'feature-service.mjs'), '--port', '0', '--wait-ms', '50'],
      { cwd: ROOT },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    try {
      const port = await new Promise((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.on('exit', (code) => reject(new Error(`the service exited (${code}): ${stderr}`)));
      });
      const images = [];
      for (let i = 0; i < 3; i++) {
        images.push(
          await sharp({ create: { width: 40 + i, height: 30, channels: 3, background: { r: 60 * i, g: 120, b: 200 } } })
            .jpeg()
            .toBuffer(),
        );
      }
      const replies = await Promise.all(images.map((img) => post(port, '/embed', img)));
      const model = jepa.loadModuleSync(path.join(ROOT, 'test', 'fixtures', 'models', 'ijepa', 'target_encoder.pt'));
      for (let i = 0; i < 3; i++) {
        const { status, body } = replies[i];
        expect(status).to.equal(200);
        expect(body.shape).to.deep.equal([16, 32]);
        expect(body.batch).to.be.within(1, 3);
        // The same image through the model here, mean over the 16 tokens.
        const x = await jepa.image.load(images[i], { size: 32 });
        const tokens = model.forwardSync(x.reshape([1, 3, 32, 32])).data();
        for (let k = 0; k < 32; k++) {
          let m = 0;
          for (let n = 0; n < 16; n++) m += tokens[n * 32 + k] / 16;
          expect(body.embedding[k]).to.be.closeTo(m, 1e-5);
        }
      }
      expect(
        replies.some((r) => r.body.batch > 1),
        'concurrent requests share a model call',
      ).to.equal(true);
      const bad = await post(port, '/embed', Buffer.from('not an image'));
      expect(bad.status).to.equal(400);
      expect(bad.body.code).to.equal('JEPA_MEDIA_DECODE');
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('train.mjs trains I-JEPA for 3 steps on images and saves the target encoder, which Python loads', () => {
    const out = path.join(dir, 'target.pt');
    const r = spawnSync(
      process.execPath,
      [path.join(EXAMPLES, 'train.mjs'), '--steps', '3', '--batch-size', '2', '--out', out],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).to.equal(0);
    const steps = r.stdout.split('\n').filter((l) => l.startsWith('step '));
    expect(steps).to.have.length(3);
    for (const line of steps) expect(Number(/loss (\S+)/.exec(line)[1])).to.be.finite.and.to.be.above(0);
    const py = pythonJson(
      `
import json, sys, torch
sd = torch.load(sys.argv[1], weights_only=True)
ts = torch.jit.load(sys.argv[2])
names = [n for n, _ in ts.named_parameters()]
print(json.dumps({"type": type(sd).__name__, "same_names": list(sd) == names,
                  "changed": any(not torch.equal(sd[n], p) for n, p in ts.named_parameters())}))
`,
      { args: [out, path.join(ROOT, 'test', 'fixtures', 'models', 'ijepa', 'target_encoder.pt')] },
    );
    expect(py).to.deep.equal({ type: 'OrderedDict', same_names: true, changed: true });
  });

  it('python_roundtrip.py: Python writes, Node computes and writes back, Python checks bit for bit', () => {
    const r = spawnSync(pythonPath(), [path.join(EXAMPLES, 'python_roundtrip.py'), '--keep', path.join(dir, 'rt')], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NODE: nodePath() },
    });
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/round trip ok \(6 state_dict tensors, 4 aggregations of \[4608, 1408\] float16\)/);
    expect(fs.existsSync(path.join(dir, 'rt', 'aggregated.pt'))).to.equal(true);
  });
});
