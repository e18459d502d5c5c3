// Helpers shared by the mask tests (masks.test.mjs, masks-api.test.mjs).
import { expect } from 'chai';
import jepa from 'jepa-native';

const { presets } = jepa.masks;

/** V-JEPA's two mask configurations (short and long range). */
export const SHORT_LONG = { configs: [presets.vjepaShortRange, presets.vjepaLongRange] };

/** A [B, K] int64 tensor as an array of rows of numbers. */
export function rowsOf(t) {
  const [b, k] = t.shape;
  const d = t.data();
  const out = [];
  for (let i = 0; i < b; i++) out.push(Array.from(d.subarray(i * k, (i + 1) * k), Number));
  return out;
}

export function expectSame(masksOut, ref, where) {
  expect(masksOut.context.length, `${where}: context count`).to.equal(ref.context.length);
  expect(masksOut.targets.length, `${where}: target count`).to.equal(ref.targets.length);
  masksOut.context.forEach((t, i) => expect(rowsOf(t), `${where}: context[${i}]`).to.deep.equal(ref.context[i]));
  masksOut.targets.forEach((t, i) => expect(rowsOf(t), `${where}: targets[${i}]`).to.deep.equal(ref.targets[i]));
}
