// .npz archives: numpy writes them (np.savez, np.savez_compressed), Node reads and checks every
// array against the same array written as .npy; Node writes them, numpy reads and checks.
// Damaged and hostile archives fail with file-format codes before anything large is allocated.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import jepa from 'jepa-native';
import { after, before, describe, it } from 'mocha';
import { cleanup, pythonJson, rejection, thrown, tmpDir } from './helpers.mjs';

let dir;
const file = (name) => path.join(dir, name);

/** A tensor's row-major bytes (through .npy for dtypes without a typed array, such as complex64). */
function bytesOf(t) {
  if (t.dtype !== 'complex64') {
    const d = t.contiguous().data();
    return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  }
  const p = file(`bytes-${process.hrtime.bigint()}.npy`);
  jepa.saveNpySync(p, t);
  return fs.readFileSync(p).subarray(-t.numel * 8);
}

/** Asserts that a tensor equals the .npy of the same name (dtype, shape, bytes, strides kind). */
function expectArray(t, name) {
  const want = jepa.loadNpySync(file(`${name}.npy`));
  expect([t.dtype, t.shape], name).to.deep.equal([want.dtype, want.shape]);
  expect(bytesOf(t).equals(bytesOf(want)), `${name}: bytes`).to.equal(true);
}

const NAMES = [
  'f4',
  'f8',
  'f2',
  'i1',
  'i2',
  'i4',
  'i8',
  'u1',
  'b1',
  'c8',
  'big',
  'fortran',
  'scalar',
  'empty',
  'large',
];

