// jepa-native built against a CUDA libtorch (torch 2.14.1, CUDA 13) on a machine with no GPU and no
// CUDA toolkit. Run by `npm run test:cuda-build` (scripts/test/cuda-build.js), which installs that
// libtorch into its cache, builds build/cuda and loads it here through JEPA_ADDON; not part of
// the default mocha run (.mocharc.json ignores this file: it needs the 4 GB CUDA libtorch).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { cleanup, pythonJson, pythonPath, ROOT, tmpDir } from './helpers.mjs';

const TORCH = process.env.JEPA_CUDA_TORCH;
const BUILD = process.env.JEPA_CUDA_BUILD_DIR;
if (!TORCH || !BUILD) {
  throw new Error(
    'test/cuda-build.test.mjs runs under `npm run test:cuda-build` (it sets JEPA_CUDA_TORCH and JEPA_CUDA_BUILD_DIR)',
  );
}
const SITE = path.dirname(TORCH);
const TORCH_VERSION = fs.readFileSync(path.join(TORCH, 'version.py'), 'utf8').match(/__version__\s*=\s*'([^']+)'/)[1];
const CPU_BUILD = JSON.parse(fs.readFileSync(path.join(ROOT, 'build', 'Release', 'build-info.json'), 'utf8'));

/** The files of the shared libraries mapped into this process whose names match `re`. */
function mapped(re, maps = fs.readFileSync('/proc/self/maps', 'utf8')) {
  const files = maps
    .split('\n')
    .map((l) => l.split(/\s+/)[5])
    .filter((f) => f && re.test(path.basename(f)));
  return [...new Set(files)];
}

