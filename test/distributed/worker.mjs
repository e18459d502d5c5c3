// One rank of the tests in test/distributed.test.mjs, started by jepa.distributed.launch (or by
// hand with torchrun's environment). Usage: node worker.mjs MODE OUT_DIR [options as JSON].
// Writes OUT_DIR/rank-R.json with what it saw.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jepa from 'jepa-native';
import { SAMPLER } from './sampler.mjs';

const [mode, outDir, rawOpts = '{}'] = process.argv.slice(2);
const opts = JSON.parse(rawOpts);
const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'models', 'ijepa');
const write = (rank, value) => fs.writeFileSync(path.join(outDir, `rank-${rank}.json`), JSON.stringify(value));

/** Rows [from, to) of a tensor along dim 0, as a new tensor. */
function rows(t, from, to) {
  const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const data = t.contiguous().data();
  const Ctor = data.constructor;
  return jepa.tensor(Ctor.from(data.subarray(from * per, to * per)), [to - from, ...t.shape.slice(1)], {
    dtype: t.dtype,
  });
}

/**
 * `steps` I-JEPA steps on the global batch of 2B samples per step: a data-parallel rank trains on
 * rows [rank*B, (rank+1)*B) of the images and masks, a single process (worldSize 1) on all.
 */
async function train({ B, steps, single, clipGrad = null }) {
  const group = single ? null : await jepa.distributed.init({ backend: 'gloo', timeout: 20000 });
  const rank = group ? group.rank : 0;
  const worldSize = group ? group.worldSize : 1;
  const context = await jepa.loadModule(path.join(FIX, 'context_encoder.pt'));
  const target = await jepa.loadModule(path.join(FIX, 'target_encoder.pt'));
  const predictor = await jepa.loadModule(path.join(FIX, 'predictor.pt'));
  if (group && rank === 1) {
    // Different starting weights on rank 1: the first step must replace them with rank 0's.
    const params = [...context.namedParameters().values()];
    jepa.ema.updateSync(
      params,
      params.map((p) => jepa.randn(p.shape, { seed: 5 })),
      0.5,
    );
  }
  const trainer = new jepa.Trainer({
    kind: 'ijepa',
    context,
    target,
    predictor,
    distributed: group !== null,
    lr: { kind: 'warmupCosine', start: 1e-4, peak: 1e-3, end: 1e-5, warmupSteps: 1, steps: 10 },
    weightDecay: 0.04,
    momentum: 0.9,
    clipGrad,
  });
  const n = 2 * B;
  const stats = [];
  for (let s = 0; s < steps; s++) {
    const images = jepa.randn([n, 3, 32, 32], { seed: 100 + s });
    const m = jepa.masks.multiblock({
      inputSize: 32,
      patchSize: 8,
      batchSize: n,
      encMaskScale: [0.85, 1],
      predMaskScale: [0.15, 0.3],
      aspectRatio: [0.75, 1.5],
      nenc: 1,
      npred: 2,
      minKeep: 0,
      seed: s,
      positionSeed: s,
    });
    const lo = (rank * n) / worldSize;
    const hi = ((rank + 1) * n) / worldSize;
    const batch = {
      images: rows(images, lo, hi),
      masks: { context: m.context.map((t) => rows(t, lo, hi)), targets: m.targets.map((t) => rows(t, lo, hi)) },
    };
    stats.push(s % 2 === 0 ? await trainer.step(batch) : trainer.stepSync(batch));
  }
  const params = {};
  for (const [key, mod] of Object.entries(trainer.modules)) {
    for (const [name, p] of mod.namedParameters()) params[`${key}.${name}`] = Array.from(p.contiguous().data());
  }
  let checkpoint = null;
  if (group) {
    const file = path.join(outDir, 'checkpoint.pt');
    const state = Object.fromEntries(context.namedParameters());
    checkpoint = await jepa.distributed.save(file, { encoder: state, rank });
    // After save() resolves the file is complete on every rank.
    checkpoint = { wrote: checkpoint, exists: fs.existsSync(file) };
    // The Trainer's own checkpoint: each rank asks for its own epoch; the file must hold rank 0's.
    const ckpt = path.join(outDir, 'trainer-checkpoint.pt');
    await trainer.save(ckpt, { epoch: rank });
    checkpoint.trainerFile = fs.existsSync(ckpt);
    // A sampler handed to a data-parallel trainer is re-seeded for the rank.
    const sampler = new jepa.masks.MaskSampler('multiblock', SAMPLER);
    const dp = new jepa.Trainer({
      kind: 'ijepa',
      context,
      target,
      predictor,
      distributed: true,
      lr: 1e-3,
      masks: sampler,
    });
    checkpoint.sampler = {
      positionSeed: String(dp.sampler.positionSeed),
      context: Array.from(dp.sampler.next().context[0].data(), Number),
    };
    await jepa.distributed.destroy();
  }
  return { rank, worldSize, stats, params, checkpoint };
}

