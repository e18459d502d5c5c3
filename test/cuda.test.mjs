// CUDA: what the process has (cuda.isBuilt / isAvailable, the JEPA_CUDA_UNAVAILABLE messages),
// the prebuild's CPU/CUDA fitting rule, and, on a GPU only, Node on 'cuda' against Python on
// 'cuda' (tensors, .pt, a TorchScript forward in float32/float16/bfloat16, EMA, training steps).
//
// Without a GPU the GPU block is pending; with JEPA_REQUIRE_CUDA=1 (`npm run test:gpu`) it fails
// instead, so that a GPU run cannot pass by skipping. The build against a CUDA libtorch without a
// GPU is tested by `npm run test:cuda-build` (test/cuda-build.test.mjs).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { cleanup, pythonJson, ROOT, thrown, tmpDir } from './helpers.mjs';
import { build, fixture, ijepaFiles, ijepaMasks, randnSpec, testSchedules } from './train-helpers.mjs';

const require = createRequire(import.meta.url);
/** The first of these files that exists (the loader's code moves from scripts/ to lib/core/). */
const prebuilt = require(path.join(ROOT, 'dist', 'core', 'prebuilt.js'));
const findLibtorch = require(path.join(ROOT, 'dist', 'core', 'libtorch.js'));

function mappedCudaLibtorch() {
  return fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .some((l) => /\/libtorch_cuda\.so$/.test(l.trim()));
}

describe('CUDA in this process', () => {
  it('cuda.isBuilt() is whether libtorch_cuda is loaded (the build-info agrees); isAvailable() implies it', () => {
    const built = jepa.cuda.isBuilt();
    expect(built).to.equal(mappedCudaLibtorch());
    expect(built).to.equal(jepa.addonInfo().libtorch.cuda);
    if (jepa.cuda.isAvailable()) expect(built).to.equal(true);
    if (!jepa.cuda.isAvailable()) expect(jepa.cuda.deviceCount()).to.equal(0);
  });

  it("'cuda' without a GPU: JEPA_CUDA_UNAVAILABLE says whether libtorch is a CPU build or no GPU is visible", function () {
    if (jepa.cuda.isAvailable()) this.skip();
    const e = thrown(() => jepa.zeros([1], { device: 'cuda:1' }));
    expect(e.code).to.equal('JEPA_CUDA_UNAVAILABLE');
    if (jepa.cuda.isBuilt()) {
      expect(e.message).to.equal(
        "device 'cuda:1' requested but no CUDA device is usable: this libtorch has CUDA support, but no GPU is visible " +
          '(no NVIDIA driver, or CUDA_VISIBLE_DEVICES hides them)',
      );
    } else {
      expect(e.message).to.equal(
        "device 'cuda:1' requested but this libtorch is a CPU build (no libtorch_cuda): build jepa-native against a CUDA libtorch, named by LIBTORCH",
      );
    }
  });
});

describe('cuda.synchronize()', () => {
  it('takes a CUDA device; without CUDA it is JEPA_CUDA_UNAVAILABLE', () => {
    let e = thrown(() => jepa.cuda.synchronize('cpu'));
    expect(e).to.be.instanceOf(TypeError);
    expect(e.code).to.equal('JEPA_INVALID_ARGUMENT');
    expect(e.message).to.equal("expected a CUDA device ('cuda' or 'cuda:N'), got 'cpu'");
    e = thrown(() => jepa.cuda.synchronize(0));
    expect(e.code).to.equal('JEPA_INVALID_ARGUMENT');
    if (jepa.cuda.isAvailable()) {
      jepa.cuda.synchronize();
      jepa.cuda.synchronize('cuda:0');
    } else {
      expect(thrown(() => jepa.cuda.synchronize()).code).to.equal('JEPA_CUDA_UNAVAILABLE');
      expect(thrown(() => jepa.cuda.synchronize('cuda:0')).code).to.equal('JEPA_CUDA_UNAVAILABLE');
    }
  });
});

