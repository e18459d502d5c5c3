// safetensors and .npy: Python (safetensors, numpy) writes, Node reads and checks; Node writes,
// Python reads and checks; damaged files give clear errors.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import jepa from 'jepa-native';
import { cleanup, pythonJson, runPython, tmpDir } from './helpers.mjs';
import { after, before, describe, it } from 'mocha';

function hasSafetensors() {
  try {
    runPython('import safetensors');
    return true;
  } catch {
    return false;
  }
}

const bits = (t) => {
  const d = t.contiguous().data();
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('hex');
};

describe('safetensors and .npy', function () {
  this.timeout(120000);
  let dir;
  before(function () {
    dir = tmpDir('formats-');
  });
  after(function () {
    cleanup(dir);
  });

  describe('safetensors', function () {
    let expected;
    before(function () {
      if (!hasSafetensors()) {
        console.warn('      (the test Python lacks the safetensors package: npm install adds it)');
        this.skip();
      }
      expected = pythonJson(
        `
import json, sys, torch
from safetensors.torch import save_file
torch.manual_seed(0)
t = {
  'w': torch.randn(3, 4), 'b': torch.arange(5, dtype=torch.int64), 'h': torch.randn(7).half(),
  'bf': torch.randn(3).bfloat16(), 'flag': torch.tensor([True, False, True]), 'i8': torch.tensor([-3, 4], dtype=torch.int8),
  'd': torch.randn(2, 2, dtype=torch.float64), 'u16': torch.tensor([1, 65535], dtype=torch.uint16),
  'scalar': torch.tensor(2.5), 'empty': torch.zeros(0, 3),
}
save_file(t, sys.argv[1], metadata={'format': 'pt', 'note': 'h\u00e9'})
def hexof(x):
    x = x.contiguous().reshape(-1)
    return x.view(torch.uint8).numpy().tobytes().hex() if x.numel() else ''
print(json.dumps({k: {'dtype': str(v.dtype)[6:], 'shape': list(v.shape), 'hex': hexof(v)} for k, v in t.items()}))`,
        { args: [path.join(dir, 'py.safetensors')] },
      );
    });

    it('reads what safetensors.torch.save_file wrote, with and without mmap', async function () {
      const p = path.join(dir, 'py.safetensors');
      for (const t of [jepa.loadSafetensorsSync(p), await jepa.loadSafetensors(p, { mmap: true })]) {
        expect(Object.keys(t).sort()).to.deep.equal(Object.keys(expected).sort());
        for (const [k, e] of Object.entries(expected)) {
          expect(t[k].dtype, k).to.equal(e.dtype);
          expect(t[k].shape, k).to.deep.equal(e.shape);
          if (e.dtype !== 'uint16') expect(bits(t[k]), k).to.equal(e.hex);
        }
      }
      const h = jepa.readSafetensorsHeader(p);
      expect(h.metadata).to.deep.equal({ format: 'pt', note: 'hé' });
      expect(h.entries.find((e) => e.name === 'w')).to.deep.include({ dtype: 'float32', shape: [3, 4] });
    });

    it('writes files that safetensors.torch.load_file reads (with metadata)', async function () {
      const p = path.join(dir, 'node.safetensors');
      const src = jepa.loadSafetensorsSync(path.join(dir, 'py.safetensors'));
      src.strided = jepa.arange(12, { dtype: 'float32' }).reshape(3, 4).contiguous();
      await jepa.saveSafetensors(p, src, { metadata: { who: 'node' } });
      const r = pythonJson(
        `
import json, sys, torch
from safetensors.torch import load_file
from safetensors import safe_open
t = load_file(sys.argv[1])
def hexof(x):
    x = x.contiguous().reshape(-1)
    return x.view(torch.uint8).numpy().tobytes().hex() if x.numel() else ''
print(json.dumps({'meta': safe_open(sys.argv[1], 'pt').metadata(),
                  't': {k: {'dtype': str(v.dtype)[6:], 'shape': list(v.shape), 'hex': hexof(v)} for k, v in t.items()}}))`,
        { args: [p] },
      );
      expect(r.meta).to.deep.equal({ who: 'node' });
      for (const [k, e] of Object.entries(expected)) expect(r.t[k], k).to.deep.equal(e);
      expect(r.t.strided.shape).to.deep.equal([3, 4]);
    });

    it('refuses damaged headers', async function () {
      const good = fs.readFileSync(path.join(dir, 'py.safetensors'));
      const write = (name, buf) => {
        const p = path.join(dir, name);
        fs.writeFileSync(p, buf);
        return p;
      };
      const header = (obj) => {
        const json = Buffer.from(JSON.stringify(obj));
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(json.length));
        return Buffer.concat([len, json]);
      };
      const cases = [
        [write('short.safetensors', good.subarray(0, 5)), 'JEPA_PT_CORRUPT', /too short/],
        [
          write('huge-header.safetensors', Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x10, 1, 2])),
          'JEPA_PT_LIMIT',
          /above the limit/,
        ],
        [write('truncated.safetensors', good.subarray(0, good.length - 3)), 'JEPA_PT_CORRUPT', /truncated/],
        [
          write('not-json.safetensors', Buffer.concat([header({}).subarray(0, 8), Buffer.from('{x')])),
          'JEPA_PT_CORRUPT',
          /header/,
        ],
        [
          write(
            'overlap.safetensors',
            Buffer.concat([
              header({
                a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] },
                b: { dtype: 'U8', shape: [2], data_offsets: [1, 3] },
              }),
              Buffer.alloc(3),
            ]),
          ),
          'JEPA_PT_CORRUPT',
          /overlap or gap/,
        ],
        [
          write(
            'bad-size.safetensors',
            Buffer.concat([header({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }), Buffer.alloc(4)]),
          ),
          'JEPA_PT_CORRUPT',
          /needs 8 bytes/,
        ],
        [
          write(
            'bad-dtype.safetensors',
            Buffer.concat([header({ a: { dtype: 'Q9', shape: [1], data_offsets: [0, 1] } }), Buffer.alloc(1)]),
          ),
          'JEPA_PT_UNSUPPORTED',
          /Q9/,
        ],
      ];
      for (const [p, code, re] of cases) {
        expect(() => jepa.loadSafetensorsSync(p), p)
          .to.throw(re)
          .with.property('code', code);
        await jepa.loadSafetensors(p, { mmap: true }).then(
          () => expect.fail(`${p} should fail`),
          (e) => expect(e.code, p).to.equal(code),
        );
      }
    });
  });

  describe('.npy', function () {
    it('reads what numpy.save wrote: dtypes, 0-d, Fortran order, big-endian', async function () {
      const expected = pythonJson(
        `
import json, sys, numpy as np
d = sys.argv[1]
arrays = {
  'f4': np.arange(12, dtype=np.float32).reshape(3, 4), 'f8': np.linspace(0, 1, 5), 'f2': np.array([0.5, -2], dtype=np.float16),
  'i8': np.array([-(2**40), 3], dtype=np.int64), 'u1': np.array([0, 255], dtype=np.uint8), 'b1': np.array([True, False]),
  'i2': np.array([-2, 7], dtype=np.int16), 'scalar': np.float64(3.5), 'fortran': np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)),
  'big': np.arange(4, dtype='>f4'), 'empty': np.zeros((0, 2), dtype=np.float32),
}
for k, a in arrays.items(): np.save(f'{d}/{k}.npy', a)
print(json.dumps({k: {'shape': list(np.shape(a)), 'values': np.asarray(a).astype(np.float64).ravel().tolist()} for k, a in arrays.items()}))`,
        { args: [dir] },
      );
      for (const [k, e] of Object.entries(expected)) {
        for (const t of [
          jepa.loadNpySync(path.join(dir, `${k}.npy`)),
          await jepa.loadNpy(path.join(dir, `${k}.npy`), { mmap: true }),
        ]) {
          expect(t.shape, k).to.deep.equal(e.shape);
          const vals = Array.from(t.to('float64').contiguous().data());
          expect(vals, k).to.deep.equal(e.values);
        }
      }
      expect(jepa.loadNpySync(path.join(dir, 'fortran.npy')).strides).to.deep.equal([1, 2]);
    });

    it('writes files numpy.load reads', async function () {
      const tensors = {
        f32: jepa.arange(6, { dtype: 'float32' }).reshape(2, 3),
        i64: jepa.tensor([1n, -2n, 3n]),
        b: jepa.tensor([true, false]),
        h: jepa.tensor([0.5, 1.5], { dtype: 'float16' }),
        col: jepa.arange(6, { dtype: 'float64' }).reshape(2, 3),
        s: jepa.tensor(new Float64Array([2.5]), []),
      };
      for (const [k, t] of Object.entries(tensors)) await jepa.saveNpy(path.join(dir, `node-${k}.npy`), t);
      const r = pythonJson(
        `
import json, sys, numpy as np
out = {}
for k in sys.argv[2:]:
    a = np.load(f'{sys.argv[1]}/node-{k}.npy')
    out[k] = {'dtype': str(a.dtype), 'shape': list(a.shape), 'values': a.astype(np.float64).ravel().tolist()}
print(json.dumps(out))`,
        { args: [dir, ...Object.keys(tensors)] },
      );
      expect(r.f32).to.deep.equal({ dtype: 'float32', shape: [2, 3], values: [0, 1, 2, 3, 4, 5] });
      expect(r.i64).to.deep.equal({ dtype: 'int64', shape: [3], values: [1, -2, 3] });
      expect(r.b).to.deep.equal({ dtype: 'bool', shape: [2], values: [1, 0] });
      expect(r.h).to.deep.equal({ dtype: 'float16', shape: [2], values: [0.5, 1.5] });
      expect(r.s).to.deep.equal({ dtype: 'float64', shape: [], values: [2.5] });
      expect(() => jepa.saveNpySync(path.join(dir, 'bf.npy'), jepa.zeros([2], { dtype: 'bfloat16' }))).to.throw(
        TypeError,
        /numpy has no bfloat16/,
      );
    });

    it('refuses object arrays, structured arrays and damaged files', function () {
      runPython(
        `
import sys, numpy as np
np.save(sys.argv[1] + '/obj.npy', np.array([{'a': 1}], dtype=object), allow_pickle=True)
np.save(sys.argv[1] + '/rec.npy', np.zeros(2, dtype=[('x', 'f4'), ('y', 'i4')]))`,
        { args: [dir] },
      );
      expect(() => jepa.loadNpySync(path.join(dir, 'obj.npy')))
        .to.throw(/object arrays are pickles/)
        .with.property('code', 'JEPA_PT_UNSUPPORTED');
      expect(() => jepa.loadNpySync(path.join(dir, 'rec.npy')))
        .to.throw(/structured/)
        .with.property('code', 'JEPA_PT_UNSUPPORTED');
      const good = fs.readFileSync(path.join(dir, 'f4.npy'));
      fs.writeFileSync(path.join(dir, 'cut.npy'), good.subarray(0, good.length - 4));
      expect(() => jepa.loadNpySync(path.join(dir, 'cut.npy')))
        .to.throw(/past the end/)
        .with.property('code', 'JEPA_PT_CORRUPT');
      fs.writeFileSync(path.join(dir, 'junk.npy'), Buffer.from('hello world, not numpy'));
      expect(() => jepa.loadNpySync(path.join(dir, 'junk.npy')))
        .to.throw(/NUMPY magic/)
        .with.property('code', 'JEPA_PT_CORRUPT');
      expect(() => jepa.loadNpySync(path.join(dir, 'missing.npy')))
        .to.throw()
        .with.property('code', 'JEPA_FILE_NOT_FOUND');
    });
  });
});
