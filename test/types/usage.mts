// Type test: compiled (not run) by `npm run test:types`. It must type-check against the
// published declarations, and the @ts-expect-error lines must be errors.
import jepa, { tensor, zeros, Tensor, type Dtype, type TypedArrayOf, ErrorCode } from 'jepa-native';

const t: Tensor = tensor(new Float32Array([1, 2, 3, 4]), [2, 2], { dtype: 'float32', device: 'cpu' });
const shape: number[] = t.shape;
const dtype: Dtype = t.dtype;
const data: Float32Array = t.data<'float32'>();
const i64: BigInt64Array = jepa.arange(4).data<'int64'>();
const z = zeros([2, 3], { dtype: 'bfloat16' });
const bits: TypedArrayOf['bfloat16'] = z.data<'bfloat16'>();
const moved: Promise<Tensor> = t.toAsync('float64');
const mem: { tensors: number; bytes: number } = jepa.memory();
const ok: boolean = jepa.cuda.isAvailable();
const code: string = ErrorCode.DISPOSED;
t.reshape(4).view([2, -1]).permute(1, 0).contiguous().clone().fill_(1).dispose();
jepa.randn([2], { seed: 1n });

// .pt files, modules, masks
const loaded: Promise<unknown> = jepa.load('features.pt', { mmap: true });
const saved: Promise<void> = jepa.save('out.pt', { features: t, shape: jepa.Size.fromItems([2, 2]) });
const mod: Promise<jepa.Module> = jepa.loadModule('encoder.pt', { device: 'cpu' });
const m = jepa.masks.multiblock({ batchSize: 4, seed: 1 });
const ctx: Tensor[] = m.context;
// @ts-expect-error: batchSize is required
jepa.masks.multiblock({});

// EMA, schedules, training, checkpoints
declare const enc: jepa.Module;
declare const tgt: jepa.Module;
declare const pred: jepa.Module;
const emaDone: Promise<jepa.EmaStats> = jepa.ema.update(tgt, enc, 0.996, { formula: 'loop', buffers: false });
const emaSync: number = jepa.ema.updateSync([t], [t.clone()], 0.9).elements;
const mom: number = jepa.ema.schedule({ kind: 'cosine', start: 0.996, end: 1, steps: 100 }).at(3);
const trainer = new jepa.Trainer({
  kind: 'ijepa', context: enc, target: tgt, predictor: pred, lr: { kind: 'warmupCosine', start: 1e-4, peak: 1e-3, end: 1e-6, warmupSteps: 10, steps: 100 },
  weightDecay: 0.04, momentum: { kind: 'linear', start: 0.996, end: 1, steps: 100 }, bf16: true, clipGrad: 1,
});
const stepped: Promise<jepa.StepStats> = trainer.step({ images: t, masks: { context: ctx, targets: m.targets } });
const lossNow: number = trainer.stepSync({ images: t, masks: m }).loss;
const savedCkpt: Promise<void> = trainer.save('ckpt.pt', { epoch: 1, batchSize: 64 });
trainer.saveSync(new URL('file:///tmp/ckpt.pt'));
const resumed: Promise<{ step: number; epoch: number }> = trainer.load('ckpt.pt');
const resumedSync: number = trainer.loadSync('ckpt.pt').step;
const ckptValue: Record<string, unknown> = trainer.stateDict({ loss: 0.5 });
trainer.loadStateDict(ckptValue);
const sd: Map<string, Tensor> = enc.stateDict();
const loadedSd: { missingKeys: string[]; unexpectedKeys: string[] } = enc.loadStateDict(sd, { strict: false });
enc.loadStateDict({ 'norm.weight': t });
const ckptCode: string = ErrorCode.CHECKPOINT_INVALID;
// @ts-expect-error: unknown trainer kind
new jepa.Trainer({ kind: 'simclr', lr: 1 });
// @ts-expect-error: epoch is a number
trainer.save('x.pt', { epoch: '1' });
// @ts-expect-error: strict is a boolean
enc.loadStateDict(sd, { strict: 'yes' });

// @ts-expect-error: unknown dtype
zeros([2], { dtype: 'float8' });
// @ts-expect-error: device must be cpu, cuda or cuda:N
zeros([2], { device: 'gpu' });
// @ts-expect-error: shape is an array
zeros(3);

void [shape, dtype, data, i64, bits, moved, mem, ok, code, loaded, saved, mod, ctx, emaDone, emaSync, mom, stepped, lossNow];
void [savedCkpt, resumed, resumedSync, loadedSd, ckptCode];
