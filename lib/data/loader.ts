/**
 * The DataLoader: batches of a {@link Dataset}, in PyTorch's order for the same seed, loaded
 * ahead of the training loop.
 * @module
 */
import { randomInt } from 'node:crypto';
import { rank as defaultRank, worldSize as defaultWorldSize, ProcessGroup } from '../distributed/distributed';
import { invalidArgument } from '../core/errors';
import { checkOptions, show } from '../core/validate';
import { checkVariableLength, collateAsync, disposeAll, type Collated, type VariableLength } from './collate';
import type { Dataset } from './datasets';
import { Sampler, type SamplerKind } from './sampler';

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions<T = unknown, B = Collated<T>> {
  /** Samples per batch. Default 1 (PyTorch's). */
  batchSize?: number;
  /** Visit the samples in a new random order each epoch. Default false. */
  shuffle?: boolean;
  /**
   * The seed of the order (see {@link SamplerKind}): the `torch.Generator().manual_seed(seed)`
   * of `DataLoader(shuffle=True, generator=...)`, or `DistributedSampler(seed=...)`. Default: a
   * random seed for one process (recorded in {@link DataLoader.state}), 0 with several ranks
   * (every rank must draw the same permutation).
   */
  seed?: number | bigint;
  /** Leave out the last batch when it is smaller than `batchSize`. Default false. */
  dropLast?: boolean;
  /**
   * `'stack'` (default): PyTorch's `default_collate` (tensors stacked along a new first
   * dimension; numbers, strings, objects, arrays field by field); the samples' tensors are
   * disposed once copied. Or a function of the samples that makes the batch (the loader then
   * disposes nothing).
   */
  collate?: 'stack' | ((samples: T[]) => B | Promise<B>);
  /** Pad or crop a variable-length dimension before stacking (`'pad'`, `'crop'` or {@link VariableLength}). */
  variableLength?: 'pad' | 'crop' | VariableLength;
  /**
   * Batches loaded ahead while the current one is used (their files are read on worker
   * threads). Default 2; 0 loads each batch when it is asked for.
   */
  prefetch?: number;
  /** This process's rank and the number of ranks, to read a shard (see {@link SamplerKind}). Default 0 of 1. */
  rank?: number;
  worldSize?: number;
  /** Take `rank` and `worldSize` from a process group (`true`: the default group, `jepa.distributed.init`). */
  distributed?: boolean | ProcessGroup;
  /** With several ranks, pad the shards to equal size with the first samples (default) or drop the tail (`DistributedSampler(drop_last=True)`). */
  evenShards?: 'pad' | 'drop';
  /** Which PyTorch sampler to follow. Default `'random'` for one rank, `'distributed'` for several. */
  sampler?: SamplerKind;
}

/** Where a loader is: the epoch and the next batch in it, and the seed of its order. */
export interface LoaderState {
  epoch: number;
  batch: number;
  seed: bigint;
}

const OPTION_KEYS = [
  'batchSize',
  'shuffle',
  'seed',
  'dropLast',
  'collate',
  'variableLength',
  'prefetch',
  'rank',
  'worldSize',
  'distributed',
  'evenShards',
  'sampler',
];

function positiveInt(value: unknown, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw invalidArgument(`expected \`${name}\` to be an integer >= ${min}, got ${show(value)}`);
  }
  return value as number;
}

function bool(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgument(`expected \`${name}\` to be a boolean, got ${show(value)}`);
  return value;
}

function seedOf(value: unknown, name: string): bigint {
  if (typeof value === 'bigint' && value >= 0n && value < 2n ** 64n) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw invalidArgument(`expected \`${name}\` to be a non-negative integer below 2^64, got ${show(value)}`);
}

/**
 * Batches of a dataset, epoch after epoch: `for await (const batch of loader)` runs one epoch
 * from where the loader is ({@link DataLoader.state}); when it ends, the loader moves to the next epoch.
 * Breaking out of the loop leaves the loader at the next batch, so that the following loop
 * continues the epoch (and a checkpoint of {@link DataLoader.state} resumes it).
 *
 * The order equals PyTorch's for the same seed, batch size and flags (see {@link SamplerKind}):
 * `new DataLoader(ds, {batchSize, shuffle: true, seed})` gives, epoch by epoch, the batches of
 * `torch.utils.data.DataLoader(ds, batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))`,
 * and with `rank`/`worldSize` those of a `DistributedSampler` with `set_epoch(epoch)`.
 *
 * ```js
 * const loader = new jepa.data.DataLoader(new jepa.data.FeatureDataset('features/'), {
 *   batchSize: 8, shuffle: true, seed: 0, variableLength: 'pad',
 * });
 * for await (const { feature, lengths, path } of loader) { ... }   // feature [8, T, N, C]
 * ```
 */
