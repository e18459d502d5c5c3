// Hostile and damaged .pt files: each gives a clear JS error with a stable code; nothing is
// run, nothing crashes, nothing allocates what the file does not justify. Also the documented
// limits (docs/pt.md), one test each.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import jepa from 'jepa-native';
import { cleanup, runNode, runPython, tmpDir } from './helpers.mjs';
import { after, before, describe, it } from 'mocha';

// Pickle building blocks (protocol 2 opcodes).
const op = {
  PROTO: Buffer.from([0x80, 2]),
  STOP: Buffer.from('.'),
  MARK: Buffer.from('('),
  TUPLE: Buffer.from('t'),
  TUPLE1: Buffer.from([0x85]),
  EMPTY_TUPLE: Buffer.from(')'),
  EMPTY_LIST: Buffer.from(']'),
  EMPTY_DICT: Buffer.from('}'),
  APPEND: Buffer.from('a'),
  REDUCE: Buffer.from('R'),
  BINPERSID: Buffer.from('Q'),
  NONE: Buffer.from('N'),
  NEWFALSE: Buffer.from([0x89]),
  global: (m, n) => Buffer.from(`c${m}\n${n}\n`),
  str: (s) => {
    const b = Buffer.from(s, 'utf8');
    const h = Buffer.alloc(5);
    h[0] = 0x58;
    h.writeUInt32LE(b.length, 1);
    return Buffer.concat([h, b]);
  },
  int: (n) => {
    const h = Buffer.alloc(5);
    h[0] = 0x4a;
    h.writeInt32LE(n, 1);
    return h;
  },
  long: (n) => {
    // LONG1 of a non-negative bigint
    const bytes = [];
    let x = BigInt(n);
    while (x > 0n) {
      bytes.push(Number(x & 0xffn));
      x >>= 8n;
    }
    bytes.push(0);
    return Buffer.from([0x8a, bytes.length, ...bytes]);
  },
};
const pk = (...parts) => Buffer.concat([op.PROTO, ...parts, op.STOP]);
const tuple = (...items) => Buffer.concat([op.MARK, ...items, op.TUPLE]);
/** A tensor rebuild call on storage `key` of FloatStorage with `numel` elements. */
const tensor = (key, numel, offset, size, stride) =>
  Buffer.concat([
    op.global('torch._utils', '_rebuild_tensor_v2'),
    tuple(
      tuple(op.str('storage'), op.global('torch', 'FloatStorage'), op.str(key), op.str('cpu'), op.long(numel)),
      op.BINPERSID,
      op.int(offset),
      tuple(...size.map((s) => (typeof s === 'bigint' ? op.long(s) : op.int(s)))),
      tuple(...stride.map((s) => op.int(s))),
      op.NEWFALSE,
      op.global('collections', 'OrderedDict'),
      op.EMPTY_TUPLE,
      op.REDUCE,
    ),
    op.REDUCE,
  ]);

const ZIP_WRITER = `
import json, sys, zipfile
spec = json.load(open(sys.argv[1]))
for case in spec:
    with zipfile.ZipFile(case['path'], 'w', zipfile.ZIP_STORED) as z:
        for name, hexdata in case['records']:
            z.writestr('archive/' + name, bytes.fromhex(hexdata))
`;

