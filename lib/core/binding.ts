/**
 * The only place that loads the native addon. Two kinds of binary:
 *
 * - a source build (build/Release, compiled by `npm install` or `npm run build`) finds its
 *   libtorch through its RUNPATH; before loading, we check that this libtorch is still there and
 *   is the same version (build/Release/build-info.json), so that a moved or upgraded libtorch
 *   gives a clear error rather than a dynamic-linker message;
 * - a prebuilt binary (prebuilds/<platform>-<arch>, shipped in the npm package) has no RUNPATH:
 *   we find a libtorch of the version it records (prebuilds/.../libtorch.json) along the same
 *   chain as the build (LIBTORCH, python3's torch, the project-local .venv), load its libraries,
 *   and the dynamic linker then resolves the addon's libtorch.so / libc10.so / libtorch_cpu.so
 *   to them.
 *
 * node-gyp-build picks the binary: build/Release when it exists, else the prebuild.
 * `JEPA_ADDON=/path/to/jepa_native.node` loads that source build instead (the sanitizer variant,
 * build/asan/jepa_native.node, for `npm run test:asan`). (Internal to the package.)
 * @module
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ErrorCode, JepaError } from './errors';
import type { NativeAddon } from './native-types';

const ROOT = path.resolve(__dirname, '..', '..');

/** glibc's RTLD_NODELETE: Node unloads a library that is not an addon; this keeps it loaded. */
const RTLD_NODELETE = 0x1000;

interface BuildInfo {
  libtorchDir: string;
  libtorchLibDir: string;
  torchVersion: string | null;
  cuda?: boolean;
}

interface PrebuildInfo {
  torchVersion: string;
  cxx11Abi: boolean | null;
  cuda: boolean;
  binary: string;
}

interface LibtorchFolder {
  dir: string;
  libDir: string;
  version: string | null;
  cuda: boolean;
  source: string;
}

interface Prebuilt {
  readPrebuildInfo(root: string): PrebuildInfo | null;
  findFittingLibtorch(meta: PrebuildInfo): { libtorch: LibtorchFolder | null; tried: string[]; mismatched: LibtorchFolder[] };
  howToGetLibtorch(meta: PrebuildInfo): string;
  librariesToPreload(libDir: string): string[];
}

/** Which binary was loaded and which libtorch it uses (see {@link addonInfo} in runtime). */
export interface LoadedAddon {
  binary: string;
  kind: 'prebuilt' | 'source';
  builtAgainst: string | null;
  libtorch: { dir: string; version: string | null; source: string; cuda: boolean };
}

// The one reader of a libtorch folder's version, shared with the build (shipped in the package).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { libtorchVersion } = require('../../scripts/install/find-libtorch.js') as { libtorchVersion: (dir: string) => string | null };

const REBUILD_HINT =
  'Rebuild the addon against the libtorch you have now: `npm rebuild jepa-native --build-from-source` in ' +
  'your project (or `npm install` in a jepa-native checkout); set LIBTORCH to choose a libtorch folder.';

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/** A source build: the libtorch of build-info.json must still be there, at the same version. */
function checkSourceBuild(binary: string): LoadedAddon {
  const infoPath = path.join(path.dirname(binary), 'build-info.json');
  if (!fs.existsSync(infoPath)) {
    return { binary, kind: 'source', builtAgainst: null, libtorch: { dir: '', version: null, source: 'rpath', cuda: false } };
  }
  const info = JSON.parse(fs.readFileSync(infoPath, 'utf8')) as BuildInfo;
  const lib = path.join(info.libtorchLibDir, 'libtorch_cpu.so');
  if (!fs.existsSync(lib)) {
    throw new JepaError(
      ErrorCode.LIBTORCH_MISMATCH,
      `jepa-native was built against libtorch ${info.torchVersion} at ${info.libtorchDir}, ` +
        `but ${lib} no longer exists (libtorch moved or was removed). ${REBUILD_HINT}`,
    );
  }
  const now = libtorchVersion(info.libtorchDir);
  if (info.torchVersion && now && now !== info.torchVersion) {
    throw new JepaError(
      ErrorCode.LIBTORCH_MISMATCH,
      `jepa-native was built against libtorch ${info.torchVersion}, but ${info.libtorchDir} now ` +
        `holds libtorch ${now}. ${REBUILD_HINT}`,
    );
  }
  return {
    binary,
    kind: 'source',
    builtAgainst: info.torchVersion,
    libtorch: { dir: info.libtorchDir, version: now ?? info.torchVersion, source: 'rpath', cuda: Boolean(info.cuda) },
  };
}

