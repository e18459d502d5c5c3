/**
 * `jepa-native extract MODEL INPUT_DIR OUTPUT_DIR`: the command-line face of
 * `jepa.features.extract` (lib/features/extract.ts): MODEL is an exported model folder
 * (jepa.json) or a TorchScript file; one feature file per input in seed 000's layout. Adds the
 * progress bar, the summary line, the exit codes, and under `jepa-native launch` the gloo group
 * whose rank 0 prints the summary of every rank.
 * (Internal to the package.)
 * @module
 */
import * as path from 'node:path';
import { MultiBar, Presets } from 'cli-progress';
import * as distributed from '../distributed/distributed';
import type { Device, Dtype } from '../core/dtype';
import type { ExtractOptions as LibraryOptions, ExtractSummary } from '../features/extract';
import type { PreprocessOptions } from '../media/preprocess';
import type { SamplingOptions } from '../media/sampling';
import { tensor } from '../tensor/tensor';
import { CliError, errorText, EXIT, lib, usage, type Io } from './common';

/** The command's options, as commander parses them. */
export interface ExtractOptions {
  method: string;
  batchSize: number;
  concurrency?: number;
  jitOptimize?: boolean;
  inputShape?: number[];
  layout?: 'CTHW' | 'TCHW';
  preset?: PreprocessOptions['preset'];
  mean?: number[];
  std?: number[];
  fit?: 'cover' | 'fill';
  sampling?: 'clips' | 'uniform';
  frameStep?: number;
  fps?: number;
  start?: 'begin' | 'center' | 'random';
  seed?: number;
  dtype: string;
  inputKey?: string;
  overwrite?: boolean;
  rank?: number;
  worldSize?: number;
  progress?: boolean;
  device: string;
  threads?: number;
  json?: boolean;
}

/** What the command prints with --json: the library's summary, plus every rank's counts on rank 0 under launch. */
export interface CliExtractSummary extends Omit<ExtractSummary, 'failedList'> {
  total?: { inputs: number; written: number; alreadyDone: number; failed: number };
}

