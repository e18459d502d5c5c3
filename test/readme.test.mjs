// The README's quick start runs as written.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'mocha';
import { ROOT } from './helpers.mjs';

describe('README', () => {
  it('the quick start runs as written and prints what its comments say', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Quick start'));
    const code = /```js\n([\s\S]*?)```/.exec(section)[1];
    const r = spawnSync(process.execPath, ['-e', code], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).to.equal('1');
    expect(lines[1]).to.equal('0');
    expect(lines[2]).to.equal('[ 2, 3 ] float32 cpu [ 3, 1 ]');
    expect(lines[3]).to.equal('bfloat16');
    expect(lines[4]).to.match(/^\{ tensors: \d+, storages: \d+, bytes: \d+ \}$/);
  });

  it('says the two set-up and test commands first, and .ci/run runs exactly them', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const first = /```sh\n([\s\S]*?)```/.exec(readme)[1].trim().split('\n');
    expect(first).to.deep.equal(['npm install', 'npm test']);
    const ci = fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('set ') && !l.startsWith('cd '));
    expect(ci).to.deep.equal(['npm install', 'npm test']);
  });
});
