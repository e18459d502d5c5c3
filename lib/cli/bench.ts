/**
 * `jepa-native bench [NAME...] [-- ARGS]`: runs the benchmark scripts (`npm run bench:NAME`,
 * each running Node and Python on the same data and printing the ratio). They live in bench/ of
 * a source checkout (they need the test Python); the npm package does not ship them.
 * (Internal to the package.)
 * @module
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliError, EXIT, usage, type Io } from './common';

const ROOT = path.resolve(__dirname, '..', '..');

/** The benchmarks: `bench:NAME` scripts of package.json whose file exists. */
export function benchmarks(): Map<string, string[]> {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const found = new Map<string, string[]>();
  for (const [name, cmd] of Object.entries(pkg.scripts ?? {})) {
    if (!name.startsWith('bench:')) continue;
    // "node [--flags] bench/x.mjs": run the same node with the same flags.
    const words = cmd.split(/\s+/);
    if (words[0] !== 'node') continue;
    const script = words.find((w) => w.endsWith('.mjs') || w.endsWith('.js'));
    if (!script || !fs.existsSync(path.join(ROOT, script))) continue;
    found.set(name.slice('bench:'.length), words.slice(1));
  }
  return found;
}

/** Runs the named benchmarks (all when none is named) one after another; returns the exit code. */
export async function bench(names: string[], opts: { list?: boolean }, extra: string[], io: Io): Promise<number> {
  const all = benchmarks();
  if (all.size === 0) {
    throw new CliError(
      `no benchmark scripts found in ${path.join(ROOT, 'bench')}: they ship with the source checkout (git clone), not the npm package`,
    );
  }
  if (opts.list) {
    io.out([...all.keys()].join('\n') + '\n');
    return EXIT.OK;
  }
  for (const n of names) {
    if (!all.has(n)) throw usage(`unknown benchmark '${n}': expected one of ${[...all.keys()].join(', ')}`);
  }
  const chosen = names.length > 0 ? names : [...all.keys()];
  for (const n of chosen) {
    const args = [...all.get(n)!, ...extra];
    io.err(`== bench ${n}: node ${args.join(' ')}\n`);
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
      child.on('error', () => resolve(1));
      child.on('close', (c) => resolve(c ?? 1));
    });
    if (code !== 0) throw new CliError(`bench ${n} failed (exit code ${code})`);
  }
  return EXIT.OK;
}
