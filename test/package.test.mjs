// The npm package: `npm pack` ships the prebuilt binary, the compiled JS, the types and the docs,
// and installing the tarball in an empty project compiles nothing. The install runs with a PATH
// that holds no compiler at all: only `node`, `sh` and decoy `cc c++ gcc g++ clang clang++ cmake make
// ninja` scripts that fail and leave a marker file, so any attempt to compile is caught.
// Then `require`, an ES-module import and a TypeScript file checked by `tsc` against the shipped
// types all run, in child processes, against the installed package.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'mocha';
import { ROOT } from './helpers.mjs';

const config = JSON.parse(fs.readFileSync(path.join(ROOT, 'build', 'config.json'), 'utf8'));
const DECOYS = ['cc', 'c++', 'gcc', 'g++', 'clang', 'clang++', 'cmake', 'make', 'ninja'];

/** npm's own CLI script, run with this Node (so npm needs nothing on PATH). */
function npmCli() {
  const execpath = process.env.npm_execpath;
  if (execpath && /npm-cli\.js$/.test(execpath)) return execpath;
  const which = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' });
  return fs.realpathSync(which.stdout.trim());
}

/** The environment without npm's per-run variables (the outer `npm test` sets them). */
function cleanEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || k === 'INIT_CWD' || k === 'LIBTORCH' || k === 'PYTHON' || k.startsWith('JEPA_')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

