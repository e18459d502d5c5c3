/**
 * The only place that loads the native addon. Two kinds of binary:
 *
 * - a source build (build/Release, compiled by `npm install` or `npm run compile`) finds its
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
 * build/asan/jepa_native.node, for `npm run test:asan`).
 *
 * Right after loading, it registers with the addon the JS classes native code builds values and
 * errors with (`init`, native/bindings/core_binding.cc), once per environment. (Internal to the
 * package.)
 * @module
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Float, FLOAT_KEYS, OrderedDict, PY_ATTRS, Size, TorchDevice, TorchDtype, Tuple } from '../io/values';
import { ErrorCode, JepaError, JepaTypeError } from './errors';
import { libtorchVersion, ROOT } from './libtorch';
import type { NativeAddon } from './native-types';
import { findFittingLibtorch, howToGetLibtorch, librariesToPreload, readPrebuildInfo } from './prebuilt';

/** glibc's RTLD_NODELETE: Node unloads a library that is not an addon; this keeps it loaded. */
const RTLD_NODELETE = 0x1000;

interface BuildInfo {
  libtorchDir: string;
  libtorchLibDir: string;
  torchVersion: string | null;
  cuda?: boolean;
}

/** Which binary was loaded and which libtorch it uses (see {@link addonInfo} in runtime). */
export interface LoadedAddon {
  binary: string;
  kind: 'prebuilt' | 'source';
  builtAgainst: string | null;
  libtorch: { dir: string; version: string | null; source: string; cuda: boolean };
}

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
    return {
      binary,
      kind: 'source',
      builtAgainst: null,
      libtorch: { dir: '', version: null, source: 'rpath', cuda: false },
    };
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
  const meta = readPrebuildInfo(ROOT);
  if (!meta) {
    throw new JepaError(
      ErrorCode.ADDON_NOT_FOUND,
      `the prebuilt binary ${binary} has no libtorch.json next to it (a damaged package). ` +
        'Reinstall jepa-native, or compile it: `npm rebuild jepa-native --build-from-source`.',
    );
  }
  const { libtorch, tried, mismatched } = findFittingLibtorch(meta);
  const needs = `jepa-native's prebuilt binary needs libtorch ${meta.torchVersion.split('+')[0]} (the C++ library of PyTorch; ${meta.cuda ? 'a CUDA build' : 'CPU or CUDA build'})`;
  if (!libtorch) {
    throw new JepaError(
      mismatched.length ? ErrorCode.LIBTORCH_MISMATCH : ErrorCode.LIBTORCH_NOT_FOUND,
      `${needs}, and ${mismatched.length ? 'the libtorch found does not fit' : 'none was found'}. Tried: ${tried.join('; ')}. ` +
        howToGetLibtorch(meta),
    );
  }
  const flags = os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE;
  for (const lib of librariesToPreload(libtorch.libDir)) {
    try {
      process.dlopen({ exports: {} }, lib, flags);
    } catch (e) {
      // A library that is not a Node addon "did not self-register": expected, and it stays loaded.
      if (/did not self-register/.test(firstLine(e))) continue;
      throw new JepaError(
        ErrorCode.LIBTORCH_MISMATCH,
        `${needs}; found libtorch ${libtorch.version} at ${libtorch.dir} (${libtorch.source}), but loading ${lib} failed: ` +
          `${firstLine(e)}. ${howToGetLibtorch(meta)}`,
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
    throw new JepaError(ErrorCode.ADDON_NOT_FOUND, `jepa-native could not load ${binary}: ${message}`, { cause: e });
  }
}

const loaded = load();

/** The raw addon. Private: the public API wraps it. */
export const native: NativeAddon = loaded.addon;

/** Which binary was loaded and the libtorch it uses. */
export const loadedAddon: LoadedAddon = loaded.info;

// lib/tensor/tensor.ts imports this file, so the Tensor class is fetched when native code first
// needs it (after both modules have loaded), not when this file loads.
let tensorModule: typeof import('../tensor/tensor') | undefined;
function tensors(): typeof import('../tensor/tensor') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (tensorModule ??= require('../tensor/tensor') as typeof import('../tensor/tensor'));
}

// The JS classes native code builds values and errors with, registered once for this
// environment (main thread or worker) before any other call: every error the addon throws is a
// JepaError (a JepaTypeError for a bad argument), and values cross as docs/values.md says.
native.init({
  JepaError,
  JepaTypeError,
  Tuple,
  Size,
  OrderedDict,
  TorchDevice,
  TorchDtype,
  Float,
  FLOAT_KEYS,
  PY_ATTRS,
  wrapTensor: (handle) => tensors().wrap(handle),
  tensorHandle: (value) => tensors().tensorHandle(value),
});
