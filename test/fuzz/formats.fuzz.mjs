// Fuzz harness of the safetensors, .npy and .npz readers: the header parsers in lib/io/formats.ts,
// the zip directory and member reader in lib/io/npz.ts and the native tensor reads behind them
// (native/core/file_io.cc ReadTensors, TensorsFromBytes), through the public loadSafetensorsSync /
// loadNpySync / loadNpzSync, with and without mmap. Every input must either load (and
// every tensor must be readable: it is cloned) or throw an Error (JepaError or native) with a
// file-format code and the file's path in the message; anything else (another error class, a
// crash, a hang) fails.
// The native half also has a libFuzzer harness (native/fuzz/tensor_file_fuzz.cc).
//
//   node test/fuzz/formats.fuzz.mjs [SECONDS=45]      (npm run test:fuzz runs it)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import jepa from 'jepa-native';
import { corpus, run, seconds } from './runner.mjs';

const CODES = new Set(['JEPA_PT_CORRUPT', 'JEPA_PT_UNSUPPORTED', 'JEPA_PT_LIMIT']);
const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'jepa-fuzz-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

// Values that break naive integer handling: negative, 2^31, 2^32, 2^53 +- 1, 2^63, 2^64, floats.
const WEIRD_INTS = [
  -1,
  0,
  1,
  2,
  3,
  255,
  65535,
  2 ** 31,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 63,
  2 ** 64,
  1e300,
];
const WEIRD_TEXT = [
  '-0',
  '1.5',
  '1e400',
  '-1e400',
  'NaN',
  'null',
  'true',
  '"x"',
  '[]',
  '{}',
  '9007199254740993',
  '18446744073709551616',
];

/** Undefined 9 times in 10, else a value of `arb` (a header length that lies). */
const rarely = (arb) => fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, arb);

/** Byte-level edits of a seed file. */
const edit = fc.oneof(
  fc.record({ op: fc.constant('set'), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('insert'), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ op: fc.constant('delete'), at: fc.nat(), n: fc.integer({ min: 1, max: 32 }) }),
  fc.record({ op: fc.constant('truncate'), at: fc.nat() }),
  fc.record({
    op: fc.constant('int'),
    at: fc.nat(),
    width: fc.constantFrom(1, 2, 4, 8),
    value: fc.oneof(fc.constantFrom(...WEIRD_INTS.filter((v) => v >= 0 && v < 2 ** 64)), fc.nat()),
  }),
  fc.record({
    op: fc.constant('text'),
    at: fc.nat(),
    text: fc.constantFrom(
      ...WEIRD_TEXT,
      '"',
      ',',
      ':',
      '[',
      ']',
      '{',
      '}',
      '(',
      ')',
      "'",
      'True',
      'False',
      "'<f4'",
      "'>i8'",
      "'|O'",
      ' ',
    ),
  }),
);

function applyEdits(seed, edits) {
  let b = Buffer.from(seed);
  for (const e of edits) {
    const at = b.length === 0 ? 0 : e.at % (b.length + 1);
    if (e.op === 'set' && at < b.length) b[at] = e.byte;
    else if (e.op === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes), b.subarray(at)]);
    else if (e.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.n)]);
    else if (e.op === 'truncate') b = b.subarray(0, at);
    else if (e.op === 'text') b = Buffer.concat([b.subarray(0, at), Buffer.from(e.text, 'latin1'), b.subarray(at)]);
    else if (e.op === 'int' && at + e.width <= b.length) {
      const v = BigInt(Math.min(e.value, 2 ** 64 - 1)) & ((1n << BigInt(8 * e.width)) - 1n);
      for (let i = 0; i < e.width; i++) b[at + i] = Number((v >> BigInt(8 * i)) & 0xffn);
    }
  }
  return b;
}

const mutated = (seeds) =>
  fc
    .tuple(fc.constantFrom(...seeds), fc.array(edit, { minLength: 1, maxLength: 8 }))
    .map(([s, edits]) => ({ kind: s.kind, bytes: applyEdits(s.bytes, edits) }));

// A dimension: mostly small, sometimes one of the weird values, as JSON text.
const dimText = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 4 }).map(String) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...WEIRD_INTS).map((v) => (v >= 2 ** 53 ? BigInt(v).toString() : String(v))),
  },
  { weight: 1, arbitrary: fc.constantFrom(...WEIRD_TEXT) },
);
const ST_CODES = [
  'BOOL',
  'U8',
  'I8',
  'I16',
  'U16',
  'I32',
  'U32',
  'I64',
  'U64',
  'F16',
  'BF16',
  'F32',
  'F64',
  'C64',
  'F8_E4M3',
  'F8_E5M2',
  'F8_E4M3FNUZ',
  'F8_E5M2FNUZ',
];
const ST_SIZE = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  I16: 2,
  U16: 2,
  I32: 4,
  U32: 4,
  I64: 8,
  U64: 8,
  F16: 2,
  BF16: 2,
  F32: 4,
  F64: 8,
  C64: 8,
  F8_E4M3: 1,
  F8_E5M2: 1,
  F8_E4M3FNUZ: 1,
  F8_E5M2FNUZ: 1,
};