async function collectives() {
  const g = await jepa.distributed.init({ backend: 'gloo', timeout: 20000 });
  const { rank, worldSize } = jepa.distributed;
  const out = { rank, worldSize, localRank: jepa.distributed.localRank, groupRank: g.rank, env: process.env.RANK };
  const t = jepa.tensor(new Float32Array([rank + 1, (rank + 1) * 0.5, -rank]));
  out.sum = Array.from((await jepa.distributed.allReduce(t)).data());
  out.avg = Array.from(jepa.distributed.allReduceSync(jepa.tensor(new Float64Array([rank * 4 + 1])), 'avg').data());
  out.max = Array.from((await g.allReduce(jepa.tensor(new Int32Array([rank * 10, -rank])), 'max')).data());
  out.min = Array.from(
    (await g.allReduce(jepa.tensor(new BigInt64Array([BigInt(rank * 10 + 5)])), 'min')).data(),
    Number,
  );
  out.product = Array.from((await g.allReduce(jepa.tensor(new Float32Array([rank + 2])), 'product')).data());
  const b = jepa.tensor(rank === 1 ? new Float32Array([7, 8, 9, 10]) : new Float32Array(4), [2, 2]);
  out.broadcast = Array.from((await jepa.distributed.broadcast(b, 1)).data());
  out.broadcastShape = b.shape;
  const gathered = await jepa.distributed.allGather(jepa.tensor(new Float32Array([rank, rank * 100]), [1, 2]));
  out.gathered = gathered.map((x) => ({ shape: x.shape, data: Array.from(x.data()) }));
  out.gatheredSync = jepa.distributed.allGatherSync(jepa.tensor(new Int32Array([rank]))).map((x) => x.data()[0]);
  // Calls issued back to back resolve in order with the right values.
  const many = await Promise.all(
    [0, 1, 2, 3].map((i) => jepa.distributed.allReduce(jepa.tensor(new Float32Array([i + rank])))),
  );
  out.many = many.map((x) => x.data()[0]);
  await jepa.distributed.barrier();
  jepa.distributed.barrierSync();
  out.errors = {};
  for (const [name, fn] of Object.entries({
    avgInt: () => jepa.distributed.allReduceSync(jepa.tensor(new Int32Array([1])), 'avg'),
    badRoot: () => jepa.distributed.broadcastSync(jepa.tensor(new Float32Array(1)), 2),
    twice: () => jepa.distributed.initSync({ backend: 'gloo' }),
  })) {
    try {
      fn();
      out.errors[name] = null;
    } catch (e) {
      out.errors[name] = { code: e.code, message: e.message };
    }
  }
  out.shard = jepa.distributed.shardFiles(['c.pt', 'a.pt', 'e.pt', 'b.pt', 'd.pt']);
  await jepa.distributed.destroy();
  out.initializedAfterDestroy = jepa.distributed.isInitialized();
  try {
    await g.allReduce(jepa.tensor(new Float32Array([1])));
  } catch (e) {
    out.afterDestroy = { code: e.code, message: e.message };
  }
  return out;
}

/** Rank `victim` dies (SIGKILL) after the first all-reduce; the others keep reducing. */
async function dies({ victim = 1, timeout = 4000 }) {
  await jepa.distributed.init({ backend: 'gloo', timeout });
  const { rank } = jepa.distributed;
  const t = jepa.tensor(new Float32Array([1]));
  await jepa.distributed.allReduce(t);
  if (rank === victim) process.kill(process.pid, 'SIGKILL');
  const t0 = Date.now();
  try {
    for (let i = 0; i < 100000; i++) {
      await jepa.distributed.allReduce(t);
      await new Promise((r) => setTimeout(r, 5));
    }
    return { rank, error: null };
  } catch (e) {
    return { rank, error: { code: e.code, message: e.message }, ms: Date.now() - t0 };
  }
}

/** Rank 1 stops taking part (sleeps) after init; rank 0's barrier must time out. */
async function hangs({ timeout = 2000 }) {
  await jepa.distributed.init({ backend: 'gloo', timeout });
  const { rank } = jepa.distributed;
  if (rank === 1) {
    await new Promise((r) => setTimeout(r, timeout * 4));
    return { rank, slept: true };
  }
  const t0 = Date.now();
  try {
    await jepa.distributed.barrier();
    return { rank, error: null };
  } catch (e) {
    return { rank, error: { code: e.code, message: e.message }, ms: Date.now() - t0 };
  }
}

/** A rank whose peers never come: init must fail within the timeout. */
async function alone({ timeout = 2000 }) {
  const t0 = Date.now();
  try {
    await jepa.distributed.init({ backend: 'gloo', timeout });
    return { rank: Number(process.env.RANK), error: null };
  } catch (e) {
    return { rank: Number(process.env.RANK), error: { code: e.code, message: e.message }, ms: Date.now() - t0 };
  }
}

async function failing() {
  const rank = Number(process.env.RANK);
  if (rank === 1) process.exit(7);
  await new Promise((r) => setTimeout(r, 30000));
  return { rank };
}

const modes = {
  train: () => train(opts),
  collectives,
  dies: () => dies(opts),
  hangs: () => hangs(opts),
  alone: () => alone(opts),
  failing,
};
const result = await modes[mode]();
write(result.rank ?? process.env.RANK, result);
process.exit(0);
