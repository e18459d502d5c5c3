import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'mocha';
import { cleanup, pythonPath, ROOT, tmpDir } from './helpers.mjs';

const FIND = path.join(ROOT, 'scripts', 'install', 'show-libtorch.js');
const buildInfo = JSON.parse(fs.readFileSync(path.join(ROOT, 'build', 'Release', 'build-info.json'), 'utf8'));

function find(env) {
  const clean = { ...process.env };
  delete clean.LIBTORCH;
  delete clean.PYTHON;
  delete clean.JEPA_VENV;
  return spawnSync(process.execPath, [FIND], { encoding: 'utf8', env: { ...clean, ...env } });
}

describe('finding libtorch', () => {
  it('(a) LIBTORCH pointing at a torch package folder wins', () => {
    const r = find({ LIBTORCH: buildInfo.libtorchDir, PYTHON: '/nonexistent/python' });
    expect(r.status, r.stderr).to.equal(0);
    const info = JSON.parse(r.stdout);
    expect(info.source).to.equal('LIBTORCH');
    expect(info.dir).to.equal(buildInfo.libtorchDir);
    expect(info.version).to.equal(buildInfo.torchVersion);
  });

  it('(a) a LIBTORCH that is not a libtorch folder is an error, not a silent fall-through', () => {
    const r = find({ LIBTORCH: '/nonexistent/libtorch' });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain('LIBTORCH=/nonexistent/libtorch is not a usable libtorch folder');
  });

  it('(b) the torch package of python3 (here: the test Python, through PYTHON)', () => {
    const r = find({ PYTHON: pythonPath(), JEPA_VENV: '/nonexistent/venv' });
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout).source).to.equal(pythonPath());
  });

  it('(c) the project-local install when python3 has no torch', function () {
    if (!fs.existsSync(path.join(ROOT, '.venv', 'bin', 'python'))) this.skip(); // python3 has torch here
    const r = find({ PYTHON: '/nonexistent/python' });
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout).source).to.equal('project-local');
  });

  it('lists all three ways in one message when none works', () => {
    const r = find({ PYTHON: '/nonexistent/python', JEPA_VENV: '/nonexistent/venv' });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain('could not find libtorch');
    expect(r.stderr).to.match(/\(a\) set LIBTORCH/);
    expect(r.stderr).to.match(/\(b\) install torch for python3/);
    expect(r.stderr).to.match(/\(c\) run `npm install`/);
  });
});

describe('the built addon and its libtorch', () => {
  it('finds libtorch through its RUNPATH, with no LD_LIBRARY_PATH', function () {
    const readelf = spawnSync('readelf', ['-d', path.join(ROOT, 'build', 'Release', 'jepa_native.node')], {
      encoding: 'utf8',
    });
    if (readelf.error) this.skip();
    expect(readelf.stdout).to.match(/R(UN)?PATH/);
    expect(readelf.stdout).to.contain(buildInfo.libtorchLibDir);
    const env = { ...process.env };
    delete env.LD_LIBRARY_PATH;
    const r = spawnSync(process.execPath, ['-e', "console.log(require('jepa-native').torchVersion)"], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).to.equal(0);
    expect(buildInfo.torchVersion.startsWith(r.stdout.trim())).to.equal(true);
  });

  describe('a libtorch that moved or changed version gives a clear error', () => {
    let pkg;
    before(() => {
      // A copy of the package whose build-info.json we can edit.
      pkg = tmpDir('pkg-');
      fs.cpSync(path.join(ROOT, 'dist'), path.join(pkg, 'dist'), { recursive: true });
      fs.mkdirSync(path.join(pkg, 'build', 'Release'), { recursive: true });
      fs.copyFileSync(
        path.join(ROOT, 'build', 'Release', 'jepa_native.node'),
        path.join(pkg, 'build', 'Release', 'jepa_native.node'),
      );
      fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
      fs.mkdirSync(path.join(pkg, 'node_modules'));
      fs.symlinkSync(
        path.join(ROOT, 'node_modules', 'node-gyp-build'),
        path.join(pkg, 'node_modules', 'node-gyp-build'),
      );
    });
    after(() => cleanup(pkg));

    function loadWith(info) {
      fs.writeFileSync(
        path.join(pkg, 'build', 'Release', 'build-info.json'),
        JSON.stringify({ ...buildInfo, ...info }),
      );
      const code = `try { require(${JSON.stringify(pkg)}); console.log('loaded') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`;
      // This copy's own build, not the one JEPA_ADDON names (the sanitizer run sets it).
      const env = { ...process.env };
      delete env.JEPA_ADDON;
      const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env });
      expect(r.status, r.stderr).to.equal(0);
      return r.stdout.trim();
    }

    it('loads when build-info matches', () => {
      expect(loadWith({})).to.equal('loaded');
    });

    it('libtorch moved', () => {
      const out = JSON.parse(loadWith({ libtorchDir: '/opt/moved/torch', libtorchLibDir: '/opt/moved/torch/lib' }));
      expect(out.code).to.equal('JEPA_LIBTORCH_MISMATCH');
      expect(out.message).to.contain('built against libtorch');
      expect(out.message).to.contain('/opt/moved/torch/lib/libtorch_cpu.so no longer exists');
      expect(out.message).to.contain('npm rebuild jepa-native');
    });

    it('libtorch changed version', () => {
      const fake = path.join(pkg, 'fake-torch');
      fs.mkdirSync(path.join(fake, 'lib'), { recursive: true });
      fs.writeFileSync(path.join(fake, 'lib', 'libtorch_cpu.so'), '');
      fs.writeFileSync(path.join(fake, 'version.py'), "__version__ = '9.9.9+cpu'\n");
      const out = JSON.parse(loadWith({ libtorchDir: fake, libtorchLibDir: path.join(fake, 'lib') }));
      expect(out.code).to.equal('JEPA_LIBTORCH_MISMATCH');
      expect(out.message).to.contain(`built against libtorch ${buildInfo.torchVersion}`);
      expect(out.message).to.contain('now holds libtorch 9.9.9+cpu');
    });
  });
});