/** A safetensors file from parts: entries whose offsets are consistent or not, any data length. */
const safetensors = fc
  .record({
    entries: fc.array(
      fc.record({
        name: fc.oneof(fc.constantFrom('a', 'b', '__metadata__', ''), fc.string({ maxLength: 4 })),
        dtype: fc.oneof(
          { weight: 8, arbitrary: fc.constantFrom(...ST_CODES) },
          { weight: 1, arbitrary: fc.constantFrom('X', 'F128', 'O', '') },
        ),
        shape: fc.array(dimText, { maxLength: 5 }),
        consistent: fc.boolean(),
        offsets: fc.tuple(dimText, dimText),
      }),
      { maxLength: 4 },
    ),
    metadata: fc.option(
      fc.dictionary(fc.string({ maxLength: 3 }), fc.oneof(fc.string({ maxLength: 3 }), fc.integer())),
      { nil: undefined },
    ),
    extra: fc.integer({ min: -8, max: 8 }),
    headerLen: rarely(fc.constantFrom(...WEIRD_INTS.filter((v) => v >= 0 && v < 2 ** 64))),
  })
  .map(({ entries, metadata, extra, headerLen }) => {
    let offset = 0;
    const parts = [];
    if (metadata !== undefined) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
    for (const e of entries) {
      let offs = `[${e.offsets[0]},${e.offsets[1]}]`;
      if (e.consistent) {
        const dims = e.shape.map(Number);
        const n = dims.every((d) => Number.isSafeInteger(d) && d >= 0)
          ? dims.reduce((a, b) => a * b, 1) * ST_SIZE[e.dtype]
          : NaN;
        if (Number.isSafeInteger(n) && n <= 4096) {
          offs = `[${offset},${offset + n}]`;
          offset += n;
        }
      }
      parts.push(
        `${JSON.stringify(e.name)}:{"dtype":${JSON.stringify(e.dtype)},"shape":[${e.shape.join(',')}],"data_offsets":${offs}}`,
      );
    }
    const json = Buffer.from(`{${parts.join(',')}}`);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(headerLen ?? json.length) & 0xffffffffffffffffn);
    return { kind: 'safetensors', bytes: Buffer.concat([len, json, Buffer.alloc(Math.max(0, offset + extra), 7)]) };
  });

/** A .npy file from parts: version, header length, descr, fortran_order, shape, data length. */
const npy = fc
  .record({
    version: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(1, 2, 3) },
      { weight: 1, arbitrary: fc.constantFrom(0, 4, 255) },
    ),
    descr: fc.constantFrom(
      "'<f4'",
      "'>f8'",
      "'|b1'",
      "'<c16'",
      "'<i8'",
      "'|u1'",
      "'<f2'",
      "'=f4'",
      "'|O'",
      "'<U3'",
      "[('a', '<f4')]",
      '1',
      "'<f4 '",
      "''",
    ),
    fortran: fc.constantFrom('True', 'False', '1', 'None', "'x'"),
    shape: fc.array(dimText, { maxLength: 5 }),
    trailingComma: fc.boolean(),
    data: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 256 })),
    headerLen: rarely(fc.constantFrom(...WEIRD_INTS.filter((v) => v >= 0 && v < 2 ** 32))),
  })
  .map(({ version, descr, fortran, shape, trailingComma, data, headerLen }) => {
    const tuple = `(${shape.join(', ')}${shape.length === 1 || trailingComma ? ',' : ''})`;
    const dict = Buffer.from(`{'descr': ${descr}, 'fortran_order': ${fortran}, 'shape': ${tuple}, }\n`, 'latin1');
    const pre = Buffer.alloc(version === 1 ? 10 : 12);
    pre.write('\x93NUMPY', 0, 'latin1');
    pre[6] = version;
    if (version === 1) pre.writeUInt16LE(Math.min(headerLen ?? dict.length, 65535), 8);
    else pre.writeUInt32LE(headerLen ?? dict.length, 8);
    const dims = shape.map(Number);
    const exact = dims.every((d) => Number.isSafeInteger(d) && d >= 0) ? dims.reduce((a, b) => a * b, 1) * 8 : 0;
    const n = data >= 0 ? data : Math.min(exact, 4096);
    return { kind: 'npy', bytes: Buffer.concat([pre, dict, Buffer.alloc(n, 3)]) };
  });

/** CRC-32 as zip computes it (for members whose CRC should be right). */
function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return ~c >>> 0;
}