describe('the addon built against a CUDA libtorch, without a GPU', function () {
  this.timeout(600000);
  let dir;
  let py;

  before(() => {
    dir = tmpDir('cuda-build-');
    // One Python run (the test Python, a CPU torch) for the fixtures: a TorchScript module, its
    // input and Python's output, a .pt file.
    py = pythonJson(
      `
import json, sys, torch
d = sys.argv[1]
torch.manual_seed(0)
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(8, 16)
        self.norm = torch.nn.LayerNorm(16)
    def forward(self, x):
        return self.norm(torch.nn.functional.gelu(self.fc(x)))
x = torch.randn(4, 8)
with torch.no_grad():
    m = torch.jit.trace(M().eval(), x)
    y = m(x)
m.save(d + '/module.pt')
torch.save({'x': x, 'y': y}, d + '/io.pt')
print(json.dumps({'torch': torch.__version__}))
`,
      { args: [dir] },
    );
  });
  after(() => cleanup(dir));

  it(`loads build/cuda, built against libtorch ${TORCH_VERSION} from the cache`, () => {
    const info = jepa.addonInfo();
    expect(info.binary).to.equal(path.join(BUILD, 'jepa_native.node'));
    expect(info.kind).to.equal('source');
    expect(info.builtAgainst).to.equal(TORCH_VERSION);
    expect(TORCH_VERSION).to.match(/^2\.14\.1\+cu13\d$/);
    expect(info.libtorch).to.deep.include({ dir: fs.realpathSync(TORCH), version: TORCH_VERSION, cuda: true });
    expect(jepa.torchVersion).to.equal(TORCH_VERSION.split('+')[0]);
  });

  it('libtorch_cuda, libc10_cuda and the CUDA runtime of the cache are loaded, and libtorch registered its CUDA support', () => {
    for (const lib of ['libtorch_cuda.so', 'libc10_cuda.so']) {
      expect(mapped(new RegExp(`^${lib.replace('.', '\\.')}$`)), lib).to.deep.equal([
        path.join(fs.realpathSync(TORCH), 'lib', lib),
      ]);
    }
    const cudart = mapped(/^libcudart\.so/);
    expect(cudart).to.have.length(1);
    expect(cudart[0].startsWith(fs.realpathSync(SITE) + path.sep), cudart[0]).to.equal(true);
    expect(mapped(/^libtorch_cpu\.so$/)).to.deep.equal([path.join(fs.realpathSync(TORCH), 'lib', 'libtorch_cpu.so')]);
    // The CPU libtorch of the default build is not in this process.
    expect(mapped(/^libtorch_cpu\.so$/)).to.not.include(path.join(CPU_BUILD.libtorchLibDir, 'libtorch_cpu.so'));
    expect(jepa.cuda.isBuilt()).to.equal(true);
  });

  it("no GPU: cuda.isAvailable() is false, and 'cuda' gives JEPA_CUDA_UNAVAILABLE saying why", async function () {
    if (jepa.cuda.isAvailable()) this.skip();
    expect(jepa.cuda.deviceCount()).to.equal(0);
    const why = /requested but no CUDA device is usable: this libtorch has CUDA support, but no GPU is visible/;
    for (const f of [
      () => jepa.zeros([2], { device: 'cuda' }),
      () => jepa.ones([2]).to('cuda:0'),
      () => jepa.loadSync(path.join(dir, 'io.pt'), { device: 'cuda' }),
    ]) {
      let e;
      try {
        f();
      } catch (err) {
        e = err;
      }
      expect(e, String(f)).to.be.instanceOf(Error);
      expect(e.code).to.equal('JEPA_CUDA_UNAVAILABLE');
      expect(e.message).to.match(why);
    }
    const e = await jepa.loadModule(path.join(dir, 'module.pt'), { device: 'cuda' }).then(
      () => null,
      (err) => err,
    );
    expect(e?.code).to.equal('JEPA_CUDA_UNAVAILABLE');
  });

  it("a TorchScript forward on the CPU equals Python's (module and .pt written by torch " + '2.13)', async () => {
    expect(py.torch).to.match(/^2\./);
    const m = await jepa.loadModule(path.join(dir, 'module.pt'));
    const io = await jepa.load(path.join(dir, 'io.pt'));
    const y = await m.forward(io.x);
    expect(y.shape).to.deep.equal([4, 16]);
    const a = y.data();
    const b = io.y.data();
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]), `element ${i}`).to.be.at.most(1e-5);
    m.dispose();
  });

  it('the NCCL backend is compiled in, and without a GPU init() fails with a JepaError, not a crash', async () => {
    expect(jepa.distributed.backendUnavailable('nccl')).to.equal(null);
    const port = await jepa.distributed.freePort();
    const e = await jepa.distributed
      .init({ backend: 'nccl', worldSize: 1, rank: 0, masterPort: port, timeout: 5000 })
      .then(
        () => null,
        (err) => err,
      );
    if (jepa.cuda.isAvailable()) {
      expect(e).to.equal(null);
      await jepa.distributed.destroy();
      return;
    }
    expect(e.code).to.equal('JEPA_DISTRIBUTED_ERROR');
    expect(e.message).to.match(/GPU/);
  });

  it('the build used no CUDA toolkit: every CUDA header and library came from the cache', function () {
    const cmake = path.join(BUILD, 'cmake');
    const cache = fs.readFileSync(path.join(cmake, 'CMakeCache.txt'), 'utf8');
    // Caffe2's discovery was skipped: no CUDA language, no nvcc.
    expect(cache).to.not.match(/^CMAKE_CUDA_COMPILER:/m);
    expect(cache).to.not.match(/^CUDA_NVCC_EXECUTABLE:/m);
    // The headers that native/distributed/distributed.cc (the NCCL backend) included, as ninja recorded them.
    const r = spawnSync(
      'ninja',
      ['-C', cmake, '-t', 'deps', 'CMakeFiles/jepa_native.dir/native/distributed/distributed.cc.o'],
      { encoding: 'utf8' },
    );
    if (r.error) this.skip(); // cmake-js used make, not ninja: nothing recorded to check
    expect(r.status, r.stderr).to.equal(0);
    const headers = r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('/'));
    const site = fs.realpathSync(SITE) + path.sep;
    for (const name of [
      'nccl.h',
      'cuda_runtime_api.h',
      'host_defines.h',
      'cublas_v2.h',
      'cusparse.h',
      'cusolverDn.h',
      'target',
    ]) {
      const found = headers.filter((h) => path.basename(h) === name && /nvidia/.test(h));
      expect(found, name).to.have.length.greaterThan(0);
      for (const h of found) expect(h.startsWith(site), h).to.equal(true);
    }
    expect(headers.filter((h) => /\/cuda[^/]*\/(include|targets)\//.test(h) && !h.startsWith(site))).to.deep.equal([]);
    const ninja = fs.readFileSync(path.join(cmake, 'build.ninja'), 'utf8');
    expect(ninja).to.not.match(/\/usr\/local\/cuda/);
    const readelf = spawnSync('readelf', ['-d', path.join(BUILD, 'jepa_native.node')], { encoding: 'utf8' });
    if (!readelf.error) {
      expect(readelf.stdout).to.contain('[libtorch_cuda.so]');
      expect(readelf.stdout).to.contain('[libc10_cuda.so]');
    }
  });

  describe('prebuilt binaries meet this libtorch', () => {
    let work;
    before(() => {
      work = tmpDir('cuda-prebuild-');
    });
    after(() => cleanup(work));

    /** A package folder with the JS, the loader scripts and a prebuild made from `buildDir`. */
    function packageWithPrebuild(name, buildDir) {
      const pkg = path.join(work, name);
      fs.mkdirSync(path.join(pkg, 'node_modules'), { recursive: true });
      fs.cpSync(path.join(ROOT, 'dist'), path.join(pkg, 'dist'), { recursive: true });
      fs.cpSync(path.join(ROOT, 'scripts'), path.join(pkg, 'scripts'), { recursive: true });
      fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
      fs.symlinkSync(
        path.join(ROOT, 'node_modules', 'node-gyp-build'),
        path.join(pkg, 'node_modules', 'node-gyp-build'),
      );
      const r = spawnSync(
        process.execPath,
        [path.join(ROOT, 'scripts', 'dev', 'prebuild.js'), '--from', buildDir, '--to', pkg],
        { cwd: ROOT, encoding: 'utf8' },
      );
      expect(r.status, r.stderr).to.equal(0);
      return pkg;
    }

    /** Loads the package in a fresh process with `env` (no JEPA_ADDON); returns what it reported. */
    function loadIn(pkg, env) {
      const code = `
        const fs = require('node:fs');
        try {
          const j = require(${JSON.stringify(pkg)});
          const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.split(/\\s+/)[5]).filter(Boolean);
          const sum = j.arange(6).reshape(2, 3).permute(1, 0).contiguous().data();
          console.log(JSON.stringify({ info: j.addonInfo(), built: j.cuda.isBuilt(), available: j.cuda.isAvailable(),
            cudaLibs: [...new Set(maps.filter((f) => /libtorch_cuda\\.so$|libc10_cuda\\.so$/.test(f)))], sum: Array.from(sum, Number) }));
        } catch (e) {
          console.log(JSON.stringify({ code: e.code, message: e.message }));
        }`;
      const clean = { ...process.env };
      for (const k of ['JEPA_ADDON', 'LIBTORCH', 'PYTHON']) delete clean[k];
      const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { ...clean, ...env } });
      expect(r.status, r.stderr).to.equal(0);
      return JSON.parse(r.stdout.trim().split('\n').pop());
    }

    it(`the CPU prebuild (libtorch ${CPU_BUILD.torchVersion}) with this CUDA libtorch ${TORCH_VERSION}: JEPA_LIBTORCH_MISMATCH`, () => {
      const pkg = packageWithPrebuild('cpu-prebuild', path.join(ROOT, 'build', 'Release'));
      const out = loadIn(pkg, { LIBTORCH: TORCH, PYTHON: pythonPath() });
      expect(out.code).to.equal('JEPA_LIBTORCH_MISMATCH');
      const base = CPU_BUILD.torchVersion.split('+')[0];
      expect(out.message).to.contain(`needs libtorch ${base} (the C++ library of PyTorch; CPU or CUDA build)`);
      expect(out.message).to.contain(
        `LIBTORCH=${fs.realpathSync(TORCH)}: it is libtorch ${TORCH_VERSION}, the prebuilt binary needs ${base}`,
      );
      expect(out.message).to.contain('--build-from-source');
    });

    let cudaPackage;
    const cudaPrebuild = () => (cudaPackage ??= packageWithPrebuild('cuda-prebuild', BUILD));

    it(`a prebuild made against ${TORCH_VERSION} loads with it: libtorch_cuda loaded, CPU ops run`, () => {
      const pkg = cudaPrebuild();
      const meta = JSON.parse(fs.readFileSync(path.join(pkg, 'prebuilds', 'linux-x64', 'libtorch.json'), 'utf8'));
      expect(meta).to.deep.include({ torchVersion: TORCH_VERSION, cuda: true, cxx11Abi: true });
      expect(meta.needed).to.include.members(['libtorch_cuda.so', 'libc10_cuda.so']);
      const out = loadIn(pkg, { LIBTORCH: TORCH });
      expect(out.code, out.message).to.equal(undefined);
      expect(out.info.kind).to.equal('prebuilt');
      expect(out.info.builtAgainst).to.equal(TORCH_VERSION);
      expect(out.info.libtorch).to.deep.include({
        dir: fs.realpathSync(TORCH),
        version: TORCH_VERSION,
        source: 'LIBTORCH',
        cuda: true,
      });
      expect(out.built).to.equal(true);
      expect(out.cudaLibs.sort()).to.deep.equal(
        ['libc10_cuda.so', 'libtorch_cuda.so'].map((f) => path.join(fs.realpathSync(TORCH), 'lib', f)),
      );
      expect(out.sum).to.deep.equal([0, 3, 1, 4, 2, 5]);
    });

    it(`the ${TORCH_VERSION} prebuild with the CPU libtorch ${CPU_BUILD.torchVersion}: JEPA_LIBTORCH_MISMATCH`, () => {
      const out = loadIn(cudaPrebuild(), { LIBTORCH: CPU_BUILD.libtorchDir });
      expect(out.code).to.equal('JEPA_LIBTORCH_MISMATCH');
      expect(out.message).to.contain(
        `needs libtorch ${TORCH_VERSION.split('+')[0]} (the C++ library of PyTorch; a CUDA build)`,
      );
      expect(out.message).to.contain(`it is libtorch ${CPU_BUILD.torchVersion}`);
    });
  });
});
