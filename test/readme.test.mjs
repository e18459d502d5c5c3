// README.md runs as written: every ```js block runs in a child process, in a fresh folder where
// `jepa-native` resolves to this checkout, `models/` holds the test models and `media/` a small
// image and video (test/fixtures/media). A block whose
// `console.log` lines end in `// → expected` (text after the last arrow; `…` matches anything)
// must print exactly those lines. A block preceded by `<!-- readme-test: skip (reason) -->` is
// not run (kept for the few that cannot run here).
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'mocha';
import { ROOT } from './helpers.mjs';

const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const SKIP = /<!--\s*readme-test:\s*skip\b[^>]*-->\s*$/;

/** The ```js blocks: {code, line, section, skip, expected}. */
function jsBlocks(text) {
  const lines = text.split('\n');
  const blocks = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith('## ')) section = lines[i].slice(3);
    if (lines[i] !== '```js') continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end] !== '```') end++;
    const body = lines.slice(start, end);
    let prev = i - 1;
    while (prev >= 0 && lines[prev].trim() === '') prev--;
    const logs = body.filter((l) => /console\.log\(/.test(l));
    const arrows = logs.filter((l) => /\/\/.*→/.test(l));
    blocks.push({
      code: body.join('\n'),
      line: i + 1,
      section,
      skip: prev >= 0 && SKIP.test(lines[prev]),
      logs,
      expected: arrows.length ? arrows.map((l) => l.slice(l.lastIndexOf('→') + 1).trim()) : null,
    });
    i = end;
  }
  return blocks;
}

function matches(actual, expected) {
  const pattern = expected
    .split('…')
    .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`).test(actual);
}

describe('README', () => {
  const blocks = jsBlocks(README);
  let work;

  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'jepa-readme-'));
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it('has js blocks for every capability, and skips at most 2', () => {
    const sections = new Set(blocks.map((b) => b.section));
    for (const s of [
      'Quick start',
      'Tensors',
      '.pt files (and safetensors, .npy)',
      'Models',
      'Masks',
      'Training',
      'CUDA',
      'Images and videos',
    ]) {
      expect(sections.has(s), `a js block under "## ${s}"`).to.equal(true);
    }
    expect(blocks.filter((b) => b.skip).length).to.be.at.most(2);
  });

  for (const [n, block] of blocks.entries()) {
    const title = `block ${n + 1} (line ${block.line}, ${block.section}) runs${block.expected ? ' and prints what its comments say' : ''}`;
    it(title, function () {
      if (block.skip) this.skip();
      if (block.expected) {
        expect(block.expected.length, 'every console.log of a block with → comments has one').to.equal(
          block.logs.length,
        );
      }
      const dir = fs.mkdtempSync(path.join(work, 'block-'));
      fs.mkdirSync(path.join(dir, 'node_modules'));
      fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'jepa-native'));
      fs.symlinkSync(path.join(ROOT, 'test', 'fixtures', 'models'), path.join(dir, 'models'));
      fs.symlinkSync(path.join(ROOT, 'test', 'fixtures', 'media'), path.join(dir, 'media'));
      const esm = /^import /m.test(block.code);
      const args = esm ? ['--input-type=module', '-e', block.code] : ['-e', block.code];
      const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 120000 });
      expect(r.status, `README line ${block.line}:\n${r.stderr}`).to.equal(0);
      if (block.expected) {
        const out = r.stdout.replace(/\n$/, '').split('\n');
        expect(out.length, `README line ${block.line} printed:\n${r.stdout}`).to.equal(block.expected.length);
        out.forEach((line, i) => {
          expect(
            matches(line, block.expected[i]),
            `README line ${block.line}, output line ${i + 1}: ${JSON.stringify(line)} should be ${JSON.stringify(block.expected[i])}`,
          ).to.equal(true);
        });
      }
    });
  }

  it('says the set-up and test commands first, and .ci/run runs the set-up and the CI command it names', () => {
    const blocks = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].trim().split('\n'));
    expect(blocks[0]).to.deep.equal(['npm install', 'npm test']);
    expect(blocks[1]).to.deep.equal(['npm run test:ci']);
    const ci = fs
      .readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#') && !l.startsWith('set ') && !l.startsWith('cd '));
    expect(ci).to.deep.equal(['npm install', 'npm run test:ci']);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts['test:ci']).to.match(/^npm test && /);
  });
});
