// `npm run docs`: the API reference builds from the TSDoc comments without a warning (a warning is
// a broken {@link}, a type the reference cannot show, a README link typedoc cannot follow...).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'mocha';
import { ROOT } from './helpers.mjs';

describe('API reference (typedoc)', function () {
  this.timeout(300000);

  it('builds from typedoc.json without warnings and documents the public API', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'jepa-docs-'));
    try {
      const typedoc = path.join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');
      const r = spawnSync(process.execPath, [typedoc, '--out', out, '--treatWarningsAsErrors'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1' },
      });
      const output = r.stdout + r.stderr;
      expect(r.status, output).to.equal(0);
      expect(output).to.not.match(/\[warning\]/);
      for (const page of [
        'index.html',
        'classes/Tensor.html',
        'classes/Trainer.html',
        'functions/addonInfo.html',
        'functions/load.html',
      ]) {
        expect(fs.existsSync(path.join(out, page)), `${page} in the reference`).to.equal(true);
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
