// .pt files: Python's torch.save writes a corpus (scripts/fixtures/make_pt_fixtures.py), Node
// reads every file and checks each value against Python's own description of it, then writes
// them back and Python checks that torch.load (weights_only=True, and mmap=True) gives equal
// values of the same types with the same storage sharing.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import jepa from 'jepa-native';
import { cleanup, pythonJson, rejection, ROOT, runNode, runPython, tmpDir } from './helpers.mjs';
import { after, before, describe, it } from 'mocha';

const GENERATOR = path.join(ROOT, 'scripts', 'fixtures', 'make_pt_fixtures.py');
const TYPED = new Set([
  'float32',
  'float64',
  'float16',
  'bfloat16',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'bool',
]);
const FEATURES = 'gbif_1291162453_taxon_2650927_nephrolepis_exaltata_img_1_features';

function pyFloat(repr) {
  if (repr === 'nan') return NaN;
  if (repr === 'inf') return Infinity;
  if (repr === '-inf') return -Infinity;
  return Number(repr);
}

function isIntegralFloat(x) {
  return Number.isInteger(x) && !Object.is(x, -0);
}

function sha256(t) {
  const data = t.contiguous().data();
  return createHash('sha256')
    .update(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');
}

/** Checks a JS value read from a file against Python's description of the value. */
function check(js, exp, where, state, container, key) {
  const fail = (msg) => expect.fail(`${where}: ${msg}`);
  switch (exp.t) {
    case 'none':
      expect(js, where).to.equal(null);
      return;
    case 'bool':
      expect(js, where).to.equal(exp.v);
      return;
    case 'int': {
      const n = BigInt(exp.v);
      if (n >= -(2n ** 53n - 1n) && n <= 2n ** 53n - 1n) {
        expect(typeof js, where).to.equal('number');
        expect(js, where).to.equal(Number(n));
      } else {
        expect(typeof js, where).to.equal('bigint');
        expect(js, where).to.equal(n);
      }
      return;
    }
    case 'float': {
      const f = pyFloat(exp.v);
      if (container === undefined && isIntegralFloat(f)) {
        expect(js, where).to.be.instanceOf(jepa.Float);
        expect(js.value, where).to.equal(f);
        return;
      }
      expect(typeof js, where).to.equal('number');
      expect(Object.is(js, f), `${where}: ${js} vs ${exp.v}`).to.equal(true);
      if (isIntegralFloat(f)) {
        const marks = container[jepa.FLOAT_KEYS];
        expect(marks && marks.has(key), `${where}: integral float not marked in FLOAT_KEYS`).to.equal(true);
      }
      return;
    }
    case 'str':
      expect(js, where).to.equal(exp.v);
      return;
    case 'bytes':
      expect(Buffer.isBuffer(js), where).to.equal(true);
      expect(js.toString('hex'), where).to.equal(exp.v);
      return;
    case 'tensor': {
      expect(js, where).to.be.instanceOf(jepa.Tensor);
      expect(js.dtype, where).to.equal(exp.dtype);
      expect(js.shape, where).to.deep.equal(exp.shape);
      expect(js.strides, where).to.deep.equal(exp.stride);
      expect(js.storageOffset, where).to.equal(exp.offset);
      expect(jepa.isParameter(js), `${where}: parameter`).to.equal(exp.parameter);
      if (TYPED.has(exp.dtype) && !exp.conj) expect(sha256(js), `${where}: data`).to.equal(exp.sha256);
      const empty = exp.shape.includes(0);
      for (const [id, other] of state.storages) {
        if (empty || other.empty) continue;
        expect(js.sharesStorage(other.t), `${where}: shares storage with storage ${id}`).to.equal(id === exp.storage);
      }
      state.storages.push([exp.storage, { t: js, empty }]);
      return;
    }
    case 'size':
      expect(js, where).to.be.instanceOf(jepa.Size);
      expect([...js], where).to.deep.equal(exp.v);
      return;
    case 'device':
      expect(js, where).to.be.instanceOf(jepa.TorchDevice);
      expect(js.type, where).to.equal(exp.type);
      expect(js.index, where).to.equal(exp.index);
      return;
    case 'dtype':
      expect(js, where).to.be.instanceOf(jepa.TorchDtype);
      expect(js.name, where).to.equal(exp.v);
      return;
    case 'tuple':
    case 'list':
      if (exp.t === 'tuple') expect(js, where).to.be.instanceOf(jepa.Tuple);
      else expect(Object.getPrototypeOf(js), `${where}: a plain Array`).to.equal(Array.prototype);
      expect(js.length, where).to.equal(exp.v.length);
      exp.v.forEach((e, i) => check(js[i], e, `${where}[${i}]`, state, js, i));
      return;
    case 'set': {
      expect(js, where).to.be.instanceOf(Set);
      const items = [...js];
      expect(items.length, where).to.equal(exp.v.length);
      exp.v.forEach((e, i) => {
        if (e.t === 'float') {
          expect(Object.is(items[i], pyFloat(e.v)), where).to.equal(true);
          if (isIntegralFloat(pyFloat(e.v))) expect(js[jepa.FLOAT_KEYS].has(items[i]), where).to.equal(true);
        } else {
          check(items[i], e, `${where}{${i}}`, state, js, items[i]);
        }
      });
      return;
    }
    case 'dict':
    case 'odict': {
      const strKeys = exp.v.every(([k]) => k.t === 'str');
      if (exp.t === 'dict' && strKeys) {
        expect(Object.getPrototypeOf(js), `${where}: a plain object`).to.equal(Object.prototype);
        expect(Object.keys(js).sort(), where).to.deep.equal(exp.v.map(([k]) => k.v).sort());
        for (const [k, v] of exp.v) check(js[k.v], v, `${where}.${k.v}`, state, js, k.v);
        return;
      }
      if (exp.t === 'odict') expect(js, where).to.be.instanceOf(jepa.OrderedDict);
      else {
        expect(js, where).to.be.instanceOf(Map);
        expect(js, where).not.to.be.instanceOf(jepa.OrderedDict);
      }
      const entries = [...js.entries()];
      expect(entries.length, where).to.equal(exp.v.length);
      exp.v.forEach(([k, v], i) => {
        const [jk, jv] = entries[i];
        if (k.t === 'float' && isIntegralFloat(pyFloat(k.v))) {
          expect(jk, `${where} key`).to.be.instanceOf(jepa.Float);
          expect(jk.value).to.equal(pyFloat(k.v));
        } else {
          check(jk, k, `${where} key ${i}`, state, new Map(), undefined);
        }
        check(jv, v, `${where}.get(${String(jk)})`, state, js, jk);
      });
      if (exp.attrs) check(js[jepa.PY_ATTRS], exp.attrs, `${where}[PY_ATTRS]`, state, undefined, undefined);
      return;
    }
    default:
      fail(`unknown description ${exp.t}`);
  }
}

describe('.pt files', function () {
  this.timeout(120000);
  let dir;
  let expected;

  before(function () {
    dir = tmpDir('pt-');
    runPython(fs.readFileSync(GENERATOR, 'utf8'), { args: [path.join(dir, 'orig')] });
    expected = JSON.parse(fs.readFileSync(path.join(dir, 'orig', 'expected.json'), 'utf8'));
  });
  after(function () {
    cleanup(dir);
  });

  const file = (name) => path.join(dir, 'orig', `${name}.pt`);

  describe('reading what Python wrote', function () {
    it('reads every fixture with loadSync and the values match Python', function () {
      expect(Object.keys(expected).length).to.be.greaterThan(10);
      for (const [name, { value }] of Object.entries(expected)) {
        check(jepa.loadSync(file(name)), value, name, { storages: [] }, undefined, undefined);
      }
    });

    it('reads every fixture with load (a Promise) and with mmap', async function () {
      for (const [name, { value }] of Object.entries(expected)) {
        check(await jepa.load(file(name)), value, name, { storages: [] }, undefined, undefined);
        check(
          await jepa.load(file(name), { mmap: true }),
          value,
          `${name} (mmap)`,
          { storages: [] },
          undefined,
          undefined,
        );
      }
    });

    it('reads the V-JEPA 2 feature file (seed 000)', async function () {
      const v = await jepa.load(file(FEATURES));
      expect(Object.keys(v)).to.deep.equal(['features', 'shape', 'dtype', 'source_chunk', 'image_id']);
      expect(v.features.dtype).to.equal('float16');
      expect(v.features.shape).to.deep.equal([48, 1408]);
      expect(v.shape).to.be.instanceOf(jepa.Size);
      expect([...v.shape]).to.deep.equal([48, 1408]);
      expect(v.dtype).to.equal('float16');
    });

    it('reads views that share one storage as tensors sharing one storage', function () {
      const t = jepa.loadSync(file('tensors'));
      for (const k of ['row', 'col', 'tail', 'transposed', 'strided'])
        expect(t.base.sharesStorage(t[k]), k).to.equal(true);
      expect(t.base.sharesStorage(t.scalar)).to.equal(false);
      expect(Array.from(t.col.contiguous().data())).to.deep.equal([2, 8, 14, 20]);
      expect(t.transposed.strides).to.deep.equal([1, 6]);
      expect(t.channels_last.strides).to.deep.equal([60, 1, 15, 3]);
      expect(t.expanded.strides).to.deep.equal([1, 0]);
      const tied = jepa.loadSync(file('tied'));
      expect(tied.a).to.equal(tied.b); // the same Python object is the same JS object
      expect(tied.c[0]).to.equal(tied.a);
    });

    it('reads a state_dict with its buffers and _metadata', function () {
      const sd = jepa.loadSync(file('state_dict'));
      expect(sd).to.be.instanceOf(jepa.OrderedDict);
      expect([...sd.keys()]).to.include.members(['1.running_mean', '1.running_var', '1.num_batches_tracked']);
      expect(sd.get('1.num_batches_tracked').shape).to.deep.equal([]);
      expect(sd[jepa.PY_ATTRS]._metadata.get('1')).to.deep.equal({ version: 2 });
    });

    it('reads an AdamW checkpoint (int keys, tuples, step tensors)', function () {
      const ck = jepa.loadSync(file('adamw_checkpoint'));
      const state = ck.optimizer.state;
      expect(state).to.be.instanceOf(Map);
      expect([...state.keys()].every((k) => typeof k === 'number')).to.equal(true);
      expect(state.get(0).exp_avg.shape).to.deep.equal(ck.model.get('0.weight').shape);
      const group = ck.optimizer.param_groups[0];
      expect(group.betas).to.be.instanceOf(jepa.Tuple);
      expect(group.params).to.deep.equal([...state.keys()]);
      expect(ck.best).to.equal(1);
      expect(ck[jepa.FLOAT_KEYS].has('best')).to.equal(true);
    });
  });

  describe('writing files Python reads', function () {
    it('writes every fixture back; torch.load (weights_only, mmap) gives equal values, types and sharing', async function () {
      const out = path.join(dir, 'copy');
      fs.mkdirSync(out, { recursive: true });
      const names = Object.keys(expected);
      for (const [i, name] of names.entries()) {
        const v = await jepa.load(file(name), { mmap: i % 2 === 1 });
        if (i % 3 === 0) jepa.saveSync(path.join(out, `${name}.pt`), v);
        else await jepa.save(path.join(out, `${name}.pt`), v);
      }
      const results = pythonJson(fs.readFileSync(GENERATOR, 'utf8'), { args: ['check', path.join(dir, 'orig'), out] });
      expect(results).to.deep.equal(Object.fromEntries(names.map((n) => [n, 'ok'])));
    });

    it('writes the same records, alignment and (for feature files) pickle bytes as torch.save', function () {
      const out = path.join(dir, 'same');
      fs.mkdirSync(out, { recursive: true });
      for (const name of [FEATURES, 'motion_feature', 'motion_latent', 'tensors', 'dtypes', 'python_values']) {
        jepa.saveSync(path.join(out, `${name}.pt`), jepa.loadSync(file(name)));
      }
      const r = pythonJson(
        `
import json, sys, zipfile
res = {}
for name in sys.argv[2:]:
    a, b = zipfile.ZipFile(sys.argv[1] + '/orig/' + name + '.pt'), zipfile.ZipFile(sys.argv[1] + '/same/' + name + '.pt')
    ia, ib = a.infolist(), b.infolist()
    res[name] = {
        'names': [i.filename for i in ia] == [i.filename for i in ib],
        'offsets': [i.header_offset for i in ia] == [i.header_offset for i in ib],
        'stored': all(i.compress_type == 0 for i in ib),
        'pickle': a.read(ia[0].filename) == b.read(ib[0].filename),
        'records': all(a.read(x.filename) == b.read(y.filename) for x, y in zip(ia, ib) if 'serialization_id' not in x.filename),
    }
print(json.dumps(res))`,
        { args: [dir, FEATURES, 'motion_feature', 'motion_latent', 'tensors', 'dtypes', 'python_values'] },
      );
      for (const [name, res] of Object.entries(r)) {
        expect(res, name).to.deep.equal({ names: true, offsets: true, stored: true, pickle: true, records: true });
      }
    });

    it('writes new JS values with the documented types', function () {
      const p = path.join(dir, 'new.pt');
      const shared = jepa.arange(12, { dtype: 'float32' }).reshape(3, 4);
      const view = shared.view(12);
      const value = {
        t: shared,
        v: view,
        p: jepa.parameter(jepa.ones([2])),
        size: jepa.Size.fromItems([3, 4]),
        tup: jepa.Tuple.fromItems([1, 'a']),
        od: new jepa.OrderedDict([['x', jepa.float(2)]]),
        m: new Map([
          [1, 'one'],
          [jepa.float(2), 'two'],
        ]),
        s: new Set(['a']),
        b: Buffer.from([0, 255]),
        e: Buffer.alloc(0),
        big: 2n ** 80n,
        f: jepa.float(3),
        i: 3,
        x: 0.5,
        nz: -0,
        dev: new jepa.TorchDevice('cuda', 0),
        dt: new jepa.TorchDtype('bfloat16'),
        n: null,
        __proto__: 'not a prototype',
      };
      // A literal '__proto__' key sets the prototype; define it as a real key.
      Object.defineProperty(value, '__proto__', { value: 'a key', enumerable: true });
      jepa.saveSync(p, value);
      const r = pythonJson(
        `
import json, sys, torch, collections
v = torch.load(sys.argv[1])
print(json.dumps({
  'share': v['t'].untyped_storage().data_ptr() == v['v'].untyped_storage().data_ptr(),
  'param': type(v['p']).__name__, 'rg': v['p'].requires_grad,
  'size': type(v['size']).__name__, 'tup': repr(v['tup']), 'od': repr(list(v['od'].items())),
  'm': repr(v['m']), 's': repr(v['s']), 'b': repr(v['b']), 'e': repr(v['e']), 'big': str(v['big']),
  'f': repr(v['f']), 'i': repr(v['i']), 'x': repr(v['x']), 'nz': repr(v['nz']),
  'dev': repr(v['dev']), 'dt': repr(v['dt']), 'n': repr(v['n']), 'proto': v['__proto__'],
  'odtype': type(v['od']).__name__,
}))`,
        { args: [p] },
      );
      expect(r).to.deep.equal({
        share: true,
        param: 'Parameter',
        rg: true,
        size: 'Size',
        tup: "(1, 'a')",
        od: "[('x', 2.0)]",
        odtype: 'OrderedDict',
        m: "{1: 'one', 2.0: 'two'}",
        s: "{'a'}",
        b: "b'\\x00\\xff'",
        e: "b''",
        big: String(2n ** 80n),
        f: '3.0',
        i: '3',
        x: '0.5',
        nz: '-0.0',
        dev: "device(type='cuda', index=0)",
        dt: 'torch.bfloat16',
        n: 'None',
        proto: 'a key',
      });
    });

    it('writes nothing at the target when saving fails, and leaves no temporary file', async function () {
      const d = tmpDir('pt-atomic-');
      const p = path.join(d, 'x.pt');
      jepa.saveSync(p, { a: 1 });
      const before = fs.readFileSync(p);
      expect(() => jepa.saveSync(p, { t: jepa.zeros([2]), f: undefined })).to.throw(TypeError, /undefined/);
      await jepa.save(p, { f: () => 1 }).then(
        () => expect.fail('should reject'),
        (e) => expect(e.code).to.equal('JEPA_INVALID_ARGUMENT'),
      );
      expect(fs.readFileSync(p).equals(before)).to.equal(true);
      expect(fs.readdirSync(d)).to.deep.equal(['x.pt']);
      fs.mkdirSync(path.join(d, 'dir.pt'));
      expect(() => jepa.saveSync(path.join(d, 'dir.pt'), { a: 1 }))
        .to.throw(/folder/)
        .with.property('code', 'JEPA_IO_ERROR');
      await jepa.save(path.join(d, 'missing', 'y.pt'), { a: 1 }).then(
        () => expect.fail('should reject'),
        (e) => expect(e.code).to.equal('JEPA_IO_ERROR'),
      );
      expect(fs.readdirSync(d).sort()).to.deep.equal(['dir.pt', 'x.pt']);
      cleanup(d);
    });

    it('writes atomically: a reader never sees a partial file', async function () {
      const d = tmpDir('pt-atomic2-');
      const p = path.join(d, 'big.pt');
      const big = { w: jepa.randn([512, 1024]) };
      jepa.saveSync(p, big);
      const size = fs.statSync(p).size;
      let reads = 0;
      const writes = [];
      for (let i = 0; i < 5; i++) writes.push(jepa.save(p, big));
      const done = Promise.all(writes);
      let finished = false;
      done.then(() => (finished = true));
      while (!finished) {
        expect(fs.statSync(p).size).to.equal(size);
        reads++;
        await new Promise((r) => setImmediate(r));
      }
      expect(reads).to.be.greaterThan(0);
      expect(fs.readdirSync(d)).to.deep.equal(['big.pt']);
      cleanup(d);
    });
  });

  describe('mmap and devices', function () {
    it('aliases the mapping: tensors read the file without copying, writes stay private', function () {
      const p = file('top_tensor');
      const before = fs.readFileSync(p);
      const t = jepa.loadSync(p, { mmap: true });
      const data = t.data();
      expect(Array.from(data)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      data[0] = 42;
      expect(t.contiguous().data()[0]).to.equal(42);
      expect(fs.readFileSync(p).equals(before)).to.equal(true);
      expect(Array.from(jepa.loadSync(p, { mmap: true }).data())[0]).to.equal(0);
    });

    it('keeps the mapping while any tensor uses it, and unmaps it after', function () {
      const p = file('tensors');
      const r = runNode(`
import fs from 'node:fs';
import jepa from 'jepa-native';
const mapped = () => fs.readFileSync('/proc/self/maps', 'utf8').includes(${JSON.stringify(p)});
let v = jepa.loadSync(${JSON.stringify(p)}, { mmap: true });
const keep = v.col;
const expectedCol = Array.from(v.base.contiguous().data()).filter((_, i) => i % 6 === 2);
const m1 = mapped();
const settle = async () => {
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
  }
};
for (const [k, t] of Object.entries(v)) if (k !== 'col') t.dispose();
v = null;
await settle();
const m2 = mapped();
const same = JSON.stringify(Array.from(keep.contiguous().data())) === JSON.stringify(expectedCol);
keep.dispose();
await settle();
console.log(JSON.stringify({ m1, m2, same, m3: mapped() }));
`);
      expect(r.status, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout.trim())).to.deep.equal({ m1: true, m2: true, same: true, m3: false });
    });

    it("loads to a device: {device: 'cuda'} fails cleanly without CUDA", async function () {
      if (jepa.cuda.isAvailable()) {
        const v = await jepa.load(file('tensors'), { device: 'cuda' });
        expect(v.base.device).to.equal('cuda:0');
        expect(v.base.sharesStorage(v.row)).to.equal(true);
        return;
      }
      await jepa.load(file('tensors'), { device: 'cuda' }).then(
        () => expect.fail('should reject'),
        (e) => expect(e.code).to.equal('JEPA_CUDA_UNAVAILABLE'),
      );
      expect(() => jepa.loadSync(file('tensors'), { device: 'cuda:0' }))
        .to.throw()
        .with.property('code', 'JEPA_CUDA_UNAVAILABLE');
    });
  });

  describe('many loads at once', function () {
    it('settles each load of a batch on its own: values, errors and options per file', async function () {
      const bad = path.join(dir, 'batch-bad.pt');
      fs.writeFileSync(bad, 'not a zip');
      const names = Object.keys(expected);
      // 200 loads started in one turn: batched into several native calls (lib/io/pt.ts).
      const plan = Array.from({ length: 200 }, (_, i) => {
        if (i % 17 === 5) return { p: bad, code: 'JEPA_PT_CORRUPT' };
        if (i % 23 === 7) return { p: path.join(dir, `missing-${i}.pt`), code: 'JEPA_FILE_NOT_FOUND' };
        if (i % 31 === 3)
          return {
            p: file('tensors'),
            opts: { device: 'cuda' },
            code: jepa.cuda.isAvailable() ? null : 'JEPA_CUDA_UNAVAILABLE',
          };
        return { p: file(names[i % names.length]), opts: { mmap: i % 2 === 0 }, name: names[i % names.length] };
      });
      const results = await Promise.allSettled(plan.map((x) => jepa.load(x.p, x.opts)));
      let ok = 0;
      for (let i = 0; i < plan.length; i++) {
        const x = plan[i];
        const r = results[i];
        if (x.code) {
          expect(r.status, `load ${i}`).to.equal('rejected');
          expect(r.reason.code, `load ${i}`).to.equal(x.code);
          if (x.code !== 'JEPA_CUDA_UNAVAILABLE') expect(r.reason.message, `load ${i}`).to.include(path.basename(x.p));
        } else if (x.name) {
          expect(r.status, `load ${i}: ${r.reason}`).to.equal('fulfilled');
          check(
            r.value,
            expected[x.name].value,
            `${x.name} (load ${i} of the batch)`,
            { storages: [] },
            undefined,
            undefined,
          );
          ok += 1;
        }
      }
      expect(ok).to.be.greaterThan(150);
    });

    it('loads a file above 1 MiB in the same batch as small ones (in a call of its own)', async function () {
      const big = path.join(dir, 'batch-big.pt');
      jepa.saveSync(big, { w: jepa.arange(0, 600000, 1, { dtype: 'float32' }), name: 'big' }); // 2.4 MB
      const small = Object.keys(expected).slice(0, 12);
      const all = await Promise.all([
        ...small.map((n) => jepa.load(file(n))),
        jepa.load(big),
        ...small.map((n) => jepa.load(file(n))),
      ]);
      small.forEach((n, i) => {
        check(all[i], expected[n].value, `${n} (before the large file)`, { storages: [] }, undefined, undefined);
        check(
          all[small.length + 1 + i],
          expected[n].value,
          `${n} (after the large file)`,
          { storages: [] },
          undefined,
          undefined,
        );
      });
      const v = all[small.length];
      expect(v.name).to.equal('big');
      expect(v.w.shape).to.deep.equal([600000]);
      const d = v.w.data();
      expect([d[0], d[1], d[599999]]).to.deep.equal([0, 1, 599999]);
    });

    it('gives a rejection in a batch the stack of the awaiting caller', async function () {
      const e = await rejection(Promise.all([jepa.load(file('tensors')), jepa.load(path.join(dir, 'nope.pt'))]));
      expect(e.code).to.equal('JEPA_FILE_NOT_FOUND');
      expect(e.stack).to.include('pt.test.mjs');
    });
  });

  describe('worker threads', function () {
    it('loads and saves in worker threads that come and go', async function () {
      const { Worker } = await import('node:worker_threads');
      const src = file('tensors');
      for (let i = 0; i < 3; i++) {
        const out = path.join(dir, `worker-${i}.pt`);
        const w = new Worker(
          `
const { parentPort, workerData } = require('node:worker_threads');
const jepa = require(workerData.lib);
(async () => {
  const v = await jepa.load(workerData.src, { mmap: true });
  await jepa.save(workerData.out, v);
  parentPort.postMessage(v.base.sharesStorage(v.row));
})();`,
          { eval: true, workerData: { lib: path.join(ROOT, 'dist', 'index.js'), src, out } },
        );
        // Listen for 'exit' at once: Node emits it right after draining the last messages.
        const exited = new Promise((r) => w.on('exit', r));
        const msg = await new Promise((resolve, reject) => {
          w.on('message', resolve);
          w.on('error', reject);
        });
        await exited;
        expect(msg).to.equal(true);
        const back = jepa.loadSync(out);
        expect(back.base.sharesStorage(back.col)).to.equal(true);
      }
    });
  });

  describe('lazy open', function () {
    it('lists entries without reading data, and reads one on demand', async function () {
      const a = await jepa.open(file('adamw_checkpoint'));
      const entries = a.entries();
      const w = entries.find((e) => e.key === 'model.0.weight');
      expect(w).to.deep.include({ dtype: 'float32', shape: [4, 3, 3, 3], nbytes: 4 * 108, parameter: false });
      expect(w.path).to.deep.equal(['model', '0.weight']);
      expect(entries.some((e) => e.key === 'optimizer.state.0.exp_avg')).to.equal(true);
      const t = await a.get('model.0.weight');
      const full = jepa.loadSync(file('adamw_checkpoint'));
      expect(sha256(t)).to.equal(sha256(full.model.get('0.weight')));
      const avg = a.getSync(['optimizer', 'state', 0, 'exp_avg']);
      expect(avg.shape).to.deep.equal([4, 3, 3, 3]);
      const group = a.getSync('optimizer.param_groups.0');
      expect(group.lr).to.equal(0.001);
      expect(() => a.getSync('model.nope')).to.throw(TypeError, /no entry/);
      a.close();
      expect(() => a.entries())
        .to.throw()
        .with.property('code', 'JEPA_DISPOSED');
    });

    it('reads no tensor data when listing (a missing storage record only fails on get)', function () {
      const p = path.join(dir, 'missing-record.pt');
      runPython(
        `
import sys, zipfile
src = zipfile.ZipFile(sys.argv[1])
with zipfile.ZipFile(sys.argv[2], 'w') as out:
    for info in src.infolist():
        if not info.filename.endswith('/data/0'):
            out.writestr(info, src.read(info.filename))`,
        { args: [file('top_list'), p] },
      );
      const a = jepa.openSync(p);
      expect(a.entries().map((e) => e.key)).to.deep.equal(['0', '3.0']);
      expect(a.getSync('3.0').shape).to.deep.equal([1]);
      expect(() => a.getSync('0'))
        .to.throw(/storage record data\/0 is missing/)
        .with.property('code', 'JEPA_PT_CORRUPT');
      a.close();
    });
  });

  describe('arguments', function () {
    it('checks paths and options with exact messages', async function () {
      expect(() => jepa.loadSync(42)).to.throw(
        TypeError,
        'expected `path` to be a file path (a non-empty string) or a file: URL, got 42',
      );
      expect(() => jepa.loadSync('x.pt', { mmap: 1 })).to.throw(
        TypeError,
        'expected `options.mmap` to be a boolean, got 1',
      );
      expect(() => jepa.loadSync('x.pt', { foo: 1 })).to.throw(
        TypeError,
        'unknown option `options.foo`: expected one of mmap, device',
      );
      const e = await rejection(jepa.load('/nonexistent/x.pt'));
      expect(e.code).to.equal('JEPA_FILE_NOT_FOUND');
      expect(e.stack).to.include('pt.test.mjs'); // the awaiting caller's frame
      expect(() => jepa.saveSync(path.join(dir, 'u.pt'), { a: undefined })).to.throw(
        TypeError,
        'cannot save `value.a`: undefined has no Python equivalent (use null for None)',
      );
      expect(() => jepa.saveSync(path.join(dir, 'u.pt'), { a: [new Date()] })).to.throw(
        TypeError,
        /cannot save `value.a\[0\]`: a Date has no Python equivalent/,
      );
      expect(() => jepa.saveSync(path.join(dir, 'u.pt'), new Float32Array(2))).to.throw(TypeError, /jepa.tensor/);
    });
  });
});
