/**
 * `trainer.fit()`: the epoch loop around {@link Trainer.step}, with per-step and per-epoch
 * callbacks, validation, a progress bar on a terminal and resumable checkpoints. It uses only
 * the trainer's public methods. See docs/training.md, "The epoch loop".
 *
 * ```js
 * await trainer.fit({
 *   data: new jepa.data.DataLoader(new jepa.data.FeatureDataset('features/'), { batchSize: 2, shuffle: true, seed: 0 }),
 *   epochs: 10,
 *   checkpoint: { dir: 'checkpoints/' },     // resumes from the last one there
 *   onEpoch: ({ epoch, loss }) => console.log(epoch, loss),
 * });
 * ```
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SingleBar } from 'cli-progress';
import { native } from '../core/binding';
import { disposeAll } from '../data/collate';
import { DataLoader } from '../data/loader';
import { save as distributedSave } from '../distributed/distributed';
import { invalidArgument, JepaError, ErrorCode } from '../core/errors';
import { load as loadPt, save as savePt } from '../io/pt';
import { Tensor, wrap, nativeOf, tensor } from '../tensor/tensor';
import type { StepStats, Trainer, TrainingBatch } from './trainer';
import { checkOptions, isPlainObject, show } from '../core/validate';

/** What {@link FitOptions.onStep} receives after each step. */
export interface FitStep {
  /** The epoch (0-based) and the batch in it (0-based). */
  epoch: number;
  batch: number;
  /** Batches per epoch. */
  batches: number;
  /** The step's statistics (`stats.step` is the trainer's step index). */
  stats: StepStats;
  /** The checkpoint written after this step (`checkpoint.every`), else null. */
  checkpoint: string | null;
}

/** What {@link FitOptions.onEpoch} receives after each epoch (and what {@link Trainer.fit} returns per epoch). */
export interface FitEpoch {
  /** The epoch that ended (0-based). */
  epoch: number;
  /** Steps run in it by this call (fewer than the loader's batches when it was resumed mid-epoch). */
  steps: number;
  /** Mean loss of those steps (NaN when none). */
  loss: number;
  /** What `validate` returned (undefined without it). */
  validation: unknown;
  /** Wall time of the epoch in milliseconds (training and validation). */
  ms: number;
  /** The checkpoint written at its end, if any. */
  checkpoint: string | null;
}

/** Options of {@link Trainer.fit}. */
export interface FitOptions<B = unknown> {
  /** The batches: a {@link DataLoader} (its position is saved in checkpoints and restored). */
  data: DataLoader<unknown, B>;
  /** Train until the trainer's epoch counter reaches this (a resumed run trains the epochs left). */
  epochs: number;
  /**
   * Turns a loader batch into the trainer's batch (may be async, e.g. to encode captions).
   * Default: a tensor batch is `images` (`features` for `'motion'`); an object batch gives
   * `images` (or `image`), `masks`, `mask`, `features` (or `feature`), `imageEmbeddings`,
   * `textEmbeddings` by name.
   */
  toBatch?: (batch: B) => TrainingBatch | Promise<TrainingBatch>;
  /** Called after every step (awaited). */
  onStep?: (step: FitStep) => void | Promise<void>;
  /** Called after every epoch, after validation and its checkpoint (awaited). */
  onEpoch?: (epoch: FitEpoch) => void | Promise<void>;
  /** Called after each epoch's steps; its result goes to `onEpoch` and the returned history. */
  validate?: (context: { epoch: number; trainer: Trainer }) => unknown;
  /**
   * Resumable checkpoints in `dir`: one at the end of every epoch, and every `every` steps if
   * given; the last `keep` (default 2) are kept. When `dir` holds checkpoints, fit resumes from
   * the last (modules, AdamW and EMA state, step, epoch, the loader's position, the mask
   * sampler's and libtorch's random generators) unless `resume: false`.
   */
  checkpoint?: { dir: string | URL; every?: number; keep?: number; resume?: boolean };
  /**
   * A progress bar on stderr: `'auto'` (default) when stderr is a terminal; `true` also without
   * one (then a line of the same text every 2 s, for logs); `false` never.
   */
  progress?: boolean | 'auto';
}

/** What {@link Trainer.fit} returns. */
export interface FitResult {
  /** The epochs this call trained, in order. */
  epochs: FitEpoch[];
  /** The checkpoint it resumed from, or null. */
  resumedFrom: string | null;
  /** The trainer's step counter at the end. */
  steps: number;
}