describe('which libtorch a prebuild accepts (CPU or CUDA builds)', () => {
  let work;
  before(() => {
    work = tmpDir('cuda-fit-');
  });
  after(() => cleanup(work));

  /** A folder that looks like a libtorch of `version`, with libtorch_cuda when `cuda` (no real libraries). */
  function fakeLibtorch(name, version, cuda) {
    const dir = path.join(work, name);
    fs.mkdirSync(path.join(dir, 'lib'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'share', 'cmake', 'Torch'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), '');
    fs.writeFileSync(path.join(dir, 'lib', 'libtorch_cpu.so'), '');
    if (cuda) fs.writeFileSync(path.join(dir, 'lib', 'libtorch_cuda.so'), '');
    fs.writeFileSync(path.join(dir, 'version.py'), `__version__ = '${version}'\n`);
    const info = findLibtorch.inspectLibtorch(dir);
    expect(info.ok, info.reason).to.equal(true);
    expect(info.cuda).to.equal(cuda);
    return info;
  }

  it('a CPU prebuild fits the CPU and the CUDA build of its version; a CUDA prebuild only the CUDA one; other versions neither', () => {
    const cpuMeta = { torchVersion: '2.14.1+cpu', cuda: false, cxx11Abi: true };
    const cudaMeta = { torchVersion: '2.14.1+cu130', cuda: true, cxx11Abi: true };
    const cpu = fakeLibtorch('cpu-2.14.1', '2.14.1+cpu', false);
    const cuda = fakeLibtorch('cu130-2.14.1', '2.14.1+cu130', true);
    const older = fakeLibtorch('cu130-2.13.0', '2.13.0+cu130', true);
    expect(prebuilt.mismatch(cpuMeta, cpu)).to.equal(null);
    expect(prebuilt.mismatch(cpuMeta, cuda)).to.equal(null);
    expect(prebuilt.mismatch(cudaMeta, cuda)).to.equal(null);
    expect(prebuilt.mismatch(cudaMeta, cpu)).to.equal(
      'it is a CPU build of libtorch 2.14.1+cpu, and the prebuilt binary was built against a CUDA one (2.14.1+cu130: it links libtorch_cuda)',
    );
    expect(prebuilt.mismatch(cpuMeta, older)).to.equal('it is libtorch 2.13.0+cu130, the prebuilt binary needs 2.14.1');
    expect(prebuilt.mismatch(cudaMeta, older)).to.equal(
      'it is libtorch 2.13.0+cu130, the prebuilt binary needs 2.14.1',
    );
    // The CPU libtorch preloads no CUDA library; the CUDA one both, between libtorch_cpu and libtorch.
    expect(prebuilt.librariesToPreload(cpu.libDir).map((f) => path.basename(f))).to.deep.equal(['libtorch_cpu.so']);
    expect(prebuilt.librariesToPreload(cuda.libDir).map((f) => path.basename(f))).to.deep.equal([
      'libtorch_cpu.so',
      'libtorch_cuda.so',
    ]);
  });

  it('loading a CUDA prebuild with a CPU libtorch of its version is JEPA_LIBTORCH_MISMATCH saying it needs a CUDA build', () => {
    const base = jepa.addonInfo().builtAgainst?.split('+')[0] ?? '2.13.0';
    const pkg = path.join(work, 'pkg');
    fs.mkdirSync(path.join(pkg, 'node_modules'), { recursive: true });
    fs.cpSync(path.join(ROOT, 'dist'), path.join(pkg, 'dist'), { recursive: true });
    fs.cpSync(path.join(ROOT, 'scripts'), path.join(pkg, 'scripts'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
    fs.symlinkSync(path.join(ROOT, 'node_modules', 'node-gyp-build'), path.join(pkg, 'node_modules', 'node-gyp-build'));
    const dir = prebuilt.prebuildDir(pkg);
    fs.mkdirSync(dir, { recursive: true });
    // The loader refuses before it opens the binary: any file stands in for it.
    fs.writeFileSync(path.join(dir, prebuilt.PREBUILD_FILE), '');
    const meta = {
      platform: process.platform,
      arch: process.arch,
      libc: 'glibc',
      napiVersion: 8,
      torchVersion: `${base}+cu130`,
      cxx11Abi: true,
      cuda: true,
    };
    fs.writeFileSync(path.join(dir, prebuilt.INFO_FILE), JSON.stringify(meta));
    const cpu = fakeLibtorch('cpu-same', `${base}+cpu`, false);
    const code = `try { require(${JSON.stringify(pkg)}); console.log('loaded') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`;
    const env = { ...process.env, LIBTORCH: cpu.dir };
    delete env.JEPA_ADDON;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env });
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout);
    expect(out.code).to.equal('JEPA_LIBTORCH_MISMATCH');
    expect(out.message).to.contain(`needs libtorch ${base} (the C++ library of PyTorch; a CUDA build)`);
    expect(out.message).to.contain(`LIBTORCH=${cpu.dir}: it is a CPU build of libtorch ${base}+cpu`);
    expect(out.message).to.contain(`an unzipped libtorch ${base} distribution, a CUDA build`);
  });
});

