/**
 * NumPy `.npz` archives: what `np.savez` (members stored) and `np.savez_compressed` (members
 * deflated) write, and `np.load` reads: a zip file with one `.npy` member per array.
 *
 * ```js
 * const { features, labels } = await jepa.loadNpz('batch.npz');   // { name: Tensor }
 * await jepa.saveNpz('out.npz', { features, labels }, { compress: true });
 * ```
 *
 * The zip directory and each member's `.npy` header are parsed and checked here, against
 * {@link limits} before anything of the declared size is allocated; stored members are then read
 * natively straight from the file (with `mmap`, aliasing it where a member is aligned), deflated
 * ones are inflated by Node's zlib (off the JS thread in the async form) and their CRC-32
 * checked. See docs/pt.md, ".npz".
 * @module
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { native } from '../core/binding';
import { ErrorCode, invalidArgument, JepaError, withCallerStack } from '../core/errors';
import {
  corrupt,
  fileOptions,
  fileSize,
  npyPrepare,
  npySlot,
  overLimit,
  parseNpyHeader,
  type NpyHeader,
  type TensorFileOptions,
} from './formats';
import { limits } from '../core/limits';
import type { NativeTensor, TensorSlot } from '../core/native-types';
import { nativeOf, Tensor, wrap } from '../tensor/tensor';
import { checkOptions, checkPath, isPlainObject, show } from '../core/validate';
import { ELEMENT_SIZE } from '../core/dtype';
import {
  CENTRAL,
  EOCD,
  LOCAL,
  MAX_DEFLATE_RATIO,
  Member,
  Range,
  runAsync,
  runSync,
  ZIP64_EOCD,
  ZIP64_LOCATOR,
  zipMembers,
} from './zip';

function openError(p: string, e: unknown): JepaError {
  const err = e as NodeJS.ErrnoException;
  return new JepaError(
    err.code === 'ENOENT' ? ErrorCode.FILE_NOT_FOUND : ErrorCode.IO_ERROR,
    `${p}: cannot open the file: ${err.message}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Reading

/** What the directory pass decides for each member: its key and how its array is read. */
interface Plan {
  key: string;
  member: Member;
  /** Stored members: the parsed .npy header (data read natively from the file). */
  header?: NpyHeader;
}

/** The array name of a member: np.load drops the `.npy` suffix. */
function keyOf(p: string, m: Member): string {
  if (!m.name.endsWith('.npy')) {
    throw new JepaError(
      ErrorCode.PT_UNSUPPORTED,
      `${p}: member ${m.name} is not a .npy array (np.savez writes only <name>.npy members); jepa-native reads arrays only`,
    );
  }
  return m.name.slice(0, -4);
}

function checkDeflated(p: string, m: Member): void {
  if (m.uncomp > limits.maxNpzMemberBytes) {
    throw overLimit(
      p,
      `member ${m.name} inflates to ${m.uncomp} bytes, above the limit of ${limits.maxNpzMemberBytes} bytes (jepa.limits.maxNpzMemberBytes)`,
    );
  }
  if (m.uncomp > m.comp * MAX_DEFLATE_RATIO + 1024) {
    throw corrupt(
      p,
      `member ${m.name} declares ${m.uncomp} bytes inflated from ${m.comp}, more than deflate can produce`,
    );
  }
  // Deflate grows incompressible data by at most 5 bytes per 16 KiB block (stored blocks).
  if (m.comp > m.uncomp + Math.ceil(m.uncomp / 16000) * 5 + 64) {
    throw corrupt(
      p,
      `member ${m.name} declares ${m.comp} deflated bytes for ${m.uncomp} inflated ones, more than deflate writes`,
    );
  }
}

