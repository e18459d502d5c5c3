// The mask sampler options the distributed tests share (worker.mjs and distributed.test.mjs).
export const SAMPLER = {
  inputSize: 32,
  patchSize: 8,
  batchSize: 2,
  encMaskScale: [0.85, 1],
  predMaskScale: [0.15, 0.3],
  aspectRatio: [0.75, 1.5],
  nenc: 1,
  npred: 2,
  minKeep: 0,
  positionSeed: 7,
};