export class DataLoader<T = unknown, B = Collated<T>> implements AsyncIterable<B> {
  readonly dataset: Dataset<T>;
  readonly batchSize: number;
  readonly dropLast: boolean;
  readonly prefetch: number;
  /** This loader's rank and the number of ranks sharing the dataset. */
  readonly rank: number;
  readonly worldSize: number;
  readonly #sampler: Sampler;
  readonly #collate: (samples: T[]) => B | Promise<B>;
  readonly #owns: boolean; // the default collation: sample tensors are disposed after it
  #epoch = 0;
  #batch = 0;
  #iterating = false;

  constructor(dataset: Dataset<T>, options?: DataLoaderOptions<T, B>) {
    if (
      dataset === null ||
      typeof dataset !== 'object' ||
      typeof dataset.get !== 'function' ||
      !Number.isSafeInteger(dataset.length) ||
      dataset.length < 0
    ) {
      throw invalidArgument(
        `expected \`dataset\` to have a non-negative integer \`length\` and a \`get(index)\` method, got ${show(dataset)}`,
      );
    }
    const o = checkOptions(options, 'options', OPTION_KEYS);
    this.dataset = dataset;
    this.batchSize = positiveInt(o.batchSize, 'options.batchSize', 1);
    this.dropLast = bool(o.dropLast, 'options.dropLast', false);
    this.prefetch = positiveInt(o.prefetch, 'options.prefetch', 2, 0);
    const shuffle = bool(o.shuffle, 'options.shuffle', false);
    let rank = o.rank;
    let worldSize = o.worldSize;
    if (o.distributed !== undefined && o.distributed !== false) {
      if (rank !== undefined || worldSize !== undefined)
        throw invalidArgument('give either `options.distributed` or `options.rank` / `options.worldSize`, not both');
      if (o.distributed instanceof ProcessGroup) {
        rank = o.distributed.rank;
        worldSize = o.distributed.worldSize;
      } else if (o.distributed === true) {
        rank = defaultRank;
        worldSize = defaultWorldSize;
      } else {
        throw invalidArgument(
          `expected \`options.distributed\` to be a boolean or a ProcessGroup, got ${show(o.distributed)}`,
        );
      }
    }
    this.worldSize = positiveInt(worldSize, 'options.worldSize', 1);
    this.rank = positiveInt(rank, 'options.rank', 0, 0);
    if (this.rank >= this.worldSize)
      throw invalidArgument(`expected \`options.rank\` to be in [0, ${this.worldSize}), got ${this.rank}`);
    const kind = o.sampler ?? (this.worldSize > 1 ? 'distributed' : 'random');
    if (kind !== 'random' && kind !== 'distributed')
      throw invalidArgument(`expected \`options.sampler\` to be 'random' or 'distributed', got ${show(kind)}`);
    if (kind === 'random' && this.worldSize > 1)
      throw invalidArgument("the 'random' sampler reads the whole dataset: with several ranks use 'distributed'");
    if (o.evenShards !== undefined && o.evenShards !== 'pad' && o.evenShards !== 'drop') {
      throw invalidArgument(`expected \`options.evenShards\` to be 'pad' or 'drop', got ${show(o.evenShards)}`);
    }
    const seed =
      o.seed === undefined ? (kind === 'random' ? BigInt(randomInt(2 ** 47)) : 0n) : seedOf(o.seed, 'options.seed');
    this.#sampler = new Sampler(
      { kind, shuffle, seed, rank: this.rank, worldSize: this.worldSize, dropTail: o.evenShards === 'drop' },
      dataset.length,
    );
    const vl =
      o.variableLength === undefined ? undefined : checkVariableLength(o.variableLength, 'options.variableLength');
    if (o.collate === undefined || o.collate === 'stack') {
      this.#collate = (samples) => collateAsync(samples, vl, 'batch') as Promise<B>;
      this.#owns = true;
    } else if (typeof o.collate === 'function') {
      if (vl)
        throw invalidArgument(
          '`options.variableLength` applies to the default collation only (pad inside your collate function)',
        );
      this.#collate = o.collate as (samples: T[]) => B | Promise<B>;
      this.#owns = false;
    } else {
      throw invalidArgument(`expected \`options.collate\` to be 'stack' or a function, got ${show(o.collate)}`);
    }
  }

  /**
   * Whether batches are made by the default collation, so that their tensors are the batch's
   * own (`trainer.fit` disposes them after each step); false with a collate function.
   */
  get ownsBatches(): boolean {
    return this.#owns;
  }

  /** The seed of the order. */
  get seed(): bigint {
    return this.#sampler.spec.seed;
  }

  /** Batches per epoch (on this rank). */
  get length(): number {
    const n = this.#sampler.perEpoch;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The current epoch (0-based); settable, as `DistributedSampler.set_epoch` (the batch goes back to 0). */
  get epoch(): number {
    return this.#epoch;
  }
  set epoch(e: number) {
    this.setState({ epoch: e, batch: 0 });
  }

  /** Where the loader is, for a checkpoint: the next batch of the current epoch, and the seed. */
  state(): LoaderState {
    return { epoch: this.#epoch, batch: this.#batch, seed: this.seed };
  }

  /**
   * Moves the loader to a state from {@link DataLoader.state} (the next loop starts at that batch of that
   * epoch, with the same samples as before). A `seed` other than this loader's is an error:
   * make the loader with that seed.
   */
  setState(state: { epoch: number; batch?: number; seed?: number | bigint }): void {
    const s = checkOptions(state, 'state', ['epoch', 'batch', 'seed']);
    const epoch = positiveInt(s.epoch, 'state.epoch', 0, 0);
    const batch = positiveInt(s.batch, 'state.batch', 0, 0);
    if (batch > this.length)
      throw invalidArgument(`expected \`state.batch\` to be at most ${this.length} (batches per epoch), got ${batch}`);
    if (s.seed !== undefined && seedOf(s.seed, 'state.seed') !== this.seed) {
      throw invalidArgument(
        `the state was saved with seed ${String(s.seed)}, this loader has seed ${this.seed}: create the loader with that seed`,
      );
    }
    if (this.#iterating) throw invalidArgument('cannot move a DataLoader while it is being iterated');
    this.#epoch = epoch;
    this.#batch = batch;
  }

  /** The dataset indices of epoch `epoch`'s samples on this rank, in order. */
  indices(epoch = this.#epoch): number[] {
    positiveInt(epoch, 'epoch', 0, 0);
    return this.#sampler.order(epoch);
  }

  /** The dataset indices of each batch of epoch `epoch` on this rank. */
  batches(epoch = this.#epoch): number[][] {
    const order = this.indices(epoch);
    const out: number[][] = [];
    const count = this.length;
    for (let k = 0; k < count; k++) out.push(order.slice(k * this.batchSize, (k + 1) * this.batchSize));
    return out;
  }

  async #load(indices: number[]): Promise<B> {
    // Every get() of a batch is made in this one turn, so that their file reads are batched.
    const samples = await Promise.all(indices.map(async (i) => this.dataset.get(i)));
    if (!this.#owns) return this.#collate(samples);
    try {
      return await this.#collate(samples);
    } finally {
      for (const s of samples) disposeAll(s);
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    if (this.#iterating) throw invalidArgument('this DataLoader is already being iterated (one loop at a time)');
    this.#iterating = true;
    const inflight: Promise<B>[] = [];
    try {
      if (this.#batch >= this.length) {
        this.#epoch++;
        this.#batch = 0;
      }
      const batches = this.batches(this.#epoch);
      let next = this.#batch;
      while (next < batches.length) {
        while (inflight.length <= this.prefetch && next + inflight.length < batches.length) {
          const p = this.#load(batches[next + inflight.length]);
          p.catch(() => undefined); // handled when awaited (or dropped below)
          inflight.push(p);
        }
        const batch = await (inflight.shift() as Promise<B>);
        next++;
        this.#batch = next;
        yield batch;
      }
      this.#epoch++;
      this.#batch = 0;
    } finally {
      this.#iterating = false;
      // Batches loaded ahead that will not be used: freed once they arrive.
      for (const p of inflight)
        p.then(
          (b) => this.#owns && disposeAll(b),
          () => undefined,
        );
    }
  }
}