/** Parses the directory and the stored members' .npy headers (yields ranges). */
function* planRead(p: string, size: number): Generator<Range, Plan[], Buffer> {
  const members = yield* zipMembers(p, size);
  const plans: Plan[] = [];
  for (const m of members) {
    const key = keyOf(p, m);
    if (m.method === 8) {
      checkDeflated(p, m);
      plans.push({ key, member: m });
      continue;
    }
    // The .npy header of a stored member, read through the generator. parseNpyHeader reads at
    // most twice (the fixed part, then the dict).
    const what = `${p} (member ${m.name})`;
    const reads: Range[] = [];
    const got = new Map<string, Buffer>();
    const read = (pos: number, n: number): Buffer => {
      const k = `${pos}:${n}`;
      const b = got.get(k);
      if (b) return b;
      reads.push({ pos, n });
      throw NEED;
    };
    let header: NpyHeader | undefined;
    for (;;) {
      try {
        header = parseNpyHeader(what, read, m.comp);
        break;
      } catch (e) {
        if (e !== NEED) throw e;
        const r = reads.pop() as Range;
        got.set(`${r.pos}:${r.n}`, yield { pos: m.data + r.pos, n: Math.min(r.n, m.comp - r.pos) });
      }
    }
    plans.push({ key, member: m, header });
  }
  return plans;
}
const NEED = Symbol('need bytes');

/** The arrays of a .npz file by name, in the archive's order. */
export type NpzArrays = Record<string, Tensor>;

