/**
 * Finds the libtorch that jepa-native builds against and loads at run time.
 *
 * Order (the first that works wins; the chain is logged):
 *   (a) LIBTORCH: a libtorch folder (an unzipped libtorch distribution or a `torch` package folder)
 *   (b) the `torch` package of `python3` (or of $PYTHON)
 *   (c) the project-local install made by the set-up: `.venv/` with torch==2.13.0+cpu
 *
 * Used by the loader (lib/core/binding.ts, lib/core/prebuilt.ts) and, compiled to
 * dist/core/libtorch.js, by `npm install` (scripts/install/setup.js, scripts/install/build.js).
 * Loads no native code. (Internal to the package.)
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

/** The package folder (this file is dist/core/libtorch.js once compiled). */
export const ROOT = path.resolve(__dirname, '..', '..');
/** The project-local Python environment of way (c). */
export const LOCAL_VENV = process.env.JEPA_VENV ? path.resolve(process.env.JEPA_VENV) : path.join(ROOT, '.venv');
/** The torch wheel way (c) installs, and the version the prebuilt binary is built against. */
export const PINNED_TORCH = '2.13.0+cpu';

/** A usable libtorch folder. */
export interface LibtorchInfo {
  dir: string;
  libDir: string;
  cmakePrefix: string;
  version: string | null;
  cuda: boolean;
}

/** A place of the discovery chain: a usable folder (`info`) or why it has none (`reason`). */
export interface LibtorchCandidate {
  way: 'a' | 'b' | 'c';
  source: string;
  info?: LibtorchInfo;
  reason?: string;
  /** LIBTORCH is set but wrong: the chain must not fall through to another libtorch. */
  explicit?: boolean;
}

/** What {@link findLibtorch} found, and where. */
export type FoundLibtorch = LibtorchInfo & { source: string };

/** Version of a libtorch folder: torch/version.py of a torch package, build-version of a distribution. */
export function libtorchVersion(dir: string): string | null {
  const versionPy = path.join(dir, 'version.py');
  if (fs.existsSync(versionPy)) {
    const m = /__version__\s*=\s*['"]([^'"]+)['"]/.exec(fs.readFileSync(versionPy, 'utf8'));
    if (m) return m[1];
  }
  const buildVersion = path.join(dir, 'build-version');
  if (fs.existsSync(buildVersion)) return fs.readFileSync(buildVersion, 'utf8').trim();
  return null;
}

/**
 * Whether a libtorch lib folder uses the C++11 std::string ABI (`_GLIBCXX_USE_CXX11_ABI=1`, every
 * PyTorch 2.x wheel for Linux since 2.7): its libc10 then names `std::__cxx11` types. null when
 * there is no libc10.so to look at.
 */
export function cxx11Abi(libDir: string): boolean | null {
  const lib = path.join(libDir, 'libc10.so');
  if (!fs.existsSync(lib)) return null;
  return fs.readFileSync(lib).includes('St7__cxx11');
}

/** Describes a libtorch folder, or returns a reason why it is not one. */
export function inspectLibtorch(dir: string): ({ ok: true } & LibtorchInfo) | { ok: false; reason: string } {
  const abs = path.resolve(dir);
  const config = path.join(abs, 'share', 'cmake', 'Torch', 'TorchConfig.cmake');
  if (!fs.existsSync(config)) {
    return { ok: false, reason: `${abs} has no share/cmake/Torch/TorchConfig.cmake` };
  }
  const libDir = path.join(abs, 'lib');
  const hasLib = ['libtorch_cpu.so', 'libtorch_cpu.dylib', 'torch_cpu.dll'].some((f) =>
    fs.existsSync(path.join(libDir, f)),
  );
  if (!hasLib) return { ok: false, reason: `${abs}/lib has no libtorch_cpu library` };
  const cuda = ['libtorch_cuda.so', 'torch_cuda.dll'].some((f) => fs.existsSync(path.join(libDir, f)));
  return {
    ok: true,
    dir: fs.realpathSync(abs),
    libDir: fs.realpathSync(libDir),
    cmakePrefix: path.join(fs.realpathSync(abs), 'share', 'cmake'),
    version: libtorchVersion(abs),
    cuda,
  };
}

/**
 * Asks a Python interpreter where its torch package is, without importing torch (importing it
 * takes seconds; finding it takes milliseconds); null when it has none.
 */
