// The legacy torch.save format (torch < 1.6, or _use_new_zipfile_serialization=False): Python
// writes each value twice, legacy and zip; Node reads both and they must agree (the zip reader
// is checked against Python in pt.test.mjs). Hostile and damaged legacy files fail cleanly.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import jepa from 'jepa-native';
import { after, before, describe, it } from 'mocha';
import { cleanup, pythonJson, rejection, tmpDir } from './helpers.mjs';

let dir;
const file = (name) => path.join(dir, name);

/** Deep comparison of two loaded values; tensors by dtype, shape, strides and bytes. */
function same(a, b, where = 'value') {
  if (a instanceof jepa.Tensor) {
    expect(b, where).to.be.instanceOf(jepa.Tensor);
    expect([a.dtype, a.shape, a.strides, a.storageOffset], where).to.deep.equal([
      b.dtype,
      b.shape,
      b.strides,
      b.storageOffset,
    ]);
    expect(jepa.isParameter(a), `${where} parameter`).to.equal(jepa.isParameter(b));
    const x = a.contiguous().data();
    const y = b.contiguous().data();
    expect(
      Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength)),
      `${where} bytes`,
    ).to.equal(true);
    return;
  }
  if (a instanceof Map) {
    expect(b, where).to.be.instanceOf(Map);
    expect([...a.keys()], where).to.deep.equal([...b.keys()]);
    for (const [k, v] of a) same(v, b.get(k), `${where}.${String(k)}`);
    return;
  }
  if (Array.isArray(a)) {
    expect(b.length, where).to.equal(a.length);
    a.forEach((v, i) => same(v, b[i], `${where}[${i}]`));
    return;
  }
  if (a !== null && typeof a === 'object') {
    expect(Object.keys(a), where).to.deep.equal(Object.keys(b));
    for (const k of Object.keys(a)) same(a[k], b[k], `${where}.${k}`);
    return;
  }
  expect(a, where).to.deep.equal(b);
}