describe('.npz archives', function () {
  this.timeout(120000);
  let made;

  before(function () {
    dir = tmpDir('npz-');
    made = pythonJson(
      `
import json, os, sys, zipfile
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(0)
arrays = {
    'f4': rng.standard_normal((3, 4)).astype(np.float32), 'f8': rng.standard_normal(5),
    'f2': rng.standard_normal((2, 3)).astype(np.float16), 'i1': np.arange(-4, 4, dtype=np.int8),
    'i2': np.arange(6, dtype=np.int16).reshape(2, 3), 'i4': np.arange(-2, 3, dtype=np.int32),
    'i8': np.array([-(2**62), 2**40, 3]), 'u1': np.arange(250, 256, dtype=np.uint8),
    'b1': np.array([True, False, True]), 'c8': (rng.standard_normal(3) + 1j).astype(np.complex64),
    'big': np.arange(6, dtype='>f8'), 'fortran': np.asfortranarray(rng.standard_normal((3, 5))),
    'scalar': np.float32(1.5), 'empty': np.zeros((0, 4), np.float32),
    'large': rng.standard_normal((512, 600)).astype(np.float32),
}
for k, v in arrays.items():
    np.save(os.path.join(d, k + '.npy'), np.array(v, dtype=v.dtype.newbyteorder('='), order='C'))
np.savez(os.path.join(d, 'stored.npz'), **arrays)
np.savez_compressed(os.path.join(d, 'deflated.npz'), **arrays)
np.savez(os.path.join(d, 'positional.npz'), arrays['f4'], arrays['i8'])
np.savez(os.path.join(d, 'objects.npz'), o=np.array([{'a': 1}], dtype=object))
with zipfile.ZipFile(os.path.join(d, 'text-member.npz'), 'w') as z:
    z.writestr('notes.txt', 'hello')
with zipfile.ZipFile(os.path.join(d, 'bzip2.npz'), 'w', compression=zipfile.ZIP_BZIP2) as z:
    z.write(os.path.join(d, 'f4.npy'), 'f4.npy')
print(json.dumps({'names': list(np.load(os.path.join(d, 'stored.npz')).files)}))`,
      { args: [dir] },
    );
  });
  after(() => cleanup(dir));

  it('reads np.savez and np.savez_compressed archives (sync, async, mmap) in np.load order', async function () {
    for (const name of ['stored.npz', 'deflated.npz']) {
      const reads = [
        jepa.loadNpzSync(file(name)),
        await jepa.loadNpz(file(name)),
        jepa.loadNpzSync(file(name), { mmap: true }),
        await jepa.loadNpz(file(name), { mmap: true }),
      ];
      for (const got of reads) {
        expect(Object.keys(got)).to.deep.equal(made.names);
        for (const k of NAMES) expectArray(got[k], k);
        // A Fortran-ordered array is a column-major view, as np.load gives it.
        expect(got.fortran.strides).to.deep.equal([1, 3]);
      }
    }
    expect(Object.keys(jepa.loadNpzSync(file('positional.npz')))).to.deep.equal(['arr_0', 'arr_1']);
  });

  it('aliases a memory map for stored members where they are aligned', function () {
    const a = jepa.loadNpzSync(file('stored.npz'), { mmap: true });
    const b = jepa.loadNpzSync(file('stored.npz'), { mmap: true });
    // Two loads of one file never share memory, and writing to a mapped tensor leaves the file alone.
    a.f4.fill_(0);
    expectArray(b.f4, 'f4');
    expectArray(jepa.loadNpzSync(file('stored.npz')).f4, 'f4');
  });

  it('writes archives numpy reads back equal (stored and compressed, sync and async)', async function () {
    const arrays = jepa.loadNpzSync(file('stored.npz'));
    jepa.saveNpzSync(file('node-stored.npz'), arrays);
    jepa.saveNpzSync(file('node-deflated.npz'), arrays, { compress: true });
    await jepa.saveNpz(file('node-stored-async.npz'), new Map(Object.entries(arrays)));
    await jepa.saveNpz(file('node-deflated-async.npz'), arrays, { compress: true });
    // Non-contiguous tensors are written in row-major order.
    jepa.saveNpzSync(file('node-views.npz'), { t: arrays.f4.permute(1, 0), col: arrays.fortran });
    const r = pythonJson(
      `
import json, os, sys, zipfile
import numpy as np
d = sys.argv[1]
ref = np.load(os.path.join(d, 'stored.npz'))
out = {}
for name in ['node-stored', 'node-deflated', 'node-stored-async', 'node-deflated-async']:
    z = np.load(os.path.join(d, name + '.npz'))
    with zipfile.ZipFile(os.path.join(d, name + '.npz')) as zf:
        assert zf.testzip() is None
        methods = sorted({i.compress_type for i in zf.infolist()})
    out[name] = {'files': z.files, 'equal': all(np.array_equal(z[k], ref[k]) and z[k].dtype.newbyteorder('=') == ref[k].dtype.newbyteorder('=') for k in ref.files), 'methods': methods}
v = np.load(os.path.join(d, 'node-views.npz'))
out['views'] = bool(np.array_equal(v['t'], ref['f4'].T) and np.array_equal(v['col'], ref['fortran']))
print(json.dumps(out))`,
      { args: [dir] },
    );
    for (const name of ['node-stored', 'node-deflated', 'node-stored-async', 'node-deflated-async']) {
      expect(r[name].files, name).to.deep.equal(made.names);
      expect(r[name].equal, name).to.equal(true);
      expect(r[name].methods, name).to.deep.equal([name.includes('deflated') ? 8 : 0]);
    }
    expect(r.views).to.equal(true);
    expect(fs.statSync(file('node-deflated.npz')).size).to.be.below(fs.statSync(file('node-stored.npz')).size);
  });

  it('refuses what np.load refuses or jepa-native cannot hold, naming the file', async function () {
    const cases = [
      ['objects.npz', 'JEPA_PT_UNSUPPORTED', /object arrays/],
      ['text-member.npz', 'JEPA_PT_UNSUPPORTED', /notes\.txt is not a \.npy array/],
      ['bzip2.npz', 'JEPA_PT_UNSUPPORTED', /compression method 12/],
      ['f4.npy', 'JEPA_PT_CORRUPT', /no zip end-of-directory record/],
    ];
    for (const [name, code, re] of cases) {
      const e = thrown(() => jepa.loadNpzSync(file(name)));
      expect([e.code, e.message], name).to.satisfy(([c, m]) => c === code && re.test(m) && m.includes(file(name)));
      const a = await rejection(jepa.loadNpz(file(name)));
      expect(a.code, name).to.equal(code);
    }
    const e = thrown(() => jepa.loadNpySync(file('stored.npz')));
    expect(e.message).to.match(/loadNpz/);
  });

  it('refuses damaged archives cleanly (CRC, inflation, truncation, lying sizes)', async function () {
    const deflated = fs.readFileSync(file('deflated.npz'));
    const damage = (name, fn) => {
      const b = Buffer.from(deflated);
      fn(b);
      fs.writeFileSync(file(name), b);
      return file(name);
    };
    const cd = deflated.indexOf(Buffer.from('PK\x01\x02'));
    const localData = 30 + deflated.readUInt16LE(26) + deflated.readUInt16LE(28);
    fs.writeFileSync(file('truncated.npz'), deflated.subarray(0, deflated.length - 30));
    const cases = [
      // The first member's CRC-32 in the directory: the data no longer matches it.
      [
        damage('crc.npz', (b) => b.writeUInt32LE((b.readUInt32LE(cd + 16) ^ 1) >>> 0, cd + 16)),
        'JEPA_PT_CORRUPT',
        /CRC-32/,
      ],
      // Garbage in the first member's deflate stream.
      [damage('inflate.npz', (b) => b.fill(0xff, localData, localData + 8)), 'JEPA_PT_CORRUPT', /inflate|CRC-32/],
      // Cut inside the central directory.
      [file('truncated.npz'), 'JEPA_PT_CORRUPT', /end-of-directory|past the end|outside the file/],
      // The first member declares more inflated bytes than deflate can make of it.
      [
        damage('ratio.npz', (b) => b.writeUInt32LE(0x7ffffff0, cd + 24)),
        'JEPA_PT_CORRUPT',
        /more than deflate can produce/,
      ],
      // An encrypted member.
      [damage('encrypted.npz', (b) => b.writeUInt16LE(1, cd + 8)), 'JEPA_PT_UNSUPPORTED', /encrypted/],
    ];
    for (const [p, code, re] of cases) {
      const e = thrown(() => jepa.loadNpzSync(p));
      expect(e.code, p).to.equal(code);
      expect(e.message, p).to.match(re);
      const a = await rejection(jepa.loadNpz(p));
      expect(a.code, p).to.equal(code);
    }
  });

  it('validates arguments', function () {
    expect(() => jepa.saveNpzSync(file('x.npz'), { a: 1 })).to.throw(TypeError, /arrays.a/);
    expect(() => jepa.saveNpzSync(file('x.npz'), [])).to.throw(TypeError, /object or Map/);
    expect(() => jepa.saveNpzSync(file('x.npz'), {}, { compress: 'yes' })).to.throw(TypeError, /compress/);
    expect(() => jepa.loadNpzSync(file('x.npz'), { nope: 1 })).to.throw(TypeError, /nope/);
    expect(thrown(() => jepa.loadNpzSync(file('missing.npz'))).code).to.equal('JEPA_FILE_NOT_FOUND');
  });
});