function byKey(plans: Plan[], tensors: Map<Plan, Tensor>): NpzArrays {
  const out: NpzArrays = {};
  for (const plan of plans) {
    Object.defineProperty(out, plan.key, {
      value: tensors.get(plan),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** Slots of the stored members, grouped by byte order (one native call per group). */
function storedGroups(plans: Plan[]): [boolean, Plan[]][] {
  const groups: [boolean, Plan[]][] = [
    [false, plans.filter((x) => x.header && !x.header.bigEndian)],
    [true, plans.filter((x) => x.header && x.header.bigEndian)],
  ];
  return groups.filter(([, g]) => g.length > 0);
}

const slotsOf = (group: Plan[]): TensorSlot[] => group.map((x) => npySlot(x.header as NpyHeader, x.member.data));

/** Checks an inflated member (size, CRC-32) and describes its array. */
function inflatedSlot(p: string, m: Member, bytes: Buffer, crc: number): { header: NpyHeader; slot: TensorSlot } {
  if (bytes.length !== m.uncomp)
    throw corrupt(p, `member ${m.name} inflates to ${bytes.length} bytes, not the ${m.uncomp} it declares`);
  if (crc !== m.crc) throw corrupt(p, `member ${m.name} fails its CRC-32 check (damaged data)`);
  const header = parseNpyHeader(`${p} (member ${m.name})`, (pos, n) => bytes.subarray(pos, pos + n), bytes.length);
  return { header, slot: npySlot(header) };
}

function inflateError(p: string, m: Member, e: unknown): JepaError {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ERR_BUFFER_TOO_LARGE') {
    return corrupt(p, `member ${m.name} inflates to more than the ${m.uncomp} bytes it declares`);
  }
  return corrupt(p, `member ${m.name} does not inflate: ${err.message}`);
}

/** A JS Buffer as a uint8 tensor without copying (the tensor keeps the memory alive). */
function bytesTensor(b: Buffer): NativeTensor {
  return native.tensorFromTypedArray(new Uint8Array(b.buffer, b.byteOffset, b.length), [b.length], 'uint8', 'cpu');
}

/** The CRC-32 of bytes in memory, continuing from `init`, on this thread (for short buffers). */
function crcSync(b: Buffer, init = 0): number {
  const t = bytesTensor(b);
  try {
    return native.crc32Sync(t, init);
  } finally {
    t.dispose();
  }
}

/** The CRC-32 of bytes in memory on a worker thread. */
async function crcAsync(b: Buffer): Promise<number> {
  const t = bytesTensor(b);
  try {
    return await native.crc32(t, 0);
  } finally {
    t.dispose();
  }
}

/**
 * Reads a `.npz` file (`np.savez` / `np.savez_compressed`) into `{name: Tensor}`, names in the
 * archive's order without the `.npy` suffix, as `np.load(f)` lists them. Stored members are read
 * on a worker thread (with `mmap: true` they alias a private mapping of the file where their
 * data is aligned to its element size, else they are copies); deflated ones are inflated by
 * zlib on libuv's pool, size and CRC-32 checked. Like `np.load` with its default
 * `allow_pickle=False`, object arrays are refused. Errors: `JEPA_FILE_NOT_FOUND`,
 * `JEPA_PT_CORRUPT`, `JEPA_PT_UNSUPPORTED` (a member that is not a `.npy` array, encryption,
 * another compression method, a dtype tensors cannot hold), `JEPA_PT_LIMIT` ({@link limits}).
 */
export async function loadNpz(file: string | URL, options?: TensorFileOptions): Promise<NpzArrays> {
  const p = checkPath(file);
  const o = fileOptions(options);
  return withCallerStack(
    (async () => {
      const size = fileSize(p);
      let fh: fs.promises.FileHandle;
      try {
        fh = await fs.promises.open(p, 'r');
      } catch (e) {
        throw openError(p, e);
      }
      const out = new Map<Plan, Tensor>();
      try {
        const plans = await runAsync(planRead(p, size), fh);
        const jobs: Promise<void>[] = storedGroups(plans).map(async ([swap, group]) => {
          const handles = await native.readTensors(p, o.mmap, swap, slotsOf(group), o.device);
          group.forEach((x, i) => out.set(x, wrap(handles[i])));
        });
        for (const plan of plans.filter((x) => !x.header)) {
          const m = plan.member;
          jobs.push(
            (async () => {
              const comp = Buffer.alloc(m.comp);
              const { bytesRead } = m.comp === 0 ? { bytesRead: 0 } : await fh.read(comp, 0, m.comp, m.data);
              if (bytesRead !== m.comp) throw corrupt(p, `member ${m.name} could not be read whole (truncated?)`);
              let bytes: Buffer;
              try {
                bytes = await new Promise<Buffer>((resolve, reject) =>
                  zlib.inflateRaw(comp, { maxOutputLength: Math.max(1, m.uncomp) }, (err, res) =>
                    err ? reject(err) : resolve(res),
                  ),
                );
              } catch (e) {
                throw inflateError(p, m, e);
              }
              const raw = bytesTensor(bytes);
              try {
                const crc = await native.crc32(raw, 0);
                const { header, slot } = inflatedSlot(p, m, bytes, crc);
                const [t] = await native.tensorsFromBytes(
                  raw,
                  `${p} (member ${m.name})`,
                  header.bigEndian,
                  [slot],
                  o.device,
                );
                out.set(plan, wrap(t));
              } finally {
                raw.dispose();
              }
            })(),
          );
        }
        const settled = await Promise.allSettled(jobs);
        const failed = settled.find((r) => r.status === 'rejected');
        if (failed) {
          for (const t of out.values()) t.dispose();
          throw (failed as PromiseRejectedResult).reason;
        }
        return byKey(plans, out);
      } finally {
        await fh.close();
      }
    })(),
  );
}

/** {@link loadNpz} on the calling thread (for scripts). */
export function loadNpzSync(file: string | URL, options?: TensorFileOptions): NpzArrays {
  const p = checkPath(file);
  const o = fileOptions(options);
  const size = fileSize(p);
  let fd: number;
  try {
    fd = fs.openSync(p, 'r');
  } catch (e) {
    throw openError(p, e);
  }
  const out = new Map<Plan, Tensor>();
  try {
    const plans = runSync(planRead(p, size), fd);
    for (const [swap, group] of storedGroups(plans)) {
      const handles = native.readTensorsSync(p, o.mmap, swap, slotsOf(group), o.device);
      group.forEach((x, i) => out.set(x, wrap(handles[i])));
    }
    for (const plan of plans.filter((x) => !x.header)) {
      const m = plan.member;
      const comp = Buffer.alloc(m.comp);
      if (m.comp > 0 && fs.readSync(fd, comp, 0, m.comp, m.data) !== m.comp) {
        throw corrupt(p, `member ${m.name} could not be read whole (truncated?)`);
      }
      let bytes: Buffer;
      try {
        bytes = zlib.inflateRawSync(comp, { maxOutputLength: Math.max(1, m.uncomp) });
      } catch (e) {
        throw inflateError(p, m, e);
      }
      const raw = bytesTensor(bytes);
      try {
        const { header, slot } = inflatedSlot(p, m, bytes, native.crc32Sync(raw, 0));
        out.set(
          plan,
          wrap(native.tensorsFromBytesSync(raw, `${p} (member ${m.name})`, header.bigEndian, [slot], o.device)[0]),
        );
      } finally {
        raw.dispose();
      }
    }
    return byKey(plans, out);
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Options of {@link saveNpz}. */
export interface SaveNpzOptions {
  /** Deflate each member, as `np.savez_compressed` does (zlib's default level). Default false (`np.savez`). */
  compress?: boolean;
}

interface Entry {
  name: Buffer;
  utf8: boolean;
  header: Buffer;
  tensor: Tensor;
  handle: NativeTensor;
  nbytes: number;
}

function prepare(arrays: unknown, options: unknown): { entries: Entry[]; compress: boolean } {
  const o = checkOptions(options, 'options', ['compress']);
  if (o.compress !== undefined && typeof o.compress !== 'boolean') {
    throw invalidArgument(`expected \`options.compress\` to be a boolean, got ${show(o.compress)}`);
  }
  let pairs: [unknown, unknown][];
  if (arrays instanceof Map) pairs = [...arrays.entries()];
  else if (isPlainObject(arrays)) pairs = Object.entries(arrays);
  else throw invalidArgument(`expected \`arrays\` to be an object or Map of name -> Tensor, got ${show(arrays)}`);
  const entries = pairs.map(([name, t]) => {
    if (typeof name !== 'string' || name.length === 0)
      throw invalidArgument(`expected array names to be non-empty strings, got ${show(name)}`);
    if (!(t instanceof Tensor)) throw invalidArgument(`expected \`arrays.${name}\` to be a Tensor, got ${show(t)}`);
    const { header, list } = npyPrepare(t);
    const file = `${name}.npy`;
    const utf8 = !/^[\x20-\x7e]*$/.test(file);
    const nbytes = t.numel * ELEMENT_SIZE[t.dtype];
    return { name: Buffer.from(file, utf8 ? 'utf8' : 'latin1'), utf8, header, tensor: t, handle: list[0], nbytes };
  });
  if (entries.some((e) => e.name.length > 0xffff))
    throw invalidArgument('an array name is longer than a zip member name can be (65535 bytes)');
  return { entries, compress: o.compress === true };
}

/** The DOS date and time of now (local time, as Python's zipfile records it). */
function dosTime(): { time: number; date: number } {
  const d = new Date();
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    date: (Math.max(0, d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

const U32_MAX = 0xffffffff;

/** A member's local header (zip64 extra field when a size does not fit in 32 bits). */
function localHeader(
  e: Entry,
  method: number,
  crc: number,
  comp: number,
  uncomp: number,
  when: { time: number; date: number },
): Buffer {
  const zip64 = comp >= U32_MAX || uncomp >= U32_MAX;
  const extra = zip64 ? Buffer.alloc(20) : Buffer.alloc(0);
  if (zip64) {
    extra.writeUInt16LE(1, 0);
    extra.writeUInt16LE(16, 2);
    extra.writeBigUInt64LE(BigInt(uncomp), 4);
    extra.writeBigUInt64LE(BigInt(comp), 12);
  }
  const h = Buffer.alloc(30);
  h.writeUInt32LE(LOCAL, 0);
  h.writeUInt16LE(zip64 ? 45 : 20, 4);
  h.writeUInt16LE(e.utf8 ? 0x800 : 0, 6);
  h.writeUInt16LE(method, 8);
  h.writeUInt16LE(when.time, 10);
  h.writeUInt16LE(when.date, 12);
  h.writeUInt32LE(crc >>> 0, 14);
  h.writeUInt32LE(zip64 ? U32_MAX : comp, 18);
  h.writeUInt32LE(zip64 ? U32_MAX : uncomp, 22);
  h.writeUInt16LE(e.name.length, 26);
  h.writeUInt16LE(extra.length, 28);
  return Buffer.concat([h, e.name, extra]);
}

interface Written {
  entry: Entry;
  method: number;
  crc: number;
  comp: number;
  uncomp: number;
  offset: number;
}

/** The central directory and end records after members written at their offsets. */
function directory(items: Written[], start: number, when: { time: number; date: number }): Buffer {
  const parts: Buffer[] = [];
  for (const w of items) {
    const big = [w.uncomp >= U32_MAX, w.comp >= U32_MAX, w.offset >= U32_MAX];
    const fields = big.map((b, i) => (b ? [w.uncomp, w.comp, w.offset][i] : -1)).filter((v) => v >= 0);
    const extra = Buffer.alloc(fields.length > 0 ? 4 + 8 * fields.length : 0);
    if (fields.length > 0) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(8 * fields.length, 2);
      fields.forEach((v, i) => extra.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
    }
    const h = Buffer.alloc(46);
    h.writeUInt32LE(CENTRAL, 0);
    h.writeUInt16LE((3 << 8) | (fields.length > 0 ? 45 : 20), 4); // made by: Unix
    h.writeUInt16LE(fields.length > 0 ? 45 : 20, 6);
    h.writeUInt16LE(w.entry.utf8 ? 0x800 : 0, 8);
    h.writeUInt16LE(w.method, 10);
    h.writeUInt16LE(when.time, 12);
    h.writeUInt16LE(when.date, 14);
    h.writeUInt32LE(w.crc >>> 0, 16);
    h.writeUInt32LE(big[1] ? U32_MAX : w.comp, 20);
    h.writeUInt32LE(big[0] ? U32_MAX : w.uncomp, 24);
    h.writeUInt16LE(w.entry.name.length, 28);
    h.writeUInt16LE(extra.length, 30);
    h.writeUInt32LE((0o100600 << 16) >>> 0, 38); // a regular file, rw------- (as Python's zipfile)
    h.writeUInt32LE(big[2] ? U32_MAX : w.offset, 42);
    parts.push(h, w.entry.name, extra);
  }
  const cd = Buffer.concat(parts);
  const end = start + cd.length;
  const zip64 = items.length >= 0xffff || cd.length >= U32_MAX || start >= U32_MAX;
  const tail: Buffer[] = [];
  if (zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(ZIP64_EOCD, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE((3 << 8) | 45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(items.length), 24);
    rec.writeBigUInt64LE(BigInt(items.length), 32);
    rec.writeBigUInt64LE(BigInt(cd.length), 40);
    rec.writeBigUInt64LE(BigInt(start), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(ZIP64_LOCATOR, 0);
    loc.writeBigUInt64LE(BigInt(end), 8);
    loc.writeUInt32LE(1, 16);
    tail.push(rec, loc);
  }
  const e = Buffer.alloc(22);
  e.writeUInt32LE(EOCD, 0);
  e.writeUInt16LE(zip64 ? 0xffff : items.length, 8);
  e.writeUInt16LE(zip64 ? 0xffff : items.length, 10);
  e.writeUInt32LE(zip64 ? U32_MAX : cd.length, 12);
  e.writeUInt32LE(zip64 ? U32_MAX : start, 16);
  return Buffer.concat([cd, ...tail, e]);
}

/** A tensor's row-major bytes as a Buffer (a view of its memory when it is contiguous on the CPU). */
function tensorBytes(t: Tensor): { bytes: Buffer; copy: Tensor } {
  const raw = wrap(native.tensorBytes(nativeOf(t)));
  const data = raw.data() as Uint8Array;
  return { bytes: Buffer.from(data.buffer, data.byteOffset, data.byteLength), copy: raw };
}

/**
 * Writes `{name: Tensor}` (an object or a Map) as a `.npz` file that `np.load` reads, one
 * `<name>.npy` member per array (format 1.0, C order): stored as `np.savez` writes them, or
 * deflated with `compress: true` as `np.savez_compressed`. Atomic (a temporary file in the same
 * folder, flushed, renamed); the CRC-32s and the deflating run off the JS thread. Tensors on
 * another device are copied to the CPU first.
 */
export async function saveNpz(
  file: string | URL,
  arrays: Record<string, Tensor> | Map<string, Tensor>,
  options?: SaveNpzOptions,
): Promise<void> {
  const p = checkPath(file);
  const { entries, compress } = prepare(arrays, options);
  const when = dosTime();
  return withCallerStack(
    (async () => {
      if (!compress) {
        const crcs = await Promise.all(entries.map(async (e) => native.crc32(e.handle, crcSync(e.header))));
        const { pieces } = storedLayout(entries, crcs, when);
        await native.writeTensors(
          p,
          pieces,
          entries.map((e) => e.handle),
        );
        return;
      }
      const members = await Promise.all(
        entries.map(async (e) => {
          const { bytes, copy } = tensorBytes(e.tensor);
          try {
            const all = Buffer.concat([e.header, bytes]);
            const [crc, comp] = await Promise.all([
              crcAsync(all),
              new Promise<Buffer>((resolve, reject) =>
                zlib.deflateRaw(all, (err, res) => (err ? reject(err) : resolve(res))),
              ),
            ]);
            return { crc, comp, uncomp: all.length };
          } finally {
            copy.dispose();
          }
        }),
      );
      await native.writeTensors(p, [deflatedFile(entries, members, when)], []);
    })(),
  );
}

/** {@link saveNpz} on the calling thread (for scripts). */
export function saveNpzSync(
  file: string | URL,
  arrays: Record<string, Tensor> | Map<string, Tensor>,
  options?: SaveNpzOptions,
): void {
  const p = checkPath(file);
  const { entries, compress } = prepare(arrays, options);
  const when = dosTime();
  if (!compress) {
    const crcs = entries.map((e) => native.crc32Sync(e.handle, crcSync(e.header)));
    const { pieces } = storedLayout(entries, crcs, when);
    native.writeTensorsSync(
      p,
      pieces,
      entries.map((e) => e.handle),
    );
    return;
  }
  const members = entries.map((e) => {
    const { bytes, copy } = tensorBytes(e.tensor);
    try {
      const all = Buffer.concat([e.header, bytes]);
      return { crc: crcSync(all), comp: zlib.deflateRawSync(all), uncomp: all.length };
    } finally {
      copy.dispose();
    }
  });
  native.writeTensorsSync(p, [deflatedFile(entries, members, when)], []);
}

/** Stored members: a local header and .npy header before each tensor, the directory after. */
function storedLayout(entries: Entry[], crcs: number[], when: { time: number; date: number }): { pieces: Buffer[] } {
  const pieces: Buffer[] = [];
  const written: Written[] = [];
  let offset = 0;
  entries.forEach((e, i) => {
    const size = e.header.length + e.nbytes;
    const head = localHeader(e, 0, crcs[i], size, size, when);
    written.push({ entry: e, method: 0, crc: crcs[i], comp: size, uncomp: size, offset });
    pieces.push(Buffer.concat([head, e.header]));
    offset += head.length + size;
  });
  pieces.push(directory(written, offset, when));
  return { pieces };
}

/** Deflated members: the whole file as one Buffer. */
function deflatedFile(
  entries: Entry[],
  members: { crc: number; comp: Buffer; uncomp: number }[],
  when: { time: number; date: number },
): Buffer {
  const parts: Buffer[] = [];
  const written: Written[] = [];
  let offset = 0;
  entries.forEach((e, i) => {
    const m = members[i];
    const head = localHeader(e, 8, m.crc, m.comp.length, m.uncomp, when);
    written.push({ entry: e, method: 8, crc: m.crc, comp: m.comp.length, uncomp: m.uncomp, offset });
    parts.push(head, m.comp);
    offset += head.length + m.comp.length;
  });
  parts.push(directory(written, offset, when));
  return Buffer.concat(parts);
}
