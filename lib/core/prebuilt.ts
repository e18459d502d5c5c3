/**
 * The prebuilt binary and the libtorch it needs. Shared by `npm install` (scripts/install/setup.js,
 * through dist/core/prebuilt.js: does a prebuild fit here, or must we compile?) and by the loader
 * (lib/core/binding.ts: which libtorch to load before the prebuild), so that both decide alike.
 *
 * A prebuild lives in prebuilds/<platform>-<arch>/ under prebuildify's names (node-gyp-build finds
 * it): node.napi.glibc.node, plus libtorch.json recording what it was built against:
 *   { torchVersion: '2.13.0+cpu', cxx11Abi: true, cuda: false, napiVersion: 8, needed: [...] }
 * It has no RUNPATH (`npm run prebuild` removes it): the loader preloads the libtorch libraries.
 * Loads no native code. (Internal to the package.)
 * @module
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cxx11Abi, libtorchCandidates, PINNED_TORCH, ROOT, type LibtorchInfo } from './libtorch';

/** The file name of the binary in prebuilds/<platform>-<arch>/ (prebuildify's, for Node-API and glibc). */
export const PREBUILD_FILE = 'node.napi.glibc.node';
/** The file beside it that records the libtorch it was built against. */
export const INFO_FILE = 'libtorch.json';

/** The content of libtorch.json, plus the path of the binary. */
export interface PrebuildInfo {
  torchVersion: string;
  cxx11Abi: boolean | null;
  cuda: boolean;
  napiVersion?: number;
  platform?: string;
  arch?: string;
  libc?: string;
  needed?: string[];
  binary: string;
}

/** A libtorch folder and the way it was found. */
export type LibtorchFolder = LibtorchInfo & { source: string };

/** What {@link findFittingLibtorch} found. */
export interface FittingLibtorch {
  libtorch: LibtorchFolder | null;
  tried: string[];
  mismatched: LibtorchFolder[];
  explicit: boolean;
}

/** prebuilds/<platform>-<arch> for this machine. */
export function prebuildDir(root: string = ROOT): string {
  return path.join(root, 'prebuilds', `${os.platform()}-${os.arch()}`);
}

/** The prebuild's libtorch.json for this platform, or null when there is no prebuild for it. */
export function readPrebuildInfo(root: string = ROOT): PrebuildInfo | null {
  const dir = prebuildDir(root);
  const file = path.join(dir, INFO_FILE);
  if (!fs.existsSync(file) || !fs.existsSync(path.join(dir, PREBUILD_FILE))) return null;
  return { ...JSON.parse(fs.readFileSync(file, 'utf8')), binary: path.join(dir, PREBUILD_FILE) };
}

/** Why the prebuild cannot run on this machine at all (whatever libtorch), or null when it can. */
export function platformMismatch(meta: PrebuildInfo): string | null {
  if (meta.platform !== os.platform() || meta.arch !== os.arch()) return `it is for ${meta.platform}-${meta.arch}`;
  if (meta.libc === 'glibc' && fs.existsSync('/etc/alpine-release')) return 'it is for glibc and this is musl (Alpine)';
  const napi = Number(process.versions.napi || 0);
  if (meta.napiVersion && napi < meta.napiVersion)
    return `it needs Node-API ${meta.napiVersion} and this Node has ${napi}`;
  return null;
}

/** '2.13.0+cpu' -> '2.13.0': CPU and CUDA builds of one release share the C++ API. */
export function baseVersion(version: string | null | undefined): string | null {
  return version ? String(version).split('+')[0] : null;
}

/**
 * Why a libtorch folder cannot serve the prebuild, or null when it can. A prebuild made against a
 * CPU libtorch fits the CPU or the CUDA build of its version (the loader then loads libtorch_cuda
 * too); one made against a CUDA libtorch links libtorch_cuda and so needs a CUDA build.
 */
export function mismatch(meta: PrebuildInfo, info: LibtorchInfo): string | null {
  if (baseVersion(info.version) !== baseVersion(meta.torchVersion)) {
    return `it is libtorch ${info.version || 'of unknown version'}, the prebuilt binary needs ${baseVersion(meta.torchVersion)}`;
  }
  if (meta.cuda && !info.cuda) {
    return `it is a CPU build of libtorch ${info.version}, and the prebuilt binary was built against a CUDA one (${meta.torchVersion}: it links libtorch_cuda)`;
  }
  const abi = cxx11Abi(info.libDir);
  if (meta.cxx11Abi != null && abi != null && abi !== meta.cxx11Abi) {
    return `it uses the ${abi ? 'C++11' : 'pre-C++11'} std::string ABI, the prebuilt binary the ${meta.cxx11Abi ? 'C++11' : 'pre-C++11'} one`;
  }
  return null;
}

/**
 * Walks the discovery chain (LIBTORCH, python3's torch, the project-local .venv) for a libtorch
 * that fits the prebuild. Returns {libtorch, tried, mismatched, explicit}: libtorch is the first
 * fitting one (or null), tried one line per place, mismatched the usable libtorch folders that do
 * not fit. A LIBTORCH that is set but does not fit ends the walk (explicit: true): an explicit
 * choice never silently falls through to another libtorch.
 */
export function findFittingLibtorch(meta: PrebuildInfo): FittingLibtorch {
  const tried: string[] = [];
  const mismatched: LibtorchFolder[] = [];
  for (const c of libtorchCandidates()) {
    if (!c.info) {
      tried.push(`(${c.way}) ${c.reason}`);
      if (c.explicit) return { libtorch: null, tried, mismatched, explicit: true };
      continue;
    }
    const why = mismatch(meta, c.info);
    if (!why) return { libtorch: { ...c.info, source: c.source }, tried, mismatched, explicit: false };
    tried.push(`(${c.way}) ${c.source === 'LIBTORCH' ? 'LIBTORCH=' : `${c.source}: `}${c.info.dir}: ${why}`);
    mismatched.push({ ...c.info, source: c.source });
    if (c.way === 'a') return { libtorch: null, tried, mismatched, explicit: true };
  }
  return { libtorch: null, tried, mismatched, explicit: false };
}

/** What to do to get a libtorch that fits the prebuild (one paragraph, for error messages). */
export function howToGetLibtorch(meta: PrebuildInfo): string {
  const v = baseVersion(meta.torchVersion);
  const wheel = meta.torchVersion && meta.torchVersion.includes('+') ? meta.torchVersion : PINNED_TORCH;
  return (
    `Any one of these works: (a) set LIBTORCH to a libtorch ${v} folder (an unzipped libtorch ` +
    `${v} distribution, ${meta.cuda ? 'a CUDA build' : 'CPU or CUDA'}, or the folder of a torch ${v} Python package); (b) install it ` +
    `for python3 (or $PYTHON): \`python3 -m pip install torch==${wheel}\` (add \`--index-url https://download.pytorch.org/whl/${wheel.split('+')[1] || 'cpu'}\` where your pip index lacks it); (c) \`npm rebuild jepa-native\`, ` +
    `which installs torch==${wheel} with pip into the package's own .venv. To use another libtorch ` +
    'version, compile the addon against it: `npm rebuild jepa-native --build-from-source` (needs cmake and a C++17 compiler).'
  );
}

/** The libraries of a libtorch lib folder to load, in dependency order, before the prebuild. */
export function librariesToPreload(libDir: string): string[] {
  const order = ['libc10.so', 'libtorch_cpu.so', 'libc10_cuda.so', 'libtorch_cuda.so', 'libtorch.so'];
  return order.map((f) => path.join(libDir, f)).filter((f) => fs.existsSync(f));
}