describe('on a GPU: Node on cuda against Python on cuda', function () {
  this.timeout(600000);
  let dir;
  let py;

  before(function () {
    if (!jepa.cuda.isAvailable()) {
      if (process.env.JEPA_REQUIRE_CUDA === '1') {
        throw new Error(
          `JEPA_REQUIRE_CUDA=1 but cuda.isAvailable() is false (cuda.isBuilt() is ${jepa.cuda.isBuilt()}): this run must have a GPU`,
        );
      }
      this.skip();
    }
    dir = tmpDir('cuda-gpu-');
    // One Python run (the test Python, a CUDA torch on the GPU machine) writes every fixture.
    py = pythonJson(
      `
import json, sys, torch
d = sys.argv[1]
assert torch.cuda.is_available(), 'the test Python has no CUDA torch (set JEPA_PYTHON)'
dev = torch.device('cuda')
torch.manual_seed(0)
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(64, 256)
        self.fc2 = torch.nn.Linear(256, 64)
        self.norm = torch.nn.LayerNorm(64)
    def forward(self, x):
        return self.norm(self.fc2(torch.nn.functional.gelu(self.fc1(x))))
x = torch.randn(32, 64)
with torch.no_grad():
    m = torch.jit.trace(M().eval(), x)
m.save(d + '/module.pt')
out = {'x': x}
with torch.no_grad():
    for name, dtype in [('float32', torch.float32), ('float16', torch.float16), ('bfloat16', torch.bfloat16)]:
        mm = torch.jit.load(d + '/module.pt', map_location=dev).to(dtype)
        out[name] = mm(x.to(dev, dtype)).float().cpu()
torch.save(out, d + '/io.pt')
g = torch.Generator().manual_seed(1)
cuda_tensors = {'a': torch.randn(3, 5, generator=g).to(dev), 'b': torch.arange(7, dtype=torch.int64).to(dev),
                'h': torch.randn(4, generator=g).to(dev, torch.bfloat16)}
cuda_tensors['view'] = cuda_tensors['a'][1:, 2:]
torch.save(cuda_tensors, d + '/saved_on_cuda.pt')
print(json.dumps({'torch': torch.__version__, 'gpu': torch.cuda.get_device_name(0)}))
`,
      { args: [dir] },
    );
  });
  after(() => dir && cleanup(dir));

  const close = (a, b, tol, what) => {
    expect(a.length, what).to.equal(b.length);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(Number(a[i]) - Number(b[i])));
    expect(worst, `${what}: max |node - python|`).to.be.at.most(tol);
    return worst;
  };

  it('tensors go to cuda and back unchanged, sync and async, and report their device', async () => {
    const x = jepa.randn([64, 33], { seed: 3 });
    const g = x.to('cuda');
    expect(g.device).to.equal('cuda:0');
    expect(Array.from(g.cpu().data())).to.deep.equal(Array.from(x.data()));
    const h = await x.toAsync('cuda:0');
    expect(Array.from((await h.toAsync('cpu')).data())).to.deep.equal(Array.from(x.data()));
    expect(thrown(() => g.data()).code).to.equal('JEPA_NOT_CPU');
    expect(jepa.cuda.deviceCount()).to.be.at.least(1);
  });

  it('.pt: a file of CUDA tensors written by Python loads to the CPU by default and to cuda on request; views still share storage', async () => {
    const file = path.join(dir, 'saved_on_cuda.pt');
    const cpu = await jepa.load(file);
    expect(cpu.a.device).to.equal('cpu');
    const gpu = await jepa.load(file, { device: 'cuda' });
    expect(gpu.a.device).to.equal('cuda:0');
    expect(gpu.h.dtype).to.equal('bfloat16');
    expect(gpu.view.sharesStorage(gpu.a)).to.equal(true);
    expect(Array.from(gpu.a.cpu().data())).to.deep.equal(Array.from(cpu.a.data()));
    expect(Array.from(gpu.b.cpu().data(), Number)).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
  });

  it('.pt: CUDA tensors saved by Node load in Python (torch.load, weights_only) on cuda:0 with the same values', async () => {
    const file = path.join(dir, 'node_cuda.pt');
    const a = jepa.randn([5, 4], { seed: 9 });
    await jepa.save({ a: a.to('cuda'), n: jepa.arange(5).to('cuda') }, file);
    const got = pythonJson(
      `
import json, sys, torch
v = torch.load(sys.argv[1])
print(json.dumps({'device': str(v['a'].device), 'a': v['a'].cpu().flatten().tolist(), 'n': v['n'].cpu().tolist()}))
`,
      { args: [file] },
    );
    expect(got.device).to.equal('cuda:0');
    close(got.a, a.data(), 0, 'a');
    expect(got.n).to.deep.equal([0, 1, 2, 3, 4]);
  });

  for (const [dtype, tol] of [
    ['float32', 1e-4],
    ['float16', 2e-2],
    ['bfloat16', 1e-1],
  ]) {
    it(`a TorchScript forward on cuda in ${dtype} equals Python's on the same GPU`, async () => {
      const io = await jepa.load(path.join(dir, 'io.pt'));
      const m = await jepa.loadModule(path.join(dir, 'module.pt'), { device: 'cuda', dtype });
      const y = await m.forward(io.x.to('cuda').to(dtype));
      expect(y.device).to.equal('cuda:0');
      expect(y.dtype).to.equal(dtype);
      const worst = close(y.to('float32').cpu().data(), io[dtype].data(), tol, `${dtype} forward on ${py.gpu}`);
      if (process.env.JEPA_DEBUG) console.log(dtype, 'worst', worst);
      m.dispose();
    });
  }

  it('EMA on cuda equals the same update on the CPU (foreach formula)', () => {
    const shapes = [[256, 128], [128], [3, 3, 16, 16]];
    const make = (seed, device) => shapes.map((s, i) => jepa.randn(s, { seed: seed + i }).to(device));
    const tCpu = make(10, 'cpu');
    const sCpu = make(20, 'cpu');
    const tGpu = make(10, 'cuda');
    const sGpu = make(20, 'cuda');
    jepa.ema.updateSync(tCpu, sCpu, 0.996, { fused: false });
    const stats = jepa.ema.updateSync(tGpu, sGpu, 0.996);
    expect(stats.tensors).to.equal(shapes.length);
    expect(stats.fused).to.equal(false);
    tGpu.forEach((t, i) => close(t.cpu().data(), tCpu[i].data(), 1e-6, `tensor ${i}`));
  });

  for (const bf16 of [false, true]) {
    it(`an I-JEPA training step on cuda${bf16 ? ' with bf16 autocast' : ''} equals the same step on the CPU`, async () => {
      const spec = { images: randnSpec([2, 3, 32, 32], 40), ...ijepaMasks(7) };
      const run = async (device) => {
        const modules = {};
        for (const [k, f] of Object.entries(ijepaFiles)) modules[k] = await jepa.loadModule(f, { device });
        const trainer = new jepa.Trainer({ kind: 'ijepa', ...modules, ...testSchedules(), bf16 });
        const t = build(spec);
        const on = (x) => x.to(device);
        const stats = await trainer.step({
          images: on(t.images),
          masks: { context: t.context.map(on), targets: t.targets.map(on) },
        });
        const params = new Map();
        for (const [k, m] of Object.entries(trainer.modules)) {
          for (const [n, p] of m.namedParameters())
            params.set(`${k}.${n}`, Float32Array.from(p.cpu().to('float32').contiguous().data()));
        }
        return { loss: stats.loss, params };
      };
      const cpu = await run('cpu');
      const gpu = await run('cuda');
      // cuDNN convolutions may use TF32 on the GPU: the step agrees to about 1e-3, not bit for bit.
      const tol = bf16 ? 2e-2 : 1e-3;
      expect(Math.abs(gpu.loss - cpu.loss), `loss ${gpu.loss} vs ${cpu.loss}`).to.be.at.most(tol);
      for (const [name, a] of gpu.params) close(a, cpu.params.get(name), tol, name);
    });
  }

  it('the fixtures of the model tests load on cuda and run', async () => {
    const m = await jepa.loadModule(fixture('ijepa', 'context_encoder.pt'), { device: 'cuda' });
    const y = await m.forward(jepa.randn([1, 3, 32, 32], { seed: 1 }).to('cuda'));
    expect(y.device).to.equal('cuda:0');
    m.dispose();
  });
});
