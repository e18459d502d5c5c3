/**
 * `jepa-native export SOURCE INPUT OUTDIR [options]`: runs the package's Python exporter
 * (python/jepa_export, shipped in the npm package) with the user's Python, which needs torch
 * (and safetensors for Hugging Face folders, PyYAML for --config; the exporter names the pip
 * command when one is missing). The Python is `--python`, else $JEPA_PYTHON, else python3
 * ($PYTHON) when it has torch, else the package's own .venv (the discovery chain of the build,
 * scripts/install/find-libtorch.js). Exit codes: the exporter's (0 done, 1 cannot export, 2 bad command
 * line). See docs/models.md.
 * (Internal to the package.)
 * @module
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliError, EXIT, usage, type Io } from './common';

const ROOT = path.resolve(__dirname, '..', '..');
/** The folder that holds the `jepa_export` package (PYTHONPATH). */
export const PYTHON_DIR = path.join(ROOT, 'python');

/** One export source, as python/jepa_export/sources.json describes it. */
export interface ExportSource {
  kind: string;
  input: string;
  summary: string;
}

/** The sources, from the one file the Python side reads too. */
export function exportSources(): Record<string, ExportSource> {
  return JSON.parse(fs.readFileSync(path.join(PYTHON_DIR, 'jepa_export', 'sources.json'), 'utf8')) as Record<
    string,
    ExportSource
  >;
}

interface Discovery {
  torchOfPython: (python: string) => string | null;
  localPython: () => string;
}

/** The Python that runs the exporter, and why it was chosen. */
export function choosePython(explicit?: string): { python: string; why: string } {
  if (explicit) return { python: explicit, why: '--python' };
  if (process.env.JEPA_PYTHON) return { python: process.env.JEPA_PYTHON, why: '$JEPA_PYTHON' };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { torchOfPython, localPython } = require('../../scripts/install/find-libtorch.js') as Discovery;
  const system = process.env.PYTHON || 'python3';
  if (torchOfPython(system)) return { python: system, why: `${system} has torch` };
  const local = localPython();
  if (fs.existsSync(local) && torchOfPython(local)) return { python: local, why: "the package's .venv has torch" };
  // The exporter itself then says that torch is missing and how to install it.
  return { python: system, why: 'no Python with torch found' };
}

/** The help of `jepa-native export` (without Python): usage, the sources, the common options. */
export function exportHelp(): string {
  const sources = exportSources();
  const width = Math.max(...Object.keys(sources).map((s) => s.length));
  const rows = Object.entries(sources).map(
    ([name, s]) => `  ${name.padEnd(width)}  ${s.input}\n  ${' '.repeat(width)}  ${s.summary}`,
  );
  return `Usage: jepa-native export SOURCE INPUT OUTDIR [options]

Turn a checkpoint or a Hugging Face / sentence-transformers folder into a model folder
(TorchScript files and jepa.json) that jepa.JEPA.load(OUTDIR) and the other classes read.

Sources:
${rows.join('\n')}

Options (every source):
  --dtype <dtype>   float32 (default), float16 or bfloat16 (for inference)
  --overwrite       replace OUTDIR if it exists (OUTDIR is written whole, or not at all)
  --no-verify       skip the self-check of the TorchScript modules
  --json            print the summary as JSON
  --python <path>   the Python with torch to run the exporter (default: $JEPA_PYTHON, python3
                    when it has torch, the package's .venv)
The options of one source (architecture flags, --config): jepa-native export SOURCE --help

Exit codes: 0 done, 1 cannot export (the message says why), 2 bad command line.
Docs: docs/models.md
`;
}

/** Runs the exporter with `args` (SOURCE INPUT OUTDIR and options, passed as given); returns its exit code. */
export async function exportCommand(args: string[], opts: { python?: string }, io: Io): Promise<number> {
  if (args.length === 0 || args[0] === '--help' || args[0] === '-h') {
    io.out(exportHelp());
    return args.length === 0 ? EXIT.USAGE : EXIT.OK;
  }
  const sources = exportSources();
  const source = args.find((a) => !a.startsWith('-'));
  if (source === undefined || !(source in sources)) {
    throw usage(
      `unknown SOURCE ${source === undefined ? '(none given)' : `'${source}'`}; the sources are: ${Object.keys(sources).join(', ')}`,
    );
  }
  const { python } = choosePython(opts.python);
  const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONPATH: [PYTHON_DIR, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
    JEPA_NATIVE_VERSION: version,
  };
  return await new Promise<number>((resolve, reject) => {
    const child = spawn(python, ['-m', 'jepa_export', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => io.out(d.toString()));
    child.stderr.on('data', (d: Buffer) => io.err(d.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(
          new CliError(
            `cannot run ${python}: install Python 3 with torch (python3 -m pip install torch), or name one with --python or $JEPA_PYTHON`,
          ),
        );
      } else reject(e);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : EXIT.ERROR)));
  });
}