const CHECKPOINT_FILE = /^checkpoint-(\d{1,15})\.pt$/;

function checkpointName(step: number): string {
  return `checkpoint-${String(step).padStart(9, '0')}.pt`;
}

/** The checkpoints of `dir`, oldest first. */
function checkpoints(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names
    .map((n) => [n, CHECKPOINT_FILE.exec(n)] as const)
    .filter(([, m]) => m !== null)
    .sort((a, b) => Number(a[1]![1]) - Number(b[1]![1]))
    .map(([n]) => path.join(dir, n));
}

/** The trainer's batch from a loader batch (see {@link FitOptions.toBatch}). */
function defaultBatch(kind: string, b: unknown): TrainingBatch {
  if (b instanceof Tensor) return kind === 'motion' ? { features: b } : { images: b };
  if (!isPlainObject(b)) {
    throw invalidArgument(`fit: a batch is ${show(b)}: give \`toBatch\` to turn it into the trainer's batch`);
  }
  const out: Record<string, unknown> = {};
  const take = (key: string, ...names: string[]) => {
    for (const n of names) {
      if (b[n] !== undefined) {
        out[key] = b[n];
        return;
      }
    }
  };
  if (kind === 'motion') take('features', 'features', 'feature');
  else if (kind === 'vl') {
    take('imageEmbeddings', 'imageEmbeddings');
    take('textEmbeddings', 'textEmbeddings');
  } else {
    take('images', 'images', 'image');
    take('masks', 'masks');
    if (kind === 'hjepa') take('mask', 'mask');
  }
  if (Object.keys(out).length === 0) {
    throw invalidArgument(
      `fit: a batch has the fields ${Object.keys(b).join(', ')}, none of which the ${kind} trainer takes: give \`toBatch\``,
    );
  }
  return out as TrainingBatch;
}

/** The fit-specific part of a checkpoint (under the key `fit`). */
interface FitState {
  loader: { epoch: number; batch: number; seed: bigint };
  masks: { step: bigint; generator: Uint32Array | null } | null;
  rng: Tensor;
}

function fitState(trainer: Trainer, loader: DataLoader<unknown, unknown>): Record<string, unknown> {
  const l = loader.state();
  const sampler = trainer.sampler?.getState();
  return {
    loader: { epoch: l.epoch, batch: l.batch, seed: l.seed },
    masks: sampler
      ? {
          step: sampler.step,
          generator: sampler.generator
            ? tensor(new Int32Array(sampler.generator.buffer, sampler.generator.byteOffset, sampler.generator.length))
            : null,
        }
      : null,
    rng: wrap(native.rngState()),
  };
}

function int(value: unknown, where: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw new JepaError(ErrorCode.CHECKPOINT_INVALID, `expected ${where} to be an integer, got ${show(value)}`);
}

function readFitState(value: unknown, file: string): FitState {
  const bad = (what: string) =>
    new JepaError(
      ErrorCode.CHECKPOINT_INVALID,
      `${file}: ${what} (a checkpoint written by trainer.fit holds 'fit': {loader, masks, rng})`,
    );
  if (!isPlainObject(value) || !isPlainObject(value.fit)) throw bad("no 'fit' entry");
  const f = value.fit;
  if (!isPlainObject(f.loader)) throw bad("no 'fit.loader'");
  const loader = {
    epoch: Number(int(f.loader.epoch, "checkpoint['fit']['loader']['epoch']")),
    batch: Number(int(f.loader.batch, "checkpoint['fit']['loader']['batch']")),
    seed: int(f.loader.seed, "checkpoint['fit']['loader']['seed']"),
  };
  let masks: FitState['masks'] = null;
  if (isPlainObject(f.masks)) {
    const g = f.masks.generator;
    if (g !== null && !(g instanceof Tensor && g.dtype === 'int32'))
      throw bad("'fit.masks.generator' is not an int32 tensor");
    const words = g instanceof Tensor ? new Uint32Array((g.contiguous().data() as Int32Array).slice().buffer) : null;
    masks = { step: int(f.masks.step, "checkpoint['fit']['masks']['step']"), generator: words };
  }
  if (!(f.rng instanceof Tensor) || f.rng.dtype !== 'uint8') throw bad("'fit.rng' is not a uint8 tensor");
  return { loader, masks, rng: f.rng };
}

