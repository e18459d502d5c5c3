/**
 * The only place that loads the native addon. It checks, before loading, that the libtorch the
 * addon was built against is still where the build found it and is the same version, so that a
 * moved or upgraded libtorch gives a clear error rather than a dynamic-linker message.
 * `JEPA_ADDON=/path/to/jepa_native.node` loads that build instead (the sanitizer variant,
 * build/asan/jepa_native.node, for `npm run test:asan`). (Internal to the package.)
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCode, JepaError } from './errors';
import type { NativeAddon } from './native-types';

const ROOT = path.resolve(__dirname, '..');

interface BuildInfo {
  libtorchDir: string;
  libtorchLibDir: string;
  torchVersion: string | null;
}

// The one reader of a libtorch folder's version, shared with the build (shipped in the package).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { libtorchVersion } = require('../scripts/find-libtorch.js') as { libtorchVersion: (dir: string) => string | null };

const REBUILD_HINT =
  'Rebuild the addon against the libtorch you have now: `npm rebuild jepa-native` in your project ' +
  '(or `npm install` in a jepa-native checkout); set LIBTORCH to choose a libtorch folder.';

/** The addon file named by JEPA_ADDON, or null for the usual build/Release or prebuild. */
function addonOverride(): string | null {
  const p = process.env.JEPA_ADDON;
  if (!p) return null;
  const file = path.resolve(p);
  if (!fs.existsSync(file)) {
    throw new JepaError(ErrorCode.ADDON_NOT_FOUND, `JEPA_ADDON names ${file}, which does not exist (build it first)`);
  }
  return file;
}

function checkLibtorch(addonDir: string): BuildInfo | null {
  const infoPath = path.join(addonDir, 'build-info.json');
  if (!fs.existsSync(infoPath)) return null;
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
  return info;
}

function load(): NativeAddon {
  const override = addonOverride();
  const info = checkLibtorch(override ? path.dirname(override) : path.join(ROOT, 'build', 'Release'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (override) return require(override) as NativeAddon;
    return nodeGypBuild(ROOT) as NativeAddon;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (/No native build was found/.test(message)) {
      throw new JepaError(
        ErrorCode.ADDON_NOT_FOUND,
        `the jepa-native addon is not built (${message.split('\n')[0]}). ` +
          'Run `npm install` (or `npm rebuild jepa-native`) to build it.',
        { cause: e },
      );
    }
    if (/lib(torch|c10)[^ ]*\.so/.test(message)) {
      const where = info ? ` It was built against libtorch ${info.torchVersion} at ${info.libtorchDir}.` : '';
      throw new JepaError(
        ErrorCode.LIBTORCH_MISMATCH,
        `jepa-native could not load libtorch: ${message.split('\n')[0]}.${where} ${REBUILD_HINT}`,
        { cause: e },
      );
    }
    throw e;
  }
}

/** The raw addon. Private: the public API wraps it. */
export const native: NativeAddon = load();