const defined = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/** Runs the extraction. */
export async function extract(
  model: string,
  inputDir: string,
  outputDir: string,
  opts: ExtractOptions,
  io: Io,
): Promise<{ summary: CliExtractSummary; exitCode: number }> {
  const L = lib();
  const rank = opts.rank ?? Number(process.env.RANK ?? 0);
  const worldSize = opts.worldSize ?? Number(process.env.WORLD_SIZE ?? 1);
  if (!Number.isSafeInteger(worldSize) || worldSize < 1)
    throw usage(`--world-size must be a positive integer, got ${worldSize}`);
  if (!Number.isSafeInteger(rank) || rank < 0 || rank >= worldSize)
    throw usage(`--rank must be an integer in [0, ${worldSize - 1}], got ${rank}`);
  if (!(L.DTYPES as readonly string[]).includes(opts.dtype))
    throw usage(`--dtype must be one of ${L.DTYPES.join(', ')}, got '${opts.dtype}'`);
  if (opts.threads !== undefined) L.setNumThreads(opts.threads);
  const preprocess: PreprocessOptions = defined({
    preset: opts.preset,
    mean: opts.mean as PreprocessOptions['mean'],
    std: opts.std as PreprocessOptions['std'],
    fit: opts.fit,
  });
  const sampling: SamplingOptions = defined({
    sampling: opts.sampling,
    frameStep: opts.frameStep,
    fps: opts.fps,
    start: opts.start,
    seed: opts.seed,
  });

  // Started by `jepa-native launch` (torchrun's environment, no explicit --rank): the ranks join
  // a gloo group now (a missing peer fails here, not after the work), and rank 0 prints the
  // summary of all ranks at the end. A peer that dies fails the others at once; one that hangs
  // fails them after JEPA_DIST_TIMEOUT_MS (default here one hour, since ranks finish at
  // different times).
  const launched =
    opts.rank === undefined &&
    opts.worldSize === undefined &&
    worldSize > 1 &&
    !!process.env.MASTER_ADDR &&
    !!process.env.MASTER_PORT;
  const group = launched
    ? await distributed.init({ backend: 'gloo', timeout: Number(process.env.JEPA_DIST_TIMEOUT_MS ?? 3_600_000) })
    : null;

  let bar: MultiBar | null = null;
  let progress: ReturnType<MultiBar['create']> | null = null;
  const showBar = opts.progress ?? io.errIsTTY;
  let failed = 0;
  const options: LibraryOptions = {
    output: outputDir,
    preprocess,
    sampling,
    batchSize: opts.batchSize,
    concurrency: opts.concurrency,
    jitOptimize: opts.jitOptimize,
    dtype: opts.dtype as Dtype,
    method: opts.method,
    inputShape: opts.inputShape,
    layout: opts.layout,
    inputKey: opts.inputKey,
    overwrite: opts.overwrite,
    rank,
    worldSize,
    device: opts.device as Device,
    onProgress: (e) => {
      if (!bar && showBar && e.total > 0) {
        bar = new MultiBar(
          {
            stream: process.stderr,
            format: 'extract [{bar}] {percentage}% | {value}/{total} inputs | {eta_formatted} left | {failed} failed',
            hideCursor: true,
            noTTYOutput: !io.errIsTTY,
            notTTYSchedule: 1000,
          },
          Presets.shades_classic,
        );
        progress = bar.create(e.total, 0, { failed: 0 });
      }
      if (e.status === 'failed') {
        failed++;
        const line = `jepa-native: skipped ${e.input}: ${e.error}`;
        if (bar) bar.log(`${line}\n`);
        else io.err(`${line}\n`);
      }
      (progress as ReturnType<MultiBar['create']> | null)?.update(e.done, { failed });
    },
  };
  let summary: ExtractSummary;
  try {
    summary = await L.features.extract(model, inputDir, options);
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err instanceof TypeError) throw usage(err.message);
    throw new CliError(errorText(e));
  } finally {
    (bar as MultiBar | null)?.stop();
  }
  // Failures known before the run (two inputs with one output) were not reported as progress.
  for (const f of summary.failed.slice(failed)) io.err(`jepa-native: skipped ${f.input}: ${f.error}\n`);

  const shard = worldSize > 1 ? ` (rank ${rank} of ${worldSize})` : '';
  io.err(
    `extracted ${summary.written} of ${summary.inputs} inputs${shard}; ${summary.alreadyDone} already done; ${summary.failed.length} failed` +
      (summary.failedList ? ` (listed in ${summary.failedList})` : '') +
      '\n',
  );
  const { failedList: _failedList, ...printed } = summary;
  const out: CliExtractSummary = printed;
  if (group) {
    const counts = tensor(
      BigInt64Array.from([summary.inputs, summary.written, summary.alreadyDone, summary.failed.length].map(BigInt)),
    );
    const every = await distributed.allGather(counts, { group });
    if (rank === 0) {
      const sum = (k: number) => every.reduce((acc, t) => acc + Number((t.data() as BigInt64Array)[k]), 0);
      out.total = { inputs: sum(0), written: sum(1), alreadyDone: sum(2), failed: sum(3) };
      io.err(
        `all ${worldSize} ranks: extracted ${out.total.written} of ${out.total.inputs} inputs; ` +
          `${out.total.alreadyDone} already done; ${out.total.failed} failed` +
          (out.total.failed > 0 ? ` (listed in ${path.join(outputDir, 'failed.rank*.txt')})` : '') +
          '\n',
      );
    }
    await distributed.destroy();
  }
  if (opts.json) io.out(JSON.stringify(out, null, 2) + '\n');
  return { summary: out, exitCode: summary.failed.length > 0 ? EXIT.PARTIAL : EXIT.OK };
}