/** A .npz (zip) file from parts: members stored or deflated, sizes and CRCs right or lying. */
const npz = fc
  .record({
    members: fc.array(
      fc.record({
        name: fc.constantFrom('a.npy', 'b.npy', 'a.npy', 'x.txt', '.npy', 'c'),
        npy,
        method: fc.constantFrom(0, 0, 8, 8, 12, 99),
        flags: fc.constantFrom(0, 0, 0, 1, 8, 0x800),
        lie: fc.constantFrom(null, null, null, 'crc', 'comp', 'uncomp', 'offset'),
        value: fc.constantFrom(...WEIRD_INTS.filter((v) => v >= 0 && v < 2 ** 32)),
      }),
      { maxLength: 3 },
    ),
    zip64: fc.boolean(),
    trailing: fc.integer({ min: 0, max: 8 }),
  })
  .map(({ members, zip64, trailing }) => {
    const parts = [];
    const central = [];
    let offset = 0;
    for (const m of members) {
      const raw = m.npy.bytes;
      const data = m.method === 8 ? zlib.deflateRawSync(raw) : raw;
      const name = Buffer.from(m.name);
      let crc = crc32(raw);
      let comp = data.length;
      let uncomp = raw.length;
      let local = offset;
      if (m.lie === 'crc') crc = m.value;
      if (m.lie === 'comp') comp = m.value;
      if (m.lie === 'uncomp') uncomp = m.value;
      if (m.lie === 'offset') local = m.value;
      const h = Buffer.alloc(30);
      h.writeUInt32LE(0x04034b50, 0);
      h.writeUInt16LE(m.flags, 6);
      h.writeUInt16LE(m.method, 8);
      h.writeUInt32LE(crc, 14);
      h.writeUInt32LE(comp >>> 0, 18);
      h.writeUInt32LE(uncomp >>> 0, 22);
      h.writeUInt16LE(name.length, 26);
      parts.push(h, name, data);
      const c = Buffer.alloc(46);
      c.writeUInt32LE(0x02014b50, 0);
      c.writeUInt16LE(m.flags, 8);
      c.writeUInt16LE(m.method, 10);
      c.writeUInt32LE(crc, 16);
      c.writeUInt32LE(zip64 ? 0xffffffff : comp >>> 0, 20);
      c.writeUInt32LE(zip64 ? 0xffffffff : uncomp >>> 0, 24);
      c.writeUInt16LE(name.length, 28);
      const extra = zip64 ? Buffer.alloc(20) : Buffer.alloc(0);
      if (zip64) {
        extra.writeUInt16LE(1, 0);
        extra.writeUInt16LE(16, 2);
        extra.writeBigUInt64LE(BigInt(uncomp), 4);
        extra.writeBigUInt64LE(BigInt(comp), 12);
      }
      c.writeUInt16LE(extra.length, 30);
      c.writeUInt32LE(local >>> 0, 42);
      central.push(c, name, extra);
      offset += 30 + name.length + data.length;
    }
    const cd = Buffer.concat(central);
    const e = Buffer.alloc(22);
    e.writeUInt32LE(0x06054b50, 0);
    e.writeUInt16LE(members.length, 8);
    e.writeUInt16LE(members.length, 10);
    e.writeUInt32LE(cd.length, 12);
    e.writeUInt32LE(offset, 16);
    return { kind: 'npz', bytes: Buffer.concat([...parts, cd, e, Buffer.alloc(trailing)]) };
  });

let count = 0;
function check({ kind, bytes }) {
  const file = path.join(dir, `input-${count++ % 4}.${kind}`);
  fs.writeFileSync(file, bytes);
  for (const mmap of [false, true]) {
    let out;
    try {
      out =
        kind === 'npy'
          ? { x: jepa.loadNpySync(file, { mmap }) }
          : kind === 'npz'
            ? jepa.loadNpzSync(file, { mmap })
            : jepa.loadSafetensorsSync(file, { mmap });
    } catch (e) {
      if (!(e instanceof Error) || !CODES.has(e.code) || !e.message.includes(file)) {
        throw new Error(
          `${kind} (mmap ${mmap}): not a clean file error: ${e?.constructor?.name} ${e?.code}: ${e?.message}`,
          { cause: e },
        );
      }
      continue;
    }
    for (const t of Object.values(out)) {
      if (t.numel <= 1 << 16) t.clone().dispose();
      t.dispose();
    }
  }
}

const seeds = [
  ...corpus('safetensors').map((c) => ({ kind: 'safetensors', bytes: c.bytes, name: c.name })),
  ...corpus('npy').map((c) => ({ kind: 'npy', bytes: c.bytes, name: c.name })),
  ...corpus('npz').map((c) => ({ kind: 'npz', bytes: c.bytes, name: c.name })),
];
run({
  name: 'formats',
  replay: seeds.map((s) => ({ label: s.name, input: s })),
  arbitrary: fc.oneof({ weight: 2, arbitrary: mutated(seeds) }, safetensors, npy, npz),
  check,
  encode: (input) => input.bytes,
  secs: seconds(),
});
