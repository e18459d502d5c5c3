// TorchScript modules from Node: parity with Python on every fixture model and method, the value
// mapping, bad input, the event loop during a long forward, concurrent calls.
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { expect } from 'chai';
import { before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { cleanup, pythonJson, rejection, runNode, thrown, tmpDir } from './helpers.mjs';
import { checkParity, expectMatches, FIXTURES, loadCases, maxAbsDiff } from './model-fixtures.mjs';

const fixture = (...p) => path.join(FIXTURES, ...p);

const MODELS = [
  'values.pt',
  'ijepa/context_encoder.pt',
  'ijepa/target_encoder.pt',
  'ijepa/predictor.pt',
  'vjepa/context_encoder.pt',
  'vjepa/target_encoder.pt',
  'vjepa/predictor.pt',
  'hjepa.pt',
  'motion_ae.pt',
  'vl_predictor.pt',
  'vjepa2_tiny.pt',
];

describe('Module: parity with Python (every fixture model, every method)', () => {
  for (const name of MODELS) {
    it(`${name}: async run() equals torch.jit.load in Python within 1e-5`, async () => {
      const m = await jepa.loadModule(fixture(name));
      const n = await checkParity(fixture(name), (method, args) => m.run(method, ...args));
      expect(n).to.be.greaterThan(0);
    });
    it(`${name}: runSync() gives the same`, async () => {
      const m = jepa.loadModuleSync(fixture(name));
      await checkParity(fixture(name), (method, args) => m.runSync(method, ...args));
    });
  }

  it('forward() and forwardSync() are run("forward")', async () => {
    const m = await jepa.loadModule(fixture('ijepa/context_encoder.pt'));
    const { cases } = loadCases(fixture('ijepa/context_encoder.pt'));
    const c = cases[1];
    const a = await m.forward(...c.args);
    const b = m.forwardSync(...c.args);
    expect(maxAbsDiff(a, b)).to.equal(0);
  });

  it('lists methods and schemas as Python does', async () => {
    const m = await jepa.loadModule(fixture('hjepa.pt'));
    expect(m.methods()).to.include.members(['forward', 'extract_features', 'num_levels']);
    expect(m.hasMethod('extract_features')).to.equal(true);
    expect(m.schema('extract_features')).to.equal(
      'extract_features(Tensor images, int level=0, bool use_target_encoder=True) -> Tensor',
    );
    expect(m.arguments('forward').map((a) => a.name)).to.deep.equal(['images', 'mask']);
    const enc = await jepa.loadModule(fixture('ijepa/context_encoder.pt'));
    expect(enc.schema()).to.equal('forward(Tensor x, Optional[List[Tensor]] masks=None) -> Tensor');
  });

  it('namedParameters() and namedBuffers() equal Python named_parameters() / named_buffers()', async () => {
    const file = fixture('hjepa.pt');
    const py = pythonJson(`
import json, torch
m = torch.jit.load(${JSON.stringify(file)})
print(json.dumps({"params": [[k, float(v.double().sum()), list(v.shape)] for k, v in m.named_parameters()],
                  "buffers": [[k, list(v.shape)] for k, v in m.named_buffers()]}))`);
    const m = await jepa.loadModule(file);
    const params = m.namedParameters();
    expect([...params.keys()]).to.deep.equal(py.params.map((p) => p[0]));
    for (const [k, sum, shape] of py.params) {
      const t = params.get(k);
      expect(t.shape, k).to.deep.equal(shape);
      const s = t
        .to('float64')
        .data()
        .reduce((a, b) => a + b, 0);
      expect(Math.abs(s - sum), k).to.be.below(1e-6 * Math.max(1, Math.abs(sum)));
    }
    expect([...m.namedBuffers().keys()]).to.deep.equal(py.buffers.map((b) => b[0]));
    const values = await jepa.loadModule(fixture('values.pt'));
    expect([...values.namedBuffers().keys()]).to.deep.equal(['count', 'scale']);
    expect([...values.namedParameters().keys()]).to.deep.equal(['weight']);
  });

  it('parameters share memory with the module', async () => {
    const m = await jepa.loadModule(fixture('values.pt'));
    const w = m.namedParameters().get('weight');
    const x = jepa.tensor(new Float32Array(16).fill(0), [4, 4]);
    x.data()[0] = 1; // picks row 0 of the weight
    const before = m.runSync('fail', x).data()[0];
    w.data()[0] = 100;
    expect(m.runSync('fail', x).data()[0]).to.equal(100);
    expect(before).to.equal(-1);
  });
});

describe('Module: value mapping (docs/values.md)', () => {
  let m;
  before(async () => {
    m = await jepa.loadModule(fixture('values.pt'));
  });

  it('floats: top-level number, integral floats in containers are marked (FLOAT_KEYS)', async () => {
    const [three, list, dict] = await m.run('floats');
    expect(three).to.equal(3);
    expect(list).to.deep.equal([1, 2.5, -0]);
    expect(Object.is(list[2], -0)).to.equal(true);
    expect([...list[jepa.FLOAT_KEYS]]).to.deep.equal([0]); // 2.5 and -0 are floats anyway
    expect(dict).to.deep.equal({ one: 1, half: 0.5 });
    expect(dict[jepa.FLOAT_KEYS].has('one')).to.equal(true);
  });

  it('one codec: a module result saves to .pt and loads back with its types, and goes back into a method', async () => {
    const value = await m.run('floats');
    const dir = tmpDir('module-values-');
    try {
      jepa.saveSync(path.join(dir, 'v.pt'), value);
      const back = jepa.loadSync(path.join(dir, 'v.pt'));
      expect(back).to.be.instanceOf(jepa.Tuple);
      expect([...back[1][jepa.FLOAT_KEYS]]).to.deep.equal([0]);
      expect(back[2][jepa.FLOAT_KEYS].has('one')).to.equal(true);
      expect(back[jepa.FLOAT_KEYS].has(0)).to.equal(true); // 3.0 in the tuple
    } finally {
      cleanup(dir);
    }
    const t = jepa.parameter(jepa.ones([1]), false);
    const r = await m.run('echo', 1, 2, 's', true, [1], [3, 'x'], new Map([['k', t]]));
    expect(r[6]['k!'].data()[0]).to.equal(2); // a tensor marked as a Parameter passes as a Tensor
  });

  it('ints beyond 2^53 are bigints; tuples are Tuples; int keys give a Map; None is null', async () => {
    const big = await m.run('big');
    expect(big).to.be.instanceOf(jepa.Tuple);
    expect(big[0]).to.equal(1n << 60n);
    expect(big[1]).to.equal(-(1n << 53n));
    const map = await m.run('int_keys');
    expect(map).to.be.instanceOf(Map);
    expect([...map]).to.deep.equal([
      [1, 'one'],
      [2, 'two'],
    ]);
    expect(await m.run('nothing')).to.equal(null);
    const dev = await m.run('where');
    expect(dev).to.be.instanceOf(jepa.TorchDevice);
    expect(String(dev)).to.equal('cpu');
  });

  it('arguments follow the schema: numbers for float, bigints for int, plain arrays for tuples, Maps for dicts', async () => {
    const r = await m.run('echo', 41n, 2, 'a', false, [1, 2], [3, 'x'], new Map([['k', jepa.ones([1])]]));
    expect(r[0]).to.equal(42);
    expect(r[1]).to.equal(4);
    expect(r[2]).to.equal('a!');
    expect(r[3]).to.equal(true);
    expect(r[4]).to.deep.equal([1, 2, 2]);
    expect([...r[5]]).to.deep.equal([30, 'x?']);
    expect(Object.keys(r[6])).to.deep.equal(['k!']);
    expect(r[6]['k!'].data()[0]).to.equal(2);
    expect(r[7]).to.equal(null);
    expect(await m.run('optional_int')).to.equal(-1);
    expect(await m.run('optional_int', null)).to.equal(-1);
    expect(await m.run('optional_int', 5)).to.equal(5);
    // An integral float result at the top level is a jepa.Float, as a .pt file's (one scheme).
    const six = await m.run('any_list', [1, 2, jepa.float(3)]);
    expect(six).to.be.instanceOf(jepa.Float);
    expect(+six).to.equal(6);
    const out = await m.forward(jepa.ones([2]), jepa.float(3));
    expect([...out.data()]).to.deep.equal([3, 3]);
  });

  it('a module call with a TorchScript exception rejects with its message, the process lives on', async () => {
    const err = await rejection(m.run('fail', jepa.ones([2, 2, 2])));
    expect(err.code).to.equal('JEPA_TORCH_ERROR');
    expect(err.message).to.match(/^ValueError: expected a 2-D tensor\n/);
    const err2 = thrown(() => m.runSync('fail', jepa.ones([3])));
    expect(err2.message).to.include('expected a 2-D tensor');
    expect(m.runSync('fail', jepa.ones([1, 4])).shape).to.deep.equal([1, 4]);
  });

  it('a method with state: bump() mutates a buffer', async () => {
    const fresh = await jepa.loadModule(fixture('values.pt'));
    expect(await fresh.run('bump')).to.equal(1);
    expect(await fresh.run('bump')).to.equal(2);
    expect(fresh.namedBuffers().get('count').item()).to.equal(2n);
  });
});

describe('Module: bad input gives errors that say what was expected', () => {
  let m;
  before(async () => {
    m = await jepa.loadModule(fixture('values.pt'));
  });

  it('missing, non-TorchScript, truncated or garbage files', async () => {
    let e = await rejection(jepa.loadModule(fixture('nope.pt')));
    expect(e.code).to.equal('JEPA_FILE_NOT_FOUND');
    expect(e.message).to.include('nope.pt').and.include('torch.jit.save');
    e = thrown(() => jepa.loadModuleSync(fixture('nope.pt')));
    expect(e.code).to.equal('JEPA_FILE_NOT_FOUND');
    e = await rejection(jepa.loadModule(fixture('not_a_module.pt')));
    expect(e.code).to.equal('JEPA_INVALID_MODULE');
    expect(e.message).to.include('torch.jit.save');
    e = await rejection(jepa.loadModule(fixture('truncated.pt')));
    expect(e.code).to.equal('JEPA_INVALID_MODULE');
    e = await rejection(jepa.loadModule(FIXTURES));
    expect(e.code).to.equal('JEPA_INVALID_MODULE');
    const dir = tmpDir();
    try {
      const junk = path.join(dir, 'junk.pt');
      fs.writeFileSync(junk, Buffer.from('PK\u0003\u0004 this is not a zip at all'));
      e = thrown(() => jepa.loadModuleSync(junk));
      expect(e.code).to.equal('JEPA_INVALID_MODULE');
      fs.writeFileSync(junk, Buffer.alloc(0));
      e = await rejection(jepa.loadModule(junk));
      expect(e.code).to.equal('JEPA_INVALID_MODULE');
    } finally {
      cleanup(dir);
    }
  });

  it('bad options', async () => {
    let e = await rejection(jepa.loadModule(42));
    expect(e).to.be.instanceOf(TypeError);
    expect(e.message).to.include('expected `path` to be a file path');
    e = await rejection(jepa.loadModule(fixture('values.pt'), { device: 'gpu' }));
    expect(e.message).to.include("expected `options.device` to be 'cpu', 'cuda' or 'cuda:N'");
    e = await rejection(jepa.loadModule(fixture('values.pt'), { dtype: 'float8' }));
    expect(e.code).to.equal('JEPA_UNKNOWN_DTYPE');
    e = await rejection(jepa.loadModule(fixture('values.pt'), { colour: 'red' }));
    expect(e.message).to.include('unknown option `options.colour`');
  });

  it('a missing method names the methods there are', async () => {
    const e = await rejection(m.run('nope'));
    expect(e.code).to.equal('JEPA_METHOD_NOT_FOUND');
    expect(e.message).to.include('`nope`').and.include('forward').and.include('echo');
    expect(thrown(() => m.runSync('')).message).to.include('expected `method` to be a method name');
  });

  it('wrong argument types name the argument, the declared type and what was given', async () => {
    let e = await rejection(m.forward('x'));
    expect(e).to.be.instanceOf(TypeError);
    expect(e.code).to.equal('JEPA_INVALID_ARGUMENT');
    expect(e.message).to.equal('expected argument `x` of forward() to be Tensor, got a string');
    e = await rejection(m.forward(jepa.ones([1]), 'two'));
    expect(e.message).to.equal('expected argument `factor` of forward() to be float, got a string');
    e = await rejection(m.run('tensors', [jepa.ones([1]), 3]));
    expect(e.message).to.equal(
      'expected argument `xs` of tensors() to be List[Tensor] (xs[1] should be Tensor), got a number (3)',
    );
    e = await rejection(m.run('echo', 1.5));
    expect(e.message).to.equal('expected argument `i` of echo() to be int, got a number (1.5)');
    e = await rejection(m.run('echo', 1, 1, 's', true, [1], [1, 2, 3]));
    expect(e.message).to.include('`t` of echo() to be Tuple[int, str]');
    e = await rejection(m.run('echo', 1, 1, 's', true, [1], [1, 'a'], { a: 1 }));
    expect(e.message).to.include('`d` of echo() to be Dict[str, Tensor]').and.include('got a number (1)');
    e = await rejection(m.forward());
    expect(e.message).to.include('missing argument `x` (Tensor) of forward(Tensor x, float factor=2.) -> Tensor');
    e = await rejection(m.forward(jepa.ones([1]), 1, 2));
    expect(e.message).to.include('forward() takes 2 argument(s)');
    e = await rejection(m.forward(new Set([1])));
    expect(e.message).to.equal(
      'expected argument `x` of forward() to be Tensor, got a Set, which has no TorchScript form',
    );
    e = await rejection(m.run('any_list', [1, () => 2]));
    expect(e.message).to.equal('cannot pass `xs[1]` to any_list(): a function has no Python equivalent');
    const t = jepa.ones([2]);
    t.dispose();
    e = await rejection(m.forward(t));
    expect(e.code).to.equal('JEPA_DISPOSED');
  });

  it('wrong rank, size or dtype of an input: libtorch says what it expected', async () => {
    const enc = await jepa.loadModule(fixture('ijepa/context_encoder.pt'));
    let e = await rejection(enc.forward(jepa.zeros([2, 3, 32])));
    expect(e.code).to.equal('JEPA_TORCH_ERROR');
    expect(e.message).to.match(
      /^RuntimeError: Given groups=1, weight of size \[32, 3, 8, 8\], expected input\[1, 2, 3, 32\] to have 3 channels/,
    );
    expect(e.message).to.include('TorchScript interpreter');
    e = await rejection(enc.forward(jepa.zeros([1, 3, 16, 16])));
    expect(e.code).to.equal('JEPA_TORCH_ERROR');
    expect(e.message).to.match(/^RuntimeError: The size of tensor a \(4\) must match the size of tensor b \(16\)/);
    e = await rejection(enc.forward(jepa.zeros([1, 3, 32, 32], { dtype: 'float64' })));
    expect(e.code).to.equal('JEPA_TORCH_ERROR');
    expect(e.message)
      .to.match(/Double|double/)
      .and.match(/Float|float/);
    e = await rejection(enc.forward(jepa.zeros([1, 3, 32, 32]), [jepa.tensor([[99n]])]));
    expect(e.code).to.equal('JEPA_TORCH_ERROR');
    expect(e.message).to.match(/index 99 is out of bounds|out of bounds/);
    e = await rejection(enc.forward(jepa.zeros([1, 3, 32, 32]), [jepa.tensor([[1.5]])]));
    expect(e.message).to.match(/Long|int64/);
  });

  it('devices: CUDA asked for where there is none', async function () {
    if (jepa.cuda.isAvailable()) this.skip();
    const e = await rejection(jepa.loadModule(fixture('values.pt'), { device: 'cuda' }));
    expect(e.code).to.equal('JEPA_CUDA_UNAVAILABLE');
    expect(thrown(() => m.to('cuda')).code).to.equal('JEPA_CUDA_UNAVAILABLE');
  });

  it('devices: a tensor on another device than the module (GPU only)', async function () {
    if (!jepa.cuda.isAvailable()) this.skip();
    const e = await rejection(m.forward(jepa.ones([2], { device: 'cuda' })));
    expect(e.code).to.equal('JEPA_DEVICE_MISMATCH');
    expect(e.message).to.include(
      "expected `x` of forward() to be on cpu (the module's device), got a tensor on cuda:0",
    );
  });

  it('a disposed module', async () => {
    const d = await jepa.loadModule(fixture('values.pt'));
    d.dispose();
    d.dispose();
    expect(d.isDisposed).to.equal(true);
    expect(thrown(() => d.methods()).code).to.equal('JEPA_DISPOSED');
    expect((await rejection(d.forward(jepa.ones([1])))).code).to.equal('JEPA_DISPOSED');
  });
});

describe('Module: modes, dtype, device, save', () => {
  it('train() and eval()', async () => {
    const m = await jepa.loadModule(fixture('motion_ae.pt'));
    expect(m.training).to.equal(false);
    expect(m.train()).to.equal(m);
    expect(m.training).to.equal(true);
    m.eval();
    expect(m.training).to.equal(false);
    expect(thrown(() => m.train('yes')).message).to.include('expected `mode` to be a boolean');
  });

  it('to(dtype) converts floating-point parameters and buffers only, as Python', async () => {
    const m = await jepa.loadModule(fixture('values.pt'), { dtype: 'float64' });
    expect(m.dtype).to.equal('float64');
    expect(m.namedBuffers().get('count').dtype).to.equal('int64');
    expect(m.namedBuffers().get('scale').dtype).to.equal('float64');
    const x = jepa.tensor(new Float64Array([1, 2, 3, 4]), [1, 4]);
    expect((await m.run('fail', x)).dtype).to.equal('float64');
    m.to('float32');
    expect(m.dtype).to.equal('float32');
    m.to({ device: 'cpu', dtype: 'float32' });
    expect(m.device).to.equal('cpu');
    expect(thrown(() => m.to('float8')).code).to.equal('JEPA_UNKNOWN_DTYPE');
  });

  it('a float64 copy of an encoder gives the float32 results within 1e-5', async () => {
    const file = fixture('ijepa/context_encoder.pt');
    const m = await jepa.loadModule(file, { dtype: 'float64' });
    const cases = loadCases(file);
    const c = cases.cases[1];
    const out = await m.forward(c.args[0].to('float64'), ...c.args.slice(1));
    expect(out.dtype).to.equal('float64');
    expectMatches(out.to('float32'), c.expected, cases, 'float64 forward');
  });

  it('save(): Python torch.jit.load reads what Node wrote and computes the same', async () => {
    const dir = tmpDir();
    try {
      const m = await jepa.loadModule(fixture('motion_ae.pt'));
      const out = path.join(dir, 'saved.pt');
      await m.save(out);
      m.saveSync(path.join(dir, 'saved-sync.pt'));
      const cases = loadCases(fixture('motion_ae.pt'));
      const py = pythonJson(`
import json, torch
m = torch.jit.load(${JSON.stringify(out)})
m2 = torch.jit.load(${JSON.stringify(path.join(dir, 'saved-sync.pt'))})
torch.manual_seed(0)
x = torch.randn(2, 5, 6, 24)
z, motion, ratio = m.encode(x)
z2, _, _ = m2.encode(x)
print(json.dumps({"methods": sorted(n for n in ["forward", "encode", "decode"] if hasattr(m, n)),
                  "same": bool(torch.equal(z, z2)), "ratio": ratio}))`);
      expect(py.methods).to.deep.equal(['decode', 'encode', 'forward']);
      expect(py.same).to.equal(true);
      expect(py.ratio).to.equal(3);
      const back = await jepa.loadModule(out);
      await checkParity(fixture('motion_ae.pt'), (method, args) => back.run(method, ...args));
      expect(cases.cases.length).to.be.greaterThan(0);
    } finally {
      cleanup(dir);
    }
  });

  it('setNumThreads / getNumThreads', () => {
    const before = jepa.getNumThreads();
    jepa.setNumThreads(1);
    expect(jepa.getNumThreads()).to.equal(1);
    jepa.setNumThreads(before);
    expect(jepa.getNumThreads()).to.equal(before);
    expect(thrown(() => jepa.setNumThreads(0)).code).to.equal('JEPA_INVALID_ARGUMENT');
  });

  it("a call with its own settings (runWith, used by extract): threads and optimize give a plain call's result; bad settings are refused", async () => {
    const m = await jepa.loadModule(fixture('ijepa/context_encoder.pt'));
    const x = jepa.randn([2, 3, 32, 32], { seed: 3 });
    const plain = await m.run('forward', x);
    for (const options of [{ threads: 1 }, { threads: 2 }, { optimize: false }, { threads: 1, optimize: false }, {}]) {
      const out = await m.runWith(options, 'forward', x);
      expect(maxAbsDiff(out, plain), JSON.stringify(options)).to.be.below(1e-5);
    }
    // A plain call after them still gives the same result.
    expect(maxAbsDiff(await m.run('forward', x), plain)).to.be.below(1e-5);
    const cases = [
      [{ threads: 0 }, 'expected `options.threads` to be a positive integer, got 0'],
      [{ threads: 1.5 }, 'expected `options.threads` to be a positive integer, got 1.5'],
      [{ threads: '2' }, 'expected `options.threads` to be a positive integer, got "2"'],
      [{ optimize: 1 }, 'expected `options.optimize` to be a boolean, got 1'],
      [7, 'expected `options` to be an object, got 7'],
    ];
    for (const [bad, message] of cases) {
      const err = await rejection(m.runWith(bad, 'forward', x));
      expect(err.code, JSON.stringify(bad)).to.equal('JEPA_INVALID_ARGUMENT');
      expect(err.message).to.equal(message);
    }
    m.dispose();
  });
});

describe('Module: the event loop and concurrent calls', () => {
  it('the event loop keeps running while a long forward runs on a worker thread', async function () {
    // One intra-op thread, so that on a 2-core machine a core is left for the JS thread: the test
    // measures whether the forward blocks the event loop, not whether the CPU is saturated.
    // A blocked loop would lag for the whole forward (hundreds of ms) on every attempt. No absolute
    // timing is asserted (a loaded machine can delay a timer by tens of ms): the timer must keep
    // firing, and its worst gap must be a small fraction of the forward's duration.
    this.timeout(60000);
    const threads = jepa.getNumThreads();
    jepa.setNumThreads(1);
    try {
      const m = await jepa.loadModule(fixture('values.pt'));
      const x = jepa.randn([384, 384], { seed: 1 });
      let t0 = performance.now();
      m.runSync('spin', x, 2);
      const perRound = (performance.now() - t0) / 2;
      const rounds = Math.max(4, Math.ceil(900 / Math.max(perRound, 0.5)));
      const attempts = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        const histogram = monitorEventLoopDelay({ resolution: 5 });
        let ticks = 0;
        let worstGap = 0;
        let last = performance.now();
        const timer = setInterval(() => {
          const now = performance.now();
          worstGap = Math.max(worstGap, now - last);
          last = now;
          ticks++;
        }, 5);
        histogram.enable();
        t0 = performance.now();
        const out = await m.run('spin', x, rounds);
        const elapsed = performance.now() - t0;
        histogram.disable();
        clearInterval(timer);
        expect(out.shape).to.deep.equal([384, 384]);
        expect(elapsed, 'the forward ran long enough to matter').to.be.greaterThan(150);
        expect(ticks, 'the timer kept firing').to.be.greaterThan(elapsed / 5 / 4);
        attempts.push({ elapsed, maxDelay: histogram.max / 1e6, worstGap });
        if (worstGap < elapsed / 4) break;
      }
      const best = attempts.reduce((a, b) => (a.worstGap / a.elapsed <= b.worstGap / b.elapsed ? a : b));
      expect(
        best.worstGap,
        `largest gap between 5 ms timer ticks (ms), attempts ${JSON.stringify(attempts)}`,
      ).to.be.below(best.elapsed / 4);
    } finally {
      jepa.setNumThreads(threads);
    }
  });

  it('many forwards in flight at once each return their own correct result', async () => {
    const file = fixture('ijepa/context_encoder.pt');
    const m = await jepa.loadModule(file);
    const inputs = Array.from({ length: 24 }, (_, i) => jepa.randn([2, 3, 32, 32], { seed: i }));
    const masks = inputs.map((_, i) => [
      jepa.tensor(
        [
          [i % 16, (i + 5) % 16],
          [(i + 3) % 16, 0],
        ],
        { dtype: 'int64' },
      ),
    ]);
    const expected = inputs.map((x, i) => m.forwardSync(x, masks[i]));
    const results = await Promise.all(inputs.map((x, i) => m.forward(x, masks[i])));
    results.forEach((r, i) => expect(maxAbsDiff(r, expected[i]), `call ${i}`).to.equal(0));
  });

  it('concurrent calls on different models and methods', async () => {
    const h = await jepa.loadModule(fixture('hjepa.pt'));
    const cases = loadCases(fixture('hjepa.pt'));
    const [fwd, l0, l1, l2] = cases.cases;
    const jobs = [];
    for (let i = 0; i < 6; i++) {
      jobs.push(h.run('forward', ...fwd.args).then((r) => expectMatches(r, fwd.expected, cases)));
      for (const c of [l0, l1, l2]) {
        jobs.push(h.run('extract_features', ...c.args).then((r) => expectMatches(r, c.expected, cases)));
      }
    }
    await Promise.all(jobs);
  });

  it('train()/eval()/to() refuse to change a module with calls in flight (JEPA_MODULE_BUSY)', async () => {
    const m = await jepa.loadModule(fixture('values.pt'));
    const p = m.run('spin', jepa.randn([256, 256], { seed: 2 }), 20);
    const e = thrown(() => m.train());
    expect(e.code).to.equal('JEPA_MODULE_BUSY');
    expect(e.message).to.include('in flight');
    expect(thrown(() => m.to('float64')).code).to.equal('JEPA_MODULE_BUSY');
    await p;
    m.train();
    expect(m.training).to.equal(true);
  });

  it('dispose() or garbage collection while a call is in flight: the call still completes', async () => {
    let m = await jepa.loadModule(fixture('values.pt'));
    const p = m.run('spin', jepa.randn([128, 128], { seed: 3 }), 20);
    m.dispose();
    m = null;
    if (global.gc) global.gc();
    const out = await p;
    expect(out.shape).to.deep.equal([128, 128]);
  });
});