describe('.pt files: hostile input', function () {
  this.timeout(120000);
  let dir;
  const files = {};
  const canary = () => path.join(dir, 'code-ran');

  /** Zips of the given records (name -> Buffer), all written by one Python run. */
  function zips(cases) {
    const spec = Object.entries(cases).map(([name, records]) => {
      const p = path.join(dir, `${name}.pt`);
      files[name] = p;
      return { path: p, records: Object.entries(records).map(([n, b]) => [n, Buffer.from(b).toString('hex')]) };
    });
    const specPath = path.join(dir, 'spec.json');
    fs.writeFileSync(specPath, JSON.stringify(spec));
    runPython(ZIP_WRITER, { args: [specPath] });
  }
  const withPickle = (pickle, extra = {}) => ({
    'data.pkl': pickle,
    version: Buffer.from('3\n'),
    byteorder: Buffer.from('little'),
    ...extra,
  });

  before(function () {
    dir = tmpDir('pt-hostile-');
    const deepLists = Buffer.concat([
      ...Array.from({ length: 3000 }, () => op.EMPTY_LIST),
      ...Array.from({ length: 2999 }, () => op.APPEND),
    ]);
    zips({
      os_system: withPickle(pk(op.global('os', 'system'), tuple(op.str(`touch ${canary()}`)), op.REDUCE)),
      posix_system: withPickle(pk(op.global('posix', 'system'), tuple(op.str(`touch ${canary()}`)), op.REDUCE)),
      builtins_exec: withPickle(pk(op.global('builtins', 'exec'), tuple(op.str(`open('${canary()}','w')`)), op.REDUCE)),
      builtins_eval: withPickle(
        pk(op.global('__builtin__', 'eval'), tuple(op.str(`open('${canary()}','w')`)), op.REDUCE),
      ),
      subprocess: withPickle(pk(op.global('subprocess', 'Popen'), tuple(op.str('true')), op.REDUCE)),
      numpy_global: withPickle(pk(op.global('numpy.core.multiarray', '_reconstruct'), op.EMPTY_TUPLE, op.REDUCE)),
      reduce_non_global: withPickle(pk(op.EMPTY_LIST, op.EMPTY_TUPLE, op.REDUCE)),
      cut_pickle: withPickle(pk(op.str('hello')).subarray(0, 6)),
      no_stop: withPickle(Buffer.concat([op.PROTO, op.NONE])),
      unknown_opcode: withPickle(pk(Buffer.from([0x95, 0, 0, 0, 0, 0, 0, 0, 0]))),
      binbytes: withPickle(pk(Buffer.from([0x43, 1, 0x41]))),
      memo_unset: withPickle(pk(Buffer.from([0x68, 7]))),
      memo_huge: withPickle(pk(op.NONE, Buffer.from([0x72, 0xf0, 0xff, 0xff, 0xff]))),
      underflow: withPickle(pk(op.REDUCE)),
      deep_marks: withPickle(pk(...Array.from({ length: 2000 }, () => op.MARK))),
      deep_lists: withPickle(pk(deepLists)),
      string_past_end: withPickle(pk(Buffer.from([0x58, 0xff, 0xff, 0xff, 0x0f]), Buffer.from('abc'))),
      string_too_long: withPickle(pk(Buffer.from([0x58, 0x01, 0x00, 0x00, 0x10]), Buffer.from('abc'))),
      bad_utf8: withPickle(pk(Buffer.from([0x58, 2, 0, 0, 0, 0xc3, 0x28]))),
      pid_not_storage: withPickle(
        pk(tuple(op.str('module'), op.NONE, op.str('0'), op.str('cpu'), op.int(1)), op.BINPERSID),
      ),
      missing_record: withPickle(pk(tensor('0', 6, 0, [2, 3], [3, 1]))),
      short_record: withPickle(pk(tensor('0', 6, 0, [2, 3], [3, 1])), { 'data/0': Buffer.alloc(12) }),
      huge_storage: withPickle(pk(tensor('0', 1n << 60n, 0, [2], [1])), { 'data/0': Buffer.alloc(8) }),
      big_storage_short_record: withPickle(pk(tensor('0', 1n << 33n, 0, [2], [1])), { 'data/0': Buffer.alloc(8) }),
      view_past_storage: withPickle(pk(tensor('0', 6, 0, [1n << 40n, 3], [3, 1])), { 'data/0': Buffer.alloc(24) }),
      offset_past_storage: withPickle(pk(tensor('0', 6, 5, [2], [1])), { 'data/0': Buffer.alloc(24) }),
      negative_stride: withPickle(pk(tensor('0', 6, 5, [2], [-1])), { 'data/0': Buffer.alloc(24) }),
      rank_65: withPickle(pk(tensor('0', 1, 0, Array(65).fill(1), Array(65).fill(1))), { 'data/0': Buffer.alloc(4) }),
      rank_64: withPickle(pk(tensor('0', 1, 0, Array(64).fill(1), Array(64).fill(1))), { 'data/0': Buffer.alloc(4) }),
      torchscript: { 'data.pkl': pk(op.NONE), 'constants.pkl': pk(op.EMPTY_TUPLE), version: Buffer.from('3\n') },
      no_data_pkl: { version: Buffer.from('3\n') },
      bad_byteorder: withPickle(pk(op.NONE), { byteorder: Buffer.from('middle') }),
      no_version: { 'data.pkl': pk(op.NONE) },
      version_99: withPickle(pk(op.NONE), { version: Buffer.from('99\n') }),
      version_junk: withPickle(pk(op.NONE), { version: Buffer.from('x3') }),
    });
  });
  after(function () {
    cleanup(dir);
  });

  async function rejects(p, code, pattern) {
    let error;
    try {
      await jepa.load(p);
    } catch (e) {
      error = e;
    }
    expect(error, `${p} should fail`).to.be.instanceOf(Error);
    expect(error.code, error.message).to.equal(code);
    if (pattern) expect(error.message).to.match(pattern);
    // The sync form and lazy open fail the same way.
    expect(() => {
      const a = jepa.openSync(p);
      a.getSync([]);
    })
      .to.throw()
      .with.property('code', code);
    return error;
  }

  it('refuses GLOBAL/REDUCE of os.system, posix.system, builtins.exec and eval, and runs nothing', async function () {
    for (const [name, g] of [
      ['os_system', 'os.system'],
      ['posix_system', 'posix.system'],
      ['builtins_exec', 'builtins.exec'],
      ['builtins_eval', 'builtins.eval'],
      ['subprocess', 'subprocess.Popen'],
      ['numpy_global', 'numpy.core.multiarray._reconstruct'],
    ]) {
      const e = await rejects(files[name], 'JEPA_PT_UNSAFE_GLOBAL');
      expect(e.message).to.include(`GLOBAL ${g}`);
      expect(e.message).to.include('nothing was run');
    }
    expect(fs.existsSync(canary())).to.equal(false);
    // Python's own weights_only loader refuses the same files.
    const py = runPython(
      `
import sys, torch
try:
    torch.load(sys.argv[1], weights_only=True)
    print('loaded')
except Exception as e:
    print('refused')`,
      { args: [files.os_system] },
    );
    expect(py.trim()).to.equal('refused');
    expect(fs.existsSync(canary())).to.equal(false);
  });

  it('refuses REDUCE of anything but an allowed global', async function () {
    await rejects(files.reduce_non_global, 'JEPA_PT_CORRUPT', /REDUCE calls a list/);
  });

  it('refuses empty files, random bytes and truncated files', async function () {
    const empty = path.join(dir, 'empty.pt');
    fs.writeFileSync(empty, '');
    await rejects(empty, 'JEPA_PT_CORRUPT', /empty/);
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (const n of [1, 3, 21, 22, 100, 4096]) {
      const p = path.join(dir, `random-${n}.pt`);
      fs.writeFileSync(p, Buffer.from(Array.from({ length: n }, rand)));
      await rejects(p, 'JEPA_PT_CORRUPT');
    }
    // A random file that starts like a zip.
    const pk4 = path.join(dir, 'random-zip.pt');
    fs.writeFileSync(pk4, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.from(Array.from({ length: 5000 }, rand))]));
    await rejects(pk4, 'JEPA_PT_CORRUPT');
    // Cuts of a real file at many places, including inside the central directory.
    const good = path.join(dir, 'good.pt');
    runPython(`import torch, sys; torch.save({'w': torch.randn(64, 64), 'b': [1, 2.0, 'x']}, sys.argv[1])`, {
      args: [good],
    });
    const bytes = fs.readFileSync(good);
    for (const cut of [10, 100, 1000, bytes.length / 2, bytes.length - 200, bytes.length - 22, bytes.length - 1]) {
      const p = path.join(dir, `cut-${cut}.pt`);
      fs.writeFileSync(p, bytes.subarray(0, Math.floor(cut)));
      await rejects(p, 'JEPA_PT_CORRUPT');
    }
  });

  it('refuses a cut pickle, a pickle without STOP, unknown opcodes and bad memo or stack use', async function () {
    await rejects(files.cut_pickle, 'JEPA_PT_CORRUPT', /truncated/);
    await rejects(files.no_stop, 'JEPA_PT_CORRUPT', /before its STOP/);
    await rejects(files.unknown_opcode, 'JEPA_PT_CORRUPT', /unsupported pickle opcode 0x95/);
    await rejects(files.binbytes, 'JEPA_PT_CORRUPT', /unsupported pickle opcode 0x43/);
    await rejects(files.memo_unset, 'JEPA_PT_CORRUPT', /memo index 7 read before it was written/);
    await rejects(files.memo_huge, 'JEPA_PT_CORRUPT', /memo index 4294967280 is out of range/);
    await rejects(files.underflow, 'JEPA_PT_CORRUPT', /empty stack/);
    await rejects(files.string_past_end, 'JEPA_PT_CORRUPT', /truncated/);
    await rejects(files.bad_utf8, 'JEPA_PT_CORRUPT', /UTF-8/);
    await rejects(files.pid_not_storage, 'JEPA_PT_CORRUPT', /persistent id/);
  });

  it('refuses missing and short storage records', async function () {
    await rejects(files.missing_record, 'JEPA_PT_CORRUPT', /storage record data\/0 is missing/);
    await rejects(files.short_record, 'JEPA_PT_CORRUPT', /has 12 bytes, but the pickle declares 24/);
  });

  it('refuses huge declared sizes without allocating them', async function () {
    await rejects(files.huge_storage, 'JEPA_PT_CORRUPT', /more than a file can hold/);
    await rejects(
      files.big_storage_short_record,
      'JEPA_PT_CORRUPT',
      /has 8 bytes, but the pickle declares 34359738368/,
    );
    await rejects(files.view_past_storage, 'JEPA_PT_CORRUPT', /reaches past the end of its storage of 24 bytes/);
    await rejects(files.offset_past_storage, 'JEPA_PT_CORRUPT', /reaches past the end/);
    await rejects(files.negative_stride, 'JEPA_PT_CORRUPT', /negative size or stride/);
    // The process never grew to the declared sizes (it would have died or taken seconds).
    expect(process.memoryUsage().rss).to.be.lessThan(4 * 2 ** 30);
  });

  it('refuses a zip directory that declares a record larger than the file', async function () {
    const p = path.join(dir, 'zip-lie.pt');
    runPython(`import torch, sys; torch.save({'w': torch.zeros(4)}, sys.argv[1])`, { args: [p] });
    const b = fs.readFileSync(p);
    // Patch the central directory entry of data.pkl: uncompressed and compressed sizes 0x7fffffff.
    const cd = b.indexOf(Buffer.from('PK\x01\x02'));
    b.writeUInt32LE(0x7fffffff, cd + 20);
    b.writeUInt32LE(0x7fffffff, cd + 24);
    fs.writeFileSync(p, b);
    await rejects(p, 'JEPA_PT_CORRUPT', /lies past the end of the file/);
  });

  it('refuses TorchScript archives with a hint; reads the legacy format (test/pt-legacy.test.mjs)', async function () {
    await rejects(files.torchscript, 'JEPA_PT_TORCHSCRIPT', /loadModule/);
    const ts = path.join(dir, 'scripted.pt');
    const legacy = path.join(dir, 'legacy.pt');
    runPython(
      `
import sys, torch
torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), sys.argv[1])
torch.save({'a': torch.ones(2)}, sys.argv[2], _use_new_zipfile_serialization=False)`,
      { args: [ts, legacy] },
    );
    await rejects(ts, 'JEPA_PT_TORCHSCRIPT', /jepa.loadModule/);
    expect(Array.from((await jepa.load(legacy)).a.data())).to.deep.equal([1, 1]);
    await rejects(files.no_data_pkl, 'JEPA_PT_CORRUPT', /no data.pkl/);
  });

  it('refuses archives without a readable, supported version record', async function () {
    await rejects(files.no_version, 'JEPA_PT_CORRUPT', /no version record/);
    await rejects(files.version_junk, 'JEPA_PT_CORRUPT', /version record is unreadable/);
    await rejects(files.version_99, 'JEPA_PT_UNSUPPORTED', /format version 99/);
  });

  it('honours the byteorder record: a big-endian file is byte-swapped', async function () {
    const p = path.join(dir, 'big-endian.pt');
    const expected = JSON.parse(
      runPython(
        `
import json, sys, zipfile, torch
src = sys.argv[1] + '.le'
torch.save({'f': torch.tensor([1.5, -2.25]), 'd': torch.tensor([3.0], dtype=torch.float64),
            'h': torch.tensor([0.5], dtype=torch.float16), 'i': torch.tensor([1, -2], dtype=torch.int64),
            'c': torch.tensor([1 + 2j])}, src)
z = zipfile.ZipFile(src)
names = z.namelist()
sizes = {'0': 4, '1': 8, '2': 2, '3': 8, '4': 4}
with zipfile.ZipFile(sys.argv[1], 'w') as out:
    for n in names:
        data = z.read(n)
        key = n.split('/')[-1]
        if n.endswith('byteorder'):
            data = b'big'
        elif '/data/' in n:
            k = sizes[key]
            data = b''.join(data[i:i + k][::-1] for i in range(0, len(data), k))
        out.writestr(n, data)
v = torch.load(sys.argv[1])
print(json.dumps({k: [float(x) for x in t.view(torch.float32 if t.is_complex() else t.dtype).tolist()] if not t.is_complex() else [float(x) for x in torch.view_as_real(t).flatten()] for k, t in v.items()}))`,
        { args: [p] },
      )
        .trim()
        .split('\n')
        .pop(),
    );
    const v = await jepa.load(p);
    expect(Array.from(v.f.data())).to.deep.equal(expected.f);
    expect(Array.from(v.d.data())).to.deep.equal(expected.d);
    expect(Array.from(v.h.to('float32').data())).to.deep.equal(expected.h);
    expect(Array.from(v.i.data(), Number)).to.deep.equal(expected.i);
    expect(expected.c).to.deep.equal([1, 2]);
    await rejects(files.bad_byteorder, 'JEPA_PT_CORRUPT', /unknown byteorder 'middle'/);
  });

  describe('limits', function () {
    it('max nesting depth (1000): deeper MARKs and deeper lists are refused', async function () {
      await rejects(files.deep_marks, 'JEPA_PT_LIMIT', /deeper than 1000/);
      await rejects(files.deep_lists, 'JEPA_PT_LIMIT', /deeper than 1000/);
      let deep = [];
      for (let i = 0; i < 1100; i++) deep = [deep];
      expect(() => jepa.saveSync(path.join(dir, 'deep.pt'), deep))
        .to.throw()
        .with.property('code', 'JEPA_PT_LIMIT');
      let ok = [];
      for (let i = 0; i < 900; i++) ok = [ok];
      jepa.saveSync(path.join(dir, 'ok-deep.pt'), ok);
      let back = jepa.loadSync(path.join(dir, 'ok-deep.pt'));
      let depth = 0;
      while (back.length) {
        back = back[0];
        depth++;
      }
      expect(depth).to.equal(900);
    });

    it('max string length (256 MiB)', async function () {
      await rejects(files.string_too_long, 'JEPA_PT_LIMIT', /string of 268435457 bytes exceeds the limit of 268435456/);
    });

    it('max rank (64)', async function () {
      await rejects(files.rank_65, 'JEPA_PT_LIMIT', /rank 65/);
      const v = await jepa.load(files.rank_64);
      expect(v.shape.length).to.equal(64);
    });

    it('max file size (1 TiB)', async function () {
      const p = path.join(dir, 'huge-sparse.pt');
      const fd = fs.openSync(p, 'w');
      try {
        fs.ftruncateSync(fd, 2 ** 40 + 1);
      } catch {
        this.skip(); // the file system refuses sparse files this large
      } finally {
        fs.closeSync(fd);
      }
      await rejects(p, 'JEPA_PT_LIMIT', /above the limit of 1099511627776 bytes/);
      fs.unlinkSync(p);
    });
  });

  it('survives every hostile file in a child process (no crash, only JS errors)', function () {
    const list = JSON.stringify(Object.values(files));
    const r = runNode(`
import jepa from 'jepa-native';
const codes = [];
for (const p of ${list}) {
  for (const mmap of [false, true]) {
    try { jepa.loadSync(p, { mmap }); codes.push('ok'); } catch (e) { codes.push(e.code); }
  }
}
console.log(JSON.stringify(codes));`);
    expect(r.status, r.stderr).to.equal(0);
    const codes = JSON.parse(r.stdout.trim());
    expect(
      codes.every((c) => c === 'ok' || /^JEPA_/.test(c)),
      codes.join(','),
    ).to.equal(true);
  });
});