function checkFit(options: unknown): {
  data: DataLoader<unknown, unknown>;
  epochs: number;
  toBatch?: (b: unknown) => TrainingBatch | Promise<TrainingBatch>;
  onStep?: (s: FitStep) => void | Promise<void>;
  onEpoch?: (e: FitEpoch) => void | Promise<void>;
  validate?: (c: { epoch: number; trainer: Trainer }) => unknown;
  checkpoint: { dir: string; every: number | null; keep: number; resume: boolean } | null;
  progress: boolean;
} {
  const o = checkOptions(options, 'options', [
    'data',
    'epochs',
    'toBatch',
    'onStep',
    'onEpoch',
    'validate',
    'checkpoint',
    'progress',
  ]);
  if (!(o.data instanceof DataLoader))
    throw invalidArgument(`expected \`options.data\` to be a jepa.data.DataLoader, got ${show(o.data)}`);
  if (!Number.isSafeInteger(o.epochs) || (o.epochs as number) < 1)
    throw invalidArgument(`expected \`options.epochs\` to be a positive integer, got ${show(o.epochs)}`);
  for (const k of ['toBatch', 'onStep', 'onEpoch', 'validate']) {
    if (o[k] !== undefined && typeof o[k] !== 'function')
      throw invalidArgument(`expected \`options.${k}\` to be a function, got ${show(o[k])}`);
  }
  let checkpoint = null;
  if (o.checkpoint !== undefined) {
    const c = checkOptions(o.checkpoint, 'options.checkpoint', ['dir', 'every', 'keep', 'resume']);
    const dir = c.dir instanceof URL ? fileURLToPath(c.dir) : c.dir;
    if (typeof dir !== 'string' || dir.length === 0)
      throw invalidArgument(`expected \`options.checkpoint.dir\` to be a folder path, got ${show(c.dir)}`);
    if (c.every !== undefined && (!Number.isSafeInteger(c.every) || (c.every as number) < 1)) {
      throw invalidArgument(
        `expected \`options.checkpoint.every\` to be a positive number of steps, got ${show(c.every)}`,
      );
    }
    if (c.keep !== undefined && (!Number.isSafeInteger(c.keep) || (c.keep as number) < 1)) {
      throw invalidArgument(`expected \`options.checkpoint.keep\` to be a positive integer, got ${show(c.keep)}`);
    }
    if (c.resume !== undefined && typeof c.resume !== 'boolean')
      throw invalidArgument(`expected \`options.checkpoint.resume\` to be a boolean, got ${show(c.resume)}`);
    checkpoint = {
      dir: path.resolve(dir),
      every: (c.every as number | undefined) ?? null,
      keep: (c.keep as number | undefined) ?? 2,
      resume: c.resume !== false,
    };
  }
  if (o.progress !== undefined && typeof o.progress !== 'boolean' && o.progress !== 'auto') {
    throw invalidArgument(`expected \`options.progress\` to be a boolean or 'auto', got ${show(o.progress)}`);
  }
  const progress = o.progress === true || ((o.progress ?? 'auto') === 'auto' && process.stderr.isTTY === true);
  return {
    data: o.data as DataLoader<unknown, unknown>,
    epochs: o.epochs as number,
    toBatch: o.toBatch as never,
    onStep: o.onStep as never,
    onEpoch: o.onEpoch as never,
    validate: o.validate as never,
    checkpoint,
    progress,
  };
}

/**
 * The epoch loop of {@link Trainer.fit} (see {@link FitOptions}): for each epoch from the
 * trainer's epoch counter up to `epochs`, one `trainer.step` per loader batch (the batch's
 * tensors disposed after it when the loader made them), `onStep`, then `validate`, a checkpoint,
 * `onEpoch`. Checkpoints are the trainer's ({@link Trainer.stateDict}, I-JEPA's layout that
 * Python reads) plus a `fit` entry: the loader's epoch, next batch and seed, the mask sampler's
 * state and libtorch's CPU generator state (dropout), so that a resumed run continues with the
 * batches, masks and dropout draws of an uninterrupted one. A data-parallel trainer's
 * checkpoints are written by rank 0 (every rank waits for them).
 */