describe('the npm package (npm pack, then npm install of the tarball with no compiler on PATH)', function () {
  this.timeout(600000);
  let work;
  let tarball;
  let project;
  let bin;
  let marker;
  let installed;

  before(() => {
    // A folder outside the checkout: module resolution must not find the checkout's node_modules.
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'jepa-package-'));
    const npm = npmCli();

    // npm pack runs `prepack`: the TypeScript build and the prebuild (prebuildify, whose cmake-js
    // backend builds incrementally: nothing to compile when build/Release is up to date).
    const pack = spawnSync(process.execPath, [npm, 'pack', '--pack-destination', work], {
      cwd: ROOT,
      encoding: 'utf8',
      env: cleanEnv({}),
    });
    expect(pack.status, pack.stderr).to.equal(0);
    tarball = fs
      .readdirSync(work)
      .filter((f) => /^jepa-native-.*\.tgz$/.test(f))
      .map((f) => path.join(work, f))[0];
    expect(tarball, 'npm pack wrote no jepa-native-*.tgz').to.be.a('string');

    // PATH: `node`, `sh` (npm runs scripts with it) and decoy compilers, nothing else.
    bin = path.join(work, 'bin');
    marker = path.join(work, 'compiler-was-called');
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
    for (const tool of DECOYS) {
      fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> '${marker}'\nexit 1\n`, { mode: 0o755 });
    }

    project = path.join(work, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
    );
    const install = spawnSync(
      process.execPath,
      [npm, 'install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'],
      {
        cwd: project,
        encoding: 'utf8',
        env: cleanEnv({ PATH: bin, PYTHON: config.python }),
      },
    );
    installed = install;
  });

  after(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** A folder that looks like a libtorch distribution of the given version (no real libraries). */
  function fakeLibtorch(name, version) {
    const fake = path.join(work, name);
    fs.mkdirSync(path.join(fake, 'lib'), { recursive: true });
    fs.mkdirSync(path.join(fake, 'share', 'cmake', 'Torch'), { recursive: true });
    fs.writeFileSync(path.join(fake, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), '');
    fs.writeFileSync(path.join(fake, 'lib', 'libtorch_cpu.so'), '');
    fs.writeFileSync(path.join(fake, 'build-version'), `${version}\n`);
    return fake;
  }

  function nodeIn(args, env) {
    return spawnSync(path.join(bin, 'node'), args, {
      cwd: project,
      encoding: 'utf8',
      env: cleanEnv({ PATH: bin, ...env }),
    });
  }

  it('the tarball holds the prebuild, the JS, the types, README, CHANGELOG, LICENSE and nothing else of size', () => {
    const list = spawnSync('tar', ['tzvf', tarball], { encoding: 'utf8' });
    expect(list.status, list.stderr).to.equal(0);
    const files = new Map();
    for (const line of list.stdout.trim().split('\n')) {
      const parts = line.trim().split(/\s+/);
      files.set(parts[parts.length - 1].replace(/^package\//, ''), Number(parts[2]));
    }
    for (const f of [
      'package.json',
      'README.md',
      'CHANGELOG.md',
      'LICENSE',
      'dist/index.js',
      'dist/index.mjs',
      'dist/index.d.ts',
      'prebuilds/linux-x64/node.napi.glibc.node',
      'prebuilds/linux-x64/libtorch.json',
      'scripts/install/setup.js',
      'scripts/install/show-libtorch.js',
      'dist/core/libtorch.js',
      'dist/core/prebuilt.js',
      'python/jepa_export/__main__.py',
      'python/jepa_export/cli.py',
      'python/jepa_export/sources.json',
      'python/jepa_export/models/vjepa2.py',
      'python/jepa_export/sources/hf.py',
    ]) {
      expect(files.has(f), `${f} in the tarball`).to.equal(true);
    }
    expect([...files.keys()].filter((f) => /__pycache__|\.pyc$/.test(f))).to.deep.equal([]);
    // examples/ stays out, but for the demo's model folder and pictures (`npx jepa-native demo`).
    const unwanted = [...files.keys()].filter((f) =>
      /^((test|bench|docs|lib|build|node_modules|\.venv)\/|examples\/(?!demo\/(model|images)\/))|\.map$|\.tgz$/.test(f),
    );
    expect(unwanted).to.deep.equal([]);
    // Everything but the binary is small: sources and scripts, no fixtures or models but the
    // demo's (examples/demo: its exported model folder and five pictures, 0.3 MB in all), the
    // Python exporter (~0.17 MB) and the generated op declarations (dist/tensor, ~0.53 MB):
    // 2.75 MB in all when this bound was set.
    const rest = [...files].filter(([f]) => !f.endsWith('.node')).reduce((n, [, size]) => n + size, 0);
    expect(rest).to.be.below(3e6);
    const meta = JSON.parse(
      spawnSync('tar', ['xzOf', tarball, 'package/prebuilds/linux-x64/libtorch.json'], { encoding: 'utf8' }).stdout,
    );
    expect(meta.torchVersion).to.equal(config.torchVersion);
    expect(meta.napiVersion).to.equal(8);
  });

  it('the prebuilt binary carries no RUNPATH to the build machine', async () => {
    const { readRunpath } = (await import('../scripts/dev/elf-runpath.js')).default;
    const binary = path.join(project, 'node_modules', 'jepa-native', 'prebuilds', 'linux-x64', 'node.napi.glibc.node');
    expect(readRunpath(fs.readFileSync(binary))).to.equal('');
  });

  it('npm install of the tarball completes without invoking a compiler', () => {
    expect(installed.status, `${installed.stdout}\n${installed.stderr}`).to.equal(0);
    expect(fs.existsSync(marker), fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : '').to.equal(false);
    const pkg = path.join(project, 'node_modules', 'jepa-native');
    expect(fs.existsSync(path.join(pkg, 'build')), 'a build/ folder in the installed package').to.equal(false);
    expect(`${installed.stdout}${installed.stderr}`).to.contain('using the prebuilt binary');
  });

  it("require('jepa-native') loads the prebuild and finds libtorch through python3's torch ($PYTHON)", () => {
    const code =
      "const jepa = require('jepa-native'); const info = jepa.addonInfo();" +
      'console.log(JSON.stringify({ kind: info.kind, source: info.libtorch.source, version: info.libtorch.version,' +
      ' binary: info.binary, sum: jepa.tensor([1, 2, 3]).data().reduce((a, b) => a + b) }));';
    const r = nodeIn(['-e', code], { PYTHON: config.python });
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout);
    expect(out.kind).to.equal('prebuilt');
    expect(out.source).to.equal(config.python);
    expect(out.version).to.equal(config.torchVersion);
    expect(out.binary).to.equal(
      fs.realpathSync(
        path.join(project, 'node_modules', 'jepa-native', 'prebuilds', 'linux-x64', 'node.napi.glibc.node'),
      ),
    );
    expect(out.sum).to.equal(6);
  });

  it('an ES-module import works, with libtorch from LIBTORCH', () => {
    const code =
      "import jepa, { zeros, addonInfo } from 'jepa-native';" +
      "console.log(zeros([2, 3]).shape.join('x'), typeof jepa.load, addonInfo().libtorch.source);";
    const r = nodeIn(['--input-type=module', '-e', code], { LIBTORCH: config.libtorch, PYTHON: '/nonexistent/python' });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal('2x3 function LIBTORCH');
  });

  it('a TypeScript file using the shipped types compiles with tsc and runs', () => {
    fs.writeFileSync(
      path.join(project, 'index.ts'),
      [
        "import jepa, { tensor, type Tensor, type AddonInfo, ErrorCode } from 'jepa-native';",
        'const t: Tensor = tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);',
        'const info: AddonInfo = jepa.addonInfo();',
        "const kind: 'prebuilt' | 'source' = info.kind;",
        'const data: Float32Array = t.data() as Float32Array;',
        'console.log(kind, t.shape.join("x"), data[3], ErrorCode.LIBTORCH_NOT_FOUND);',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          esModuleInterop: true,
          skipLibCheck: false,
          outDir: 'out',
          types: ['node'],
          typeRoots: [path.join(ROOT, 'node_modules', '@types')],
        },
        files: ['index.ts'],
      }),
    );
    const tsc = nodeIn([path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {});
    expect(tsc.status, tsc.stdout + tsc.stderr).to.equal(0);
    const r = nodeIn(['out/index.js'], { PYTHON: config.python });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal('prebuilt 2x2 4 JEPA_LIBTORCH_NOT_FOUND');
  });

  it('with no libtorch anywhere, loading fails with JEPA_LIBTORCH_NOT_FOUND saying what it needs and how to get it', () => {
    const code =
      "try { require('jepa-native') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }";
    const r = nodeIn(['-e', code], { PYTHON: '/nonexistent/python' });
    expect(r.status, r.stderr).to.equal(0);
    const err = JSON.parse(r.stdout);
    expect(err.code).to.equal('JEPA_LIBTORCH_NOT_FOUND');
    const base = config.torchVersion.split('+')[0];
    expect(err.message).to.contain(`needs libtorch ${base}`);
    expect(err.message).to.contain('LIBTORCH is not set');
    expect(err.message).to.contain('/nonexistent/python has no torch package');
    expect(err.message).to.contain(`pip install torch==${config.torchVersion}`);
    expect(err.message).to.contain('--build-from-source');
  });

  it('`npx jepa-native export --help` lists the sources, and an export made there loads with the installed package', () => {
    const npx = (args, env) =>
      spawnSync(process.execPath, [npmCli(), 'exec', '--offline', '--', 'jepa-native', ...args], {
        cwd: project,
        encoding: 'utf8',
        env: cleanEnv({ PATH: bin, ...env }),
      });
    const help = npx(['export', '--help'], { PYTHON: config.python });
    expect(help.status, help.stderr).to.equal(0);
    for (const source of [
      'ijepa',
      'vjepa',
      'vjepa2',
      'hf-vjepa2',
      'hf-ijepa',
      'hjepa',
      'clip-vision',
      'minilm',
      'module',
    ]) {
      expect(help.stdout).to.match(new RegExp(`^  ${source} `, 'm'));
    }
    // A tiny facebookresearch/ijepa checkpoint, exported by the installed package's Python code.
    const made = spawnSync(
      config.python,
      [path.join(ROOT, 'scripts', 'models', 'checkpoints.py'), path.join(work, 'ckpt'), '--only', 'ijepa'],
      {
        encoding: 'utf8',
      },
    );
    expect(made.status, made.stderr).to.equal(0);
    const { input, flags } = JSON.parse(made.stdout.trim().split('\n').pop()).ijepa;
    const r = npx(['export', 'ijepa', input, 'models/ijepa', ...flags], {
      PYTHON: config.python,
      JEPA_PYTHON: config.python,
      OMP_NUM_THREADS: '1',
    });
    expect(r.status, r.stderr).to.equal(0);
    const code =
      "const jepa = require('jepa-native'); const m = jepa.JEPA.loadSync('models/ijepa');" +
      "m.encode(jepa.randn([1, 3, 32, 32], { seed: 0 })).then((t) => console.log(m.info.source, t.shape.join('x')));";
    const load = nodeIn(['-e', code], { PYTHON: config.python });
    expect(load.status, load.stderr).to.equal(0);
    expect(load.stdout.trim()).to.equal('ijepa 1x16x32');
  });

  /** Installs the tarball into a new project; returns npm's result and what the decoys logged. */
  function installAgain(name, args, env) {
    const dir = path.join(work, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
    const r = spawnSync(
      process.execPath,
      [npmCli(), 'install', tarball, ...args, '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'],
      {
        cwd: dir,
        encoding: 'utf8',
        env: cleanEnv({ PATH: bin, ...env }),
      },
    );
    const called = fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : '';
    fs.rmSync(marker, { force: true });
    return { r, called };
  }

  it('--build-from-source compiles (here it reaches the decoy cmake and fails, which shows the decoys work)', () => {
    const { r, called } = installAgain('from-source', ['--build-from-source'], { PYTHON: config.python });
    expect(r.status).to.not.equal(0);
    expect(called).to.match(/^cmake /m);
  });

  it('a libtorch of another version found at install makes it compile against that libtorch', () => {
    const fake = fakeLibtorch('libtorch-9.9.9-install', '9.9.9');
    const { r, called } = installAgain('other-libtorch', [], { LIBTORCH: fake, PYTHON: config.python });
    expect(r.status).to.not.equal(0);
    expect(`${r.stdout}${r.stderr}`).to.contain('the prebuilt binary needs libtorch');
    expect(called).to.match(/^cmake /m);
  });

  it('a libtorch of another version is refused with JEPA_LIBTORCH_MISMATCH, not a dynamic-linker error', () => {
    const fake = fakeLibtorch('libtorch-9.9.9', '9.9.9');
    const code =
      "try { require('jepa-native') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }";
    const r = nodeIn(['-e', code], { LIBTORCH: fake, PYTHON: config.python });
    expect(r.status, r.stderr).to.equal(0);
    const err = JSON.parse(r.stdout);
    expect(err.code).to.equal('JEPA_LIBTORCH_MISMATCH');
    // An explicit LIBTORCH is not silently replaced by python3's torch.
    expect(err.message).to.contain(`LIBTORCH=${fake}: it is libtorch 9.9.9`);
  });
});