/** A prebuild: find a libtorch of its version and load its libraries. */
function preparePrebuilt(binary: string): LoadedAddon {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const prebuilt = require('../../scripts/install/prebuilt.js') as Prebuilt;
  const meta = prebuilt.readPrebuildInfo(ROOT);
  if (!meta) {
    throw new JepaError(
      ErrorCode.ADDON_NOT_FOUND,
      `the prebuilt binary ${binary} has no libtorch.json next to it (a damaged package). ` +
        'Reinstall jepa-native, or compile it: `npm rebuild jepa-native --build-from-source`.',
    );
  }
  const { libtorch, tried, mismatched } = prebuilt.findFittingLibtorch(meta);
  const needs = `jepa-native's prebuilt binary needs libtorch ${meta.torchVersion.split('+')[0]} (the C++ library of PyTorch; ${meta.cuda ? 'a CUDA build' : 'CPU or CUDA build'})`;
  if (!libtorch) {
    throw new JepaError(
      mismatched.length ? ErrorCode.LIBTORCH_MISMATCH : ErrorCode.LIBTORCH_NOT_FOUND,
      `${needs}, and ${mismatched.length ? 'the libtorch found does not fit' : 'none was found'}. Tried: ${tried.join('; ')}. ` +
        prebuilt.howToGetLibtorch(meta),
    );
  }
  const flags = os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE;
  for (const lib of prebuilt.librariesToPreload(libtorch.libDir)) {
    try {
      process.dlopen({ exports: {} }, lib, flags);
    } catch (e) {
      // A library that is not a Node addon "did not self-register": expected, and it stays loaded.
      if (/did not self-register/.test(firstLine(e))) continue;
      throw new JepaError(
        ErrorCode.LIBTORCH_MISMATCH,
        `${needs}; found libtorch ${libtorch.version} at ${libtorch.dir} (${libtorch.source}), but loading ${lib} failed: ` +
          `${firstLine(e)}. ${prebuilt.howToGetLibtorch(meta)}`,
        { cause: e },
      );
    }
  }
  return {
    binary,
    kind: 'prebuilt',
    builtAgainst: meta.torchVersion,
    libtorch: { dir: libtorch.dir, version: libtorch.version, source: libtorch.source, cuda: libtorch.cuda },
  };
}

/** The addon file named by JEPA_ADDON (a source build), or null for node-gyp-build's choice. */
function addonOverride(): string | null {
  const p = process.env.JEPA_ADDON;
  if (!p) return null;
  const file = path.resolve(p);
  if (!fs.existsSync(file)) {
    throw new JepaError(ErrorCode.ADDON_NOT_FOUND, `JEPA_ADDON names ${file}, which does not exist (build it first)`);
  }
  return file;
}

function load(): { addon: NativeAddon; info: LoadedAddon } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
  let binary: string;
  try {
    binary = addonOverride() ?? nodeGypBuild.resolve(ROOT);
  } catch (e) {
    if (e instanceof JepaError) throw e;
    throw new JepaError(
      ErrorCode.ADDON_NOT_FOUND,
      `the jepa-native addon is not built and no prebuilt binary fits this machine (${firstLine(e)}). ` +
        'Run `npm install` (or `npm rebuild jepa-native --build-from-source`) to build it.',
      { cause: e },
    );
  }
  const prebuiltDir = path.join(ROOT, 'prebuilds') + path.sep;
  const info = binary.startsWith(prebuiltDir) ? preparePrebuilt(binary) : checkSourceBuild(binary);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return { addon: require(binary) as NativeAddon, info };
  } catch (e) {
    const message = firstLine(e);
    if (/lib(torch|c10)[^ ]*\.so|undefined symbol/.test(message)) {
      const where = info.builtAgainst ? ` It was built against libtorch ${info.builtAgainst}.` : '';
      throw new JepaError(
        ErrorCode.LIBTORCH_MISMATCH,
        `jepa-native could not load libtorch: ${message}.${where} ${REBUILD_HINT}`,
        { cause: e },
      );
    }
    throw e;
  }
}

const loaded = load();

/** The raw addon. Private: the public API wraps it. */
export const native: NativeAddon = loaded.addon;

/** Which binary was loaded and the libtorch it uses. */
export const loadedAddon: LoadedAddon = loaded.info;
