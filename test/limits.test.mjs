// The documented limits of the file readers and writers (`jepa.limits`, RELIABILITY.md): each is
// enforced with a JEPA_PT_LIMIT error naming the limit and the value found, before anything of
// that size is allocated. (The .pt nesting depth, string length, rank and file size have their
// tests in pt-hostile.test.mjs, next to the other hostile .pt files.)
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import jepa from 'jepa-native';
import { after, before, describe, it } from 'mocha';
import { cleanup, rejection, runPython, thrown, tmpDir } from './helpers.mjs';

const MiB = 1 << 20;

// Writes zip archives record by record; a record given as a number of bytes is left as a hole
// (a sparse file), so that archives declaring huge records cost no disk.
const SPARSE_ZIP = `
import json, struct, sys, zlib
for case in json.load(open(sys.argv[1])):
    with open(case['path'], 'wb') as f:
        cd = b''
        for name, data in case['records']:
            off, n = f.tell(), name.encode()
            raw = None if isinstance(data, int) else bytes.fromhex(data)
            size = data if raw is None else len(raw)
            crc = 0 if raw is None else zlib.crc32(raw)
            f.write(struct.pack('<IHHHHHIIIHH', 0x04034b50, 20, 0, 0, 0, 0, crc, size, size, len(n), 0) + n)
            if raw is None:
                f.seek(size, 1)
            else:
                f.write(raw)
            cd += struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 20, 20, 0, 0, 0, 0, crc, size, size,
                              len(n), 0, 0, 0, 0, 0, off) + n
        cdo = f.tell()
        f.write(cd)
        f.write(struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, len(case['records']), len(case['records']), len(cd), cdo, 0))
`;

