/** The steps per epoch of a recipe (shared by the readers). @module */
import { invalidArgument } from '../../core/errors';
import { show } from '../../core/validate';
import type { RecipeContext } from './types';

/**
 * `context.stepsPerEpoch`, required: the official loop runs `what` (the loader's length)
 * batches per epoch, which the config does not say.
 */
export function requireStepsPerEpoch(context: RecipeContext, family: string, what: string): number {
  const v = context.stepsPerEpoch;
  if (v === undefined) {
    throw invalidArgument(
      `expected \`options.stepsPerEpoch\` (the ${family} loop runs ${what} batches per epoch, which the config does not give: floor(dataset size / (batch_size * world size)))`,
    );
  }
  return checkStepsPerEpoch(v);
}

/** Checks a steps-per-epoch value. */
export function checkStepsPerEpoch(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw invalidArgument(`expected \`options.stepsPerEpoch\` to be a positive integer, got ${show(v)}`);
  }
  return v;
}
