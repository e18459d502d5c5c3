/**
 * Random number generators for the random ops (`jepa.rand`, `randint`, `randperm`, `bernoulli`,
 * `multinomial`, `dropout`, `Tensor.uniform_`, ...), as Python's `torch.Generator`.
 * @module
 */
import { native } from '../core/binding';
import { invalidArgument } from '../core/errors';
import type { NativeGenerator } from '../core/native-types';
import { nativeOf, type Tensor, wrap } from './tensor';
import { show } from '../core/validate';

let handleOf: (g: unknown) => NativeGenerator | undefined;

function checkSeed(seed: unknown): number | bigint {
  if (
    (typeof seed === 'number' && Number.isSafeInteger(seed) && seed >= 0) ||
    (typeof seed === 'bigint' && seed >= 0n && seed < 2n ** 64n)
  ) {
    return seed;
  }
  throw invalidArgument(`expected \`seed\` to be an integer in [0, 2**64) (number or bigint), got ${show(seed)}`);
}

/**
 * A CPU random number generator: libtorch's, so that a generator seeded here draws exactly what
 * Python's `torch.Generator().manual_seed(seed)` draws, op for op.
 *
 * ```js
 * const g = new jepa.Generator().manualSeed(0);
 * jepa.rand([2, 3], { generator: g });   // = torch.rand(2, 3, generator=torch.Generator().manual_seed(0))
 * jepa.randperm(10, { generator: g });   // the same generator continues, as in Python
 * ```
 *
 * Ops called without `generator` use libtorch's default generator, which `jepa.manualSeed(seed)`
 * seeds as `torch.manual_seed(seed)` does.
 */
export class Generator {
  readonly #handle: NativeGenerator;

  static {
    handleOf = (g) => (typeof g === 'object' && g !== null && #handle in g ? (g as Generator).#handle : undefined);
  }

  /** A generator on the CPU (the only device supported), seeded with 67280421310721 as Python's default. */
  constructor(options?: { device?: 'cpu' }) {
    if (
      options !== undefined &&
      (typeof options !== 'object' || options === null || (options.device !== undefined && options.device !== 'cpu'))
    ) {
      throw invalidArgument(
        `expected \`options\` to be {device: 'cpu'} (generators are CPU only), got ${show(options)}`,
      );
    }
    this.#handle = new native.NativeGenerator(67280421310721n);
  }

  /** Seeds the generator (Python's `manual_seed`) and returns it. */
  manualSeed(seed: number | bigint): this {
    this.#handle.manualSeed(checkSeed(seed));
    return this;
  }

  /** The seed the generator was last seeded with (Python's `initial_seed()`). */
  initialSeed(): bigint {
    return this.#handle.initialSeed();
  }

  /** Seeds from a non-deterministic source and returns the new seed (Python's `seed()`). */
  seed(): bigint {
    return this.#handle.seed();
  }

  /** The generator's state as a uint8 tensor (Python's `get_state()`). */
  getState(): Tensor {
    return wrap(this.#handle.getState());
  }

  /** Restores a state from {@link getState} (Python's `set_state()`) and returns the generator. */
  setState(state: Tensor): this {
    this.#handle.setState(nativeOf(state, 'state'));
    return this;
  }

  /** `Generator(device=cpu)`. */
  toString(): string {
    return 'Generator(device=cpu)';
  }
}

/** The native handle of a Generator, or undefined for anything else. @internal */
export function generatorHandle(g: unknown): NativeGenerator | undefined {
  return handleOf(g);
}