export async function fit(trainer: Trainer, options: FitOptions<unknown>): Promise<FitResult> {
  const o = checkFit(options);
  const loader = o.data;
  const dist = trainer.distributed;
  let resumedFrom: string | null = null;
  if (o.checkpoint) {
    const files = checkpoints(o.checkpoint.dir);
    if (o.checkpoint.resume && files.length > 0) {
      resumedFrom = files[files.length - 1];
      const value = await loadPt(resumedFrom);
      const state = readFitState(value, resumedFrom);
      if (state.loader.seed !== loader.seed) {
        throw invalidArgument(
          `fit: ${resumedFrom} was written with a DataLoader of seed ${state.loader.seed}, this one has seed ${loader.seed}: ` +
            `create the DataLoader with { seed: ${state.loader.seed}n } to resume (or pass checkpoint.resume: false)`,
        );
      }
      trainer.loadStateDict(value);
      loader.setState(state.loader);
      if (state.masks && trainer.sampler) trainer.sampler.setState(state.masks);
      native.setRngState(nativeOf(state.rng));
      disposeAll(value);
    } else {
      loader.setState({ epoch: trainer.epoch, batch: 0 });
    }
    fs.mkdirSync(o.checkpoint.dir, { recursive: true });
  } else {
    loader.setState({ epoch: trainer.epoch, batch: 0 });
  }

  const writeCheckpoint = async (): Promise<string> => {
    const c = o.checkpoint as NonNullable<typeof o.checkpoint>;
    const file = path.join(c.dir, checkpointName(trainer.stepCount));
    const build = () => ({
      ...trainer.stateDict({ epoch: trainer.epoch, worldSize: dist?.worldSize ?? 1 }),
      fit: fitState(trainer, loader),
    });
    if (dist) {
      await distributedSave(file, dist.rank === 0 ? build() : null, { group: dist });
    } else {
      const value = build();
      await savePt(file, value);
      disposeAll((value.fit as Record<string, unknown>).masks);
      (value.fit as { rng: Tensor }).rng.dispose();
    }
    if (!dist || dist.rank === 0) {
      const all = checkpoints(c.dir);
      for (const old of all.slice(0, Math.max(0, all.length - c.keep))) fs.rmSync(old, { force: true });
    }
    return file;
  };

  const history: FitEpoch[] = [];
  const toBatch = o.toBatch ?? ((b: unknown) => defaultBatch(trainer.kind, b));
  while (trainer.epoch < o.epochs) {
    const epoch = trainer.epoch;
    const started = Date.now();
    const batches = loader.length;
    let bar: SingleBar | null = null;
    if (o.progress) {
      bar = new SingleBar({
        stream: process.stderr,
        format: `epoch ${epoch + 1}/${o.epochs} [{bar}] {value}/{total} | loss {loss} | {eta_formatted} left`,
        hideCursor: true,
        // Reached without a terminal only with `progress: true`: then a line every 2 s (logs).
        noTTYOutput: true,
      });
      bar.start(batches, loader.state().batch, { loss: '-' });
    }
    let steps = 0;
    let lossSum = 0;
    let lastCheckpoint: string | null = null;
    try {
      for await (const batch of loader) {
        const index = loader.state().batch - 1;
        let stats: StepStats;
        try {
          stats = await trainer.step(await toBatch(batch));
        } finally {
          if (loader.ownsBatches) disposeAll(batch);
        }
        steps++;
        lossSum += stats.loss;
        bar?.update(index + 1, { loss: stats.loss.toFixed(4) });
        let written: string | null = null;
        if (o.checkpoint?.every && trainer.stepCount % o.checkpoint.every === 0 && index + 1 < batches) {
          written = lastCheckpoint = await writeCheckpoint();
        }
        if (o.onStep) await o.onStep({ epoch, batch: index, batches, stats, checkpoint: written });
      }
    } finally {
      bar?.stop();
    }
    trainer.epoch = epoch + 1;
    const validation = o.validate ? await o.validate({ epoch, trainer }) : undefined;
    if (o.checkpoint) lastCheckpoint = await writeCheckpoint();
    const info: FitEpoch = {
      epoch,
      steps,
      loss: steps > 0 ? lossSum / steps : Number.NaN,
      validation,
      ms: Date.now() - started,
      checkpoint: o.checkpoint ? lastCheckpoint : null,
    };
    history.push(info);
    if (o.onEpoch) await o.onEpoch(info);
  }
  return { epochs: history, resumedFrom, steps: trainer.stepCount };
}
