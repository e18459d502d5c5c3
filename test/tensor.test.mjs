import { expect } from 'chai';
import { describe, it } from 'mocha';
import jepa from 'jepa-native';

describe('tensor handles', () => {
  describe('creation', () => {
    it('wraps a typed array with the shape given and infers the dtype', () => {
      const t = jepa.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
      expect(t).to.be.instanceOf(jepa.Tensor);
      expect(t.shape).to.deep.equal([2, 3]);
      expect(t.strides).to.deep.equal([3, 1]);
      expect(t.dtype).to.equal('float32');
      expect(t.device).to.equal('cpu');
      expect(t.numel).to.equal(6);
      expect(t.ndim).to.equal(2);
      expect(t.nbytes).to.equal(24);
      expect(Array.from(t.data())).to.deep.equal([1, 2, 3, 4, 5, 6]);
    });

    it('defaults the shape to the typed array length', () => {
      expect(jepa.tensor(new Int32Array(5)).shape).to.deep.equal([5]);
    });

    it('builds from nested JS arrays with their shape', () => {
      const t = jepa.tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      expect(t.shape).to.deep.equal([2, 3]);
      expect(t.dtype).to.equal('float32');
      expect(Array.from(t.data())).to.deep.equal([1, 2, 3, 4, 5, 6]);
      expect(jepa.tensor([true, false]).dtype).to.equal('bool');
      expect(jepa.tensor([1n, 2n]).dtype).to.equal('int64');
      expect(jepa.tensor([[[]]]).shape).to.deep.equal([1, 1, 0]);
    });

    for (const [dtype, Ctor, values] of [
      ['float32', Float32Array, [1.5, -2, 0]],
      ['float64', Float64Array, [1.5, -2, 1e300]],
      ['int8', Int8Array, [-128, 0, 127]],
      ['int16', Int16Array, [-32768, 1, 32767]],
      ['int32', Int32Array, [-2147483648, 5, 2147483647]],
      ['int64', BigInt64Array, [-(2n ** 63n), 1n, 2n ** 63n - 1n]],
      ['uint8', Uint8Array, [0, 128, 255]],
      ['bool', Uint8Array, [1, 0, 1]],
      ['float16', Uint16Array, [0x3c00, 0xc000, 0x7c00]],
      ['bfloat16', Uint16Array, [0x3f80, 0xc000, 0x7f80]],
    ]) {
      it(`holds ${dtype} through a ${Ctor.name}`, () => {
        const data = Ctor.from(values);
        const t = jepa.tensor(data, [3], { dtype });
        expect(t.dtype).to.equal(dtype);
        const out = t.data();
        expect(out).to.be.instanceOf(Ctor);
        expect(Array.from(out)).to.deep.equal(Array.from(data));
        expect(t.nbytes).to.equal(data.byteLength);
      });
    }

    it('converts JS numbers to float16 and bfloat16 bits as torch does', () => {
      expect(Array.from(jepa.tensor([1, -2, 65504], { dtype: 'float16' }).data())).to.deep.equal([
        0x3c00, 0xc000, 0x7bff,
      ]);
      expect(Array.from(jepa.tensor([1, -2], { dtype: 'bfloat16' }).data())).to.deep.equal([0x3f80, 0xc000]);
    });

    it('zeros, ones, empty take a shape and options', () => {
      const z = jepa.zeros([2, 2], { dtype: 'int32' });
      expect(z.dtype).to.equal('int32');
      expect(Array.from(z.data())).to.deep.equal([0, 0, 0, 0]);
      expect(Array.from(jepa.ones([3], { dtype: 'float64' }).data())).to.deep.equal([1, 1, 1]);
      const e = jepa.empty([4, 5], { dtype: 'bfloat16' });
      expect(e.shape).to.deep.equal([4, 5]);
      expect(e.dtype).to.equal('bfloat16');
      expect(jepa.zeros([]).shape).to.deep.equal([]);
      expect(jepa.zeros([]).numel).to.equal(1);
      expect(jepa.zeros([0, 3]).numel).to.equal(0);
      expect(jepa.zeros([0, 3]).data().length).to.equal(0);
    });

    it('arange follows torch.arange', () => {
      const a = jepa.arange(5);
      expect(a.dtype).to.equal('int64');
      expect(Array.from(a.data())).to.deep.equal([0n, 1n, 2n, 3n, 4n]);
      expect(Array.from(jepa.arange(1, 7, 2).data())).to.deep.equal([1n, 3n, 5n]);
      const f = jepa.arange(0, 1, 0.25);
      expect(f.dtype).to.equal('float32');
      expect(Array.from(f.data())).to.deep.equal([0, 0.25, 0.5, 0.75]);
      expect(Array.from(jepa.arange(3, { dtype: 'float64' }).data())).to.deep.equal([0, 1, 2]);
    });

    it('randn with a seed is reproducible and differs between seeds', () => {
      const a = jepa.randn([100], { seed: 7 }).data();
      const b = jepa.randn([100], { seed: 7 }).data();
      const c = jepa.randn([100], { seed: 8 }).data();
      expect(Array.from(a)).to.deep.equal(Array.from(b));
      expect(Array.from(a)).to.not.deep.equal(Array.from(c));
      expect(jepa.randn([3], { seed: 1n, dtype: 'float64' }).dtype).to.equal('float64');
    });

    it('item() returns the single value', () => {
      expect(jepa.tensor([2.5]).item()).to.equal(2.5);
      expect(jepa.tensor([7n]).item()).to.equal(7n);
      expect(jepa.tensor([true]).item()).to.equal(true);
      expect(jepa.zeros([], { dtype: 'int32' }).item()).to.equal(0);
    });
  });

  describe('zero-copy', () => {
    it('a write through the JS typed array is seen by the tensor', () => {
      const data = new Float32Array([1, 2, 3, 4]);
      const t = jepa.tensor(data, [2, 2]);
      data[3] = 42;
      // A libtorch operation reads the JS memory: the clone holds the new value.
      expect(Array.from(t.clone().data())).to.deep.equal([1, 2, 3, 42]);
      expect(t.reshape(4).clone().data()[3]).to.equal(42);
    });

    it('a write by libtorch is seen by the typed array', () => {
      const t = jepa.zeros([1000]);
      const view = t.data();
      t.fill_(7); // libtorch writes into its own memory
      expect(view[0]).to.equal(7);
      expect(view[999]).to.equal(7);
      t.copy_(jepa.arange(1000, { dtype: 'float64' }));
      expect(view[999]).to.equal(999);
    });

    it('a write by libtorch into a wrapped typed array is seen by JS', () => {
      const data = new Float64Array(8);
      const t = jepa.tensor(data, [2, 4]);
      t.fill_(-1.5);
      expect(Array.from(data)).to.deep.equal(new Array(8).fill(-1.5));
      t.copy_(jepa.tensor([1, 2, 3, 4])); // broadcast over rows
      expect(Array.from(data)).to.deep.equal([1, 2, 3, 4, 1, 2, 3, 4]);
    });

    it('data() of a tensor made from a typed array shares its ArrayBuffer', () => {
      const data = new Int32Array([1, 2, 3, 4, 5, 6, 7, 8]);
      const sub = data.subarray(2, 6);
      const t = jepa.tensor(sub, [2, 2]);
      const out = t.data();
      expect(out.buffer).to.equal(data.buffer);
      expect(out.byteOffset).to.equal(sub.byteOffset);
      out[0] = 99;
      expect(data[2]).to.equal(99);
    });

    it('data() of a libtorch-allocated tensor is a view of libtorch memory, and two calls share it', () => {
      const t = jepa.randn([4, 4], { seed: 3 });
      const a = t.data();
      const b = t.data();
      a[5] = 123;
      expect(b[5]).to.equal(123);
      // libtorch sees the JS write: a contiguous copy made by libtorch holds it
      expect(t.clone().data()[5]).to.equal(123);
    });

    it('libtorch writes into JS-wrapped memory are visible in JS', () => {
      const data = new Float64Array([1, 2, 3]);
      const t = jepa.tensor(data);
      // reshape returns a view over the same storage; a view's data() is the same bytes
      const v = t.view([3, 1]);
      expect(v.sharesStorage(t)).to.equal(true);
      const vd = v.data();
      vd[1] = -7;
      expect(data[1]).to.equal(-7);
    });

    it('the memory of data() outlives dispose() of the tensor', () => {
      const t = jepa.ones([256]);
      const d = t.data();
      t.dispose();
      expect(t.isDisposed).to.equal(true);
      expect(d[255]).to.equal(1);
    });

    it('the JS buffer stays alive as long as the tensor uses it', () => {
      let t;
      (() => {
        const data = new Float32Array(1 << 16).fill(3);
        t = jepa.tensor(data);
      })();
      for (let i = 0; i < 3; i++) global.gc();
      expect(t.clone().data()[12345]).to.equal(3);
    });

    it('views keep the JS buffer alive after the first handle is disposed', async () => {
      let view;
      (() => {
        const data = new Float32Array(4096).fill(2);
        const t = jepa.tensor(data);
        view = t.reshape([64, 64]);
        t.dispose();
      })();
      for (let i = 0; i < 3; i++) global.gc();
      await new Promise((r) => setImmediate(r));
      expect(view.clone().data()[4095]).to.equal(2);
    });
  });

  describe('conversions', () => {
    it('to(dtype), to({device, dtype}), cpu()', () => {
      const t = jepa.tensor([1.5, 2.5]);
      const d = t.to('float64');
      expect(d.dtype).to.equal('float64');
      expect(Array.from(d.data())).to.deep.equal([1.5, 2.5]);
      expect(t.to({ dtype: 'int32', device: 'cpu' }).data()[1]).to.equal(2);
      expect(t.cpu().device).to.equal('cpu');
      expect(Array.from(t.to('bfloat16').data())).to.deep.equal([0x3fc0, 0x4020]);
    });

    it('toAsync converts on a worker thread', async () => {
      const t = jepa.tensor(new Float32Array([1, 2, 3]));
      const u = await t.toAsync('float64');
      expect(u.dtype).to.equal('float64');
      expect(Array.from(u.data())).to.deep.equal([1, 2, 3]);
    });

    it('contiguous() of a non-contiguous view copies, and data() then works', () => {
      const t = jepa.arange(6, { dtype: 'float32' }).reshape(2, 3);
      expect(t.contiguous().sharesStorage(t)).to.equal(true); // already contiguous: same storage
      const tr = t.permute(1, 0);
      expect(tr.shape).to.deep.equal([3, 2]);
      expect(tr.strides).to.deep.equal([1, 3]);
      expect(tr.isContiguous).to.equal(false);
      expect(tr.sharesStorage(t)).to.equal(true);
      const c = tr.contiguous();
      expect(c.isContiguous).to.equal(true);
      expect(c.sharesStorage(t)).to.equal(false);
      expect(Array.from(c.data())).to.deep.equal([0, 3, 1, 4, 2, 5]);
    });

    it('clone() has its own memory', () => {
      const t = jepa.ones([3]);
      const c = t.clone();
      c.data()[0] = 5;
      expect(t.data()[0]).to.equal(1);
      expect(c.sharesStorage(t)).to.equal(false);
    });

    it('reshape and view accept -1 and share storage', () => {
      const t = jepa.arange(12);
      const r = t.reshape(3, -1);
      expect(r.shape).to.deep.equal([3, 4]);
      expect(r.sharesStorage(t)).to.equal(true);
      expect(t.view([2, 2, 3]).shape).to.deep.equal([2, 2, 3]);
    });

    it('toString() and util.inspect describe the tensor', async () => {
      const t = jepa.tensor([1, 2], { dtype: 'float64' });
      expect(t.toString()).to.match(/^Tensor\(shape=\[2\], dtype=float64, device=cpu\)/);
      const { inspect } = await import('node:util');
      expect(inspect(t)).to.contain('dtype=float64');
      t.dispose();
      expect(t.toString()).to.equal('Tensor(disposed)');
    });
  });

  describe('dispose and memory()', () => {
    it('counts live tensors and the bytes of distinct storages', () => {
      const before = jepa.memory();
      const a = jepa.zeros([1024]);
      const b = a.reshape(32, 32);
      const after = jepa.memory();
      expect(after.tensors - before.tensors).to.equal(2);
      expect(after.storages - before.storages).to.equal(1);
      expect(after.bytes - before.bytes).to.equal(4096);
      a.dispose();
      expect(jepa.memory().bytes - before.bytes).to.equal(4096); // b still holds the storage
      b.dispose();
      b.dispose(); // twice is harmless
      const end = jepa.memory();
      expect(end.tensors).to.equal(before.tensors);
      expect(end.bytes).to.equal(before.bytes);
    });

    it('a garbage-collected handle frees its tensor', async () => {
      const before = jepa.memory();
      (() => {
        for (let i = 0; i < 100; i++) jepa.zeros([1000]);
      })();
      for (let i = 0; i < 5 && jepa.memory().tensors > before.tensors; i++) {
        global.gc();
        await new Promise((r) => setImmediate(r));
      }
      expect(jepa.memory().tensors).to.be.at.most(before.tensors);
    });

    it('cuda queries answer without a GPU', () => {
      expect(jepa.cuda.isAvailable()).to.be.a('boolean');
      expect(jepa.cuda.deviceCount()).to.be.a('number');
      if (!jepa.cuda.isAvailable()) expect(jepa.cuda.deviceCount()).to.equal(0);
    });
  });
});