describe('Module: worker threads', () => {
  it('a worker thread loads and runs a module; terminating it during a call leaves the process alive, and it exits cleanly', () => {
    const file = JSON.stringify(fixture('values.pt'));
    const r = runNode(`
import { Worker } from 'node:worker_threads';
import jepa from 'jepa-native';
const code = \`
  import { parentPort } from 'node:worker_threads';
  import jepa from 'jepa-native';
  (async () => {
    const m = await jepa.loadModule(${file.replace(/\\/g, '\\\\')});
    const y = await m.forward(jepa.ones([3]), 4);
    parentPort.postMessage(Array.from(y.data()));
    m.run('spin', jepa.randn([256, 256], { seed: 1 }), 1000);
    parentPort.postMessage('spinning');
  })();
\`;
const w = new Worker(code, { eval: true });
const messages = [];
await new Promise((resolve, reject) => {
  w.on('message', (m) => { messages.push(m); if (m === 'spinning') resolve(); });
  w.on('error', reject);
});
await w.terminate();
const m = await jepa.loadModule(${file});
const y = await m.forward(jepa.ones([2]), 3);
console.log(JSON.stringify({ messages, main: Array.from(y.data()) }));
`);
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    expect(out.messages[0]).to.deep.equal([4, 4, 4]);
    expect(out.main).to.deep.equal([3, 3]);
  });
});