describe('legacy torch.save format', function () {
  this.timeout(120000);
  let info;

  before(function () {
    dir = tmpDir('legacy-');
    info = pythonJson(
      `
import collections, io, json, os, pickle, struct, sys, tarfile, torch
d = sys.argv[1]
torch.manual_seed(0)
def both(name, value, **kw):
    torch.save(value, os.path.join(d, name + '.legacy.pt'), _use_new_zipfile_serialization=False, **kw)
    torch.save(value, os.path.join(d, name + '.zip.pt'))
base = torch.randn(4, 6)
both('values', {
    'feature': torch.randn(3, 5), 'half': torch.randn(7).half(), 'bf16': torch.randn(3).bfloat16(),
    'long': torch.arange(-3, 9), 'bool': torch.tensor([True, False, True]), 'u8': torch.arange(5, dtype=torch.uint8),
    'f64': torch.randn(2, 2, dtype=torch.float64), 'scalar': torch.tensor(2.5), 'empty': torch.zeros(0, 3),
    'base': base, 'row': base[1], 'col': base[:, 2], 't': base.t(),
    'sd': torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.LayerNorm(2)).state_dict(),
    'param': torch.nn.Parameter(torch.ones(2, 2)),
    'text': 'caption', 'n': 7, 'big': 2 ** 70, 'x': 1.25, 'none': None, 'flag': True,
    'nested': [(1, 'a'), {'k': torch.ones(1)}], 'size': torch.Size([2, 3]), 'bytes': b'\\x00\\x01',
})
both('bare', torch.arange(6.0).view(2, 3))
# A pickle larger than the first 64 KiB window of a large file, and storages past 1 MiB.
both('large', {f'w{i}': torch.full((4,), float(i)) for i in range(3000)} | {'big': torch.randn(300, 1000)})
# Hand-made legacy files: a hostile pickle, a wrong magic, another protocol, a missing storage.
MAGIC, PROTO = 0x1950A86A20F9469CFC6C, 1001
def legacy(name, parts, tail=b''):
    with open(os.path.join(d, name), 'wb') as f:
        for p in parts:
            pickle.dump(p, f, protocol=2)
        f.write(tail)
class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + os.path.join(d, 'pwned'),))
info = {'little_endian': True}
legacy('evil.pt', [MAGIC, PROTO, info, Evil(), []])
legacy('magic.pt', [12345, PROTO, info, 1, []])
legacy('protocol.pt', [MAGIC, 1000, info, 1, []])
legacy('nolist.pt', [MAGIC, PROTO, info, {'a': 1}, 'not a list'])
good = open(os.path.join(d, 'bare.legacy.pt'), 'rb').read()
open(os.path.join(d, 'truncated.pt'), 'wb').write(good[:-7])
open(os.path.join(d, 'header-only.pt'), 'wb').write(good[:20])
# The .tar format of torch < 0.4 (refused by weights_only=True too).
with tarfile.open(os.path.join(d, 'old.tar.pt'), 'w') as t:
    data = pickle.dumps(0, protocol=2)
    ti = tarfile.TarInfo('storages'); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
r = {}
try:
    torch.load(os.path.join(d, 'old.tar.pt'))
except Exception as e:
    r['tar'] = str(e)[:80]
print(json.dumps(r))`,
      { args: [dir] },
    );
  });
  after(() => cleanup(dir));

  it('reads what Python wrote in the legacy format as the zip format reads (sync and async)', async function () {
    for (const name of ['values', 'bare', 'large']) {
      const zip = jepa.loadSync(file(`${name}.zip.pt`));
      same(jepa.loadSync(file(`${name}.legacy.pt`)), zip, `${name} (sync)`);
      same(await jepa.load(file(`${name}.legacy.pt`)), zip, `${name} (async)`);
    }
    const v = jepa.loadSync(file('values.legacy.pt'));
    // Views of one storage stay views of one storage, as in Python.
    expect(v.row.sharesStorage(v.base)).to.equal(true);
    expect(v.t.sharesStorage(v.base)).to.equal(true);
    expect(v.sd).to.be.instanceOf(jepa.OrderedDict);
    expect(jepa.isParameter(v.param)).to.equal(true);
  });

  it('reads legacy files with mmap (copies) and lazily with open()', async function () {
    const zip = jepa.loadSync(file('large.zip.pt'));
    same(jepa.loadSync(file('large.legacy.pt'), { mmap: true }), zip, 'mmap');
    const a = await jepa.open(file('values.legacy.pt'));
    expect(a.entries().map((e) => e.key)).to.include.members(['feature', 'sd.0.weight', 'nested.1.k']);
    same(await a.get('sd.0.weight'), jepa.loadSync(file('values.zip.pt')).sd.get('0.weight'), 'open().get');
    a.close();
  });

  it('never runs a hostile legacy pickle', async function () {
    const e = await rejection(jepa.load(file('evil.pt')));
    expect(e.code).to.equal('JEPA_PT_UNSAFE_GLOBAL');
    expect(e.message).to.match(/posix\.system|os\.system/);
    expect(fs.existsSync(file('pwned'))).to.equal(false);
  });

  it('refuses damaged legacy files with a clear error', async function () {
    const cases = [
      ['magic.pt', 'JEPA_PT_CORRUPT', /not the magic number/],
      ['protocol.pt', 'JEPA_PT_UNSUPPORTED', /protocol version 1000/],
      ['nolist.pt', 'JEPA_PT_CORRUPT', /storage list is not a list/],
      ['truncated.pt', 'JEPA_PT_CORRUPT', /past the end of the file/],
      ['header-only.pt', 'JEPA_PT_CORRUPT', /truncated/],
    ];
    for (const [name, code, re] of cases) {
      for (const read of [(f) => jepa.loadSync(f), (f) => jepa.load(f)]) {
        let e;
        try {
          await read(file(name));
        } catch (err) {
          e = err;
        }
        expect(e?.code, name).to.equal(code);
        expect(e.message, name).to.match(re).and.to.include(file(name));
      }
    }
  });

  it('refuses the .tar format of torch < 0.4, as torch.load(weights_only=True) does', async function () {
    expect(info.tar).to.match(/weights_only/);
    const e = await rejection(jepa.load(file('old.tar.pt')));
    expect(e.code).to.equal('JEPA_PT_LEGACY_FORMAT');
    expect(e.message).to.match(/\.tar format/);
  });
});
