// EMA target update and schedules: bit equality with Python's foreach calls and I-JEPA's loop on
// a ViT-B-sized parameter set, name matching and its errors, modules, buffers, prefixes, and the
// schedules against the Python formulas at every step.
import crypto from 'node:crypto';
import path from 'node:path';
import { expect } from 'chai';
import { after, before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { cleanup, pythonJson, rejection, thrown, tmpDir } from './helpers.mjs';
import { vitBShapes } from '../bench/common.mjs';
import { FIXTURES } from './model-fixtures.mjs';

const fixture = (...p) => path.join(FIXTURES, ...p);

const bytesOf = (t) => {
  const a = t.data();
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
};

function digest(tensors) {
  const h = crypto.createHash('sha256');
  for (const t of tensors) h.update(bytesOf(t));
  return h.digest('hex');
}

// Python: the same sets (torch.randn with a fresh generator per tensor), V-JEPA 2's foreach
// update and I-JEPA's loop; digests and the largest difference between the two in ulps.
const PY_VIT = `
import hashlib, json, sys, torch
shapes, m = json.loads(sys.argv[1]), float(sys.argv[2])
torch.set_num_threads(2)
gen = lambda seed, s: torch.randn(s, generator=torch.Generator().manual_seed(seed))
src = [gen(1000 + i, s) for i, s in enumerate(shapes)]
def digest(ts):
    h = hashlib.sha256()
    for t in ts: h.update(t.numpy().tobytes())
    return h.hexdigest()
a = [gen(i, s) for i, s in enumerate(shapes)]
with torch.no_grad():
    torch._foreach_mul_(a, m)
    torch._foreach_add_(a, src, alpha=1 - m)
b = [gen(i, s) for i, s in enumerate(shapes)]
with torch.no_grad():
    for pk, pq in zip(b, src):
        pk.mul_(m).add_((1. - m) * pq.detach())
# The two forms differ by the rounding of (1 - m) * q: at most one ulp of the larger of the
# result and m * target (where the sum cancels, that is more ulps of the small result).
ulps, differ = 0.0, 0
for i, (x, y) in enumerate(zip(a, b)):
    scale = torch.maximum(x.abs(), (gen(i, shapes[i]) * m).abs())
    ulp = (torch.nextafter(scale, torch.tensor(float('inf'))) - scale).double()
    d = (x.double() - y.double()).abs()
    ulps = max(ulps, float((d / ulp).max()))
    differ += int((d > 0).sum())
print(json.dumps({"foreach": digest(a), "loop": digest(b), "ulps": ulps, "differ": differ, "n": sum(t.numel() for t in a)}))
`;

describe('ema.update: bit equality with Python on a ViT-B parameter set (86 M)', function () {
  this.timeout(120000);
  const shapes = vitBShapes();
  const momentum = 0.9961234567;

  it('equals torch._foreach_mul_ + _foreach_add_(alpha=1-m) bit for bit, and I-JEPA\'s loop with formula "loop"', async () => {
    const py = pythonJson(PY_VIT, { args: [JSON.stringify(shapes), String(momentum)] });
    const total = shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
    expect(py.n).to.equal(total).and.to.be.greaterThan(85e6);
    expect(py.ulps).to.be.at.most(1); // I-JEPA's loop and the foreach form differ by at most one ulp
    expect(py.differ).to.be.greaterThan(0); // ... and they do differ: which one is matched matters
    const source = shapes.map((s, i) => jepa.randn(s, { seed: 1000 + i }));
    let target = shapes.map((s, i) => jepa.randn(s, { seed: i }));
    const stats = await jepa.ema.update(target, source, momentum);
    expect(stats).to.deep.include({ tensors: shapes.length, elements: total, copied: 0 });
    expect(stats.fused).to.equal(jepa.ema.fusedAvailable());
    expect(digest(target)).to.equal(py.foreach);
    target.forEach((t) => t.dispose());
    target = shapes.map((s, i) => jepa.randn(s, { seed: i }));
    jepa.ema.updateSync(target, source, momentum, { formula: 'loop' });
    expect(digest(target)).to.equal(py.loop);
    target.forEach((t) => t.dispose());
    source.forEach((t) => t.dispose());
  });
});

// Special values for the bit-equality tests: subnormals (the smallest, and ones whose products
// underflow gradually), NaNs of both signs and with a payload, infinities, signed zeros, and
// values near the float32 maximum.
const SPECIALS = [
  0x00000001, 0x80000001, 0x000fffff, 0x807fffff, 0x00800000, 0x7fc00000, 0xffc00000, 0x7fc01234, 0x7f800000,
  0xff800000, 0x00000000, 0x80000000, 0x7f7fffff, 0xff7fffff, 0x02000000,
];

/** n float32 values: N(0, 1) scaled per block by 2^k (k in -140..120), a special value every ~7. */
function specialTensor(n, seed) {
  const t = jepa.randn([n], { seed });
  const f = t.data();
  const u = new Uint32Array(f.buffer, f.byteOffset, n);
  let r = seed * 2654435761 + 1;
  const next = () => (r = (Math.imul(r, 1103515245) + 12345) >>> 0);
  for (let i = 0; i < n; i++) {
    const x = next();
    if (x % 7 === 0) u[i] = SPECIALS[(x >>> 8) % SPECIALS.length];
    else if (x % 5 === 0) f[i] *= 2 ** (((x >>> 8) % 261) - 140);
  }
  return t;
}

describe("ema.update formula 'loop': the fused kernel equals Python's two-pass loop bit for bit", function () {
  this.timeout(120000);
  const sizes = [1, 7, 16, 17, 31, 33, 65537, 1000003, 3000017];
  const momenta = [0.996, 0.9961234567, 0.5, 0.999999, 1e-3, 0, 1];
  let dir;
  before(() => {
    dir = tmpDir('ema-loop-');
  });
  after(() => cleanup(dir));

  it('on 4.1 M values with subnormals, NaNs, infinities and signed zeros, for 7 momenta (and so does the ATen path)', () => {
    const target = sizes.map((n, i) => specialTensor(n, 10 + i));
    const source = sizes.map((n, i) => specialTensor(n, 50 + i));
    const file = path.join(dir, 'sets.pt');
    jepa.saveSync(file, { target, source });
    const py = pythonJson(
      `
import hashlib, json, sys, torch
torch.set_num_threads(${jepa.getNumThreads()})
sets = torch.load(sys.argv[1])
out = []
for m in json.loads(sys.argv[2]):
    k = [t.clone() for t in sets["target"]]
    with torch.no_grad():
        for pk, pq in zip(k, sets["source"]):
            pk.mul_(m).add_((1. - m) * pq.detach())
    h = hashlib.sha256()
    for t in k: h.update(t.numpy().tobytes())
    out.append(h.hexdigest())
print(json.dumps(out))`,
      { args: [file, JSON.stringify(momenta)] },
    );
    momenta.forEach((m, j) => {
      const fused = target.map((t) => t.clone());
      const aten = target.map((t) => t.clone());
      expect(jepa.ema.updateSync(fused, source, m, { formula: 'loop' }).fused).to.equal(true);
      expect(jepa.ema.updateSync(aten, source, m, { formula: 'loop', fused: false }).fused).to.equal(false);
      expect(digest(fused), `fused kernel, m = ${m}`).to.equal(py[j]);
      expect(digest(aten), `ATen calls, m = ${m}`).to.equal(py[j]);
      fused.forEach((t) => t.dispose());
      aten.forEach((t) => t.dispose());
    });
    // The foreach kernel on the same values gives the bits of its two ATen calls too.
    const f1 = target.map((t) => t.clone());
    const f2 = target.map((t) => t.clone());
    expect(jepa.ema.updateSync(f1, source, 0.996).fused).to.equal(jepa.ema.fusedAvailable());
    jepa.ema.updateSync(f2, source, 0.996, { fused: false });
    expect(digest(f1)).to.equal(digest(f2));
  });
});

describe('ema.update: semantics', () => {
  it('the fused kernel and the two ATen calls give the same bits (odd sizes, tails, zeros, infinities)', () => {
    const sizes = [1, 7, 15, 16, 17, 31, 33, 65535, 65537, 200003];
    for (const m of [0.996, 0.5, 0.9999999, 0, 1]) {
      const a = sizes.map((n, i) => jepa.randn([n], { seed: i }));
      const b = a.map((t) => t.clone());
      const src = sizes.map((n, i) => jepa.randn([n], { seed: 100 + i }));
      a[0] = jepa.tensor(new Float32Array([Infinity]), [1]);
      b[0] = jepa.tensor(new Float32Array([-Infinity]), [1]);
      src[0] = jepa.tensor(new Float32Array([Infinity]), [1]);
      b[0].copy_(a[0]);
      src[1].fill_(0);
      const s1 = jepa.ema.updateSync(a, src, m);
      const s2 = jepa.ema.updateSync(b, src, m, { fused: false });
      expect(s2.fused).to.equal(false);
      expect(s1.fused).to.equal(jepa.ema.fusedAvailable());
      expect(digest(a)).to.equal(digest(b));
    }
  });

  it('m = 1 keeps the target; m = 0 copies the source', () => {
    const t = jepa.tensor([1, 2, 3], [3]);
    const s = jepa.tensor([5, 6, 7], [3]);
    jepa.ema.updateSync([t], [s], 1);
    expect(Array.from(t.data())).to.deep.equal([1, 2, 3]);
    jepa.ema.updateSync([t], [s], 0);
    expect(Array.from(t.data())).to.deep.equal([5, 6, 7]);
  });

  it('float64 and non-contiguous tensors take the ATen path with the same result as Python', () => {
    const t = jepa.tensor([1, 2, 3, 4], [2, 2], { dtype: 'float64' });
    const s = jepa.tensor([0.5, 0.25, 0.125, 1], [2, 2], { dtype: 'float64' });
    const stats = jepa.ema.updateSync({ w: t }, { w: s }, 0.9);
    expect(stats.fused).to.equal(false);
    const want = [1, 2, 3, 4].map((x, i) => x * 0.9 + [0.5, 0.25, 0.125, 1][i] * (1 - 0.9));
    Array.from(t.data()).forEach((x, i) => expect(x).to.be.closeTo(want[i], 1e-15));
    const nc = jepa.tensor([1, 2, 3, 4], [2, 2]).permute([1, 0]);
    const src = jepa.zeros([2, 2]);
    expect(jepa.ema.updateSync([nc], [src], 0.5).fused).to.equal(false);
    expect(Array.from(nc.contiguous().data())).to.deep.equal([0.5, 1.5, 1, 2]);
  });

  it('matches named tensors by name, whatever their order (Map and plain object)', () => {
    const t = new Map([
      ['b', jepa.tensor([10], [1])],
      ['a', jepa.tensor([20, 20], [2])],
    ]);
    const s = { a: jepa.tensor([0, 0], [2]), b: jepa.tensor([0], [1]) };
    jepa.ema.updateSync(t, s, 0.5);
    expect(Array.from(t.get('a').data())).to.deep.equal([10, 10]);
    expect(Array.from(t.get('b').data())).to.deep.equal([5]);
  });

  it('lists every missing name and every shape or dtype difference (JEPA_PARAMETER_MISMATCH)', () => {
    const t = { a: jepa.zeros([2]), b: jepa.zeros([3]), c: jepa.zeros([1]), only_t: jepa.zeros([1]) };
    const s = {
      a: jepa.zeros([2]),
      b: jepa.zeros([4]),
      c: jepa.zeros([1], { dtype: 'float64' }),
      only_s: jepa.zeros([1]),
    };
    const err = thrown(() => jepa.ema.updateSync(t, s, 0.5));
    expect(err.code).to.equal('JEPA_PARAMETER_MISMATCH');
    expect(err.message).to.include('only_t: only in the target');
    expect(err.message).to.include('only_s: only in the source');
    expect(err.message).to.include('b: target [3] Float on cpu, source [4] Float on cpu');
    expect(err.message).to.include('c: target [1] Float on cpu, source [1] Double on cpu');
    expect(err.message).to.include('4 problems');
    // Nothing was written.
    expect(Array.from(t.a.data())).to.deep.equal([0, 0]);
  });

  it('Arrays are matched by position: a length or shape difference is listed', () => {
    const e1 = thrown(() => jepa.ema.updateSync([jepa.zeros([2])], [jepa.zeros([2]), jepa.zeros([1])], 0.5));
    expect(e1.code).to.equal('JEPA_PARAMETER_MISMATCH');
    expect(e1.message).to.include('the target has 1 tensors, the source 2');
    const e2 = thrown(() => jepa.ema.updateSync([jepa.zeros([2])], [jepa.zeros([3])], 0.5));
    expect(e2.message).to.include('[0]: target [2] Float on cpu, source [3] Float on cpu');
  });

  it('bad arguments are TypeErrors with exact messages; async forms reject', async () => {
    const t = [jepa.zeros([1])];
    expect(
      thrown(() =>
        jepa.ema.updateSync(
          t,
          t.map((x) => x.clone()),
          '0.9',
        ),
      ).message,
    ).to.equal('expected `momentum` to be a finite number, got "0.9"');
    expect(
      thrown(() =>
        jepa.ema.updateSync(
          t,
          t.map((x) => x.clone()),
          NaN,
        ),
      ).message,
    ).to.equal('expected `momentum` to be a finite number, got NaN');
    expect(thrown(() => jepa.ema.updateSync(t, { a: jepa.zeros([1]) }, 0.5)).message).to.match(/both named/);
    expect(thrown(() => jepa.ema.updateSync(42, t, 0.5)).message).to.match(/^expected `target` to be a Module/);
    expect(thrown(() => jepa.ema.updateSync([1], t, 0.5)).message).to.equal(
      'expected `target[0]` to be a Tensor, got 1',
    );
    expect(thrown(() => jepa.ema.updateSync(t, t, 0.5, { formula: 'lerp' })).message).to.equal(
      "expected `options.formula` to be 'foreach' or 'loop', got \"lerp\"",
    );
    expect(thrown(() => jepa.ema.updateSync(t, t, 0.5, { bogus: 1 })).code).to.equal('JEPA_INVALID_ARGUMENT');
    expect(thrown(() => jepa.ema.updateSync(t, t, 0.5)).message).to.equal('the target and the source share a tensor');
    const err = await rejection(jepa.ema.update({ a: jepa.zeros([1]) }, { b: jepa.zeros([1]) }, 0.5));
    expect(err.code).to.equal('JEPA_PARAMETER_MISMATCH');
    expect(err.stack).to.include('ema.test.mjs');
    const bad = await rejection(jepa.ema.update(t, t, Infinity));
    expect(bad).to.be.instanceOf(TypeError);
  });
});

describe('ema.update: modules, prefixes and buffers (against Python on the fixtures)', () => {
  const digestsPy = (code) =>
    pythonJson(`
import hashlib, json, torch
torch.set_num_threads(1)
def d(t): return hashlib.sha256(t.detach().contiguous().numpy().tobytes()).hexdigest()
${code}
`);

  it("target encoder <- context encoder (I-JEPA fixture) equals Python's foreach update", async () => {
    const target = await jepa.loadModule(fixture('ijepa/target_encoder.pt'));
    const context = await jepa.loadModule(fixture('ijepa/context_encoder.pt'));
    const stats = await jepa.ema.update(target, context, 0.996);
    expect(stats.tensors).to.equal([...target.namedParameters().keys()].length);
    const py = digestsPy(`
t = torch.jit.load(${JSON.stringify(fixture('ijepa/target_encoder.pt'))})
c = torch.jit.load(${JSON.stringify(fixture('ijepa/context_encoder.pt'))})
pk = [p for _, p in t.named_parameters()]; pq = [p for _, p in c.named_parameters()]
with torch.no_grad():
    torch._foreach_mul_(pk, 0.996); torch._foreach_add_(pk, pq, alpha=1 - 0.996)
print(json.dumps({n: d(p) for n, p in t.named_parameters()}))`);
    for (const [name, t] of target.namedParameters()) expect(digest([t]), name).to.equal(py[name]);
  });

  it('H-JEPA: {module, prefix} pairs target_encoder.* with context_encoder.* in one module', async () => {
    const h = await jepa.loadModule(fixture('hjepa.pt'));
    const stats = jepa.ema.updateSync(
      { module: h, prefix: 'target_encoder.' },
      { module: h, prefix: 'context_encoder.' },
      0.99,
    );
    expect(stats.tensors).to.be.greaterThan(10);
    const py = digestsPy(`
h = torch.jit.load(${JSON.stringify(fixture('hjepa.pt'))})
p = dict(h.named_parameters())
names = [n[len('target_encoder.'):] for n in p if n.startswith('target_encoder.')]
with torch.no_grad():
    torch._foreach_mul_([p['target_encoder.' + n] for n in names], 0.99)
    torch._foreach_add_([p['target_encoder.' + n] for n in names], [p['context_encoder.' + n] for n in names], alpha=1 - 0.99)
print(json.dumps({n: d(t) for n, t in p.items()}))`);
    for (const [name, t] of h.namedParameters()) expect(digest([t]), name).to.equal(py[name]);
  });

  it('buffers: floating buffers are averaged, integer buffers copied', () => {
    const a = jepa.loadModuleSync(fixture('values.pt'));
    const b = jepa.loadModuleSync(fixture('values.pt'));
    b.namedBuffers().get('count').fill_(7);
    b.namedBuffers().get('scale').fill_(4);
    const stats = jepa.ema.updateSync(a, b, 0.5, { buffers: true });
    expect(stats).to.deep.include({ tensors: 2, copied: 1 });
    expect(Array.from(a.namedBuffers().get('count').data())).to.deep.equal([7n]);
    expect(Array.from(a.namedBuffers().get('scale').data())).to.deep.equal([3]);
    const noBuffers = jepa.loadModuleSync(fixture('values.pt'));
    expect(jepa.ema.updateSync(noBuffers, b, 0.5).tensors).to.equal(1);
    expect(Array.from(noBuffers.namedBuffers().get('count').data())).to.deep.equal([0n]);
  });

  it('modules with different architectures: the mismatch lists names', () => {
    const a = jepa.loadModuleSync(fixture('ijepa/context_encoder.pt'));
    const b = jepa.loadModuleSync(fixture('vl_predictor.pt'));
    const err = thrown(() => jepa.ema.updateSync(a, b, 0.5));
    expect(err.code).to.equal('JEPA_PARAMETER_MISMATCH');
    expect(err.message).to.include('net.0.weight: only in the source');
    expect(err.message).to.include('pos_embed: only in the target');
  });

  it('train()/to() are refused while an update on the module is in flight', async () => {
    const a = jepa.loadModuleSync(fixture('ijepa/target_encoder.pt'));
    const b = jepa.loadModuleSync(fixture('ijepa/context_encoder.pt'));
    const pending = jepa.ema.update(a, b, 0.9);
    expect(thrown(() => a.train()).code).to.equal('JEPA_MODULE_BUSY');
    await pending;
    a.train();
    expect(a.training).to.equal(true);
  });
});

// The reference formulas, restated in Python (same operations in the same order).
const PY_SCHEDULES = `
import json, math
out = {}
# I-JEPA momentum: a generator over range(int(ipe*epochs*ipe_scale)+1)
ema, ipe, epochs, scale = (0.996, 1.0), 7, 3, 1.25
gen = (ema[0] + i*(ema[1]-ema[0])/(ipe*epochs*scale) for i in range(int(ipe*epochs*scale)+1))
out['linear'] = list(gen)
# BYOL: tau = 1 - (1 - base) * (cos(pi k / K) + 1) / 2
base, K = 0.996, 50
out['cosine'] = [1 - (1 - base) * (math.cos(math.pi * k / K) + 1) / 2 for k in range(K + 1)]
# I-JEPA WarmupCosineSchedule(start_lr, ref_lr, final_lr, warmup_steps, T_max); one step() per training step
class Warm:
    def __init__(s, warmup, start, ref, T, final): s.w, s.a, s.r, s.f, s.T, s.k = warmup, start, ref, final, T - warmup, 0.
    def step(s):
        s.k += 1
        if s.k < s.w:
            return s.a + float(s.k) / float(max(1, s.w)) * (s.r - s.a)
        p = float(s.k - s.w) / float(max(1, s.T))
        return max(s.f, s.f + (s.r - s.f) * 0.5 * (1. + math.cos(math.pi * p)))
w = Warm(10, 2e-4, 1e-3, int(1.25 * 3 * 20), 1e-6)
out['warmupCosine'] = [w.step() for _ in range(90)]
class WD:
    def __init__(s, ref, T, final): s.r, s.f, s.T, s.k = ref, final, T, 0.
    def step(s):
        s.k += 1
        p = s.k / s.T
        v = s.f + (s.r - s.f) * 0.5 * (1. + math.cos(math.pi * p))
        return max(s.f, v) if s.f <= s.r else min(s.f, v)
wd = WD(0.04, int(1.25 * 3 * 20), 0.4)
out['cosineWd'] = [wd.step() for _ in range(80)]
wd2 = WD(0.4, 60, 0.04)
out['cosineWdDown'] = [wd2.step() for _ in range(80)]
# V-JEPA 2 LinearDecaySchedule(ref_lr, T_max, final_lr): the cool-down lr, not clamped after T_max
class Decay:
    def __init__(s, ref, T, final): s.r, s.f, s.T, s.k = ref, final, T, 0.
    def step(s):
        s.k += 1
        return s.r + float(s.k) / float(max(1, s.T)) * (s.f - s.r)
d = Decay(0.000525, int(1.25 * 40 * 3), 1e-6)
out['linearDecay'] = [d.step() for _ in range(160)]
print(json.dumps(out))
`;

describe('ema.schedule: equal to the Python formulas at every step', () => {
  let py;
  before(() => {
    py = pythonJson(PY_SCHEDULES);
  });

  const exact = (schedule, want) => {
    const got = Array.from(schedule.values(0, want.length));
    expect(got).to.deep.equal(want);
    want.forEach((v, i) => {
      if (i % 7 === 0) expect(schedule.at(i)).to.equal(v);
    });
  };

  it("linear: I-JEPA's momentum generator (steps = ipe * epochs * ipe_scale), then its last value", () => {
    const s = jepa.ema.schedule({ kind: 'linear', start: 0.996, end: 1.0, steps: 7 * 3 * 1.25 });
    expect(py.linear).to.have.length(27);
    exact(s, py.linear);
    expect(s.at(1000)).to.equal(py.linear[26]);
  });

  it('cosine: BYOL, rising from 0.996 to 1 (the direction seed 001 means), then 1', () => {
    const s = jepa.ema.schedule({ kind: 'cosine', start: 0.996, steps: 50 });
    exact(s, py.cosine);
    expect(s.at(0)).to.equal(0.996);
    expect(s.at(50)).to.equal(1);
    expect(s.at(51)).to.equal(1);
    const vals = Array.from(s.values(0, 51));
    for (let i = 1; i < vals.length; i++) expect(vals[i]).to.be.at.least(vals[i - 1]);
  });

  it("warmupCosine: I-JEPA's WarmupCosineSchedule, one step() per training step", () => {
    const s = jepa.ema.schedule({
      kind: 'warmupCosine',
      start: 2e-4,
      peak: 1e-3,
      end: 1e-6,
      warmupSteps: 10,
      steps: 75,
    });
    exact(s, py.warmupCosine);
  });

  it("cosineWd: I-JEPA's CosineWDSchedule, rising and falling, clamped", () => {
    exact(jepa.ema.schedule({ kind: 'cosineWd', start: 0.04, end: 0.4, steps: 75 }), py.cosineWd);
    exact(jepa.ema.schedule({ kind: 'cosineWd', start: 0.4, end: 0.04, steps: 60 }), py.cosineWdDown);
  });

  it("linearDecay: V-JEPA 2's LinearDecaySchedule (its cool-down lr), past its end too", () => {
    exact(jepa.ema.schedule({ kind: 'linearDecay', start: 0.000525, end: 1e-6, steps: 150 }), py.linearDecay);
  });

  it('constant', () => {
    const s = jepa.ema.schedule({ kind: 'constant', value: 0.998 });
    expect(Array.from(s.values(0, 3))).to.deep.equal([0.998, 0.998, 0.998]);
    expect(s.toJSON()).to.deep.include({ kind: 'constant', start: 0.998 });
  });

  it('bad options are TypeErrors naming the option', () => {
    expect(thrown(() => jepa.ema.schedule({ kind: 'exp' })).message).to.match(/^expected `options.kind` to be one of/);
    expect(thrown(() => jepa.ema.schedule({ kind: 'linear', start: 0.9, end: 1 })).message).to.equal(
      'expected `options.steps` to be a finite number (the linear schedule needs it), got undefined',
    );
    expect(thrown(() => jepa.ema.schedule({ kind: 'linear', start: 0.9, end: 1, steps: 0 })).message).to.equal(
      'expected `options.steps` to be a positive number, got 0',
    );
    expect(thrown(() => jepa.ema.schedule({ kind: 'cosine', start: 0.9, steps: 5, warmupSteps: 2 })).message).to.equal(
      'option `options.warmupSteps` does not apply to a cosine schedule (it takes start, end, steps)',
    );
    expect(
      thrown(() => jepa.ema.schedule({ kind: 'warmupCosine', start: 0, peak: 1, steps: 5, warmupSteps: 1.5 })).message,
    ).to.equal('expected `options.warmupSteps` to be a non-negative integer, got 1.5');
    const s = jepa.ema.schedule({ kind: 'constant', value: 1 });
    expect(thrown(() => s.at(-1)).message).to.equal('expected `step` to be a non-negative integer, got -1');
    expect(thrown(() => s.at(0.5)).code).to.equal('JEPA_INVALID_ARGUMENT');
  });
});
