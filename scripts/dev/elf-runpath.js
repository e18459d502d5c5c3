'use strict';
// Reads and removes the RUNPATH / RPATH of a 64-bit little-endian ELF shared object (what
// `patchelf --remove-rpath` does, in a few lines of JS so that no tool has to be installed).
//
// A source build finds libtorch through its RUNPATH (CMakeLists.txt). A prebuilt binary must not
// carry the build machine's libtorch folder: lib/core/binding.ts loads a matching libtorch first, and
// the dynamic linker then satisfies the addon's DT_NEEDED entries (libtorch.so, libc10.so, ...)
// with the libraries already loaded, by their soname.
//
//   node scripts/dev/elf-runpath.js FILE            prints the RUNPATH (empty line when none)
//   node scripts/dev/elf-runpath.js --remove FILE   removes it in place

const fs = require('node:fs');

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NULL = 0n;
const DT_STRTAB = 5n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;
const SHT_DYNSYM = 11;
const STRING_TAGS = [1n, 14n]; // DT_NEEDED, DT_SONAME: entries whose value is a string offset

function header(buf) {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error('only 64-bit little-endian ELF files are supported');
  return {
    phoff: Number(buf.readBigUInt64LE(0x20)),
    shoff: Number(buf.readBigUInt64LE(0x28)),
    phentsize: buf.readUInt16LE(0x36),
    phnum: buf.readUInt16LE(0x38),
    shentsize: buf.readUInt16LE(0x3a),
    shnum: buf.readUInt16LE(0x3c),
  };
}

function programHeaders(buf, h) {
  const out = [];
  for (let i = 0; i < h.phnum; i++) {
    const o = h.phoff + i * h.phentsize;
    out.push({
      type: buf.readUInt32LE(o),
      offset: Number(buf.readBigUInt64LE(o + 8)),
      vaddr: Number(buf.readBigUInt64LE(o + 16)),
      filesz: Number(buf.readBigUInt64LE(o + 32)),
    });
  }
  return out;
}

function vaddrToOffset(phs, vaddr) {
  const seg = phs.find((p) => p.type === PT_LOAD && vaddr >= p.vaddr && vaddr < p.vaddr + p.filesz);
  if (!seg) throw new Error(`address 0x${vaddr.toString(16)} is in no loadable segment`);
  return vaddr - seg.vaddr + seg.offset;
}

/** The dynamic section: its file offset, slot count and entries up to DT_NULL. */
function dynamic(buf) {
  const h = header(buf);
  const phs = programHeaders(buf, h);
  const dyn = phs.find((p) => p.type === PT_DYNAMIC);
  if (!dyn) throw new Error('no dynamic section (not a shared object?)');
  const slots = Math.floor(dyn.filesz / 16);
  const entries = [];
  for (let i = 0; i < slots; i++) {
    const tag = buf.readBigInt64LE(dyn.offset + i * 16);
    const val = buf.readBigUInt64LE(dyn.offset + i * 16 + 8);
    if (tag === DT_NULL) break;
    entries.push({ tag, val });
  }
  const strtab = entries.find((e) => e.tag === DT_STRTAB);
  if (!strtab) throw new Error('the dynamic section has no string table');
  return { h, offset: dyn.offset, slots, entries, strtab: vaddrToOffset(phs, Number(strtab.val)) };
}

function cString(buf, offset) {
  const end = buf.indexOf(0, offset);
  return buf.toString('utf8', offset, end < 0 ? buf.length : end);
}

/** The RUNPATH (or old-style RPATH) of an ELF file, or '' when it has none. */
function readRunpath(buf) {
  const d = dynamic(buf);
  const e = d.entries.find((x) => x.tag === DT_RUNPATH || x.tag === DT_RPATH);
  return e ? cString(buf, d.strtab + Number(e.val)) : '';
}

/** The DT_NEEDED entries (sonames of the libraries the file links), in order. */
function readNeeded(buf) {
  const d = dynamic(buf);
  return d.entries.filter((e) => e.tag === 1n).map((e) => cString(buf, d.strtab + Number(e.val)));
}

/** Offsets into the dynamic string table used by the dynamic symbols (so a shared tail is kept). */
function dynsymNameOffsets(buf, h) {
  const names = new Set();
  for (let i = 0; i < h.shnum && h.shoff; i++) {
    const o = h.shoff + i * h.shentsize;
    if (buf.readUInt32LE(o + 4) !== SHT_DYNSYM) continue;
    const off = Number(buf.readBigUInt64LE(o + 24));
    const size = Number(buf.readBigUInt64LE(o + 32));
    const entsize = Number(buf.readBigUInt64LE(o + 56)) || 24;
    for (let s = off; s + entsize <= off + size; s += entsize) names.add(buf.readUInt32LE(s));
  }
  return names;
}

/**
 * Removes DT_RUNPATH and DT_RPATH from the dynamic section (later entries move up, DT_NULL fills
 * the end) and blanks the path string when nothing else points into it. Returns the removed path.
 */
function removeRunpath(buf) {
  const d = dynamic(buf);
  const removed = d.entries.filter((e) => e.tag === DT_RUNPATH || e.tag === DT_RPATH);
  if (!removed.length) return '';
  const paths = removed.map((e) => cString(buf, d.strtab + Number(e.val)));
  const kept = d.entries.filter((e) => e.tag !== DT_RUNPATH && e.tag !== DT_RPATH);
  for (let i = 0; i < d.slots; i++) {
    const e = kept[i] || { tag: DT_NULL, val: 0n };
    buf.writeBigInt64LE(e.tag, d.offset + i * 16);
    buf.writeBigUInt64LE(e.val, d.offset + i * 16 + 8);
  }
  // Blank the string (so the build machine's folder does not even appear in the file), unless a
  // symbol name or another dynamic entry shares its bytes (linkers merge string tails).
  const symbolNames = dynsymNameOffsets(buf, d.h);
  for (const e of removed) {
    const start = Number(e.val);
    const len = Buffer.byteLength(cString(buf, d.strtab + start));
    const inside = (v) => v >= start && v <= start + len;
    const shared =
      kept.some((k) => STRING_TAGS.includes(k.tag) && inside(Number(k.val))) || [...symbolNames].some(inside);
    if (!shared) buf.fill(0, d.strtab + start, d.strtab + start + len);
  }
  return paths.join(':');
}

module.exports = { readNeeded, readRunpath, removeRunpath };

if (require.main === module) {
  const args = process.argv.slice(2);
  const remove = args[0] === '--remove';
  const file = remove ? args[1] : args[0];
  if (!file) {
    console.error('usage: node scripts/dev/elf-runpath.js [--remove] FILE');
    process.exit(2);
  }
  const buf = fs.readFileSync(file);
  if (remove) {
    const was = removeRunpath(buf);
    fs.writeFileSync(file, buf);
    console.log(was);
  } else {
    console.log(readRunpath(buf));
  }
}