export function torchOfPython(python: string): string | null {
  const code =
    "import importlib.util as u; s = u.find_spec('torch'); print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')";
  const r = spawnSync(python, ['-c', code], { encoding: 'utf8', timeout: 120000 });
  if (r.status !== 0 || !r.stdout || !r.stdout.trim()) return null;
  return r.stdout.trim().split('\n').pop() ?? null;
}

/** The Python of the project-local environment (way (c)). */
export function localPython(): string {
  return path.join(LOCAL_VENV, 'bin', 'python');
}

/** The folder description without the `ok` flag of {@link inspectLibtorch}. */
function strip(info: { ok: true } & LibtorchInfo): LibtorchInfo {
  const { dir, libDir, cmakePrefix, version, cuda } = info;
  return { dir, libDir, cmakePrefix, version, cuda };
}

/**
 * The places the chain looks, in order, lazily (a Python is only asked when the earlier places
 * gave nothing the caller wanted). Each item is {way, source, info} for a usable libtorch folder
 * or {way, source, reason} for a place that has none.
 */
export function* libtorchCandidates(): Generator<LibtorchCandidate> {
  const env = process.env.LIBTORCH;
  if (env) {
    const info = inspectLibtorch(env);
    yield info.ok
      ? { way: 'a', source: 'LIBTORCH', info: strip(info) }
      : {
          way: 'a',
          source: 'LIBTORCH',
          explicit: true,
          reason: `LIBTORCH=${env} is not a usable libtorch folder: ${info.reason}`,
        };
  } else {
    yield { way: 'a', source: 'LIBTORCH', reason: 'LIBTORCH is not set' };
  }

  const python = process.env.PYTHON || 'python3';
  const pyTorch = torchOfPython(python);
  if (pyTorch) {
    const info = inspectLibtorch(pyTorch);
    yield info.ok
      ? { way: 'b', source: python, info: strip(info) }
      : { way: 'b', source: python, reason: `${python} has torch at ${pyTorch}, but ${info.reason}` };
  } else {
    yield { way: 'b', source: python, reason: `${python} has no torch package` };
  }

  if (fs.existsSync(localPython())) {
    const localTorch = torchOfPython(localPython());
    if (localTorch) {
      const info = inspectLibtorch(localTorch);
      yield info.ok
        ? { way: 'c', source: 'project-local', info: strip(info) }
        : {
            way: 'c',
            source: 'project-local',
            reason: `the project-local install at ${localTorch} is incomplete: ${info.reason}`,
          };
    } else {
      yield { way: 'c', source: 'project-local', reason: `${LOCAL_VENV} exists but has no torch package` };
    }
  } else {
    yield { way: 'c', source: 'project-local', reason: `there is no project-local install at ${LOCAL_VENV}` };
  }
}

/**
 * Finds libtorch. Returns {dir, libDir, cmakePrefix, version, cuda, source} or throws an Error
 * listing every way that was tried. `log` receives one line per step.
 */
export function findLibtorch({ log = () => {} }: { log?: (line: string) => void } = {}): FoundLibtorch {
  const tried: string[] = [];
  for (const c of libtorchCandidates()) {
    if (c.explicit) {
      // An explicit choice that is wrong must not silently fall through to another libtorch.
      throw new Error(
        `${c.reason}.\n` +
          'Point LIBTORCH at an unzipped libtorch distribution or at a torch package folder ' +
          '(the folder of `python3 -c "import torch; print(torch.__file__)"`).',
      );
    }
    if (c.info) {
      const what = {
        a: `LIBTORCH=${c.info.dir}`,
        b: `the torch package of ${c.source}: ${c.info.dir}`,
        c: `the project-local install ${c.info.dir}`,
      }[c.way];
      log(`libtorch: using ${what} (${c.info.version || 'unknown version'})`);
      return { ...c.info, source: c.source };
    }
    tried.push(`(${c.way}) ${c.reason}`);
  }

  throw new Error(
    'jepa-native could not find libtorch. Tried:\n  ' +
      tried.join('\n  ') +
      '\nAny one of these works:\n' +
      '  (a) set LIBTORCH to a libtorch folder (an unzipped libtorch distribution, or a torch\n' +
      '      package folder; for CUDA, a CUDA build of libtorch);\n' +
      '  (b) install torch for python3: `python3 -m pip install torch`;\n' +
      `  (c) run \`npm install\` in the jepa-native folder, which installs torch==${PINNED_TORCH}\n` +
      `      with pip into ${LOCAL_VENV}.`,
  );
}
