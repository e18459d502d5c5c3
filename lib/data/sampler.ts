/**
 * The order in which a {@link DataLoader} visits a dataset in each epoch, drawn exactly as
 * PyTorch draws it, by libtorch's own CPU generator and `randperm`:
 *
 * - `'random'` (one process): `DataLoader(dataset, shuffle=True,
 *   generator=torch.Generator().manual_seed(seed))`. One generator serves every epoch, and each
 *   epoch (iterated to its end) draws, in order, the iterator's base seed (one int64
 *   `random_()`), the `RandomSampler`'s `randperm(n)` (the order) and the `randperm(n)` its
 *   exhausted iterator draws for the empty remainder. Epoch e's order therefore depends on the
 *   epochs before it; asking for an earlier epoch replays the generator from the seed.
 * - `'distributed'` (one rank of several): `DistributedSampler(dataset, num_replicas=worldSize,
 *   rank=rank, shuffle, seed, drop_last)` after `set_epoch(e)`: `randperm(n)` from a generator
 *   seeded with `seed + e` (the same on every rank), padded with its first indices to a multiple
 *   of the world size (or cut, with `evenShards: 'drop'`), then every `worldSize`-th index from
 *   `rank`. Without shuffling this is `jepa.distributed.shardFiles`'s round-robin over the
 *   dataset's order, padded so that every rank has the same number of samples (and batches).
 * @module
 */
import { native } from '../core/binding';

/** Which PyTorch sampler a loader follows. */
export type SamplerKind = 'random' | 'distributed';

/** What an order depends on. */
export interface SamplerSpec {
  kind: SamplerKind;
  shuffle: boolean;
  seed: bigint;
  rank: number;
  worldSize: number;
  /** DistributedSampler's drop_last: cut the tail instead of padding. */
  dropTail: boolean;
}

/** The sample indices of each epoch for one rank. */
export class Sampler {
  readonly spec: SamplerSpec;
  readonly n: number;
  #generator: object | null = null;
  #drawn = 0; // epochs drawn from #generator
  #last: { epoch: number; order: Int32Array } | null = null;

  constructor(spec: SamplerSpec, n: number) {
    this.spec = spec;
    this.n = n;
  }

  /** Samples per epoch on this rank. */
  get perEpoch(): number {
    const { kind, worldSize, dropTail } = this.spec;
    if (kind === 'random') return this.n;
    return dropTail ? Math.floor(this.n / worldSize) : Math.ceil(this.n / worldSize);
  }

  /** The order of epoch `epoch` (a fresh array). */
  order(epoch: number): number[] {
    const { kind, shuffle, seed, rank, worldSize } = this.spec;
    if (kind === 'random') {
      if (!shuffle) return Array.from({ length: this.n }, (_, i) => i);
      return Array.from(this.#randomEpoch(epoch));
    }
    const base: ArrayLike<number> = shuffle
      ? native.dataRandperm(native.dataGenerator(seed + BigInt(epoch)), this.n, false)
      : Array.from({ length: this.n }, (_, i) => i);
    const total = this.perEpoch * worldSize;
    const full: number[] = Array.from(base).slice(0, Math.min(total, this.n));
    for (let i = 0; full.length < total; i++) full.push(base[i % this.n]);
    const out: number[] = [];
    for (let i = rank; i < total; i += worldSize) out.push(full[i]);
    return out;
  }

  #randomEpoch(epoch: number): Int32Array {
    if (this.#last?.epoch === epoch) return this.#last.order;
    if (this.#generator === null || epoch < this.#drawn) {
      this.#generator = native.dataGenerator(this.spec.seed);
      this.#drawn = 0;
    }
    let order: Int32Array = new Int32Array(0);
    while (this.#drawn <= epoch) {
      order = native.dataRandperm(this.#generator, this.n, true);
      this.#drawn++;
    }
    this.#last = { epoch, order };
    return order;
  }
}