/** A sparse file of `size` bytes holding `head` at its start and `tail` at its end (null if the file system refuses). */
function sparseFile(p, size, head = Buffer.alloc(0), tail = Buffer.alloc(0)) {
  const fd = fs.openSync(p, 'w');
  try {
    fs.ftruncateSync(fd, size);
    fs.writeSync(fd, head, 0, head.length, 0);
    fs.writeSync(fd, tail, 0, tail.length, size - tail.length);
    return p;
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

function npyFile(p, dict, { version = 1, data = Buffer.alloc(0) } = {}) {
  const text = Buffer.from(dict + '\n', 'latin1');
  const pre = Buffer.alloc(version === 1 ? 10 : 12);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = version;
  if (version === 1) pre.writeUInt16LE(text.length, 8);
  else pre.writeUInt32LE(text.length, 8);
  fs.writeFileSync(p, Buffer.concat([pre, text, data]));
  return p;
}

function safetensorsFile(p, header, data = Buffer.alloc(0)) {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(p, Buffer.concat([len, json, data]));
  return p;
}

/** Asserts that the sync and async forms of `load` both fail with JEPA_PT_LIMIT and a message matching `pattern`. */
async function refused(load, p, pattern) {
  for (const e of [await rejection(load(p)), thrown(() => load.sync(p))]) {
    expect(e.code, e.message).to.equal('JEPA_PT_LIMIT');
    expect(e.message).to.match(pattern);
    expect(e.message).to.include(p);
  }
}
const pt = Object.assign((p) => jepa.load(p), { sync: (p) => jepa.loadSync(p) });
const st = Object.assign((p) => jepa.loadSafetensors(p), { sync: (p) => jepa.loadSafetensorsSync(p) });
const npy = Object.assign((p) => jepa.loadNpy(p), { sync: (p) => jepa.loadNpySync(p) });
const npz = Object.assign((p) => jepa.loadNpz(p), { sync: (p) => jepa.loadNpzSync(p) });

/** A zip end-of-directory record declaring `entries` entries in `cdSize` bytes at `cdOffset`. */
function eocd(entries, cdSize, cdOffset) {
  const e = Buffer.alloc(22);
  e.writeUInt32LE(0x06054b50, 0);
  e.writeUInt16LE(entries, 8);
  e.writeUInt16LE(entries, 10);
  e.writeUInt32LE(cdSize, 12);
  e.writeUInt32LE(cdOffset, 16);
  return e;
}

describe('limits', function () {
  this.timeout(120000);
  let dir;
  before(function () {
    dir = tmpDir('limits-');
  });
  after(function () {
    cleanup(dir);
  });

  it('jepa.limits is a frozen object of the documented values', function () {
    expect(jepa.limits).to.deep.equal({
      maxDepth: 1000,
      maxStringBytes: 256 * MiB,
      maxRank: 64,
      maxFileBytes: 2 ** 40,
      maxPickleBytes: 2 ** 30,
      maxZipDirectoryBytes: 256 * MiB,
      maxDeflatedRecordBytes: 16 * MiB,
      maxIntBytes: 255,
      maxSafetensorsHeaderBytes: 100_000_000,
      maxNpyHeaderBytes: MiB,
      maxNpzMemberBytes: 2 ** 32 - 1,
      staleTempSeconds: 60,
    });
    expect(Object.isFrozen(jepa.limits)).to.equal(true);
    expect(() => {
      jepa.limits.maxRank = 1000;
    }).to.throw(TypeError);
  });

  describe('.pt', function () {
    const files = {};
    before(function () {
      const hex = (s) => Buffer.from(s).toString('hex');
      files.bigPickle = path.join(dir, 'big-pickle.pt');
      const spec = [
        // data.pkl of maxPickleBytes + 1 bytes (a hole), then a valid version record.
        {
          path: files.bigPickle,
          records: [
            ['archive/data.pkl', 2 ** 30 + 1],
            ['archive/version', hex('3\n')],
          ],
        },
      ];
      fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec));
      runPython(SPARSE_ZIP, { args: [path.join(dir, 'spec.json')] });
      // A compressed record that inflates to maxDeflatedRecordBytes + 1 bytes.
      files.deflated = path.join(dir, 'deflated.pt');
      runPython(
        `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('archive/data.pkl', bytes(16 * 2**20 + 1))
    z.writestr('archive/version', b'3\\n')`,
        { args: [files.deflated] },
      );
    });

    it(`maxPickleBytes (1 GiB): a larger data.pkl is refused before it is read`, async function () {
      await refused(
        pt,
        files.bigPickle,
        /data\.pkl has 1073741825 bytes, above the limit of 1073741824 bytes \(jepa\.limits\.maxPickleBytes\)/,
      );
    });

    it('maxZipDirectoryBytes (256 MiB): a larger zip directory is refused before it is read', async function () {
      const size = 300 * MiB;
      const cdSize = 256 * MiB + 1;
      const eocd = Buffer.alloc(22);
      eocd.writeUInt32LE(0x06054b50, 0);
      eocd.writeUInt16LE(1, 8);
      eocd.writeUInt16LE(1, 10);
      eocd.writeUInt32LE(cdSize, 12);
      eocd.writeUInt32LE(size - 22 - cdSize, 16);
      const p = sparseFile(path.join(dir, 'big-directory.pt'), size, Buffer.from([0x50, 0x4b, 3, 4]), eocd);
      if (!p) this.skip();
      await refused(
        pt,
        p,
        /zip directory has 268435457 bytes, above the limit of 268435456 bytes \(jepa\.limits\.maxZipDirectoryBytes\)/,
      );
    });

    it('maxDeflatedRecordBytes (16 MiB): a compressed record inflating to more is refused', async function () {
      await refused(
        pt,
        files.deflated,
        /record archive\/data\.pkl is compressed and inflates to 16777217 bytes, above the limit of 16777216 bytes .*\(jepa\.limits\.maxDeflatedRecordBytes\)/,
      );
    });

    it('maxIntBytes (255): save refuses larger ints, which torch.load(weights_only=True) cannot read', async function () {
      const p = path.join(dir, 'ints.pt');
      const ok = 2n ** 2030n - 1n; // 254 bytes of magnitude + sign
      jepa.saveSync(p, { ok, neg: -ok });
      expect(jepa.loadSync(p)).to.deep.equal({ ok, neg: -ok });
      const e = thrown(() => jepa.saveSync(p, 2n ** 2100n));
      expect(e.code).to.equal('JEPA_PT_LIMIT');
      expect(e.message).to.match(/an int of 263 bytes is too large.*\(jepa\.limits\.maxIntBytes\)/);
      expect((await rejection(jepa.save(p, [2n ** 2100n]))).code).to.equal('JEPA_PT_LIMIT');
      // The file saved before is untouched.
      expect(jepa.loadSync(p).ok).to.equal(ok);
    });
  });

  describe('safetensors', function () {
    it('maxSafetensorsHeaderBytes (100,000,000): a larger declared header is refused before it is read', async function () {
      const p = path.join(dir, 'big-header.safetensors');
      const len = Buffer.alloc(16);
      len.writeBigUInt64LE(100_000_001n);
      fs.writeFileSync(p, len);
      await refused(
        st,
        p,
        /header declares 100000001 bytes, above the limit of 100000000 bytes \(jepa\.limits\.maxSafetensorsHeaderBytes\)/,
      );
      expect(thrown(() => jepa.readSafetensorsHeader(p)).code).to.equal('JEPA_PT_LIMIT');
    });

    it('maxRank (64)', async function () {
      const p = safetensorsFile(
        path.join(dir, 'rank65.safetensors'),
        { t: { dtype: 'F32', shape: Array(65).fill(1), data_offsets: [0, 4] } },
        Buffer.alloc(4),
      );
      await refused(st, p, /tensor 't' has rank 65, above the limit of 64 \(jepa\.limits\.maxRank\)/);
      const q = safetensorsFile(
        path.join(dir, 'rank64.safetensors'),
        { t: { dtype: 'F32', shape: Array(64).fill(1), data_offsets: [0, 4] } },
        Buffer.alloc(4),
      );
      expect(jepa.loadSafetensorsSync(q).t.shape).to.have.length(64);
    });

    it('maxFileBytes (1 TiB)', async function () {
      const p = sparseFile(path.join(dir, 'huge.safetensors'), 2 ** 40 + 1);
      if (!p) this.skip(); // the file system refuses sparse files this large
      await refused(
        st,
        p,
        /the file has 1099511627777 bytes, above the limit of 1099511627776 bytes \(jepa\.limits\.maxFileBytes\)/,
      );
      fs.unlinkSync(p);
    });

    it('a header nesting JSON a million levels deep is a clear error, not a stack overflow', function () {
      const deep = '['.repeat(1e6) + ']'.repeat(1e6);
      const p = safetensorsFile(
        path.join(dir, 'deep.safetensors'),
        `{"t": {"dtype": "F32", "shape": ${deep}, "data_offsets": [0, 0]}}`,
      );
      const e = thrown(() => jepa.loadSafetensorsSync(p));
      expect(e.code, e.message).to.equal('JEPA_PT_CORRUPT');
      expect(e.message).to.match(/tensor 't' has a bad shape \[\[\[\[\[\.\.\.\]\]\]\]\]/);
    });
  });

  describe('.npy', function () {
    it('maxNpyHeaderBytes (1 MiB)', async function () {
      const p = npyFile(
        path.join(dir, 'big-header.npy'),
        `{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }${' '.repeat(MiB)}`,
        {
          version: 2,
        },
      );
      await refused(
        npy,
        p,
        /the \.npy header declares 1048634 bytes, above the limit of 1048576 bytes \(jepa\.limits\.maxNpyHeaderBytes\)/,
      );
    });

    it('maxRank (64)', async function () {
      const shape = (n) => `(${Array(n).fill('1').join(', ')},)`;
      const p = npyFile(
        path.join(dir, 'rank65.npy'),
        `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape(65)}, }`,
        { data: Buffer.alloc(4) },
      );
      await refused(npy, p, /the array has rank 65, above the limit of 64 \(jepa\.limits\.maxRank\)/);
      const q = npyFile(
        path.join(dir, 'rank64.npy'),
        `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape(64)}, }`,
        { data: Buffer.alloc(4) },
      );
      expect(jepa.loadNpySync(q).shape).to.have.length(64);
    });

    it('maxDepth (1000): a header nesting deeper is refused (no stack overflow)', async function () {
      const p = npyFile(
        path.join(dir, 'deep.npy'),
        `{'descr': '<f4', 'fortran_order': False, 'shape': ${'('.repeat(100000)}`,
        { version: 2 },
      );
      await refused(npy, p, /the \.npy header nests deeper than 1000 levels \(jepa\.limits\.maxDepth\)/);
    });

    it('maxFileBytes (1 TiB)', async function () {
      const p = sparseFile(path.join(dir, 'huge.npy'), 2 ** 40 + 1);
      if (!p) this.skip();
      await refused(
        npy,
        p,
        /the file has 1099511627777 bytes, above the limit of 1099511627776 bytes \(jepa\.limits\.maxFileBytes\)/,
      );
      fs.unlinkSync(p);
    });
  });

  describe('.npz', function () {
    it('maxNpzMemberBytes (4 GiB - 1): a deflated member declaring more is refused from the directory alone', async function () {
      // One deflated member declaring 2^32 + 1 inflated bytes (zip64) from 4.2 MB of data: within
      // deflate's ratio, above the limit; nothing is read or inflated.
      const comp = 4_200_000;
      const name = Buffer.from('a.npy');
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(8, 8);
      local.writeUInt16LE(name.length, 26);
      const central = Buffer.alloc(46);
      central.writeUInt32LE(0x02014b50, 0);
      central.writeUInt16LE(8, 10);
      central.writeUInt32LE(0xffffffff, 20);
      central.writeUInt32LE(0xffffffff, 24);
      central.writeUInt16LE(name.length, 28);
      central.writeUInt16LE(20, 30);
      const extra = Buffer.alloc(20);
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(16, 2);
      extra.writeBigUInt64LE(2n ** 32n + 1n, 4);
      extra.writeBigUInt64LE(BigInt(comp), 12);
      const cd = Buffer.concat([central, name, extra]);
      const p = path.join(dir, 'bomb.npz');
      fs.writeFileSync(
        p,
        Buffer.concat([local, name, Buffer.alloc(comp, 1), cd, eocd(1, cd.length, 30 + name.length + comp)]),
      );
      await refused(
        npz,
        p,
        /member a\.npy inflates to 4294967297 bytes, above the limit of 4294967295 bytes \(jepa\.limits\.maxNpzMemberBytes\)/,
      );
    });

    it('maxZipDirectoryBytes (256 MiB): a larger directory is refused before it is read', async function () {
      const size = 256 * MiB + 1;
      const p = sparseFile(path.join(dir, 'big-directory.npz'), size + 22, Buffer.alloc(0), eocd(1, size, 0));
      if (!p) this.skip();
      await refused(
        npz,
        p,
        /the zip directory has 268435457 bytes, above the limit of 268435456 bytes \(jepa\.limits\.maxZipDirectoryBytes\)/,
      );
      fs.unlinkSync(p);
    });

    it('maxFileBytes (1 TiB)', async function () {
      const p = sparseFile(path.join(dir, 'huge.npz'), 2 ** 40 + 1);
      if (!p) this.skip();
      await refused(npz, p, /above the limit of 1099511627776 bytes \(jepa\.limits\.maxFileBytes\)/);
      fs.unlinkSync(p);
    });
  });
});
