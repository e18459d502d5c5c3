/**
 * The zip container of `.npz` files: a directory parser written as a generator that yields the
 * byte ranges it needs and receives their bytes, so that one parser serves the sync reader
 * (fs.readSync) and the async one (a FileHandle). Internal to lib/io.
 * @module
 */
import * as fs from 'node:fs';
import { ErrorCode, JepaError } from '../core/errors';
import { limits } from '../core/limits';
import { corrupt, overLimit } from './formats';

export interface Range {
  pos: number;
  n: number;
}

/** One member of the archive, as its central directory entry and local header describe it. */
export interface Member {
  name: string;
  method: number; // 0 stored, 8 deflated
  crc: number;
  comp: number; // bytes in the file
  uncomp: number; // bytes once inflated
  data: number; // where its bytes start in the file
}

export const EOCD = 0x06054b50;
export const ZIP64_LOCATOR = 0x07064b50;
export const ZIP64_EOCD = 0x06064b50;
export const CENTRAL = 0x02014b50;
export const LOCAL = 0x04034b50;
/** Deflate cannot inflate more than about 1032 bytes per input byte. */
export const MAX_DEFLATE_RATIO = 1032;

export function u64(b: Buffer, at: number): number {
  const v = b.readBigUInt64LE(at);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

/** Parses the directory of a zip file of `size` bytes named `p` (yields ranges, receives bytes). */
export function* zipMembers(p: string, size: number): Generator<Range, Member[], Buffer> {
  if (size < 22) throw corrupt(p, `the file is too short to be a .npz (zip) archive (${size} bytes)`);
  // The end-of-directory record is in the last 22 bytes, or up to a 64 KiB comment before.
  const tailLen = Math.min(size, 22 + 0xffff);
  const tail = yield { pos: size - tailLen, n: tailLen };
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw corrupt(p, 'no zip end-of-directory record: not a .npz (zip) archive, or truncated');
  const eocdPos = size - tailLen + eocd;
  let entries = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOfs = tail.readUInt32LE(eocd + 16);
  if (entries === 0xffff || cdSize === 0xffffffff || cdOfs === 0xffffffff) {
    if (eocdPos < 20) throw corrupt(p, 'a zip64 archive without its zip64 locator');
    const loc = yield { pos: eocdPos - 20, n: 20 };
    if (loc.length < 20 || loc.readUInt32LE(0) !== ZIP64_LOCATOR)
      throw corrupt(p, 'a zip64 archive without its zip64 locator');
    const z64 = u64(loc, 8);
    if (z64 > size - 56) throw corrupt(p, 'a broken zip64 end-of-directory record');
    const rec = yield { pos: z64, n: 56 };
    if (rec.length < 56 || rec.readUInt32LE(0) !== ZIP64_EOCD)
      throw corrupt(p, 'a broken zip64 end-of-directory record');
    entries = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdOfs = u64(rec, 48);
  }
  if (cdOfs > size || cdSize > size - cdOfs) throw corrupt(p, 'the zip directory lies outside the file (truncated?)');
  if (cdSize > limits.maxZipDirectoryBytes) {
    throw overLimit(
      p,
      `the zip directory has ${cdSize} bytes, above the limit of ${limits.maxZipDirectoryBytes} bytes (jepa.limits.maxZipDirectoryBytes)`,
    );
  }
  if (entries > cdSize / 46) throw corrupt(p, 'the zip directory is shorter than its entry count');
  const cd = yield { pos: cdOfs, n: cdSize };
  if (cd.length < cdSize) throw corrupt(p, 'reading the zip directory failed (truncated?)');
  const members: Member[] = [];
  const names = new Set<string>();
  let at = 0;
  for (let k = 0; k < entries; k++) {
    if (cdSize - at < 46 || cd.readUInt32LE(at) !== CENTRAL) throw corrupt(p, 'a damaged zip directory entry');
    const flags = cd.readUInt16LE(at + 8);
    const method = cd.readUInt16LE(at + 10);
    const crc = cd.readUInt32LE(at + 16);
    let comp = cd.readUInt32LE(at + 20);
    let uncomp = cd.readUInt32LE(at + 24);
    const nameLen = cd.readUInt16LE(at + 28);
    const extraLen = cd.readUInt16LE(at + 30);
    const commentLen = cd.readUInt16LE(at + 32);
    let local = cd.readUInt32LE(at + 42);
    if (cdSize - at - 46 < nameLen + extraLen + commentLen) throw corrupt(p, 'a damaged zip directory entry');
    const rawName = cd.subarray(at + 46, at + 46 + nameLen);
    // Bit 11: the name is UTF-8; else code page 437, of which numpy writes only the ASCII part.
    const name = flags & 0x800 ? rawName.toString('utf8') : rawName.toString('latin1');
    const extra = cd.subarray(at + 46 + nameLen, at + 46 + nameLen + extraLen);
    for (let q = 0; q + 4 <= extra.length;) {
      const id = extra.readUInt16LE(q);
      const len = extra.readUInt16LE(q + 2);
      if (q + 4 + len > extra.length) throw corrupt(p, `a damaged zip extra field in member ${name}`);
      if (id === 1) {
        // The zip64 sizes and offset, for the fields that hold 0xffffffff, in this order.
        let f = q + 4;
        const next = (): number => {
          if (f + 8 > q + 4 + len) throw corrupt(p, `a damaged zip64 extra field in member ${name}`);
          const v = u64(extra, f);
          f += 8;
          return v;
        };
        if (uncomp === 0xffffffff) uncomp = next();
        if (comp === 0xffffffff) comp = next();
        if (local === 0xffffffff) local = next();
      }
      q += 4 + len;
    }
    if (flags & 1) throw new JepaError(ErrorCode.PT_UNSUPPORTED, `${p}: member ${name} is encrypted`);
    if (method !== 0 && method !== 8) {
      throw new JepaError(
        ErrorCode.PT_UNSUPPORTED,
        `${p}: member ${name} uses zip compression method ${method} (numpy writes 0, stored, and 8, deflate)`,
      );
    }
    if (local > size - 30 || comp > size - local - 30)
      throw corrupt(p, `member ${name} lies past the end of the file (truncated?)`);
    if (method === 0 && comp !== uncomp) throw corrupt(p, `member ${name} is stored but has two different sizes`);
    if (names.has(name)) throw corrupt(p, `the archive holds member ${name} twice`);
    names.add(name);
    members.push({ name, method, crc, comp, uncomp, data: local });
    at += 46 + nameLen + extraLen + commentLen;
  }
  // Each member's data starts after its local header, whose name and extra field may differ in
  // length from the directory's.
  for (const m of members) {
    const h = yield { pos: m.data, n: 30 };
    if (h.length < 30 || h.readUInt32LE(0) !== LOCAL) throw corrupt(p, `member ${m.name} has a damaged zip header`);
    const start = m.data + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
    if (start > size || m.comp > size - start)
      throw corrupt(p, `member ${m.name} lies past the end of the file (truncated?)`);
    m.data = start;
  }
  return members;
}

export function runSync<T>(gen: Generator<Range, T, Buffer>, fd: number): T {
  let r = gen.next(Buffer.alloc(0));
  while (!r.done) {
    const buf = Buffer.alloc(r.value.n);
    const got = r.value.n === 0 ? 0 : fs.readSync(fd, buf, 0, r.value.n, r.value.pos);
    r = gen.next(buf.subarray(0, got));
  }
  return r.value;
}

export async function runAsync<T>(gen: Generator<Range, T, Buffer>, fh: fs.promises.FileHandle): Promise<T> {
  let r = gen.next(Buffer.alloc(0));
  while (!r.done) {
    const buf = Buffer.alloc(r.value.n);
    const got = r.value.n === 0 ? 0 : (await fh.read(buf, 0, r.value.n, r.value.pos)).bytesRead;
    r = gen.next(buf.subarray(0, got));
  }
  return r.value;
}
